from __future__ import annotations

import dataclasses
from typing import Any

import strawberry
from strawberry.types import Info

from api.common.compiled import Precompiled, input_query, selection
from api.common.errors import api_error, read
from api.common.money import Money
from api.common.relay import Connection, decode_id, page_request
from api.context import Context
from api.nodes import Children, register_children
from api.orders.inputs import OrderFilter
from api.orders.types import Order, OrderBoard, OrderBoardColumn
from application.queries.orders import OrderFilter as OrderFilterQuery
from domain.order import BOARD_STATUSES


async def orders_of(info: Info[Context, None], of: Children) -> Connection[Order]:
    """A customer's orders (Customer.orders: all customers of a page in one batch); the customer's own id wins
    over one in the filter."""
    ctx = info.context

    async def run():  # type: ignore[no-untyped-def]
        query = dataclasses.replace(of.filter.to_query() if of.filter else OrderFilterQuery(), customer_id=None)
        request = page_request(of.first, of.after, of.last, of.before)
        return await ctx.loaders.page(("Customer.orders", query, request),
                                      lambda ids: ctx.orders.list_for_customers(query, ids, request)).load(of.parent_id)

    return Connection.from_page(await read(run), Order.from_view)


register_children("Order", orders_of)


def board_filter(arguments: dict[str, Any]) -> OrderFilterQuery:
    return input_query(arguments, "filter", OrderFilter, OrderFilterQuery())


@strawberry.type
class OrderQuery:
    @strawberry.field
    async def order(self, info: Info[Context, None], id: strawberry.ID | None = None,
                    number: str | None = None) -> Order | None:
        if (id is None) == (number is None):
            raise api_error("Give exactly one of id or number.", "INVALID")

        async def run():  # type: ignore[no-untyped-def]
            if id is not None:
                return await info.context.loaders.order_by_id.load(decode_id(id, "Order", "id"))
            return await info.context.orders.by_number(number or "")

        view = await read(run)
        return Order.from_view(view) if view else None

    @strawberry.field
    async def orders(self, info: Info[Context, None], first: int | None = None, after: str | None = None,
                     last: int | None = None, before: str | None = None,
                     filter: OrderFilter | None = None) -> Connection[Order]:
        ctx = info.context

        async def run():  # type: ignore[no-untyped-def]
            return await ctx.orders.list(filter.to_query() if filter else OrderFilterQuery(),
                                         page_request(first, after, last, before))

        return Connection.from_page(await read(run), Order.from_view)

    @strawberry.field(description="Kanban of sales orders by status: counts and totals per currency from one grouped "
                                  "query, each column's orders paginated on their own")
    async def order_board(self, info: Info[Context, None], filter: OrderFilter | None = None) -> OrderBoard:
        ctx = info.context

        async def run():  # type: ignore[no-untyped-def]
            query = filter.to_query() if filter else OrderFilterQuery()
            fields = selection(info)
            if fields is not None:
                document = await ctx.documents.board(fields, query, scope_of=ctx.loaders.complaint_scope)
                if document is not None:
                    return query, Precompiled(document)
            return query, await ctx.orders.board(query)

        query, cells = await read(run)
        if isinstance(cells, Precompiled):
            return cells  # type: ignore[return-value]
        columns = []
        for status in BOARD_STATUSES:
            if query.statuses and status.value not in query.statuses:
                continue
            mine = sorted((c for c in cells if c.status == status.value), key=lambda c: c.currency)
            columns.append(OrderBoardColumn(status=status, count=sum(c.count for c in mine),
                                            totals=[Money.of(c.total, c.currency) for c in mine], _filter=query))
        return OrderBoard(columns=columns)

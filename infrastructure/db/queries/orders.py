"""SQL read models for orders and their lines."""
from __future__ import annotations

import dataclasses
import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any, Awaitable, Callable

from sqlalchemy import func, select

from application.queries.orders import BoardCell, BoardPageRequest, OrderFilter, OrderLineView, OrderView
from application.queries.pagination import Page, PageRequest
from infrastructure.db.exact_sum import exact_sum, exact_sum_value
from infrastructure.db.order_tables import MONEY, order_lines, orders
from infrastructure.db.queries.rows import in_order
from infrastructure.db.queries.keyset import SortKey, paginate, paginate_each, union_pages
from infrastructure.db.reads import SqlReadModel

o = orders
ORDER_COLUMNS = [o.c.id, o.c.number, o.c.customer_id, o.c.owner_id, o.c.status, o.c.currency, o.c.total_amount,
                 o.c.advance_payment, o.c.placed_at, o.c.created_at, o.c.updated_at, o.c.version]


NEWEST_FIRST = [SortKey(o.c.created_at, datetime), SortKey(o.c.id, uuid.UUID)]


def order_filter(filter: OrderFilter) -> list[Any]:
    """The OrderFilter as WHERE criteria on `orders` (shared by the list, the board and its columns)."""
    criteria = []
    if filter.statuses:
        criteria.append(o.c.status.in_(filter.statuses))
    if filter.customer_id is not None:
        criteria.append(o.c.customer_id == filter.customer_id)
    if filter.owner_id is not None:
        criteria.append(o.c.owner_id == filter.owner_id)
    if filter.placed_from is not None:
        criteria.append(o.c.placed_at >= filter.placed_from)
    if filter.placed_to is not None:
        criteria.append(o.c.placed_at < filter.placed_to)
    return criteria


def filtered(query: Any, filter: OrderFilter) -> Any:
    """`query` over orders narrowed by the OrderFilter."""
    return query.where(*order_filter(filter))


def order_view(r: Any) -> OrderView:
    return OrderView(id=r.id, number=r.number, customer_id=r.customer_id, owner_id=r.owner_id, status=r.status,
                     currency=r.currency, total=r.total_amount, advance_payment=r.advance_payment,
                     placed_at=r.placed_at, created_at=r.created_at, updated_at=r.updated_at, version=r.version)


class SqlOrderQueries(SqlReadModel):
    async def list(self, filter: OrderFilter, page: PageRequest) -> Page[OrderView]:
        query = filtered(select(*ORDER_COLUMNS), filter)
        return await paginate(self._reads, query, NEWEST_FIRST, descending=True, page=page, to_item=order_view)

    async def list_for_customers(self, filter: OrderFilter, customer_ids: list[uuid.UUID],
                                 page: PageRequest) -> list[Page[OrderView]]:
        query = filtered(select(*ORDER_COLUMNS), dataclasses.replace(filter, customer_id=None))
        return await paginate_each(self._reads, query, o.c.customer_id, customer_ids, NEWEST_FIRST, descending=True,
                                   page=page, to_item=order_view)

    async def board(self, filter: OrderFilter) -> list[BoardCell]:
        """One GROUP BY status, currency; totals summed exactly on both stores (infrastructure/db/exact_sum.py)."""
        dialect = self._reads.dialect
        stmt = filtered(select(o.c.status, o.c.currency, func.count().label("n"),
                               *exact_sum(o.c.total_amount, "total", MONEY[1], dialect)), filter) \
            .group_by(o.c.status, o.c.currency)
        rows = await self._all(stmt)
        return [BoardCell(r.status, r.currency, r.n, exact_sum_value(r, "total", MONEY[1], dialect)) for r in rows]

    async def board_pages(self, requests: list[BoardPageRequest]) -> list[Page[OrderView]]:
        """Every column's page in one statement (infrastructure/db/queries/keyset.py `union_pages`), newest
        first."""
        return await union_pages(self._reads, requests,
                                 lambda r: filtered(select(*ORDER_COLUMNS), r.filter).where(o.c.status == r.status),
                                 NEWEST_FIRST, descending=True, page_of=lambda r: r.page, to_item=order_view,
                                 count_for=self._counter)

    def _counter(self, request: BoardPageRequest) -> Callable[[], Awaitable[int]]:
        async def count() -> int:
            stmt = filtered(select(func.count()).select_from(o), request.filter).where(o.c.status == request.status)
            return int(await self._reads.scalar(stmt))

        return count

    async def by_ids(self, ids: list[uuid.UUID]) -> list[OrderView | None]:
        rows = await self._all(select(*ORDER_COLUMNS).where(o.c.id.in_(ids)))
        return in_order(ids, {r.id: order_view(r) for r in rows})

    async def by_number(self, number: str) -> OrderView | None:
        rows = await self._all(select(*ORDER_COLUMNS).where(o.c.number == number.strip().upper()))
        return order_view(rows[0]) if rows else None

    async def lines(self, order_ids: list[uuid.UUID]) -> list[list[OrderLineView]]:
        ol = order_lines
        found: dict[uuid.UUID, list[OrderLineView]] = defaultdict(list)
        for r in await self._all(
                select(ol, o.c.currency).join(o, o.c.id == ol.c.order_id).where(ol.c.order_id.in_(order_ids))
                .order_by(ol.c.order_id, ol.c.position)):
            found[r.order_id].append(OrderLineView(sku=r.sku, description=r.description, quantity=r.quantity,
                                                   unit_price=r.unit_price, discount_percent=r.discount_percent,
                                                   line_total=r.line_total, currency=r.currency))
        return [found.get(i, []) for i in order_ids]

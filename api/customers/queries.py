from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from api.common.compiled import Precompiled, input_query, selection
from api.common.errors import api_error, read
from api.common.relay import Connection, decode_id, page_request
from api.context import Context
from api.customers.inputs import CustomerFilter, CustomerOrder, SortDirection
from api.customers.types import Customer
from application.queries.views import CustomerFilter as CustomerFilterQuery
from application.queries.views import CustomerSort, CustomerSortField


def sort_of(order_by: CustomerOrder | None) -> CustomerSort:
    if order_by is None:
        return CustomerSort()
    return CustomerSort(CustomerSortField(order_by.field.value), order_by.direction is SortDirection.DESC)


def customers_arguments(arguments: dict[str, Any]) -> tuple[CustomerFilterQuery, CustomerSort]:
    """`customers`' filter and orderBy as graphql-core coerced them (plain dicts), as the read model takes them
    (for api/fast_path.py, which has no resolver to convert them)."""
    order = arguments.get("orderBy")
    query = input_query(arguments, "filter", CustomerFilter, CustomerFilterQuery())
    return query, sort_of(CustomerOrder(field=order["field"], direction=order["direction"]) if order else None)


@strawberry.type
class CustomerQuery:
    @strawberry.field
    async def customer(self, info: Info[Context, None], id: strawberry.ID | None = None,
                       code: str | None = None) -> Customer | None:
        if (id is None) == (code is None):
            raise api_error("Give exactly one of id or code.", "INVALID")

        ctx = info.context

        async def run():  # type: ignore[no-untyped-def]
            raw_id = decode_id(id, "Customer", "id") if id is not None else None
            fields = selection(info)
            if fields is not None:
                document = await ctx.documents.customer(fields, id=raw_id, code=code,
                                                        scope_of=ctx.loaders.complaint_scope)
                if document is not None:
                    return Precompiled(document)
            if raw_id is not None:
                return await ctx.loaders.customer_by_id.load(raw_id)
            return await ctx.customers.by_code(code or "")

        found = await read(run)
        if isinstance(found, Precompiled):
            return found  # type: ignore[return-value]
        return Customer.from_view(found) if found else None

    @strawberry.field
    async def customers(self, info: Info[Context, None], first: int | None = None, after: str | None = None,
                        last: int | None = None, before: str | None = None, filter: CustomerFilter | None = None,
                        order_by: CustomerOrder | None = None) -> Connection[Customer]:
        ctx = info.context

        async def run():  # type: ignore[no-untyped-def]
            query = filter.to_query() if filter else CustomerFilterQuery()
            sort = sort_of(order_by)
            page = page_request(first, after, last, before)
            fields = selection(info)
            if fields is not None and not page.backward:
                document = await ctx.documents.customers(fields, query, sort, page,
                                                         scope_of=ctx.loaders.complaint_scope)
                if document is not None:
                    return Precompiled(document)
            return await ctx.customers.list(query, sort, page)

        found = await read(run)
        if isinstance(found, Precompiled):
            return found  # type: ignore[return-value]
        return Connection.from_page(found, Customer.from_view)

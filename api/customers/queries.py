from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.common.errors import api_error, read
from api.common.relay import Connection, decode_id, page_request
from api.context import Context
from api.customers.inputs import CustomerFilter, CustomerOrder, SortDirection
from api.customers.types import Customer
from application.queries.views import CustomerFilter as CustomerFilterQuery
from application.queries.views import CustomerSort, CustomerSortField


@strawberry.type
class CustomerQuery:
    @strawberry.field
    async def customer(self, info: Info[Context, None], id: strawberry.ID | None = None,
                       code: str | None = None) -> Customer | None:
        if (id is None) == (code is None):
            raise api_error("Give exactly one of id or code.", "INVALID")

        async def run():  # type: ignore[no-untyped-def]
            if id is not None:
                return await info.context.loaders.customer_by_id.load(decode_id(id, "Customer", "id"))
            return await info.context.customers.by_code(code or "")

        view = await read(run)
        return Customer.from_view(view) if view else None

    @strawberry.field
    async def customers(self, info: Info[Context, None], first: int | None = None, after: str | None = None,
                        last: int | None = None, before: str | None = None, filter: CustomerFilter | None = None,
                        order_by: CustomerOrder | None = None) -> Connection[Customer]:
        async def run():  # type: ignore[no-untyped-def]
            query = filter.to_query() if filter else CustomerFilterQuery()
            sort = (CustomerSort(CustomerSortField(order_by.field.value), order_by.direction is SortDirection.DESC)
                    if order_by else CustomerSort())
            return await info.context.customers.list(query, sort, page_request(first, after, last, before))

        return Connection.from_page(await read(run), Customer.from_view)

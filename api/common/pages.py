"""A nested connection's page (`Customer.interactions`, `Department.staff`, `Complaint.timeline` ...): one
DataLoader per relation and page arguments, so every parent on a page that asks for the same page of its
children is answered by one batch (one SQL statement)."""
from __future__ import annotations

from typing import Any, Awaitable, Callable, Hashable, TypeVar

from strawberry.types import Info

from api.common.errors import read
from api.common.relay import Connection, page_request
from api.context import Context
from application.queries.pagination import Page, PageRequest

T = TypeVar("T")
Fetch = Callable[[list[Any]], Awaitable[list[Page[Any]]]]


async def nested_page(info: Info[Context, None], relation: Hashable, parent_id: Any, convert: Callable[[Any], T],
                      fetch: Callable[[PageRequest], Fetch], first: int | None = None, after: str | None = None,
                      last: int | None = None, before: str | None = None,
                      connection: type[Connection[Any]] = Connection) -> Connection[T]:
    """The parent's page of `relation`, `fetch(request)` answering for a batch of parents' ids."""
    async def run() -> Page[Any]:
        request = page_request(first, after, last, before)
        return await info.context.loaders.page((relation, request), fetch(request)).load(parent_id)  # type: ignore[no-any-return]

    return connection.from_page(await read(run), convert)


async def column_page(count: int, after: str | None, load: Callable[[PageRequest], Awaitable[Page[Any]]],
                      convert: Callable[[Any], T], first: int | None = None) -> Connection[T]:
    """A board column's page (the orders Kanban's, the pipeline's): `load(request)` through the board's loader
    (every column of a request in one statement); its totalCount is the `count` the board's GROUP BY found, and
    an empty column is not asked at all."""
    async def known_count() -> int:
        return count

    async def run() -> Page[Any]:
        if count == 0 and after is None:  # nothing to page through: spare the column's index scan
            return Page(items=[], cursors=[], has_next=False, has_previous=False, count=known_count)
        return await load(page_request(first, after))

    page = await read(run)
    page.count = known_count
    return Connection.from_page(page, convert)

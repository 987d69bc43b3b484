"""Keyset pagination in both directions over any SELECT, with opaque cursors.

The sort is a tuple of columns ending in a unique one, compared as a row value
(`(a, id) > (:a, :id)`), which both SQLite and PostgreSQL index-scan.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import json
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Awaitable, Callable, TypeVar

from sqlalchemy import Select, func, literal, select, tuple_, union_all

from application.queries.pagination import Page, PageRequest
from domain.shared import InvalidInput
from infrastructure.db.reads import Reads

T = TypeVar("T")

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True)
class SortKey:
    column: Any
    kind: type  # str, int, datetime or uuid.UUID: how a cursor value is decoded


def encode_cursor(values: tuple[Any, ...]) -> str:
    raw = json.dumps([v.isoformat() if isinstance(v, datetime) else str(v) if isinstance(v, uuid.UUID) else v
                      for v in values], separators=(",", ":"), ensure_ascii=False)  # as the database writes it
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, keys: list[SortKey], field: str) -> tuple[Any, ...]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or len(raw) != len(keys):
            raise ValueError
        values = []
        for value, key in zip(raw, keys):
            if key.kind is datetime:
                moment = datetime.fromisoformat(value)
                if moment.tzinfo is None:
                    raise ValueError
                # astimezone raises OverflowError when UTC would fall outside years 1..9999
                values.append(moment.astimezone(UTC))
            elif key.kind is uuid.UUID:
                values.append(uuid.UUID(value))
            elif key.kind is int:
                if isinstance(value, bool):
                    raise ValueError
                number = int(value)
                if not INT64_MIN <= number <= INT64_MAX:
                    raise ValueError
                values.append(number)
            else:
                if not isinstance(value, str):
                    raise ValueError
                values.append(value)
        return tuple(values)
    except (ValueError, TypeError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput(f"{field} is not a cursor this list handed out.", field=(field,)) from None


def after_cursor(query: Select[Any], keys: list[SortKey], *, descending: bool,
                  page: PageRequest) -> tuple[Select[Any], list[Any]]:
    """`query` narrowed to the rows past the page's cursor, and the ORDER BY that walks them."""
    columns = [k.column for k in keys]
    walk_descending = descending != page.backward
    cursor = page.before if page.backward else page.after
    if cursor is not None:
        values = decode_cursor(cursor, keys, "before" if page.backward else "after")
        row_key, bound = tuple_(*columns), tuple_(*values)
        query = query.where(row_key < bound if walk_descending else row_key > bound)
    return query, [c.desc() if walk_descending else c.asc() for c in columns]


def keyset_select(query: Select[Any], keys: list[SortKey], *, descending: bool, page: PageRequest) -> Select[Any]:
    """`query` narrowed to one page (plus one row, to tell whether there is more): the cursor's row-value
    comparison, the sort, the limit. `page_from_rows` turns its rows into the Page."""
    stmt, order = after_cursor(query, keys, descending=descending, page=page)
    return stmt.order_by(*order).limit(page.size + 1)


def page_from_rows(rows: list[Any], keys: list[SortKey], page: PageRequest, to_item: Callable[[Any], T],
                   count: Callable[[], Awaitable[int]]) -> Page[T]:
    """The Page for the rows `keyset_select` returned (in its order)."""
    cursor = page.before if page.backward else page.after
    more = len(rows) > page.size
    rows = rows[: page.size]
    if page.backward:
        rows.reverse()
    return Page(
        items=[to_item(r) for r in rows],
        cursors=[encode_cursor(tuple(getattr(r, _label(k)) for k in keys)) for r in rows],
        has_next=more if not page.backward else cursor is not None,
        has_previous=more if page.backward else cursor is not None,
        count=count,
    )


async def paginate(
    reads: Reads,
    query: Select[Any],
    keys: list[SortKey],
    *,
    descending: bool,
    page: PageRequest,
    to_item: Callable[[Any], T],
) -> Page[T]:
    rows = await reads.all(keyset_select(query, keys, descending=descending, page=page))

    async def count() -> int:  # only when the client selects totalCount
        return int(await reads.scalar(select(func.count()).select_from(query.order_by(None).subquery())))

    return page_from_rows(rows, keys, page, to_item, count)


def _label(key: SortKey) -> str:
    return key.column.key


PARENT, RANK = "page_parent", "page_rank"  # the columns paginate_each adds


R = TypeVar("R")


async def union_pages(reads: Reads, requests: list[R], select_for: Callable[[R], Select[Any]], keys: list[SortKey],
                      *, descending: bool, page_of: Callable[[R], PageRequest], to_item: Callable[[Any], T],
                      count_for: Callable[[R], Callable[[], Awaitable[int]]]) -> list[Page[T]]:
    """A page for each request (a board's columns: each its own filter, e.g. the column's status), all in one
    statement: one UNION ALL of per-request keyset selects (each an index range scan with LIMIT), rows tagged
    with the request they answer. Pages go forward only (first/after)."""
    if not requests:
        return []
    parts = [keyset_select(select_for(r).add_columns(literal(n).label("request")), keys, descending=descending,
                           page=page_of(r)).subquery() for n, r in enumerate(requests)]
    stmt: Any = select(parts[0]) if len(parts) == 1 else union_all(*[select(part) for part in parts])
    found: dict[int, list[Any]] = defaultdict(list)
    for row in await reads.all(stmt):
        found[row.request].append(row)
    pages = []
    for n, r in enumerate(requests):
        ordered = sorted(found[n], key=lambda row: tuple(getattr(row, _label(k)) for k in keys), reverse=descending)
        pages.append(page_from_rows(ordered, keys, page_of(r), to_item, count_for(r)))
    return pages


async def paginate_each(
    reads: Reads,
    query: Select[Any],
    parent: Any,
    parent_ids: list[Any],
    keys: list[SortKey],
    *,
    descending: bool,
    page: PageRequest,
    to_item: Callable[[Any], T],
) -> list[Page[T]]:
    """The same page of `query` for each of `parent_ids` (a nested connection under a list of parents), in one
    statement: every parent's rows are numbered in page order (`row_number() OVER (PARTITION BY parent ...)`)
    and the first `size + 1` of each kept, on SQLite and PostgreSQL alike. Their totalCounts, if asked for,
    come from one grouped count for all of them."""
    stmt, order = after_cursor(query.where(parent.in_(parent_ids)), keys, descending=descending, page=page)
    numbered = stmt.add_columns(parent.label(PARENT),
                                func.row_number().over(partition_by=parent, order_by=order).label(RANK)).subquery()
    rows = await reads.all(select(numbered).where(numbered.c[RANK] <= page.size + 1)
                           .order_by(numbered.c[PARENT], numbered.c[RANK]))
    found: dict[Any, list[Any]] = defaultdict(list)
    for row in rows:
        found[row._mapping[PARENT]].append(row)
    counts = _GroupedCount(reads, query, parent, parent_ids)
    return [page_from_rows(found.get(i, []), keys, page, to_item, counts.of(i)) for i in parent_ids]


class _GroupedCount:
    """Rows of `query` per parent, counted for all parents at once when the first count is awaited."""

    def __init__(self, reads: Reads, query: Select[Any], parent: Any, parent_ids: list[Any]) -> None:
        self._reads, self._query, self._parent, self._ids = reads, query, parent, parent_ids
        self._counts: asyncio.Future[dict[Any, int]] | None = None

    def of(self, parent_id: Any) -> Callable[[], Awaitable[int]]:
        async def count() -> int:
            if self._counts is None:
                self._counts = asyncio.ensure_future(self._all())
            return (await self._counts).get(parent_id, 0)

        return count

    async def _all(self) -> dict[Any, int]:
        each = self._query.add_columns(self._parent.label(PARENT)).where(self._parent.in_(self._ids)) \
            .order_by(None).subquery()
        rows = await self._reads.all(select(each.c[PARENT], func.count()).group_by(each.c[PARENT]))
        return {r[0]: int(r[1]) for r in rows}

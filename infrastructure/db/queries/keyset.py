"""Keyset pagination in both directions over any SELECT, with opaque cursors.

The sort is a tuple of columns ending in a unique one, compared as a row value
(`(a, id) > (:a, :id)`), which both SQLite and PostgreSQL index-scan.
"""
from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Awaitable, Callable, TypeVar

from sqlalchemy import Select, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine

from application.queries.pagination import Page, PageRequest
from domain.shared import InvalidInput

T = TypeVar("T")

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True)
class SortKey:
    column: Any
    kind: type  # str, int, datetime or uuid.UUID: how a cursor value is decoded


def encode_cursor(values: tuple[Any, ...]) -> str:
    raw = json.dumps([v.isoformat() if isinstance(v, datetime) else str(v) if isinstance(v, uuid.UUID) else v
                      for v in values], separators=(",", ":"))
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


def keyset_select(query: Select[Any], keys: list[SortKey], *, descending: bool, page: PageRequest) -> Select[Any]:
    """`query` narrowed to one page (plus one row, to tell whether there is more): the cursor's row-value
    comparison, the sort, the limit. `page_from_rows` turns its rows into the Page."""
    columns = [k.column for k in keys]
    walk_descending = descending != page.backward
    cursor = page.before if page.backward else page.after
    stmt = query
    if cursor is not None:
        values = decode_cursor(cursor, keys, "before" if page.backward else "after")
        row_key, bound = tuple_(*columns), tuple_(*values)
        stmt = stmt.where(row_key < bound if walk_descending else row_key > bound)
    return stmt.order_by(*[c.desc() if walk_descending else c.asc() for c in columns]).limit(page.size + 1)


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
    engine: AsyncEngine,
    query: Select[Any],
    keys: list[SortKey],
    *,
    descending: bool,
    page: PageRequest,
    to_item: Callable[[Any], T],
) -> Page[T]:
    stmt = keyset_select(query, keys, descending=descending, page=page)
    async with engine.connect() as conn:
        rows = list((await conn.execute(stmt)).all())

    async def count() -> int:
        async with engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(query.order_by(None).subquery()))).scalar_one())

    return page_from_rows(rows, keys, page, to_item, count)


def _label(key: SortKey) -> str:
    return key.column.key

"""Node, global IDs and keyset connections (Relay cursor connections with totalCount)."""
from __future__ import annotations

import base64
import binascii
import functools
import uuid
from typing import Any, Callable, ClassVar, Generic, Iterable, TypeVar

import strawberry
from strawberry.types import Info

from application.queries.pagination import Page, PageRequest
from domain.shared import InvalidInput

T = TypeVar("T")
V = TypeVar("V")


@strawberry.interface(name="Node")
class Node:
    id: strawberry.ID


_URLSAFE = str.maketrans("-_", "+/")


def to_global_id(type_name: str, raw_id: uuid.UUID, part: str | int | None = None) -> strawberry.ID:
    """Standard, padded base64 of `Type:uuid`, or of `Type:uuid:part` for a part of an aggregate (an order's
    line, a workflow's step) that has no id of its own. (The compiled read path writes the same in SQL:
    infrastructure/db/queries/documents.py, and engine.py's `crm_gid` for SQLite.)"""
    text = f"{type_name}:{raw_id}" if part is None else f"{type_name}:{raw_id}:{part}"
    return strawberry.ID(base64.b64encode(text.encode()).decode())


def parse_global_key(value: str) -> tuple[str, uuid.UUID, str | None]:
    """(type, uuid, part or None) of an ID this API handed out, padded or not (ids before 2026-12 were
    unpadded base64url; they are still accepted). Raises ValueError for anything else."""
    if not isinstance(value, str):
        raise ValueError(value)
    return _parse_global_key(value)


@functools.lru_cache(maxsize=4096)  # the ids a client was given come back as arguments, again and again (a ValueError
def _parse_global_key(value: str) -> tuple[str, uuid.UUID, str | None]:  # is not kept)
    try:
        text = value.rstrip("=").translate(_URLSAFE)
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError, AttributeError):
        raise ValueError(value) from None
    type_name, sep, rest = raw.partition(":")
    if not sep or not type_name.isalpha():
        raise ValueError(value)
    raw_id, sep, part = rest[:36], rest[36:37], rest[37:]
    if sep not in ("", ":") or (sep and not part):
        raise ValueError(value)
    return type_name, uuid.UUID(raw_id), part if sep else None


def parse_global_id(value: str) -> tuple[str, uuid.UUID]:
    """Raises ValueError for anything that is not an ID of a whole object this API handed out."""
    type_name, raw_id, part = parse_global_key(value)
    if part is not None:
        raise ValueError(value)
    return type_name, raw_id


def decode_id(value: str, type_name: str, field: str) -> uuid.UUID:
    """The uuid inside a global ID of the expected type, or InvalidInput naming the field."""
    try:
        found, raw_id = parse_global_id(value)
    except ValueError:
        raise InvalidInput(f"{field} is not a valid ID.", field=(field,)) from None
    if found != type_name:
        raise InvalidInput(f"{field} must be the ID of a {type_name}, not of a {found}.", field=(field,))
    return raw_id


def decode_optional_id(value: str | None, type_name: str, field: str) -> uuid.UUID | None:
    return None if value is None else decode_id(value, type_name, field)


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    node: T
    cursor: str


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    _page: strawberry.Private[Page]  # type: ignore[type-arg]
    edge: ClassVar[type[Any]] = Edge  # a connection named by the contract names its edges too (TimelineEdge)

    @strawberry.field
    async def total_count(self) -> int:
        return await self._page.count()

    @classmethod
    def from_page(cls, page: Page[V], convert: Callable[[V], T]) -> "Connection[T]":
        return cls(
            edges=[cls.edge(node=convert(item), cursor=cursor) for item, cursor in zip(page.items, page.cursors)],
            page_info=PageInfo(
                has_next_page=page.has_next, has_previous_page=page.has_previous,
                start_cursor=page.start_cursor, end_cursor=page.end_cursor,
            ),
            _page=page,
        )


def page_request(first: int | None = None, after: str | None = None, last: int | None = None,
                 before: str | None = None) -> PageRequest:
    return PageRequest(first=first, after=after, last=last, before=before)


def ids(values: Iterable[str], type_name: str, field: str) -> list[uuid.UUID]:
    return [decode_id(v, type_name, field) for v in values]


__all__ = ["Connection", "Edge", "Info", "Node", "PageInfo"]

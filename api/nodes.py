"""`node` / `nodes`, and how one area's type reaches another's without importing it.

Each Node type registers how it is loaded by its id (`register`, at the end of its module; api/schema.py imports
every area), so `resolve_node(info, "Order", id)` answers `node(id:)` and lets `Complaint.order` or
`Activity.subject` name a type of another area instead of importing it; nested connections and lists of another
area (`Customer.complaints`, `Order.complaints`, `Customer.orders`, `Customer.campaigns`) go through `children` the
same way. This module imports no type, so the only cycles left in the type graph are strawberry.lazy annotations (tests/
test_architecture.py fails on any other). Every lookup is batched through the request's loaders and as visible
as the type's own queries."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, ClassVar, Literal, TypeVar

from strawberry.types import Info

from api.common.federation import load_entity
from api.common.relay import Node, parse_global_key
from api.context import Context, Loaders

T = TypeVar("T")
Resolver = Callable[[Info[Context, None], uuid.UUID], Awaitable[Any]]
PartResolver = Callable[[Info[Context, None], uuid.UUID, str], Awaitable[Any]]


@dataclass(frozen=True, kw_only=True)
class Children:
    """A nested connection's arguments: whose children (the parent's kind and id), the filter input, the page's
    arguments (checked by whoever answers, so that a bad one is that field's coded error)."""

    parent: Literal["customer", "order"]
    parent_id: uuid.UUID
    filter: Any = None
    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None


ChildrenResolver = Callable[[Info[Context, None], Children], Awaitable[Any]]

RESOLVERS: dict[str, Resolver] = {}
# Parts of an aggregate without an id of their own: their global ID is the aggregate's and the part's key.
PART_RESOLVERS: dict[str, PartResolver] = {}
CHILDREN: dict[str, ChildrenResolver] = {}


def register(type_name: str, resolver: Resolver) -> None:
    RESOLVERS[type_name] = resolver


def register_part(type_name: str, resolver: PartResolver) -> None:
    PART_RESOLVERS[type_name] = resolver


def register_children(type_name: str, resolver: ChildrenResolver) -> None:
    CHILDREN[type_name] = resolver


async def resolve_node(info: Info[Context, None], type_name: str, raw_id: uuid.UUID) -> Node | None:
    resolver = RESOLVERS.get(type_name)
    return await resolver(info, raw_id) if resolver else None


async def children(info: Info[Context, None], type_name: str, of: Children) -> Any:
    """The connection of `type_name`s under a parent (Customer.complaints: `children(info, "Complaint", ...)`)."""
    return await CHILDREN[type_name](info, of)


async def resolve_global_id(info: Info[Context, None], global_id: str) -> Node | None:
    """None for IDs that are well-formed but name nothing; ValueError for malformed ones."""
    type_name, raw_id, part = parse_global_key(global_id)
    if part is None:
        return await resolve_node(info, type_name, raw_id)
    resolver = PART_RESOLVERS.get(type_name)
    return await resolver(info, raw_id, part) if resolver else None


async def load_node(load: Callable[[Any], Awaitable[Any]], key: Any, convert: Callable[[Any], T]) -> T | None:
    """`convert`ed, what `load` finds for `key`; None without a key or when nothing (visible) is found."""
    if key is None:
        return None
    view = await load(key)
    return convert(view) if view is not None else None


class Loaded:
    """What every Node type made from a read-model view shares, declared as `class Complaint(Node, Loaded,
    loader="complaint_by_id")`: `load(info, id)` through that loader of the request (`ctx.loaders`), registered
    for `node(id:)` and for other areas (`resolve_node`), and `resolve_reference` through the same loader for
    the federation entities (as visible as through `node`). A type whose lookup is more than its loader
    overrides `load`."""

    loader: ClassVar[str]
    view_of: ClassVar[Callable[[Any], Any] | None]

    def __init_subclass__(cls, loader: str = "", view_of: Callable[[Any], Any] | None = None, **kwargs: Any) -> None:
        """`view_of`: the view of the aggregate (or value) a write returns (application/queries/written.py)."""
        super().__init_subclass__(**kwargs)
        cls.loader, cls.view_of = loader, view_of
        register(cls.__name__, cls.load)

    @classmethod
    def from_view(cls, view: Any) -> Any:
        raise NotImplementedError

    @classmethod
    async def load(cls, info: Info[Context, None], raw_id: Any) -> Any:
        return await load_node(getattr(info.context.loaders, cls.loader).load, raw_id, cls.from_view)

    @classmethod
    def prime(cls, loaders: Loaders, written: Any) -> None:
        """Before a payload reads what its write left: that state's view into `loaders`, so the payload shows this
        write's version even when another writer has committed since (see application/queries/written.py)."""
        if cls.view_of is not None:
            getattr(loaders, cls.loader).prime(written.id, cls.view_of(written))

    @classmethod
    async def written(cls, info: Info[Context, None], raw_id: Any) -> Any:
        """What a mutation wrote, for its payload (api/common/payloads.py): through its loader, as primed."""
        return await cls.load(info, raw_id)

    @classmethod
    async def resolve_reference(cls, info: Info[Context, None], id: str) -> Any:
        """Federation: the entity behind a representation, batched and as visible as through `node`."""
        return await load_entity(cls.__name__, id, getattr(info.context.loaders, cls.loader).load, cls.from_view)

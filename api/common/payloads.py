"""What every mutation does around its use case, once: run it (`attempt`: a broken business rule becomes a
userError, a refusal of authority FORBIDDEN), then let the payload read what the write left by its id, through
the request's loaders and the read model, as a query of it would (one read path: no aggregate is mapped to
the API by hand). After a write the request's loaders start afresh: what they remembered may be what it changed."""
import uuid
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, ClassVar, Optional, TypeVar

import strawberry
from strawberry.types import Info

from api.common.errors import UserError, attempt
from api.context import Context, Loaders

A = TypeVar("A")
P = TypeVar("P", bound="Payload")


async def write(info: Info[Context, None],
                use_case: Callable[[Context], Awaitable[A]]) -> tuple[Optional[A], list[UserError]]:
    """`use_case(ctx)`'s result, or None with the userErrors it raised."""
    ctx = info.context
    written, errors = await attempt(lambda: use_case(ctx))
    if written is not None:
        ctx.loaders = Loaders(ctx)
    return written, errors


@dataclass(kw_only=True)
class Payload:
    """A mutation's payload: its userErrors, and the id of what it wrote for `written` fields to read."""

    written_id: strawberry.Private[Optional[uuid.UUID]] = None  # a real annotation: the subclasses' modules read it
    written_node: ClassVar[Any] = None  # the Node type of its `written` field

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.written_node = next(node for value in vars(cls).values() if (node := getattr(value, "written_node", None)))

    @classmethod
    async def write(cls: type[P], info: Info[Context, None], use_case: Callable[[Context], Awaitable[Any]]) -> P:
        """Run `use_case`; the payload of what it returned (an aggregate), its view primed into the loaders."""
        written, errors = await write(info, use_case)
        if written is not None:
            cls.written_node.prime(info.context.loaders, written)
        return cls(user_errors=errors, written_id=written.id if written is not None else None)  # type: ignore[call-arg]


def written(node: Any) -> Any:
    """A payload's field of what the mutation wrote, read by its id through `node.written` (the node's loader)."""
    async def resolve(root: Payload, info: Info[Context, None]) -> Any:
        return await node.written(info, root.written_id)

    field = strawberry.field(resolver=resolve)
    field.written_node = node  # type: ignore[attr-defined]
    return field

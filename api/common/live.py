"""What every subscription does before its own filters, once: only a signed-in subscriber subscribes, a bad
argument is a coded error (not a socket closed on a traceback), and each committed event of the aggregate type
it follows comes with the subscriber as re-read for it: a deactivated person's subscription ends at once, and a
move to another department changes what they see. Events come from the EventStream port, i.e. only after
their commit."""
from __future__ import annotations

from contextlib import aclosing
from typing import AsyncIterator, Callable, TypeVar

from strawberry.types import Info

from api.common.errors import api_error, forbidden
from api.context import Context
from application.queries.views import StaffView
from domain.shared import DomainEvent, InvalidInput

T = TypeVar("T")


def subscriber_arguments(info: Info[Context, None], decode: Callable[[], T]) -> T:
    """`decode()`'s arguments; FORBIDDEN without a subscriber, a coded error for an argument it refuses."""
    if info.context.actor is None:
        raise forbidden()
    try:
        return decode()
    except InvalidInput as err:
        raise api_error(err.message, err.code, field=list(err.field or ())) from None


async def committed(info: Info[Context, None], aggregate_type: str,
                    wanted: Callable[[DomainEvent], bool] = lambda _: True,
                    ) -> AsyncIterator[tuple[DomainEvent, StaffView]]:
    """Committed events on `aggregate_type` that `wanted` keeps, each with the subscriber as it is now; ends when
    the subscriber is gone or deactivated."""
    ctx = info.context
    async with aclosing(ctx.events.subscribe()) as events:  # type: ignore[type-var]
        async for event in events:
            if event.aggregate_type != aggregate_type or not wanted(event):
                continue
            (staff,) = await ctx.organisation.staff_by_ids([ctx.actor.id])
            if staff is None or not staff.active:
                return
            yield event, staff

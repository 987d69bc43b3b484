from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.common.errors import read
from api.common.relay import Connection, page_request
from api.context import Context
from api.events.types import DomainEvent
from application.queries.events import EventFilter, require_feed_reader


@strawberry.type
class EventQuery:
    @strawberry.field(description="The event log in commit order; pass the last cursor you saw as after to resume. "
                                  "types: exact types (complaint.filed), prefixes (order.*) or * for all. For key "
                                  "users, managers and administrators (partners: a KEY_USER service account)")
    async def events(self, info: Info[Context, None], first: int | None = None, after: str | None = None,
                     types: list[str] | None = None) -> Connection[DomainEvent]:
        ctx = info.context

        async def run():  # type: ignore[no-untyped-def]
            require_feed_reader(ctx.actor)
            return await ctx.event_queries.feed(EventFilter.parse(types), page_request(first, after))

        return Connection.from_page(await read(run), DomainEvent.from_view)

"""The event feed: the outbox as partners replay it, from a cursor, in commit order.

Who reads it: ADMINs, and KEY_USERs and MANAGERs of any department. Members do not: the feed holds
every department's events (complaints, orders, workflow decisions) with their payloads, beyond what a
member may see elsewhere. Partners and integrations read it through a service account -- a staff
member with the KEY_USER role (e.g. in the department that owns the integration), whose bearer token
(`crm token EMAIL`) they keep; deactivating that account cuts them off at once.

Type filters (`types`): an exact event type (`complaint.filed`, `order.shipped`), a prefix ending in
`.*` (`order.*`: every order event, `workflow.*` ...), or `*` alone for everything; an event matches
when it matches any of them. No filter (null or an empty list) means everything.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from application.queries.pagination import Page, PageRequest
from domain.organisation import Role, Staff
from domain.shared import InvalidInput, LimitExceeded, NotAuthorized

MAX_TYPE_FILTERS = 50
EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")


@dataclass(frozen=True, kw_only=True)
class EventView:
    id: uuid.UUID
    type: str
    aggregate_type: str
    aggregate_id: uuid.UUID
    occurred_at: datetime
    payload: dict[str, Any]


@dataclass(frozen=True)
class EventFilter:
    """Events whose type is one of `types` or starts with one of `prefixes` (e.g. "order."); both empty:
    every event."""

    types: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()

    @property
    def everything(self) -> bool:
        return not self.types and not self.prefixes

    @classmethod
    def parse(cls, patterns: list[str] | None, field: str = "types") -> "EventFilter":
        """Read `types` as the module docstring describes; InvalidInput names the offending entry."""
        if not patterns:
            return cls()
        if len(patterns) > MAX_TYPE_FILTERS:
            raise LimitExceeded(f"At most {MAX_TYPE_FILTERS} event types at once.", field=(field,))
        types: list[str] = []
        prefixes: list[str] = []
        for n, raw in enumerate(patterns):
            pattern = raw.strip().lower()
            if pattern == "*":
                return cls()
            name = pattern[:-2] if pattern.endswith(".*") else pattern
            if len(pattern) > 100 or not EVENT_TYPE.match(name):
                raise InvalidInput(f"{raw!r} is not an event type such as complaint.filed or a prefix such as "
                                   "order.*.", field=(field, str(n)))
            if pattern.endswith(".*"):
                prefixes.append(name + ".")
            else:
                types.append(name)
        return cls(tuple(dict.fromkeys(types)), tuple(dict.fromkeys(prefixes)))

    def matches(self, event_type: str) -> bool:
        return self.everything or event_type in self.types or any(event_type.startswith(p) for p in self.prefixes)


def may_read_event_feed(actor: Staff) -> bool:
    """Rule: OnlyKeyUsersManagersAndAdminsReadTheEventFeed (see the module docstring)."""
    return actor.active and actor.role in (Role.KEY_USER, Role.MANAGER, Role.ADMIN)


def require_feed_reader(actor: Staff) -> None:
    if not may_read_event_feed(actor):
        raise NotAuthorized("Only key users, managers and administrators read the event feed.")


class EventQueries(Protocol):
    async def feed(self, filter: EventFilter, page: PageRequest) -> Page[EventView]:
        """Committed events oldest first, forward only (first/after). An event is listed only once no
        event can still commit before it in the feed's order, so a reader resuming from any cursor it
        was handed never misses one."""

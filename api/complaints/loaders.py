"""Per-request DataLoaders for complaints (built in api/context.py; never module-level).

Complaints are loaded through the reader's `ComplaintScope`, so a complaint the reader may not
see is simply not found, wherever it is reached from (node, lookups, activity subjects)."""
from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from strawberry.dataloader import DataLoader

from application.queries.complaints import (
    CategoryView,
    ComplaintQueries,
    ComplaintScope,
    ComplaintView,
    SlaHistoryView,
    TimelineEntryView,
)
from application.queries.views import OrganisationQueries
from domain.calendar import BusinessCalendar
from domain.organisation import Staff
from domain.sla import SlaPolicy


def _loader(fetch):  # type: ignore[no-untyped-def]
    async def load(keys):  # type: ignore[no-untyped-def]
        return await fetch(list(keys))

    return DataLoader(load_fn=load)


@dataclass
class ComplaintLoaders:
    queries: ComplaintQueries
    organisation: OrganisationQueries
    actor: Callable[[], Staff | None]  # read when first needed: a WebSocket signs in after its context exists
    complaint_by_id: DataLoader[uuid.UUID, ComplaintView | None] = field(init=False)
    entry_by_id: DataLoader[uuid.UUID, TimelineEntryView | None] = field(init=False)
    sla_history_by_complaint: DataLoader[uuid.UUID, SlaHistoryView] = field(init=False)
    category_by_id: DataLoader[uuid.UUID, CategoryView | None] = field(init=False)
    policy_by_id: DataLoader[uuid.UUID, SlaPolicy | None] = field(init=False)
    calendar_by_id: DataLoader[uuid.UUID, BusinessCalendar | None] = field(init=False)
    _scope: "asyncio.Future[ComplaintScope] | None" = field(init=False, default=None)

    def __post_init__(self) -> None:
        async def complaints(ids: list[uuid.UUID]) -> list[ComplaintView | None]:
            return await self.queries.by_ids(ids, await self.scope())

        self.complaint_by_id = _loader(complaints)
        self.entry_by_id = _loader(self.queries.entries_by_ids)
        self.sla_history_by_complaint = _loader(self.queries.sla_history)
        self.category_by_id = _loader(self.queries.categories_by_ids)
        self.policy_by_id = _loader(self.queries.policies_by_ids)
        self.calendar_by_id = _loader(self.queries.calendars_by_ids)

    async def scope(self) -> ComplaintScope:
        """What the request's actor may see (their department read once per request, however many
        resolvers ask at the same time)."""
        if self._scope is None:
            self._scope = asyncio.ensure_future(scope_of(self.organisation, self.actor()))
        return await self._scope


# A department's code never changes (departments come with the migrations; no operation renames one), so each
# process looks a department's code up once, not on every request that reads complaints.
_DEPARTMENT_CODES: dict[uuid.UUID, str | None] = {}


async def scope_of(organisation: OrganisationQueries, actor: Any) -> ComplaintScope:
    if actor is None:  # pragma: no cover - every operation is authenticated
        raise PermissionError("no actor")
    if actor.department_id not in _DEPARTMENT_CODES:
        (department,) = await organisation.departments_by_ids([actor.department_id])
        if department is None:
            return ComplaintScope.of(actor, None)
        _DEPARTMENT_CODES[actor.department_id] = department.code
    return ComplaintScope.of(actor, _DEPARTMENT_CODES[actor.department_id])

"""Read models for complaints, their timelines and SLA clocks, categories, policies, calendars and
the SLA report. Reads never load aggregates; SLA clocks are computed from the stored terms and
history with the same pure functions the aggregate uses."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from application.queries.pagination import Page, PageRequest
from domain.calendar import BusinessCalendar
from domain.complaint import sees_all_complaints
from domain.organisation import Staff
from domain.sla import SlaEvaluation, SlaPolicy, evaluate_sla


@dataclass(frozen=True)
class ComplaintScope:
    """Which complaints a reader may see (domain/complaint.py): all of them, or those of their
    department, filed by them, assigned to them, or of customers they own."""

    staff_id: uuid.UUID
    department_id: uuid.UUID
    sees_all: bool

    @classmethod
    def of(cls, actor: Staff, department_code: str | None) -> "ComplaintScope":
        return cls(actor.id, actor.department_id, sees_all_complaints(actor, department_code))


@dataclass(frozen=True, kw_only=True)
class ComplaintView:
    id: uuid.UUID
    number: str
    customer_id: uuid.UUID
    order_id: uuid.UUID | None
    category_id: uuid.UUID
    priority: str
    channel: str
    subject: str
    description: str
    status: str
    department_id: uuid.UUID
    assignee_id: uuid.UUID | None
    filed_by: uuid.UUID | None
    resolution: str | None
    satisfaction: int | None
    terms: SlaPolicy | None  # the policy's targets as fixed at filing
    escalation_level: int
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, kw_only=True)
class TimelineEntryView:
    id: uuid.UUID
    complaint_id: uuid.UUID
    position: int
    at: datetime
    kind: str
    author_id: uuid.UUID | None
    department_id: uuid.UUID | None
    visibility: str
    message: str | None
    from_status: str | None
    to_status: str | None


@dataclass(frozen=True, kw_only=True)
class SlaHistoryView:
    """What the clocks are computed from: status changes (at, from, to) and progress times."""

    status_changes: tuple[tuple[datetime, str | None, str], ...]
    progress: tuple[datetime, ...]


@dataclass(frozen=True, kw_only=True)
class CategoryView:
    id: uuid.UUID
    code: str
    name: str
    parent_id: uuid.UUID | None
    active: bool


@dataclass(frozen=True)
class ComplaintFilter:
    statuses: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    category_ids: tuple[uuid.UUID, ...] = ()
    assignee_id: uuid.UUID | None = None
    department_id: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None
    order_id: uuid.UUID | None = None
    sla_at_risk: bool | None = None
    search: str | None = None


@dataclass(frozen=True, kw_only=True)
class SlaReportRowView:
    category_id: uuid.UUID
    filed: int
    resolved: int
    first_response_breached: int
    resolution_breached: int
    median_resolution_minutes: int | None


ComplaintParent = Literal["customer", "order"]  # whose complaints a nested connection lists


class ComplaintQueries(Protocol):
    async def list(self, scope: ComplaintScope, filter: ComplaintFilter, page: PageRequest,
                   now: datetime) -> Page[ComplaintView]:
        """Newest first; `now` decides slaAtRisk (a stored instant compared with now)."""

    async def list_per(self, scope: ComplaintScope, filter: ComplaintFilter, parent: ComplaintParent,
                       parent_ids: list[uuid.UUID], page: PageRequest, now: datetime) -> list[Page[ComplaintView]]:
        """The same page for each customer's (or order's) complaints, in one batch."""

    async def by_ids(self, ids: list[uuid.UUID], scope: ComplaintScope) -> list[ComplaintView | None]:
        """None for complaints that do not exist or the scope may not see."""

    async def by_number(self, number: str, scope: ComplaintScope) -> ComplaintView | None: ...
    async def timeline(self, complaint_ids: list[uuid.UUID], page: PageRequest) -> list[Page[TimelineEntryView]]:
        """Each complaint's page of its timeline, newest first, in one batch."""

    async def entries_by_ids(self, ids: list[uuid.UUID]) -> list[TimelineEntryView | None]: ...
    async def sla_history(self, complaint_ids: list[uuid.UUID]) -> list[SlaHistoryView]: ...
    async def categories(self) -> list[CategoryView]: ...
    async def categories_by_ids(self, ids: list[uuid.UUID]) -> list[CategoryView | None]: ...
    async def policies(self) -> list[SlaPolicy]: ...
    async def policies_by_ids(self, ids: list[uuid.UUID]) -> list[SlaPolicy | None]: ...
    async def calendars(self) -> list[BusinessCalendar]: ...
    async def calendars_by_ids(self, ids: list[uuid.UUID]) -> list[BusinessCalendar | None]: ...
    async def sla_report(self, start: datetime, end: datetime,
                         department_id: uuid.UUID | None) -> list[SlaReportRowView]:
        """Per category, over complaints filed in [start, end): how many were filed, are resolved,
        breached first response or resolution; the median business minutes to resolve."""


def evaluate_complaint_sla(view: ComplaintView, calendar: BusinessCalendar | None, history: SlaHistoryView,
                           now: datetime) -> SlaEvaluation | None:
    """The complaint's three clocks at `now`, as the aggregate computes them; None without a policy."""
    if view.terms is None or calendar is None:
        return None
    return evaluate_sla(view.terms, calendar, view.created_at, history.status_changes, history.progress, now)

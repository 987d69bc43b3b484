"""Complaint, its timeline and SLA status; categories, SLA policies, business calendars; the SLA report."""
from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from api.common.federation import ENTITY_KEY
from api.common.pages import nested_page
from api.common.relay import Connection, Node, to_global_id
from api.complaints.enums import (
    ChannelEnum,
    ComplaintEventKind,
    ComplaintStatusEnum,
    PriorityEnum,
    SlaTargetStateEnum,
    TimelineKindEnum,
    VisibilityEnum,
)
from api.context import Context, Loaders
from api.customers.enums import CustomerTierEnum
from api.customers.types import Customer, load_customer
from api.nodes import Loaded, load_node, resolve_node
from api.organisation.types import Department, Staff, load_department, load_staff
from application.queries.complaints import (
    CategoryView,
    ComplaintView,
    SlaReportRowView,
    TimelineEntryView,
    evaluate_complaint_sla,
)
from application.queries.written import category_view, complaint_view
from domain.calendar import BusinessCalendar as CalendarValue
from domain.complaint import Channel, ComplaintStatus, Priority, TimelineKind, Visibility, read_by_outsider
from domain.customer import CustomerTier
from domain.sla import SlaPolicy as PolicyValue
from domain.sla import SlaTarget as TargetValue
from domain.sla import SlaTargetState

if TYPE_CHECKING:
    from api.orders.types import Order

__all__ = ["BusinessCalendar", "ChannelEnum", "Complaint", "ComplaintCategory", "ComplaintEvent", "ComplaintEventKind",
           "ComplaintStatusEnum", "PriorityEnum", "SlaPolicy", "SlaReport", "SlaReportRow", "TimelineEntry",
           "VisibilityEnum"]


# --------------------------------------------------------------------------------- configuration


@strawberry.type
class ComplaintCategory(Node, Loaded, loader="category_by_id", view_of=category_view):
    id: strawberry.ID
    code: str
    name: str
    active: bool
    _view: strawberry.Private[CategoryView]

    @classmethod
    def from_view(cls, v: CategoryView) -> "ComplaintCategory":
        return cls(id=to_global_id("ComplaintCategory", v.id), code=v.code, name=v.name, active=v.active, _view=v)

    @strawberry.field
    async def parent(self, info: Info[Context, None]) -> "ComplaintCategory | None":
        return await load_category(info, self._view.parent_id)


async def load_category(info: Info[Context, None], category_id: uuid.UUID | None) -> ComplaintCategory | None:
    return await ComplaintCategory.load(info, category_id)  # type: ignore[no-any-return]


@strawberry.type
class WorkingHours:
    weekday: int = strawberry.field(description="ISO weekday, 1 = Monday")
    start: str = strawberry.field(description="HH:MM in the calendar's time zone")
    end: str


@strawberry.type
class BusinessCalendar(Node, Loaded, loader="calendar_by_id", view_of=lambda value: value):
    id: strawberry.ID
    name: str
    timezone: str = strawberry.field(description="IANA zone, e.g. Europe/Berlin")
    working_hours: list[WorkingHours]
    holidays: list[date]

    @classmethod
    def from_view(cls, v: CalendarValue) -> "BusinessCalendar":
        return cls(id=to_global_id("BusinessCalendar", v.id), name=v.name, timezone=v.timezone,
                   working_hours=[WorkingHours(weekday=w.weekday, start=w.start, end=w.end) for w in v.windows],
                   holidays=v.sorted_holidays)


@strawberry.type
class SlaPolicy(Node, Loaded, loader="policy_by_id", view_of=lambda value: value):
    id: strawberry.ID
    name: str
    priority: PriorityEnum | None  # type: ignore[valid-type]
    customer_tier: CustomerTierEnum | None  # type: ignore[valid-type]
    first_response_minutes: int = strawberry.field(description="Business minutes from filing to first acknowledgement")
    resolution_minutes: int = strawberry.field(
        description="Business minutes from filing to RESOLVED, excluding time WAITING_ON_CUSTOMER")
    update_interval_minutes: int | None = strawberry.field(
        description="Longest allowed gap, in business minutes, between progress entries while unresolved; "
                    "null = no cadence")
    warn_at: float = strawberry.field(description="Share of a target's time after which a warning is raised, e.g. 0.8")
    active: bool
    _value: strawberry.Private[PolicyValue]

    @classmethod
    def from_view(cls, v: PolicyValue) -> "SlaPolicy":
        return cls(id=to_global_id("SlaPolicy", v.id), name=v.name,
                   priority=Priority(v.priority) if v.priority else None,
                   customer_tier=CustomerTier(v.customer_tier) if v.customer_tier else None,
                   first_response_minutes=v.first_response_minutes, resolution_minutes=v.resolution_minutes,
                   update_interval_minutes=v.update_interval_minutes, warn_at=v.warn_at, active=v.active, _value=v)

    @strawberry.field(description="Matching: most specific policy wins (category, then priority, then customer tier); "
                                  "null matches any")
    async def category(self, info: Info[Context, None]) -> ComplaintCategory | None:
        return await load_category(info, self._value.category_id)

    @strawberry.field
    async def calendar(self, info: Info[Context, None]) -> BusinessCalendar:
        calendar = await BusinessCalendar.load(info, self._value.calendar_id)
        assert calendar is not None
        return calendar  # type: ignore[no-any-return]

    @strawberry.field
    async def escalate_to(self, info: Info[Context, None]) -> Staff | None:
        return await load_staff(info, self._value.escalate_to_id)


# -------------------------------------------------------------------------------------- SLA


@strawberry.type
class SlaTarget:
    state: SlaTargetStateEnum  # type: ignore[valid-type]
    due_at: datetime | None
    met_at: datetime | None
    remaining_minutes: int | None = strawberry.field(
        description="Business minutes left (negative once breached); null when met or not applicable")

    @classmethod
    def of(cls, target: TargetValue | None) -> "SlaTarget":
        if target is None or target.state is SlaTargetState.NOT_APPLICABLE:
            return cls(state=SlaTargetState.NOT_APPLICABLE, due_at=None, met_at=None, remaining_minutes=None)
        remaining = None if target.state is SlaTargetState.MET else target.remaining_minutes
        return cls(state=target.state, due_at=target.due_at, met_at=target.met_at, remaining_minutes=remaining)


@strawberry.type
class SlaStatus:
    first_response: SlaTarget
    resolution: SlaTarget
    next_update: SlaTarget
    escalation_level: int
    _policy_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field
    async def policy(self, info: Info[Context, None]) -> SlaPolicy | None:
        return await SlaPolicy.load(info, self._policy_id)  # type: ignore[no-any-return]


# --------------------------------------------------------------------------------- complaints


@strawberry.type
class TimelineEntry(Node, Loaded, loader="timeline_entry_by_id"):
    id: strawberry.ID
    at: datetime
    kind: TimelineKindEnum  # type: ignore[valid-type]
    message: str | None
    visibility: VisibilityEnum  # type: ignore[valid-type]
    from_status: ComplaintStatusEnum | None  # type: ignore[valid-type]
    to_status: ComplaintStatusEnum | None  # type: ignore[valid-type]
    _view: strawberry.Private[TimelineEntryView]

    @classmethod
    def from_view(cls, v: TimelineEntryView) -> "TimelineEntry":
        return cls(id=to_global_id("TimelineEntry", v.id), at=v.at, kind=TimelineKind(v.kind), message=v.message,
                   visibility=Visibility(v.visibility),
                   from_status=ComplaintStatus(v.from_status) if v.from_status else None,
                   to_status=ComplaintStatus(v.to_status) if v.to_status else None, _view=v)

    @classmethod
    async def load(cls, info: Info[Context, None], raw_id: Any) -> "TimelineEntry | None":
        """An entry of a complaint the caller may see (else null, as for the complaint)."""
        loaders = info.context.loaders
        entry = await loaders.timeline_entry_by_id.load(raw_id)
        if entry is None or await loaders.complaint_by_id.load(entry.complaint_id) is None:
            return None
        return cls.from_view(entry)

    @strawberry.field
    async def author(self, info: Info[Context, None]) -> Staff | None:
        return await load_staff(info, self._view.author_id)

    @strawberry.field
    async def department(self, info: Info[Context, None]) -> Department | None:
        return await load_department(info, self._view.department_id)


@strawberry.type(name="TimelineEdge")
class TimelineEdge:
    node: TimelineEntry
    cursor: str


@strawberry.type(name="TimelineConnection")
class TimelineConnection(Connection[TimelineEntry]):
    """Named as the contract names it (not TimelineEntryConnection)."""

    edges: list[TimelineEdge]  # type: ignore[assignment]
    edge = TimelineEdge


@strawberry.type(directives=[ENTITY_KEY])
class Complaint(Node, Loaded, loader="complaint_by_id", view_of=complaint_view):
    id: strawberry.ID
    number: str = strawberry.field(description="Human-readable, e.g. CMP-000042")
    priority: PriorityEnum  # type: ignore[valid-type]
    channel: ChannelEnum  # type: ignore[valid-type]
    subject: str
    description: str
    status: ComplaintStatusEnum  # type: ignore[valid-type]
    resolution: str | None
    satisfaction: int | None = strawberry.field(description="1..5, given by the customer after resolution")
    created_at: datetime
    updated_at: datetime
    version: int
    _view: strawberry.Private[ComplaintView]

    @classmethod
    def from_view(cls, v: ComplaintView) -> "Complaint":
        return cls(id=to_global_id("Complaint", v.id), number=v.number, priority=Priority(v.priority),
                   channel=Channel(v.channel), subject=v.subject, description=v.description,
                   status=ComplaintStatus(v.status), resolution=v.resolution, satisfaction=v.satisfaction,
                   created_at=v.created_at, updated_at=v.updated_at, version=v.version, _view=v)

    @classmethod
    def prime(cls, loaders: Loaders, written: Any) -> None:
        loaders.complaint_as_written.prime(written.id, complaint_view(written))

    @classmethod
    async def written(cls, info: Info[Context, None], raw_id: Any) -> "Complaint | None":
        """A mutation's complaint, as the write left it, even out of the writer's sight (Loaders.complaint_as_written)."""
        return await load_node(info.context.loaders.complaint_as_written.load, raw_id, cls.from_view)

    @strawberry.field
    async def customer(self, info: Info[Context, None]) -> Customer:
        return await load_customer(info, self._view.customer_id)

    @strawberry.field
    async def order(self, info: Info[Context, None]) -> Annotated["Order", strawberry.lazy("api.orders.types")] | None:
        if self._view.order_id is None:
            return None
        return await resolve_node(info, "Order", self._view.order_id)  # type: ignore[return-value]

    @strawberry.field
    async def category(self, info: Info[Context, None]) -> ComplaintCategory:
        category = await load_category(info, self._view.category_id)
        assert category is not None
        return category

    @strawberry.field
    async def assignee(self, info: Info[Context, None]) -> Staff | None:
        return await load_staff(info, self._view.assignee_id)

    @strawberry.field
    async def department(self, info: Info[Context, None]) -> Department:
        department = await load_department(info, self._view.department_id)
        assert department is not None
        return department

    @strawberry.field(name="filedBy")
    async def filed_by(self, info: Info[Context, None]) -> Staff | None:
        return await load_staff(info, self._view.filed_by)

    @strawberry.field
    async def sla(self, info: Info[Context, None]) -> SlaStatus:
        """The three clocks now (the request's clock), computed from the complaint's history."""
        view, loaders = self._view, info.context.loaders
        evaluation = None
        if view.terms is not None:
            calendar = await loaders.calendar_by_id.load(view.terms.calendar_id)
            history = await loaders.sla_history_by_complaint.load(view.id)
            evaluation = evaluate_complaint_sla(view, calendar, history, info.context.clock.now())
        return SlaStatus(
            first_response=SlaTarget.of(evaluation.first_response if evaluation else None),
            resolution=SlaTarget.of(evaluation.resolution if evaluation else None),
            next_update=SlaTarget.of(evaluation.next_update if evaluation else None),
            escalation_level=view.escalation_level, _policy_id=view.terms.id if view.terms else None)

    @strawberry.field(description="Newest first. A read by someone who does not handle the complaint (neither its "
                                  "assignee nor of its handling department) is recorded, once a day per person")
    async def timeline(self, info: Info[Context, None], first: int | None = None,
                       after: str | None = None) -> TimelineConnection:
        ctx, view = info.context, self._view
        if read_by_outsider(ctx.actor, assignee_id=view.assignee_id, department_id=view.department_id):
            ctx.complaint_reads.record(view.id, ctx.actor.id, ctx.clock.now())  # noted; written behind the read
        complaints = ctx.complaints
        return await nested_page(info, "Complaint.timeline", self._view.id, TimelineEntry.from_view,  # type: ignore[return-value]
                                 lambda request: lambda ids: complaints.timeline(ids, request), first, after,
                                 connection=TimelineConnection)


@strawberry.type
class ComplaintEvent:
    kind: ComplaintEventKind
    at: datetime
    complaint: Complaint
    entry: TimelineEntry | None


@strawberry.type
class SlaReportRow:
    filed: int
    resolved: int
    first_response_breached: int
    resolution_breached: int
    median_resolution_minutes: int | None = strawberry.field(description="Median business minutes from filing to RESOLVED")
    _view: strawberry.Private[SlaReportRowView]

    @classmethod
    def from_view(cls, v: SlaReportRowView) -> "SlaReportRow":
        return cls(filed=v.filed, resolved=v.resolved, first_response_breached=v.first_response_breached,
                   resolution_breached=v.resolution_breached, median_resolution_minutes=v.median_resolution_minutes,
                   _view=v)

    @strawberry.field
    async def category(self, info: Info[Context, None]) -> ComplaintCategory:
        category = await load_category(info, self._view.category_id)
        assert category is not None
        return category


@strawberry.type
class SlaReport:
    from_: datetime = strawberry.field(name="from")
    to: datetime
    rows: list[SlaReportRow]

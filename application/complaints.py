"""Use cases for complaints, and for the categories, SLA policies and business calendars behind them.

Who may do what is decided in domain/complaint.py (see its docstring). A complaint the actor may
not see is reported exactly like one that does not exist (NotFound), so nothing leaks; one they
see but may not act on is refused with NotAuthorized (a top-level FORBIDDEN in the API).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from application.idempotency import replay_or_create
from application.ports import Clock, UnitOfWork
from domain.calendar import BusinessCalendar
from domain.complaint import (
    SERVICE_DEPARTMENT,
    Channel,
    Complaint,
    ComplaintCategory,
    ComplaintStatus,
    Priority,
    SlaTerms,
    Visibility,
    category_path,
    require_configurer,
    sees_all_complaints,
)
from domain.organisation import Staff
from domain.shared import Duplicate, InvalidInput, NotFound
from domain.sla import SlaPolicy, match_policy

COMPLAINT_NUMBER_SEQUENCE = "complaint_number"


# ------------------------------------------------------------------------------------ commands


@dataclass(frozen=True)
class DefineCategory:
    code: str
    name: str
    parent_id: uuid.UUID | None = None


@dataclass(frozen=True)
class DefineCalendar:
    name: str
    timezone: str
    working_hours: tuple[tuple[int, str, str], ...]
    holidays: tuple[date, ...] = ()


@dataclass(frozen=True)
class DefineSlaPolicy:
    name: str
    calendar_id: uuid.UUID
    first_response_minutes: int
    resolution_minutes: int
    category_id: uuid.UUID | None = None
    priority: Priority | None = None
    customer_tier: str | None = None
    update_interval_minutes: int | None = None
    warn_at: float | None = None
    escalate_to_id: uuid.UUID | None = None


@dataclass(frozen=True)
class FileComplaint:
    customer_id: uuid.UUID
    category_id: uuid.UUID
    priority: Priority
    channel: Channel
    subject: str
    description: str
    order_id: uuid.UUID | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class TransitionComplaint:
    complaint_id: uuid.UUID
    to: ComplaintStatus
    note: str | None = None
    expected_version: int | None = None


@dataclass(frozen=True)
class RecordProgress:
    complaint_id: uuid.UUID
    message: str
    visibility: Visibility | None = None
    expected_version: int | None = None


@dataclass(frozen=True)
class AssignComplaint:
    complaint_id: uuid.UUID
    assignee_id: uuid.UUID
    expected_version: int | None = None


@dataclass(frozen=True)
class RateResolution:
    complaint_id: uuid.UUID
    satisfaction: int
    comment: str | None = None


# ------------------------------------------------------------------------------------- helpers


async def department_code(uow: UnitOfWork, actor: Staff) -> str | None:
    department = await uow.departments.get(actor.department_id)
    return department.code if department else None


async def _visible(uow: UnitOfWork, actor: Staff, complaint_id: uuid.UUID) -> Complaint:
    """The complaint for a change, or NotFound when it does not exist or the actor may not see it."""
    complaint = await uow.complaints.get(complaint_id)
    if complaint is not None:
        if sees_all_complaints(actor, await department_code(uow, actor)):
            return complaint
        customer = await uow.customers.get(complaint.customer_id)
        if complaint.visible_to(actor, sees_all=False, customer_owner_id=customer.owner_id if customer else None):
            return complaint
    raise NotFound("No such complaint.", field=("complaintId",))


async def _calendar(uow: UnitOfWork, calendar_id: uuid.UUID) -> BusinessCalendar:
    calendar = await uow.calendars.get(calendar_id)
    if calendar is None:
        raise NotFound("No such calendar.", field=("calendarId",))
    return calendar


# ------------------------------------------------------------------------------- configuration


async def define_category(uow: UnitOfWork, clock: Clock, actor: Staff, cmd: DefineCategory) -> ComplaintCategory:
    """Add a category to the tree. Raises NotAuthorized, NotFound (parent), Duplicate (code), InvalidInput."""
    async with uow:
        require_configurer(actor, await department_code(uow, actor))
        parent, depth = None, 0
        if cmd.parent_id is not None:
            parent = await uow.complaint_categories.get(cmd.parent_id)
            if parent is None:
                raise NotFound("No such parent category.", field=("parentId",))
            depth = len(category_path(parent.id, await uow.complaint_categories.parents())) - 1
        category = ComplaintCategory.define(code=cmd.code, name=cmd.name, parent=parent, parent_depth=depth)
        if await uow.complaint_categories.get_by_code(category.code) is not None:
            raise Duplicate(f"Category code {category.code} is taken.", field=("code",))
        await uow.complaint_categories.add(category, at=clock.now())
        await uow.commit()
    return category


async def define_calendar(uow: UnitOfWork, clock: Clock, actor: Staff, cmd: DefineCalendar) -> BusinessCalendar:
    """Add a business calendar (calendars never change, so the clocks on them never move).
    Raises NotAuthorized, Duplicate (name), InvalidInput (field paths like ("workingHours", "2", "start"))."""
    async with uow:
        require_configurer(actor, await department_code(uow, actor))
        calendar = BusinessCalendar.define(cmd.name, cmd.timezone, list(cmd.working_hours), list(cmd.holidays))
        if await uow.calendars.get_by_name(calendar.name) is not None:
            raise Duplicate(f"A calendar named {calendar.name!r} exists already.", field=("name",))
        await uow.calendars.add(calendar, by=actor.id, at=clock.now())
        await uow.commit()
    return calendar


async def define_sla_policy(uow: UnitOfWork, clock: Clock, actor: Staff, cmd: DefineSlaPolicy) -> SlaPolicy:
    """Add an SLA policy. Defining one with the name of an active policy supersedes it: the old one
    is retired (it no longer matches new complaints; complaints filed under it keep its targets).
    Raises NotAuthorized, NotFound (category, calendar, escalation contact), InvalidInput, Conflict."""
    async with uow:
        require_configurer(actor, await department_code(uow, actor))
        policy = SlaPolicy.define(
            name=cmd.name, calendar_id=cmd.calendar_id, first_response_minutes=cmd.first_response_minutes,
            resolution_minutes=cmd.resolution_minutes, category_id=cmd.category_id, priority=cmd.priority,
            customer_tier=cmd.customer_tier, update_interval_minutes=cmd.update_interval_minutes,
            warn_at=cmd.warn_at, escalate_to_id=cmd.escalate_to_id)
        if policy.category_id is not None and await uow.complaint_categories.get(policy.category_id) is None:
            raise NotFound("No such category.", field=("categoryId",))
        await _calendar(uow, policy.calendar_id)
        if policy.escalate_to_id is not None:
            contact = await uow.staff.get(policy.escalate_to_id)
            if contact is None or not contact.active:
                raise NotFound("The escalation contact must be an active staff member.", field=("escalateToId",))
        for old in await uow.sla_policies.active():
            if old.name == policy.name:
                await uow.sla_policies.retire(old)
        await uow.sla_policies.add(policy, by=actor.id, at=clock.now())
        await uow.commit()
    return policy


# ---------------------------------------------------------------------------------- complaints


async def file_complaint(uow: UnitOfWork, clock: Clock, actor: Staff, cmd: FileComplaint) -> Complaint:
    """File a complaint for a customer; any active staff member may. It goes to the SERVICE
    department, gets the next CMP- number and the most specific active SLA policy for its category
    (or an ancestor), priority and the customer's tier, fixed from now on.
    Raises NotFound (customer, category, order), InvalidInput."""

    async def create() -> uuid.UUID:
        customer = await uow.customers.get(cmd.customer_id)
        if customer is None:
            raise NotFound("No such customer.", field=("customerId",))
        category = await uow.complaint_categories.get(cmd.category_id)
        if category is None:
            raise NotFound("No such category.", field=("categoryId",))
        if cmd.order_id is not None:
            order = await uow.orders.get(cmd.order_id)
            if order is None or order.customer_id != customer.id:
                raise NotFound("No such order of this customer.", field=("orderId",))
        service = await uow.departments.get_by_code(SERVICE_DEPARTMENT)
        if service is None:
            raise NotFound("The service department is missing.", field=("categoryId",))
        path = category_path(category.id, await uow.complaint_categories.parents())
        policy = match_policy(await uow.sla_policies.active(), path, Priority(cmd.priority).value, customer.tier.value)
        terms = SlaTerms(policy, await _calendar(uow, policy.calendar_id)) if policy else None
        number = await uow.sequences.next_value(COMPLAINT_NUMBER_SEQUENCE)
        complaint = Complaint.file(
            number=number, customer_id=customer.id, order_id=cmd.order_id, category=category,
            priority=cmd.priority, channel=cmd.channel, subject=cmd.subject, description=cmd.description,
            department_id=service.id, by=actor, at=clock.now(), terms=terms)
        await uow.complaints.add(complaint)
        return complaint.id

    async with uow:
        complaint_id, _ = await replay_or_create(
            uow, scope=f"fileComplaint:{actor.id}", key=cmd.idempotency_key, command=cmd, create=create)
        complaint = await uow.complaints.get(complaint_id)  # as written (or as first written, for a replay), before the commit
        await uow.commit()
    if complaint is None:
        raise InvalidInput("The complaint could not be read back.")
    return complaint


async def transition_complaint(uow: UnitOfWork, clock: Clock, actor: Staff, cmd: TransitionComplaint) -> Complaint:
    """Move a complaint along its status machine (RESOLVED needs a note). Raises NotFound,
    NotAuthorized (not the assignee, the handling department or an admin), Conflict,
    ForbiddenTransition, InvalidInput."""
    async with uow:
        complaint = await _visible(uow, actor, cmd.complaint_id)
        complaint.transition(cmd.to, by=actor, at=clock.now(), note=cmd.note, expected_version=cmd.expected_version)
        await uow.complaints.save(complaint)
        await uow.commit()
    return complaint


async def record_progress(uow: UnitOfWork, clock: Clock, actor: Staff, cmd: RecordProgress) -> Complaint:
    """Add a progress note (INTERNAL unless said otherwise); the first one answers the first-response
    clock, each one restarts the next-update clock. Raises NotFound, NotAuthorized, Conflict,
    ForbiddenTransition (closed), InvalidInput."""
    async with uow:
        complaint = await _visible(uow, actor, cmd.complaint_id)
        complaint.record_progress(cmd.message, by=actor, at=clock.now(), visibility=cmd.visibility,
                                  expected_version=cmd.expected_version)
        await uow.complaints.save(complaint)
        await uow.commit()
    return complaint


async def assign_complaint(uow: UnitOfWork, clock: Clock, actor: Staff, cmd: AssignComplaint) -> Complaint:
    """Give a complaint to someone (to another department's staff: hands it over). Assigning the
    current assignee again changes nothing. Raises NotFound (complaint, assignee), NotAuthorized,
    Conflict, ForbiddenTransition (closed), InvalidInput (inactive assignee)."""
    async with uow:
        complaint = await _visible(uow, actor, cmd.complaint_id)
        complaint.require_assigner(actor, cmd.assignee_id)  # before the lookup: a refusal tells nothing of staff
        assignee = await uow.staff.get(cmd.assignee_id)
        if assignee is None:
            raise NotFound("No such staff member.", field=("assigneeId",))
        if complaint.assign(assignee, by=actor, at=clock.now(), expected_version=cmd.expected_version) is not None:
            await uow.complaints.save(complaint)
            await uow.commit()
    return complaint


async def rate_resolution(uow: UnitOfWork, clock: Clock, actor: Staff, cmd: RateResolution) -> Complaint:
    """Record the customer's satisfaction (1..5) with a resolved or closed complaint, on their behalf;
    anybody who may see the complaint may. Raises NotFound, InvalidInput."""
    async with uow:
        complaint = await _visible(uow, actor, cmd.complaint_id)
        complaint.rate(cmd.satisfaction, by=actor, at=clock.now(), comment=cmd.comment)
        await uow.complaints.save(complaint)
        await uow.commit()
    return complaint

"""Complaints: categories, the Complaint aggregate with its status machine and timeline, its SLA
clocks (fixed at filing) and escalation; and who may see, handle and configure complaints.

`Priority`, `ComplaintStatus` and the status machine (`ALLOWED_MOVES`) are defined in
domain/complaint_status.py, which the SLA clocks (domain/sla.py) import too, and are part of this
module's vocabulary (import them from here).

Who may do what (one place, used by use cases and read models alike):

- Any active staff member FILES a complaint (sales often does, on the customer's behalf). A new
  complaint is handled by the SERVICE department.
- SEEING a complaint and its timeline (INTERNAL and CUSTOMER entries): admins, managers of any
  department, everybody in SERVICE, everybody in the complaint's handling department, the
  person who filed it, its assignee, and the customer's owner (normally in sales). Everybody
  else is told nothing: lists leave the complaint out, lookups answer null.
- HANDLING it (transition, record progress): admins, the assignee, and staff of the handling
  department.
- ASSIGNING it: admins, key users and managers of the handling department (to anybody active;
  assigning to someone in another department hands the complaint over to that department), and
  a member of the handling department taking it themselves.
- RATING the resolution (on the customer's behalf): whoever may see the complaint.
- CONFIGURING categories, SLA policies and business calendars: admins, and key users and
  managers of SERVICE.
- A READ of its timeline by someone who does not handle it (neither its assignee nor of its handling
  department: `read_by_outsider`) is recorded, once a day per person: how the maturity figures know that
  sales read the progress in the system instead of phoning.
Authority is checked before anything else and refused with `NotAuthorized`, which says nothing
about the complaint.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from domain.calendar import BusinessCalendar, business_time_within
from domain.complaint_status import ALLOWED_MOVES, STOPPED_STATUSES, ComplaintStatus, Priority
from domain.customer import normalise_code
from domain.organisation import Role, Staff
from domain.shared import (
    AggregateRoot,
    DomainEvent,
    ForbiddenTransition,
    InvalidInput,
    NotAuthorized,
    published_as,
    require_text,
    unpublished,
)
from domain.sla import (
    ClockName,
    SlaEvaluation,
    SlaEvent,
    SlaEventKey,
    SlaEventKind,
    SlaPolicy,
    SlaTargetState,
    due_events,
    evaluate_sla,
    next_deadline,
    running_stretches,
)

__all__ = [
    "ALLOWED_MOVES", "Channel", "Complaint", "ComplaintCategory", "ComplaintStatus", "Escalation", "Priority",
    "SERVICE_DEPARTMENT", "SlaTerms", "TimelineEntry", "TimelineKind", "Visibility", "may_configure_complaints",
    "sees_all_complaints",
]

SERVICE_DEPARTMENT = "SERVICE"
MAX_SUBJECT = 200
MAX_DESCRIPTION = 10_000
MAX_MESSAGE = 5_000
MAX_CATEGORY_DEPTH = 6
NUMBER_PREFIX = "CMP-"


class Channel(StrEnum):
    PHONE = "PHONE"
    EMAIL = "EMAIL"
    WEB = "WEB"
    IN_PERSON = "IN_PERSON"
    SALES_REP = "SALES_REP"


class TimelineKind(StrEnum):
    FILED = "FILED"
    STATUS_CHANGE = "STATUS_CHANGE"
    PROGRESS = "PROGRESS"
    ASSIGNMENT = "ASSIGNMENT"
    ESCALATION = "ESCALATION"
    SLA_WARNING = "SLA_WARNING"
    SLA_BREACH = "SLA_BREACH"
    CUSTOMER_FEEDBACK = "CUSTOMER_FEEDBACK"


class Visibility(StrEnum):
    """Whether the customer may be shown the entry (a portal, an e-mail); all staff who may see
    the complaint see both kinds."""

    INTERNAL = "INTERNAL"
    CUSTOMER = "CUSTOMER"




# ------------------------------------------------------------------------------------ authority


def sees_all_complaints(actor: Staff, department_code: str | None) -> bool:
    """Admins, managers of any department and everybody in SERVICE see every complaint."""
    return actor.is_admin or actor.role is Role.MANAGER or department_code == SERVICE_DEPARTMENT


def read_by_outsider(reader: Staff, *, assignee_id: uuid.UUID | None, department_id: uuid.UUID) -> bool:
    """Rule OutsidersReadsAreRecorded: a read of a complaint's timeline counts as a read by someone outside its
    handling (sales, typically) unless the reader is its assignee or works in its handling department."""
    return reader.id != assignee_id and reader.department_id != department_id


def may_configure_complaints(actor: Staff, department_code: str | None) -> bool:
    """Rule: OnlyServiceKeyUsersAndManagersConfigureComplaints (and admins)."""
    return actor.is_admin or (actor.role in (Role.KEY_USER, Role.MANAGER) and department_code == SERVICE_DEPARTMENT)


def require_configurer(actor: Staff, department_code: str | None) -> None:
    if not may_configure_complaints(actor, department_code):
        raise NotAuthorized("Only key users and managers of the service department configure complaints.")


# ----------------------------------------------------------------------------------- categories


@dataclass(frozen=True)
class ComplaintCategory:
    """A node in the category tree. `code` is unique; the parent is given by id."""

    id: uuid.UUID
    code: str
    name: str
    parent_id: uuid.UUID | None = None
    active: bool = True

    @classmethod
    def define(cls, *, code: str, name: str, parent: "ComplaintCategory | None" = None,
               parent_depth: int = 0) -> "ComplaintCategory":
        """Rules: CategoryCodesAreCodes; ACategoryTreeIsAtMostSixDeep; NothingHangsBelowARetiredCategory.
        `parent_depth` is how many ancestors the parent has."""
        if parent is not None:
            if not parent.active:
                raise InvalidInput("The parent category is retired.", field=("parentId",))
            if parent_depth + 2 > MAX_CATEGORY_DEPTH:
                raise InvalidInput(f"Categories nest at most {MAX_CATEGORY_DEPTH} levels deep.", field=("parentId",))
        return cls(
            id=uuid.uuid4(),
            code=normalise_code(code),
            name=require_text(name, "name", max_length=100) or "",
            parent_id=parent.id if parent else None,
        )


# --------------------------------------------------------------------------------------- SLA


@dataclass(frozen=True)
class SlaTerms:
    """The policy's targets as they were when the complaint was filed, with the policy's calendar.
    Fixed at filing, so a later policy change does not move running clocks."""

    policy: SlaPolicy
    calendar: BusinessCalendar

    def __post_init__(self) -> None:
        if self.policy.calendar_id != self.calendar.id:
            raise ValueError("The calendar is not the policy's calendar.")


@dataclass(frozen=True)
class TimelineEntry:
    id: uuid.UUID
    position: int
    at: datetime
    kind: TimelineKind
    author_id: uuid.UUID | None
    department_id: uuid.UUID | None
    visibility: Visibility
    message: str | None = None
    from_status: ComplaintStatus | None = None
    to_status: ComplaintStatus | None = None
    # a PROGRESS entry: whether the next-update clock had breached when it was recorded (a batch entered late);
    # None where no update interval ran (no policy, none set, resolved) and for every other kind
    late: bool | None = None


@dataclass(frozen=True)
class Escalation:
    """A breach the worker fired: who must be told, at which escalation level."""

    event: SlaEvent
    level: int
    recipients: tuple[uuid.UUID, ...]
    entry: TimelineEntry


# ----------------------------------------------------------------------------------- events


@dataclass(frozen=True, kw_only=True)
class ComplaintEvent(DomainEvent):
    """What every complaint event carries: the complaint as it is once the event happened, and the timeline
    entry it added."""

    aggregate_type = "complaint"

    number: str
    customer_id: uuid.UUID
    department_id: uuid.UUID
    status: ComplaintStatus
    entry_id: uuid.UUID
    entry_kind: TimelineKind
    entry_department_id: uuid.UUID | None


@dataclass(frozen=True, kw_only=True)
class ComplaintFiled(ComplaintEvent):
    event_name = "filed"
    subject: str
    priority: Priority
    channel: Channel
    category_id: uuid.UUID
    order_id: uuid.UUID | None
    sla_policy_id: uuid.UUID | None


@dataclass(frozen=True, kw_only=True)
class ComplaintStatusChanged(ComplaintEvent):
    event_name = "status_changed"
    from_: ComplaintStatus = published_as("from")
    to: ComplaintStatus
    note: str | None


@dataclass(frozen=True, kw_only=True)
class ComplaintProgressRecorded(ComplaintEvent):
    event_name = "progress_recorded"
    message: str | None
    visibility: Visibility


@dataclass(frozen=True, kw_only=True)
class ComplaintAssigned(ComplaintEvent):
    event_name = "assigned"
    assignee_id: uuid.UUID
    assignee_name: str
    handover: bool


@dataclass(frozen=True, kw_only=True)
class ComplaintRated(ComplaintEvent):
    event_name = "rated"
    satisfaction: int
    comment: str | None


@dataclass(frozen=True, kw_only=True)
class ComplaintSlaWarning(ComplaintEvent):
    event_name = "sla_warning"
    clock: ClockName
    due_at: datetime = published_as("dueAt", timespec="minutes")


@dataclass(frozen=True, kw_only=True)
class ComplaintSlaBreached(ComplaintEvent):
    event_name = "sla_breached"
    clock: ClockName
    due_at: datetime = published_as("dueAt", timespec="minutes")
    escalation_level: int


@dataclass(frozen=True, kw_only=True)
class ComplaintEscalated(ComplaintEvent):
    """A breach escalated: who must be told (a handler notifies them, in the same transaction)."""

    event_name = "escalated"
    clock: ClockName
    escalation_level: int
    recipients: tuple[uuid.UUID, ...]
    subject: str = unpublished("")  # for the notice
    cycle_start: datetime | None = unpublished()  # the breached clock's cycle: one notice per cycle and person


_CLOCK_NAMES = {ClockName.FIRST_RESPONSE: "First response", ClockName.RESOLUTION: "Resolution",
                ClockName.NEXT_UPDATE: "Next update"}


@dataclass(eq=False, kw_only=True)
class Complaint(AggregateRoot):
    aggregate_type = "complaint"

    number: str
    customer_id: uuid.UUID
    order_id: uuid.UUID | None = None
    category_id: uuid.UUID
    priority: Priority
    channel: Channel
    subject: str
    description: str
    status: ComplaintStatus = ComplaintStatus.OPEN
    department_id: uuid.UUID
    assignee_id: uuid.UUID | None = None
    filed_by: uuid.UUID | None = None
    resolution: str | None = None
    satisfaction: int | None = None
    resolved_at: datetime | None = None
    resolution_minutes: int | None = None
    terms: SlaTerms | None = None
    fired: set[SlaEventKey] = field(default_factory=set)
    escalation_level: int = 0
    sla_next_deadline: datetime | None = None
    sla_at_risk_at: datetime | None = None
    first_response_breached: bool = False
    resolution_breached: bool = False
    timeline: list[TimelineEntry] = field(default_factory=list)
    created_at: datetime
    updated_at: datetime

    # -------------------------------------------------------------------------------- filing

    @classmethod
    def file(
        cls, *, number: int, customer_id: uuid.UUID, category: ComplaintCategory, priority: Priority | str,
        channel: Channel | str, subject: str, description: str, department_id: uuid.UUID, by: Staff,
        at: datetime, terms: SlaTerms | None = None, order_id: uuid.UUID | None = None,
    ) -> "Complaint":
        """Rules: ComplaintsGoIntoActiveCategories; ASubjectAndADescription."""
        if not category.active:
            raise InvalidInput("This category is retired; choose another.", field=("categoryId",))
        complaint = cls(
            id=uuid.uuid4(),
            number=f"{NUMBER_PREFIX}{number:06d}",
            customer_id=customer_id,
            order_id=order_id,
            category_id=category.id,
            priority=Priority(priority),
            channel=Channel(channel),
            subject=require_text(subject, "subject", max_length=MAX_SUBJECT) or "",
            description=require_text(description, "description", max_length=MAX_DESCRIPTION) or "",
            department_id=department_id,
            filed_by=by.id,
            terms=terms,
            created_at=at,
            updated_at=at,
        )
        entry = complaint._add_entry(TimelineKind.FILED, at, by, Visibility.CUSTOMER, message=complaint.subject)
        complaint._record(ComplaintFiled, at, entry, by.id, subject=complaint.subject, priority=complaint.priority,
                          channel=complaint.channel, category_id=category.id, order_id=order_id,
                          sla_policy_id=terms.policy.id if terms else None)
        complaint._refresh_sla(at)
        return complaint

    # ----------------------------------------------------------------------------- authority

    def visible_to(self, actor: Staff, *, sees_all: bool, customer_owner_id: uuid.UUID | None) -> bool:
        return (sees_all or actor.department_id == self.department_id or actor.id in (self.filed_by, self.assignee_id)
                or (customer_owner_id is not None and actor.id == customer_owner_id))

    def handled_by(self, actor: Staff) -> bool:
        return actor.is_admin or actor.id == self.assignee_id or actor.department_id == self.department_id

    def require_handler(self, actor: Staff) -> None:
        if not self.handled_by(actor):
            raise NotAuthorized("Only the assignee and the handling department work on a complaint.")

    def may_assign(self, actor: Staff, assignee_id: uuid.UUID) -> bool:
        """Admins; key users and managers of the handling department; a member of it taking it themselves."""
        in_department = actor.department_id == self.department_id
        return actor.is_admin or (in_department and (actor.role in (Role.KEY_USER, Role.MANAGER)
                                                     or assignee_id == actor.id))

    def require_assigner(self, actor: Staff, assignee_id: uuid.UUID) -> None:
        """`assign` checks this itself; a caller that must look the assignee up first asks it beforehand,
        so a refusal tells nothing about staff."""
        if not self.may_assign(actor, assignee_id):
            raise NotAuthorized("Only key users and managers of the handling department assign complaints.")

    # ------------------------------------------------------------------------------- changes

    def transition(self, to: ComplaintStatus | str, *, by: Staff, at: datetime, note: str | None = None,
                   expected_version: int | None = None) -> TimelineEntry:
        """Move along the status machine.

        Rules: OnlyHandlersMoveAComplaint (checked first); a stale `expected_version` is a Conflict;
        ComplaintsMoveOnlyAlongTheStatusMachine (OPEN -> ACKNOWLEDGED -> IN_PROGRESS <->
        WAITING_ON_CUSTOMER; IN_PROGRESS or WAITING_ON_CUSTOMER -> RESOLVED -> CLOSED; RESOLVED ->
        IN_PROGRESS reopens); AResolutionNeedsANote."""
        self.require_handler(by)
        self.check_version(expected_version)
        try:
            to = ComplaintStatus(to)
        except ValueError:
            raise InvalidInput(f"Unknown status {to!r}.", field=("to",)) from None
        if to not in ALLOWED_MOVES[self.status]:
            raise ForbiddenTransition.listing(f"A complaint cannot move from {self.status.value} to {to.value}.",
                                              self.status, ALLOWED_MOVES[self.status], field=("to",))
        note = require_text(note, "note", max_length=MAX_MESSAGE, required=to is ComplaintStatus.RESOLVED)
        before = self.status
        entry = self._add_entry(TimelineKind.STATUS_CHANGE, at, by, Visibility.CUSTOMER, message=note,
                                from_status=before, to_status=to)
        self.status = to
        if to is ComplaintStatus.RESOLVED:
            self.resolution = note
            self.resolved_at = at
            self.resolution_minutes = self._resolution_business_minutes(at)
        elif before is ComplaintStatus.RESOLVED and to is ComplaintStatus.IN_PROGRESS:  # reopened
            self.resolution, self.resolved_at, self.resolution_minutes, self.satisfaction = None, None, None, None
        self.updated_at = at
        self._record(ComplaintStatusChanged, at, entry, by.id, from_=before, to=to, note=note)
        self._refresh_sla(at)
        return entry

    def record_progress(self, message: str, *, by: Staff, at: datetime, visibility: Visibility | str | None = None,
                        expected_version: int | None = None) -> TimelineEntry:
        """Rules: OnlyHandlersRecordProgress (first); a stale `expected_version` is a Conflict;
        NoProgressOnAClosedComplaint."""
        self.require_handler(by)
        self.check_version(expected_version)
        if self.status is ComplaintStatus.CLOSED:
            raise ForbiddenTransition("A closed complaint takes no more progress notes.", field=("complaintId",))
        text = require_text(message, "message", max_length=MAX_MESSAGE)
        before = self.evaluate_sla(at)
        cadence = None if before is None else before.next_update.state
        entry = self._add_entry(TimelineKind.PROGRESS, at, by, Visibility(visibility or Visibility.INTERNAL),
                                message=text, late=None if cadence in (None, SlaTargetState.NOT_APPLICABLE)
                                else cadence is SlaTargetState.BREACHED)
        self.updated_at = at
        self._record(ComplaintProgressRecorded, at, entry, by.id, message=text, visibility=entry.visibility)
        self._refresh_sla(at)
        return entry

    def assign(self, assignee: Staff, *, by: Staff, at: datetime,
               expected_version: int | None = None) -> TimelineEntry | None:
        """Give the complaint to someone; None (nothing recorded) when they have it already.

        Rules: KeyUsersAndManagersOfTheHandlingDepartmentAssign; MembersMayTakeAComplaintThemselves (first);
        a stale `expected_version` is a Conflict; OnlyActiveStaffAreAssigned;
        AssigningAcrossDepartmentsHandsTheComplaintOver; NoAssigningClosedComplaints."""
        self.require_assigner(by, assignee.id)
        self.check_version(expected_version)
        if not assignee.active:
            raise InvalidInput("Only active staff can be assigned.", field=("assigneeId",))
        if self.status is ComplaintStatus.CLOSED:
            raise ForbiddenTransition("A closed complaint cannot be assigned.", field=("complaintId",))
        if assignee.id == self.assignee_id:
            return None
        handover = assignee.department_id != self.department_id
        self.assignee_id = assignee.id
        self.department_id = assignee.department_id
        message = f"Assigned to {assignee.name}" + (" (handed over to their department)" if handover else "")
        entry = self._add_entry(TimelineKind.ASSIGNMENT, at, by, Visibility.INTERNAL, message=message)
        self.updated_at = at
        self._record(ComplaintAssigned, at, entry, by.id, assignee_id=assignee.id, assignee_name=assignee.name,
                     handover=handover)
        self._refresh_sla(at)
        return entry

    def rate(self, satisfaction: int, *, by: Staff, at: datetime, comment: str | None = None) -> TimelineEntry:
        """Record the customer's satisfaction with the resolution. Rules: OnlyResolvedComplaintsAreRated;
        SatisfactionIsOneToFive. A later rating replaces the earlier one (both stay in the timeline)."""
        if self.status not in STOPPED_STATUSES:
            raise InvalidInput("Only a resolved or closed complaint can be rated.", field=("complaintId",))
        if isinstance(satisfaction, bool) or not isinstance(satisfaction, int) or not 1 <= satisfaction <= 5:
            raise InvalidInput("satisfaction must be from 1 to 5.", field=("satisfaction",))
        text = require_text(comment, "comment", max_length=MAX_MESSAGE, required=False)
        message = f"Rated {satisfaction}/5" + (f": {text}" if text else "")
        entry = self._add_entry(TimelineKind.CUSTOMER_FEEDBACK, at, by, Visibility.CUSTOMER, message=message)
        self.satisfaction = satisfaction
        self.updated_at = at
        self._record(ComplaintRated, at, entry, by.id, satisfaction=satisfaction, comment=text)
        self._refresh_sla(at)
        return entry

    # ---------------------------------------------------------------------------------- SLA

    def evaluate_sla(self, now: datetime) -> SlaEvaluation | None:
        """Where the three clocks stand at `now`; None without a policy (NOT_APPLICABLE)."""
        if self.terms is None:
            return None
        return evaluate_sla(self.terms.policy, self.terms.calendar, self.created_at, self.status_history(),
                            self.progress_times(), now)

    def status_history(self) -> list[tuple[datetime, str | None, str]]:
        return [(e.at, e.from_status.value if e.from_status else None, e.to_status.value)
                for e in self.timeline if e.kind is TimelineKind.STATUS_CHANGE and e.to_status is not None]

    def progress_times(self) -> list[datetime]:
        return [e.at for e in self.timeline if e.kind is TimelineKind.PROGRESS]

    def fire_due_sla_events(self, now: datetime, *, customer_owner_id: uuid.UUID | None) -> list[Escalation]:
        """Fire every warning and breach that is due and was not fired before, each exactly once.

        A warning adds an SLA_WARNING entry. A breach adds an SLA_BREACH entry, raises the
        escalation level and names who must be told (the policy's escalation contact and the
        customer's owner, each once), recorded in an ESCALATION entry. Returns the breaches."""
        evaluation = self.evaluate_sla(now)
        if evaluation is None:
            self.sla_next_deadline = None
            return []
        escalations: list[Escalation] = []
        for event in due_events(evaluation, self.fired):
            self.fired.add(event.key)
            clock = _CLOCK_NAMES[event.clock]
            due = event.at.isoformat(timespec="minutes")
            if event.kind is SlaEventKind.WARNING:
                entry = self._add_entry(TimelineKind.SLA_WARNING, now, None, Visibility.INTERNAL,
                                        message=f"{clock} target at risk: due {due}")
                self._record(ComplaintSlaWarning, now, entry, None, clock=event.clock, due_at=event.at)
                continue
            self.escalation_level += 1
            entry = self._add_entry(TimelineKind.SLA_BREACH, now, None, Visibility.INTERNAL,
                                    message=f"{clock} target breached (was due {due})")
            self._record(ComplaintSlaBreached, now, entry, None, clock=event.clock, due_at=event.at,
                         escalation_level=self.escalation_level)
            recipients = tuple(dict.fromkeys(r for r in (self.terms.policy.escalate_to_id if self.terms else None,
                                                         customer_owner_id) if r is not None))
            notified = ", ".join(filter(None, (
                "the escalation contact" if self.terms and self.terms.policy.escalate_to_id in recipients else None,
                "the account owner" if customer_owner_id in recipients else None))) or "nobody (no contact set)"
            escalation_entry = self._add_entry(TimelineKind.ESCALATION, now, None, Visibility.INTERNAL,
                                               message=f"Escalation level {self.escalation_level}: notified {notified}")
            self._record(ComplaintEscalated, now, escalation_entry, None, clock=event.clock,
                         escalation_level=self.escalation_level, recipients=recipients, subject=self.subject,
                         cycle_start=event.cycle_start)
            escalations.append(Escalation(event, self.escalation_level, recipients, escalation_entry))
        self._refresh_sla(now, evaluation)
        return escalations

    def _refresh_sla(self, now: datetime, evaluation: SlaEvaluation | None = None) -> None:
        """Store what the worker and the slaAtRisk filter need: the next instant an event falls due
        (`sla_next_deadline`), the instant from which a target is in WARNING or BREACHED
        (`sla_at_risk_at`), and whether a target has breached (for reports)."""
        evaluation = evaluation or self.evaluate_sla(now)
        if evaluation is None:
            self.sla_next_deadline = self.sla_at_risk_at = None
            return
        self.sla_next_deadline = next_deadline(evaluation, self.fired)
        at_risk: list[datetime] = []
        for target in evaluation.targets:
            if target.state in (SlaTargetState.WARNING, SlaTargetState.BREACHED):
                at_risk.append(min(target.warn_at_time or evaluation.now, evaluation.now))
            elif target.state is SlaTargetState.RUNNING and target.warn_at_time is not None:
                at_risk.append(target.warn_at_time)
        self.sla_at_risk_at = min(at_risk, default=None)
        self.first_response_breached |= evaluation.first_response.state is SlaTargetState.BREACHED
        self.resolution_breached |= evaluation.resolution.state is SlaTargetState.BREACHED

    def _resolution_business_minutes(self, resolved_at: datetime) -> int | None:
        """Business minutes the resolution clock ran from filing to `resolved_at` (time waiting on
        the customer and time resolved before a reopening do not count); None without a calendar."""
        if self.terms is None:
            return None
        ran = running_stretches(self.created_at, self.status_history(), resolved_at)
        return business_time_within(self.terms.calendar, ran) // timedelta(minutes=1)

    # ------------------------------------------------------------------------------ helpers

    def _add_entry(self, kind: TimelineKind, at: datetime, by: Staff | None, visibility: Visibility, *,
                   message: str | None = None, from_status: ComplaintStatus | None = None,
                   to_status: ComplaintStatus | None = None, late: bool | None = None) -> TimelineEntry:
        entry = TimelineEntry(
            id=uuid.uuid4(), position=(self.timeline[-1].position + 1) if self.timeline else 1, at=at, kind=kind,
            author_id=by.id if by else None, department_id=by.department_id if by else self.department_id,
            visibility=visibility, message=message, from_status=from_status, to_status=to_status, late=late)
        self.timeline.append(entry)
        return entry

    def _record(self, event: type[ComplaintEvent], at: datetime, entry: TimelineEntry, actor_id: uuid.UUID | None,
                **fields: Any) -> None:
        self.record(event(
            aggregate_id=self.id, occurred_at=at, actor_id=actor_id, number=self.number,
            customer_id=self.customer_id, department_id=self.department_id, status=self.status, entry_id=entry.id,
            entry_kind=entry.kind, entry_department_id=entry.department_id, **fields))


def category_path(category_id: uuid.UUID, parents: dict[uuid.UUID, uuid.UUID | None]) -> list[uuid.UUID]:
    """The category and its ancestors, nearest first (what `match_policy` expects)."""
    path: list[uuid.UUID] = []
    current: uuid.UUID | None = category_id
    while current is not None and current not in path and len(path) <= MAX_CATEGORY_DEPTH:
        path.append(current)
        current = parents.get(current)
    return path



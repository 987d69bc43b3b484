"""The CRM's introduction, department by department: each department's rollout phase with its history, the
basic data it has to collect (a checklist whose counts the read model computes from the data), and who of its
staff has been trained.

Rules (one place; the use cases and the API follow them):

- RunningTheRolloutIsForAdminsAndTheDepartmentsManagersAndKeyUsers: an active ADMIN, or an active MANAGER or
  KEY_USER of the department concerned, moves its phase, sets its checklist targets and marks its staff trained
  (for `markTrained` the department is the staff member's). Checked before anything else, so a refusal tells
  nothing about the department or the person.
- PhasesMoveForwardOneStepAtATime: SURVEY -> DATA_COLLECTION -> TRAINING -> LIVE, never skipping a phase.
- AStepBackNeedsANote: a department may go back one phase (training showed the data is not there yet), with a
  note that says why; two phases back is two steps, each with its note.
- Setting the phase a department is in already changes nothing (no history entry, the version stays).
- TrainingIsNotInTheFuture: `trainedAt` defaults to now and may not lie ahead of it; only active staff are
  trained. Marking someone again replaces the date and who marked it.
- ChecklistItemsAreTheDepartmentsOwn: a target is set only for an item of the department's checklist
  (`checklist_for(code)`), and is a count of at least 0 (None: no target). An item is done when it is marked done,
  or when its current count has reached its target.

A department that was never touched is in SURVEY at version 0, with no history.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from domain.organisation import Role, Staff
from domain.shared import (
    AggregateRoot,
    DomainEvent,
    ForbiddenTransition,
    InvalidInput,
    NotAuthorized,
    published_as,
    require_text,
)

MAX_NOTE = 2000
MAX_TARGET = 10_000_000


class RolloutPhase(StrEnum):
    SURVEY = "SURVEY"
    DATA_COLLECTION = "DATA_COLLECTION"
    TRAINING = "TRAINING"
    LIVE = "LIVE"

    @property
    def step(self) -> int:
        return list(RolloutPhase).index(self)

    def neighbours(self) -> tuple["RolloutPhase", ...]:
        """The phases one step away: where a department in this phase may go."""
        phases = list(RolloutPhase)
        return tuple(phases[i] for i in (self.step - 1, self.step + 1) if 0 <= i < len(phases))


@dataclass(frozen=True)
class ChecklistItem:
    """One kind of basic data a department collects; `key` is stable (clients and the read model rely on it)."""

    key: str
    label: str


CUSTOMERS = ChecklistItem("customers", "Customers owned by the department's staff")
CONTACTS = ChecklistItem("contacts", "Contacts of the customers the department's staff own")
PRODUCTS = ChecklistItem("products", "Products (SKUs) known from orders")
WORKFLOWS = ChecklistItem("workflow_definitions", "Active workflow definitions with a step of the department")
CALENDAR = ChecklistItem("department_calendar", "Business calendar chosen for the department (1 when set)")
CATEGORIES = ChecklistItem("complaint_categories", "Active complaint categories")
SLA_POLICIES = ChecklistItem("sla_policies", "Active SLA policies")
CALENDARS = ChecklistItem("business_calendars", "Business calendars defined")
TAGGED = ChecklistItem("tagged_customers", "Customers with at least one tag (segments)")
REACHABLE = ChecklistItem("contacts_with_email", "Contacts with an e-mail address")
ORDERING = ChecklistItem("ordering_customers", "Customers with at least one order")

CHECKLISTS: dict[str, tuple[ChecklistItem, ...]] = {
    "SALES": (CUSTOMERS, CONTACTS, PRODUCTS, WORKFLOWS),
    "MARKETING": (TAGGED, REACHABLE, CUSTOMERS),
    "SERVICE": (CATEGORIES, SLA_POLICIES, CALENDARS, WORKFLOWS),
    "FINANCE": (ORDERING, WORKFLOWS, CALENDAR),
    "WAREHOUSE": (PRODUCTS, WORKFLOWS, CALENDAR),
}
DEFAULT_CHECKLIST: tuple[ChecklistItem, ...] = (CUSTOMERS, WORKFLOWS, CALENDAR)
ALL_ITEMS: tuple[ChecklistItem, ...] = tuple(dict.fromkeys(
    item for items in (*CHECKLISTS.values(), DEFAULT_CHECKLIST) for item in items))


def checklist_for(code: str) -> tuple[ChecklistItem, ...]:
    """The basic data a department of this code collects (any other department: customers, workflows, calendar)."""
    return CHECKLISTS.get(code.upper(), DEFAULT_CHECKLIST)


def may_run_rollout(staff: Staff, department_id: uuid.UUID) -> bool:
    """Rule RunningTheRolloutIsForAdminsAndTheDepartmentsManagersAndKeyUsers."""
    return staff.active and (staff.is_admin or (staff.role in (Role.MANAGER, Role.KEY_USER)
                                                and staff.department_id == department_id))


def require_rollout_runner(staff: Staff, department_id: uuid.UUID) -> None:
    if not may_run_rollout(staff, department_id):
        raise NotAuthorized("Only administrators and the department's managers and key users run its rollout.")


@dataclass(frozen=True)
class ChecklistTarget:
    target: int | None = None
    done: bool = False  # marked done, whatever the count


def item_done(current: int, target: int | None, done: bool) -> bool:
    """An item is done when marked so, or when its count has reached its target."""
    return done or (target is not None and current >= target)


@dataclass(frozen=True)
class PhaseChange:
    from_phase: RolloutPhase | None
    to_phase: RolloutPhase
    at: datetime
    by_id: uuid.UUID | None
    note: str | None


@dataclass(frozen=True)
class Training:
    staff_id: uuid.UUID
    trained_at: datetime
    marked_by: uuid.UUID
    marked_at: datetime


@dataclass(eq=False, kw_only=True)
class DepartmentRollout(AggregateRoot):
    """One department's rollout; its id is the department's. What a transaction adds to the history and the
    trainings waits in `unsaved_changes` / `unsaved_trainings` (not state: the audit log records the phase and the
    checklist, the events say the rest)."""

    aggregate_type = "rollout"

    department_code: str
    phase: RolloutPhase = RolloutPhase.SURVEY
    checklist: dict[str, ChecklistTarget] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.unsaved_changes: list[PhaseChange] = []
        self.unsaved_trainings: list[Training] = []

    @classmethod
    def started(cls, department_id: uuid.UUID, department_code: str) -> "DepartmentRollout":
        """A department nobody has touched yet: SURVEY, version 0."""
        return cls(id=department_id, department_code=department_code)

    def move_to(self, phase: RolloutPhase, *, by: Staff, at: datetime, note: str | None = None,
                expected_version: int | None = None) -> bool:
        """Rules: RunningTheRolloutIs... (first), a stale `expected_version` is a Conflict,
        PhasesMoveForwardOneStepAtATime, AStepBackNeedsANote. False (nothing recorded) for the current phase."""
        require_rollout_runner(by, self.id)
        self.check_version(expected_version)
        phase = RolloutPhase(phase)
        if phase is self.phase:
            return False
        if phase not in self.phase.neighbours():
            raise ForbiddenTransition.listing(
                f"A department's rollout moves one phase at a time, not from {self.phase.value} to {phase.value}.",
                self.phase, self.phase.neighbours(), field=("phase",))
        back = phase.step < self.phase.step
        text = require_text(note, "note", max_length=MAX_NOTE, required=back)
        change = PhaseChange(self.phase, phase, at, by.id, text)
        self.phase = phase
        self.unsaved_changes.append(change)
        self.record(RolloutPhaseChanged(aggregate_id=self.id, occurred_at=at, actor_id=by.id,
                                        department_code=self.department_code, from_=change.from_phase,
                                        to=phase, note=text))
        return True

    def set_target(self, key: str, *, target: int | None, done: bool | None, by: Staff, at: datetime,
                   expected_version: int | None = None) -> bool:
        """Rules: RunningTheRolloutIs... (first), ChecklistItemsAreTheDepartmentsOwn. `target` None: no target;
        `done` True marks the item done whatever its count, False or None leaves it to the count."""
        require_rollout_runner(by, self.id)
        self.check_version(expected_version)
        keys = [item.key for item in checklist_for(self.department_code)]
        if key not in keys:
            raise InvalidInput(f"{key!r} is not on this department's checklist ({', '.join(keys)}).", field=("key",))
        if target is not None and not 0 <= target <= MAX_TARGET:
            raise InvalidInput(f"target must be between 0 and {MAX_TARGET}.", field=("target",))
        wanted = ChecklistTarget(target, bool(done))
        if self.checklist.get(key, ChecklistTarget()) == wanted:
            return False
        self.checklist = {**self.checklist, key: wanted}
        self.record(ChecklistTargetSet(aggregate_id=self.id, occurred_at=at, actor_id=by.id,
                                       department_code=self.department_code, key=key, target=target,
                                       done=wanted.done))
        return True

    def mark_trained(self, staff: Staff, *, by: Staff, at: datetime, trained_at: datetime | None = None) -> Training:
        """Rules: RunningTheRolloutIs... (first; this rollout is the staff member's department's),
        TrainingIsNotInTheFuture."""
        require_rollout_runner(by, self.id)
        if staff.department_id != self.id:
            raise InvalidInput("The staff member works in another department.", field=("staffId",))
        if not staff.active:
            raise InvalidInput("Only active staff are trained.", field=("staffId",))
        when = trained_at or at
        if when.tzinfo is None:
            raise InvalidInput("trainedAt needs a time-zone offset.", field=("trainedAt",))
        if when > at:
            raise InvalidInput("trainedAt may not lie in the future.", field=("trainedAt",))
        training = Training(staff.id, when, by.id, at)
        self.unsaved_trainings.append(training)
        self.record(StaffTrained(aggregate_id=self.id, occurred_at=at, actor_id=by.id,
                                 department_code=self.department_code, staff_id=staff.id, trained_at=when))
        return training


@dataclass(frozen=True, kw_only=True)
class RolloutEvent(DomainEvent):
    aggregate_type = "rollout"

    department_code: str


@dataclass(frozen=True, kw_only=True)
class RolloutPhaseChanged(RolloutEvent):
    """Published as rollout.phase_changed: {departmentCode, from, to, note}."""

    event_name = "phase_changed"

    from_: RolloutPhase | None = published_as("from")
    to: RolloutPhase
    note: str | None = None


@dataclass(frozen=True, kw_only=True)
class ChecklistTargetSet(RolloutEvent):
    event_name = "checklist_target_set"

    key: str
    target: int | None
    done: bool


@dataclass(frozen=True, kw_only=True)
class StaffTrained(RolloutEvent):
    event_name = "staff_trained"

    staff_id: uuid.UUID
    trained_at: datetime

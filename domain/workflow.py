"""Cross-department workflows: versioned definitions and the instances that run them.

A definition is a list of steps grouped into stages: steps sharing a stage run in parallel,
stages run in ascending order. An instance snapshots its definition's steps when it starts, so
redefining a workflow (which creates a new version) never changes instances already running.

Choices worth knowing (each also stated where it is enforced):

- Departments are not looked up here. `WorkflowDefinition.define` checks step departments only
  when the caller passes `known_department_ids`; the use case should always pass them.
- A condition holds only when its field is present in the context and comparable with the
  condition's value; otherwise it does not hold and the step is SKIPPED (for NE too).
- Authority to decide is the step's department (active staff with at least the required role)
  or the step's assignee (after a delegation). ADMIN does not bypass the department: an admin
  decides only in their own department, or when delegated to.
- Cancelling is for the starter, any ADMIN, or a MANAGER of a department that owns one of the
  instance's steps.
- Stage activation computes due dates through a `DueAt` callable supplied by the caller (so each
  department's business calendar applies); `start` and `decide` therefore both take one.
  `business_due_at` is the arithmetic behind it: business minutes on the department's calendar, or
  plain clock minutes for a department without one (see `DEFAULT_CALENDAR_NAME`).
- An ACTIVE step past its due time is overdue; `escalate_overdue` records that once per activation
  (`escalated_at`, event `workflow.step_overdue`), so whoever runs it twice escalates nothing twice.
"""
from __future__ import annotations

import json
import operator
import re
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Callable, Collection, Mapping, Sequence, TypeVar

from domain.calendar import BusinessCalendar, add_business_minutes
from domain.organisation import Role, Staff
from domain.shared import (
    AggregateRoot,
    ForbiddenTransition,
    InvalidInput,
    NotAuthorized,
    NotFound,
    require_text,
)

class StepNeedsItsDepartment(NotAuthorized):
    """OnlyTheStepsDepartmentMayDecide, saying what the step needs. Its department and role are on the instance,
    which every staff member reads, so naming them tells nothing new; the step's state stays unsaid (authority is
    checked first). The domain knows the department by id: the use case names it (`naming`)."""

    def __init__(self, step: "WorkflowStep", department: str | None = None) -> None:
        self.step_key, self.step_name = step.key, step.name
        self.department_id, self.role = step.department_id, step.required_role
        super().__init__(f"Step '{step.name}' is decided by staff of {department or 'its department'} with the "
                         f"{self.role.value} role or higher, or by whoever it is delegated to.")
        self._step = step

    def naming(self, department: str | None) -> "StepNeedsItsDepartment":
        return StepNeedsItsDepartment(self._step, department)


MAX_STEPS = 50
MAX_STAGE = 999
MAX_DUE_MINUTES = 60 * 24 * 365
MAX_CONTEXT_BYTES = 16_384
KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
NUMBER_PATTERN = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$", re.ASCII)

E = TypeVar("E", bound=StrEnum)

DueAt = Callable[[uuid.UUID, datetime, int], datetime]
"""(department_id, activated_at, business minutes) -> when the step falls due."""


class WorkflowSubject(StrEnum):
    ORDER = "ORDER"
    CUSTOMER = "CUSTOMER"
    COMPLAINT = "COMPLAINT"


class StepKind(StrEnum):
    APPROVAL = "APPROVAL"
    TASK = "TASK"


class ComparisonOp(StrEnum):
    EQ = "EQ"
    NE = "NE"
    GT = "GT"
    GTE = "GTE"
    LT = "LT"
    LTE = "LTE"

    @property
    def orders(self) -> bool:
        """GT, GTE, LT and LTE order values, so they only make sense for numbers."""
        return self not in (ComparisonOp.EQ, ComparisonOp.NE)


class WorkflowStatus(StrEnum):
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"


class StepStatus(StrEnum):
    WAITING = "WAITING"
    ACTIVE = "ACTIVE"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    DONE = "DONE"
    SKIPPED = "SKIPPED"
    CANCELLED = "CANCELLED"

    @property
    def finished(self) -> bool:
        """A finished step no longer holds up its stage."""
        return self in (StepStatus.APPROVED, StepStatus.DONE, StepStatus.SKIPPED)

    @property
    def open(self) -> bool:
        return self in (StepStatus.WAITING, StepStatus.ACTIVE)


class Decision(StrEnum):
    APPROVE = "APPROVE"
    REJECT = "REJECT"
    COMPLETE = "COMPLETE"


DECISIONS_BY_KIND: dict[StepKind, dict[Decision, StepStatus]] = {
    StepKind.APPROVAL: {Decision.APPROVE: StepStatus.APPROVED, Decision.REJECT: StepStatus.REJECTED},
    StepKind.TASK: {Decision.COMPLETE: StepStatus.DONE},
}

_ORDERING: dict[ComparisonOp, Callable[[Decimal, Decimal], bool]] = {
    ComparisonOp.GT: operator.gt,
    ComparisonOp.GTE: operator.ge,
    ComparisonOp.LT: operator.lt,
    ComparisonOp.LTE: operator.le,
}


def as_number(value: object) -> Decimal | None:
    """Read a value as an exact decimal, or None when it is not a finite number.

    ints, Decimals, finite floats (through their shortest repr) and plain ASCII numeric strings
    ("50000.01", "-3", "1e3") are numbers; booleans, "NaN", "1_000" and everything else are not.
    """
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, (int, Decimal)):
            number = Decimal(value)
        elif isinstance(value, float):
            number = Decimal(repr(value))
        elif isinstance(value, str) and NUMBER_PATTERN.match(value.strip()):
            number = Decimal(value.strip())
        else:
            return None
    except (InvalidOperation, ValueError, OverflowError):
        return None
    return number if number.is_finite() else None


def _reraise_at(err: InvalidInput, *path: str) -> InvalidInput:
    """The same error, its field path moved under `path` (e.g. ("steps", "1"))."""
    return InvalidInput(err.message, field=path + (err.field or ()))


def _coerce(enum: type[E], value: object, field_name: str) -> E:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise InvalidInput(f"{field_name} must be one of {allowed}.", field=(field_name,)) from None


def _key(value: str | None, field_name: str) -> str:
    text = (require_text(value, field_name, max_length=80) or "").lower()
    if not KEY_PATTERN.match(text):
        raise InvalidInput(
            f"{field_name} may hold only letters, digits, '.', '_' and '-', starting with a letter or digit.",
            field=(field_name,),
        )
    return text


# --------------------------------------------------------------------------- definitions


@dataclass(frozen=True)
class StepCondition:
    """`field op value` on the instance's context, e.g. amount GT 50000.

    Rules: OrderingNeedsANumber (GT/GTE/LT/LTE compare decimals, never strings);
    StringsCompareOnlyForEquality; AMissingFieldMeansTheConditionDoesNotHold.
    """

    field: str
    op: ComparisonOp
    value: str

    @classmethod
    def create(cls, field: str, op: ComparisonOp | str, value: str) -> "StepCondition":
        name = require_text(field, "field", max_length=100) or ""
        op = _coerce(ComparisonOp, op, "op")
        if not isinstance(value, str):
            raise InvalidInput("value must be text.", field=("value",))
        text = require_text(value, "value", max_length=200) or ""
        if op.orders and as_number(text) is None:
            raise InvalidInput(f"{op.value} compares numbers, and {text!r} is not a number.", field=("value",))
        return cls(field=name, op=op, value=text)

    def holds(self, context: Mapping[str, Any]) -> bool:
        """True when the context's field compares as asked; False when it is missing or incomparable.

        When both sides read as numbers they compare as decimals ("50000.0" EQ "50000" holds).
        Otherwise EQ/NE compare text exactly; a boolean reads as its JSON spelling "true"/"false".
        null, lists and objects compare with nothing.
        """
        if self.field not in context:
            return False
        actual = context[self.field]
        expected_number, actual_number = as_number(self.value), as_number(actual)
        if self.op.orders:
            if expected_number is None or actual_number is None:
                return False
            return _ORDERING[self.op](actual_number, expected_number)
        if expected_number is not None and actual_number is not None:
            equal = actual_number == expected_number
        elif isinstance(actual, bool):
            equal = ("true" if actual else "false") == self.value
        elif isinstance(actual, str):
            equal = actual == self.value
        elif actual_number is not None:
            equal = False  # a number never equals non-numeric text
        else:
            return False
        return equal if self.op is ComparisonOp.EQ else not equal

    def describe(self) -> str:
        return f"{self.field} {self.op.value} {self.value}"


@dataclass(frozen=True)
class StepDefinition:
    """One step of a definition. Build it freely; `WorkflowDefinition.define` validates it."""

    key: str
    name: str
    department_id: uuid.UUID
    kind: StepKind
    required_role: Role = Role.MEMBER
    stage: int = 1
    due_within_minutes: int | None = None
    condition: StepCondition | None = None

    def checked(self, known_department_ids: Collection[uuid.UUID] | None = None) -> "StepDefinition":
        """A normalised copy, or InvalidInput with a field path relative to the step.

        Rules: StagesStartAtOne; DueTimesAreWholeBusinessMinutesWithinAYear;
        StepsBelongToAKnownDepartment (when the caller knows the departments).
        """
        key = _key(self.key, "key")
        name = require_text(self.name, "name", max_length=200) or ""
        if not isinstance(self.department_id, uuid.UUID):
            raise InvalidInput("departmentId must be a department's id.", field=("departmentId",))
        if known_department_ids is not None and self.department_id not in known_department_ids:
            raise InvalidInput("There is no such department.", field=("departmentId",))
        kind = _coerce(StepKind, self.kind, "kind")
        role = _coerce(Role, self.required_role if self.required_role is not None else Role.MEMBER, "requiredRole")
        if isinstance(self.stage, bool) or not isinstance(self.stage, int) or not 1 <= self.stage <= MAX_STAGE:
            raise InvalidInput(f"stage must be a whole number from 1 to {MAX_STAGE}.", field=("stage",))
        due = self.due_within_minutes
        if due is not None and (isinstance(due, bool) or not isinstance(due, int) or not 1 <= due <= MAX_DUE_MINUTES):
            raise InvalidInput(
                f"dueWithinMinutes must be a whole number from 1 to {MAX_DUE_MINUTES}.", field=("dueWithinMinutes",)
            )
        condition = self.condition
        if condition is not None:
            try:
                condition = StepCondition.create(condition.field, condition.op, condition.value)
            except InvalidInput as err:
                raise _reraise_at(err, "condition") from None
        return StepDefinition(key, name, self.department_id, kind, role, self.stage, due, condition)

    def runs_on(self, context: Mapping[str, Any]) -> bool:
        """Rule: AStepWhoseConditionFailsIsSkipped (a step without a condition always runs)."""
        return self.condition is None or self.condition.holds(context)


def next_version(previous: "WorkflowDefinition | None") -> int:
    """Rule: DefiningAnExistingKeyCreatesTheNextVersion (the first definition is version 1)."""
    return 1 if previous is None else previous.version + 1


@dataclass(frozen=True)
class WorkflowDefinition:
    """A versioned, immutable recipe. Redefining a key yields a new object with the next version;
    the use case stores it and marks the previous one `retired()`."""

    id: uuid.UUID
    key: str
    name: str
    version: int
    subject: WorkflowSubject
    steps: tuple[StepDefinition, ...]
    active: bool = True

    @classmethod
    def define(
        cls,
        *,
        key: str,
        name: str,
        subject: WorkflowSubject | str,
        steps: Sequence[StepDefinition],
        previous: "WorkflowDefinition | None" = None,
        known_department_ids: Collection[uuid.UUID] | None = None,
    ) -> "WorkflowDefinition":
        """Validate and build a definition; `previous` is the latest version of the same key, if any.

        Rules: AWorkflowHasAtLeastOneStep; StepKeysAreUniqueWithinAWorkflow; plus every rule of
        `StepDefinition.checked` and `StepCondition.create`. Fields are reported as paths such as
        ("steps", "1", "condition", "value").
        """
        key = _key(key, "key")
        if previous is not None and previous.key != key:
            raise ValueError(f"previous is a version of {previous.key!r}, not {key!r}")
        name = require_text(name, "name", max_length=200) or ""
        subject = _coerce(WorkflowSubject, subject, "subject")
        if not steps:
            raise InvalidInput("A workflow needs at least one step.", field=("steps",))
        if len(steps) > MAX_STEPS:
            raise InvalidInput(f"A workflow has at most {MAX_STEPS} steps.", field=("steps",))
        checked: list[StepDefinition] = []
        for index, step in enumerate(steps):
            try:
                step = step.checked(known_department_ids)
            except InvalidInput as err:
                raise _reraise_at(err, "steps", str(index)) from None
            if any(other.key == step.key for other in checked):
                raise InvalidInput(f"Another step already has the key {step.key!r}.",
                                   field=("steps", str(index), "key"))
            checked.append(step)
        return cls(id=uuid.uuid4(), key=key, name=name, version=next_version(previous), subject=subject,
                   steps=tuple(checked))

    def retired(self) -> "WorkflowDefinition":
        """This version, no longer offered for new instances (running ones keep their snapshot)."""
        return replace(self, active=False)

    @property
    def stages(self) -> list[int]:
        return sorted({step.stage for step in self.steps})

    def step(self, key: str) -> StepDefinition:
        for step in self.steps:
            if step.key == key.strip().lower():
                return step
        raise NotFound(f"Workflow {self.key!r} has no step {key!r}.", field=("stepKey",))


# --------------------------------------------------------------------------- instances


@dataclass(frozen=True)
class Delegation:
    from_id: uuid.UUID
    to_id: uuid.UUID
    at: datetime
    comment: str | None


@dataclass(eq=False, kw_only=True)
class WorkflowStep:
    """A step of a running instance: its definition snapshot plus where it stands."""

    definition: StepDefinition
    status: StepStatus = StepStatus.WAITING
    assignee_id: uuid.UUID | None = None
    activated_at: datetime | None = None
    due_at: datetime | None = None
    decision: Decision | None = None
    decided_by: uuid.UUID | None = None
    decided_at: datetime | None = None
    comment: str | None = None
    delegations: list[Delegation] = field(default_factory=list)
    escalated_at: datetime | None = None  # when this activation was escalated as overdue; None: not (yet)

    @property
    def key(self) -> str:
        return self.definition.key

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def department_id(self) -> uuid.UUID:
        return self.definition.department_id

    @property
    def kind(self) -> StepKind:
        return self.definition.kind

    @property
    def required_role(self) -> Role:
        return self.definition.required_role

    @property
    def stage(self) -> int:
        return self.definition.stage

    def may_be_decided_by(self, staff: Staff) -> bool:
        """Rules: OnlyActiveStaffDecide; OnlyTheStepsDepartmentMayDecide, with at least the required
        role (ADMIN ranks highest but does not cross departments); TheAssigneeMayDecide (delegation)."""
        if not staff.active:
            return False
        if self.assignee_id is not None and staff.id == self.assignee_id:
            return True
        return staff.department_id == self.department_id and staff.role.at_least(self.required_role)

    def require_decider(self, staff: Staff) -> None:
        """StepNeedsItsDepartment unless `may_be_decided_by`."""
        if not self.may_be_decided_by(staff):
            raise StepNeedsItsDepartment(self)

    def overdue(self, now: datetime) -> bool:
        """Only an ACTIVE step with a due time can be overdue, and only once that time has passed."""
        return self.status is StepStatus.ACTIVE and self.due_at is not None and now > self.due_at


def calendar_minutes(department_id: uuid.UUID, start: datetime, minutes: int) -> datetime:
    """A `DueAt` that ignores business hours: plain clock minutes. For demos and tests only."""
    return start + timedelta(minutes=minutes)


DEFAULT_CALENDAR_NAME = "Standard"
"""A department without a calendar of its own counts on the calendar of this name, if one is defined;
without one either, due times are plain clock minutes (around the clock, holidays included)."""


def business_due_at(calendar: BusinessCalendar | None, start: datetime, minutes: int) -> datetime:
    """When a step activated at `start` with `minutes` to go falls due.

    Rule: DueTimesCountTheDepartmentsBusinessMinutes. On a calendar, counting starts at the next opening
    when `start` is outside working time and pauses outside it (evenings, weekends, lunch breaks,
    holidays), in the calendar's own zone; the result is UTC. Without a calendar every minute counts.
    Raises NoWorkingTimeAhead (LIMIT_EXCEEDED) for a calendar with no working time within reach.
    """
    if calendar is None:
        return start + timedelta(minutes=minutes)
    return add_business_minutes(calendar, start, minutes)


def _json_context(context: Mapping[str, Any] | None) -> dict[str, Any]:
    """The context as plain JSON data (Decimals and UUIDs become strings), bounded in size."""
    if context is None:
        return {}
    if not isinstance(context, Mapping):
        raise InvalidInput("context must be a JSON object.", field=("context",))
    try:
        text = json.dumps(dict(context), default=str, allow_nan=False)
    except (TypeError, ValueError):
        raise InvalidInput("context must be a JSON object with finite numbers.", field=("context",)) from None
    if len(text.encode()) > MAX_CONTEXT_BYTES:
        raise InvalidInput(f"context is larger than {MAX_CONTEXT_BYTES} bytes.", field=("context",))
    return json.loads(text)


@dataclass(eq=False, kw_only=True)
class WorkflowInstance(AggregateRoot):
    """One run of a definition about one subject (an order, a customer, a complaint)."""

    aggregate_type = "workflow"

    definition_id: uuid.UUID
    definition_key: str
    definition_version: int
    subject_type: WorkflowSubject
    subject_id: uuid.UUID
    context: dict[str, Any] = field(default_factory=dict)
    status: WorkflowStatus = WorkflowStatus.RUNNING
    steps: list[WorkflowStep] = field(default_factory=list)
    started_by: uuid.UUID | None = None
    started_at: datetime
    updated_at: datetime
    completed_at: datetime | None = None
    cancelled_by: uuid.UUID | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None

    # ----------------------------------------------------------------- commands

    @classmethod
    def start(
        cls,
        definition: WorkflowDefinition,
        subject_type: WorkflowSubject | str,
        subject_id: uuid.UUID,
        context: Mapping[str, Any] | None,
        *,
        started_by: Staff,
        at: datetime,
        due_at: DueAt,
    ) -> "WorkflowInstance":
        """Snapshot the definition, skip the steps whose condition fails, activate the first stage.

        Rules: OnlyActiveStaffStartWorkflows; OnlyTheCurrentVersionStarts;
        AWorkflowRunsOnTheSubjectItWasDefinedFor. If every step is skipped the instance
        completes at once.
        """
        if not started_by.active:
            raise NotAuthorized()
        if not definition.active:
            raise InvalidInput(
                f"Version {definition.version} of {definition.key!r} has been replaced; start the current one.",
                field=("definitionKey",),
            )
        subject_type = _coerce(WorkflowSubject, subject_type, "subjectType")
        if subject_type is not definition.subject:
            raise InvalidInput(
                f"Workflow {definition.key!r} runs on a {definition.subject.value}, not a {subject_type.value}.",
                field=("subjectId",),
            )
        context = _json_context(context)
        steps = [
            WorkflowStep(definition=step, status=StepStatus.WAITING if step.runs_on(context) else StepStatus.SKIPPED)
            for step in definition.steps
        ]
        instance = cls(
            id=uuid.uuid4(),
            definition_id=definition.id,
            definition_key=definition.key,
            definition_version=definition.version,
            subject_type=subject_type,
            subject_id=subject_id,
            context=context,
            steps=steps,
            started_by=started_by.id,
            started_at=at,
            updated_at=at,
        )
        instance.record("started", at, {
            **instance._about(),
            "context": context,
            "skippedSteps": [s.key for s in steps if s.status is StepStatus.SKIPPED],
        }, started_by.id)
        instance._advance(at, started_by.id, due_at)
        return instance

    def decide(
        self,
        step_key: str,
        decision: Decision | str,
        *,
        by: Staff,
        at: datetime,
        due_at: DueAt,
        comment: str | None = None,
        expected_version: int | None = None,
    ) -> None:
        """APPROVE or REJECT an approval, COMPLETE a task; then move the workflow on.

        Rules: OnlyTheStepsDepartmentMayDecide (see `WorkflowStep.may_be_decided_by`);
        OnlyActiveStepsAreDecided; ApprovalsAreApprovedOrRejectedAndTasksCompleted;
        ARejectionRejectsTheWorkflow (everything still open is CANCELLED);
        AStageEndsWhenAllItsStepsAreFinished; TheLastStageCompletesTheWorkflow.
        Raises NotFound (stepKey), NotAuthorized, Conflict, ForbiddenTransition, InvalidInput.
        Nothing changes unless every check passes.
        """
        step = self.step(step_key)
        step.require_decider(by)
        self.check_version(expected_version)
        self._require_active(step)
        decision = _coerce(Decision, decision, "decision")
        outcome = DECISIONS_BY_KIND[step.kind].get(decision)
        if outcome is None:
            allowed = " or ".join(d.value for d in DECISIONS_BY_KIND[step.kind])
            raise InvalidInput(f"A {step.kind.value} step is decided with {allowed}.", field=("decision",))
        comment = require_text(comment, "comment", max_length=2000, required=False)

        step.status, step.decision, step.comment = outcome, decision, comment
        step.decided_by, step.decided_at = by.id, at
        self.updated_at = at
        self.record("step_decided", at, {
            **self._about(step), "decision": decision.value, "status": outcome.value, "comment": comment,
            "decidedBy": str(by.id),
        }, by.id)
        if outcome is StepStatus.REJECTED:
            self.status = WorkflowStatus.REJECTED
            cancelled = self._cancel_open_steps()
            self.record("rejected", at, {
                **self._about(step), "comment": comment, "cancelledSteps": cancelled,
            }, by.id)
        else:
            self._advance(at, by.id, due_at)

    def delegate(
        self,
        step_key: str,
        *,
        to: Staff,
        by: Staff,
        at: datetime,
        comment: str | None = None,
        expected_version: int | None = None,
    ) -> None:
        """Hand an active step to someone else, who becomes its assignee and may decide it.

        Rules: OnlyThoseWhoMayDecideMayDelegate; OnlyActiveStepsAreDelegated;
        TheDelegateIsActiveStaff; NoDelegatingToTheCurrentAssignee. Delegating to yourself claims
        the step. The delegate may be in any department: delegation hands over the delegator's
        authority for this one step. Department staff with the required role keep theirs.
        """
        step = self.step(step_key)
        step.require_decider(by)
        self.check_version(expected_version)
        self._require_active(step)
        if not to.active:
            raise InvalidInput("Steps can be delegated only to active staff.", field=("toStaffId",))
        if to.id == step.assignee_id:
            raise InvalidInput("The step is already assigned to them.", field=("toStaffId",))
        comment = require_text(comment, "comment", max_length=2000, required=False)

        previous = step.assignee_id
        step.assignee_id = to.id
        step.delegations.append(Delegation(from_id=by.id, to_id=to.id, at=at, comment=comment))
        self.updated_at = at
        self.record("step_delegated", at, {
            **self._about(step), "fromId": str(by.id), "toId": str(to.id),
            "previousAssigneeId": str(previous) if previous else None, "comment": comment,
        }, by.id)

    def cancel(self, *, by: Staff, at: datetime, reason: str, expected_version: int | None = None) -> None:
        """Stop a running workflow; every open step is CANCELLED.

        Rules: ACancellationNeedsAReason; OnlyRunningWorkflowsAreCancelled; WhoMayCancel: the
        starter, any ADMIN, or a MANAGER of a department that owns one of the steps (all active).
        """
        if not self.may_be_cancelled_by(by):
            raise NotAuthorized()
        self.check_version(expected_version)
        if self.status is not WorkflowStatus.RUNNING:
            raise ForbiddenTransition(f"The workflow is {self.status.value} and can no longer be cancelled.")
        reason = require_text(reason, "reason", max_length=2000) or ""

        self.status = WorkflowStatus.CANCELLED
        self.cancelled_by, self.cancelled_at, self.cancel_reason = by.id, at, reason
        self.updated_at = at
        cancelled = self._cancel_open_steps()
        self.record("cancelled", at, {**self._about(), "reason": reason, "cancelledSteps": cancelled}, by.id)

    # ----------------------------------------------------------------- queries

    def step(self, key: str) -> WorkflowStep:
        wanted = (key or "").strip().lower()
        for step in self.steps:
            if step.key == wanted:
                return step
        raise NotFound("This workflow has no such step.", field=("stepKey",))

    @property
    def active_steps(self) -> list[WorkflowStep]:
        return [s for s in self.steps if s.status is StepStatus.ACTIVE]

    @property
    def current_stage(self) -> int | None:
        """The stage whose steps are ACTIVE; None once the workflow has ended."""
        return min((s.stage for s in self.active_steps), default=None)

    def overdue_steps(self, now: datetime) -> list[WorkflowStep]:
        return [s for s in self.steps if s.overdue(now)]

    def escalate_overdue(self, now: datetime) -> list[WorkflowStep]:
        """Flag the overdue steps not escalated yet in their current activation; returns them.

        Rules: OnlyOverdueStepsAreEscalated (ACTIVE and past their due time, see `WorkflowStep.overdue`);
        AnActivationIsEscalatedOnce (a step keeps `escalated_at` until it is activated again). Each
        escalation records `workflow.step_overdue` with no actor: the clock did it, not a person. The
        caller tells the department's managers.
        """
        escalated = [s for s in self.steps if s.overdue(now) and s.escalated_at is None]
        for step in escalated:
            step.escalated_at = now
            assert step.due_at is not None and step.activated_at is not None  # overdue implies both
            self.record("step_overdue", now, {
                **self._about(step), "dueAt": step.due_at.isoformat(), "activatedAt": step.activated_at.isoformat(),
                "requiredRole": step.required_role.value,
            }, None)
        if escalated:
            self.updated_at = now
        return escalated

    def may_be_cancelled_by(self, staff: Staff) -> bool:
        if not staff.active:
            return False
        if staff.id == self.started_by or staff.role is Role.ADMIN:
            return True
        return staff.role is Role.MANAGER and any(s.department_id == staff.department_id for s in self.steps)

    # ----------------------------------------------------------------- internals

    def _require_active(self, step: WorkflowStep) -> None:
        if self.status is not WorkflowStatus.RUNNING:
            raise ForbiddenTransition(f"The workflow is {self.status.value}.", field=("stepKey",))
        if step.status is not StepStatus.ACTIVE:
            raise ForbiddenTransition(
                f"Step {step.key!r} is {step.status.value}; only ACTIVE steps can be acted on.", field=("stepKey",)
            )

    def _advance(self, at: datetime, actor: uuid.UUID | None, due_at: DueAt) -> None:
        """Once no step is ACTIVE, activate the next stage with waiting steps, or complete."""
        if self.active_steps:
            return
        waiting = [s for s in self.steps if s.status is StepStatus.WAITING]
        if not waiting:
            self.status = WorkflowStatus.COMPLETED
            self.completed_at = at
            self.record("completed", at, self._about(), actor)
            return
        stage = min(s.stage for s in waiting)
        for step in waiting:
            if step.stage != stage:
                continue
            step.status, step.activated_at, step.escalated_at = StepStatus.ACTIVE, at, None
            minutes = step.definition.due_within_minutes
            step.due_at = due_at(step.department_id, at, minutes) if minutes else None
            self.record("step_activated", at, {
                **self._about(step), "dueAt": step.due_at.isoformat() if step.due_at else None,
            }, actor)

    def _cancel_open_steps(self) -> list[str]:
        cancelled = [s for s in self.steps if s.status.open]
        for step in cancelled:
            step.status = StepStatus.CANCELLED
        return [s.key for s in cancelled]

    def _about(self, step: WorkflowStep | None = None) -> dict[str, Any]:
        """What every event payload carries: which workflow, about what, and which step."""
        about: dict[str, Any] = {
            "definitionId": str(self.definition_id),
            "definitionKey": self.definition_key,
            "definitionVersion": self.definition_version,
            "subjectType": self.subject_type.value,
            "subjectId": str(self.subject_id),
            "status": self.status.value,
        }
        if step is not None:
            about.update({
                "stepKey": step.key,
                "stepName": step.name,
                "kind": step.kind.value,
                "stage": step.stage,
                "departmentId": str(step.department_id),
                "assigneeId": str(step.assignee_id) if step.assignee_id else None,
            })
        return about


# --------------------------------------------------------------------------- ready-made definitions

ADVANCE_PAYMENT_KEY = "advance-payment"
ADVANCE_PAYMENT_MANAGER_THRESHOLD = "50000"


def advance_payment_definition(
    *,
    sales_department_id: uuid.UUID,
    finance_department_id: uuid.UUID,
    warehouse_department_id: uuid.UUID,
    previous: WorkflowDefinition | None = None,
) -> WorkflowDefinition:
    """Goods released against an advance payment: sales manager approves, then finance checks
    (a finance manager too above 50000), then the warehouse releases the goods.

    The context needs `amount`; due times (in business minutes) are one working day for approvals
    and two for the release.
    """
    return WorkflowDefinition.define(
        key=ADVANCE_PAYMENT_KEY,
        name="Advance payment",
        subject=WorkflowSubject.ORDER,
        previous=previous,
        steps=[
            StepDefinition("sales-approval", "Sales manager approves the advance payment", sales_department_id,
                           StepKind.APPROVAL, Role.MANAGER, stage=1, due_within_minutes=480),
            StepDefinition("finance-check", "Finance checks the payment", finance_department_id,
                           StepKind.APPROVAL, Role.MEMBER, stage=2, due_within_minutes=480),
            StepDefinition("finance-manager-approval", "Finance manager approves a large advance",
                           finance_department_id, StepKind.APPROVAL, Role.MANAGER, stage=2, due_within_minutes=480,
                           condition=StepCondition("amount", ComparisonOp.GT, ADVANCE_PAYMENT_MANAGER_THRESHOLD)),
            StepDefinition("release-goods", "Warehouse releases the goods", warehouse_department_id,
                           StepKind.TASK, Role.MEMBER, stage=3, due_within_minutes=960),
        ],
    )

"""Workflow instances: one run of a definition about one subject, the aggregate that decides, delegates,
cancels and escalates its steps (authority, version and rules checked here)."""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Callable, Mapping, Sequence

from domain.calendar import BusinessCalendar, add_business_minutes
from domain.organisation import Role, Staff
from domain.shared import (
    AggregateRoot,
    DomainEvent,
    ForbiddenTransition,
    InvalidInput,
    NotAuthorized,
    NotFound,
    coerce_choice,
    require_text,
    unpublished,
)
from domain.workflow.definition import StepDefinition, StepKind, WorkflowDefinition, WorkflowSubject

MAX_CONTEXT_BYTES = 16_384

DueAt = Callable[[uuid.UUID, datetime, int], datetime]
"""(department_id, activated_at, business minutes) -> when the step falls due."""


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


# --------------------------------------------------------------------------- events


@dataclass(frozen=True, kw_only=True)
class WorkflowEvent(DomainEvent):
    """What every workflow event carries: which workflow, about what, and its status once it happened."""

    aggregate_type = "workflow"

    definition_id: uuid.UUID
    definition_key: str
    definition_version: int
    subject_type: WorkflowSubject
    subject_id: uuid.UUID
    status: Any  # WorkflowStatus; StepStatus in WorkflowStepDecided (the step's outcome)


@dataclass(frozen=True, kw_only=True)
class WorkflowStepEvent(WorkflowEvent):
    """... and which step."""

    step_key: str
    step_name: str
    kind: StepKind
    stage: int
    department_id: uuid.UUID
    assignee_id: uuid.UUID | None


@dataclass(frozen=True, kw_only=True)
class WorkflowStarted(WorkflowEvent):
    event_name = "started"
    context: dict[str, Any]
    skipped_steps: list[str]


@dataclass(frozen=True, kw_only=True)
class WorkflowStepDecided(WorkflowStepEvent):
    event_name = "step_decided"
    decision: "Decision"
    comment: str | None
    decided_by: uuid.UUID


@dataclass(frozen=True, kw_only=True)
class WorkflowRejected(WorkflowStepEvent):
    event_name = "rejected"
    comment: str | None
    cancelled_steps: list[str]


@dataclass(frozen=True, kw_only=True)
class WorkflowStepDelegated(WorkflowStepEvent):
    event_name = "step_delegated"
    from_id: uuid.UUID
    to_id: uuid.UUID
    previous_assignee_id: uuid.UUID | None
    comment: str | None


@dataclass(frozen=True, kw_only=True)
class WorkflowCancelled(WorkflowEvent):
    event_name = "cancelled"
    reason: str
    cancelled_steps: list[str]


@dataclass(frozen=True, kw_only=True)
class WorkflowStepOverdue(WorkflowStepEvent):
    """A step escalated; `recipients` (not published) are who must be told: its department's managers."""

    event_name = "step_overdue"
    due_at: datetime
    activated_at: datetime
    required_role: Role
    recipients: tuple[uuid.UUID, ...] = unpublished(())


@dataclass(frozen=True, kw_only=True)
class WorkflowCompleted(WorkflowEvent):
    event_name = "completed"


@dataclass(frozen=True, kw_only=True)
class WorkflowStepActivated(WorkflowStepEvent):
    event_name = "step_activated"
    due_at: datetime | None


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
        subject_type = coerce_choice(WorkflowSubject, subject_type, "subjectType")
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
        instance.record(WorkflowStarted(**instance._about(at, started_by.id), context=context,
                                        skipped_steps=[s.key for s in steps if s.status is StepStatus.SKIPPED]))
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
        decision = coerce_choice(Decision, decision, "decision")
        outcome = DECISIONS_BY_KIND[step.kind].get(decision)
        if outcome is None:
            allowed = " or ".join(d.value for d in DECISIONS_BY_KIND[step.kind])
            raise InvalidInput(f"A {step.kind.value} step is decided with {allowed}.", field=("decision",))
        comment = require_text(comment, "comment", max_length=2000, required=False)

        step.status, step.decision, step.comment = outcome, decision, comment
        step.decided_by, step.decided_at = by.id, at
        self.updated_at = at
        self.record(WorkflowStepDecided(**{**self._about(at, by.id, step), "status": outcome}, decision=decision,
                                        comment=comment, decided_by=by.id))
        if outcome is StepStatus.REJECTED:
            self.status = WorkflowStatus.REJECTED
            cancelled = self._cancel_open_steps()
            self.record(WorkflowRejected(**self._about(at, by.id, step), comment=comment, cancelled_steps=cancelled))
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
        self.record(WorkflowStepDelegated(**self._about(at, by.id, step), from_id=by.id, to_id=to.id,
                                          previous_assignee_id=previous, comment=comment))

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
        self.record(WorkflowCancelled(**self._about(at, by.id), reason=reason, cancelled_steps=cancelled))

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

    def escalations_due(self, now: datetime) -> list[WorkflowStep]:
        """The overdue steps `escalate_overdue` would escalate now."""
        return [s for s in self.overdue_steps(now) if s.escalated_at is None]

    def escalate_overdue(self, now: datetime, *,
                         managers: Mapping[uuid.UUID, Sequence[uuid.UUID]] | None = None) -> list[WorkflowStep]:
        """Flag the overdue steps not escalated yet in their current activation; returns them.

        Rules: OnlyOverdueStepsAreEscalated (ACTIVE and past their due time, see `WorkflowStep.overdue`);
        AnActivationIsEscalatedOnce (a step keeps `escalated_at` until it is activated again). Each
        escalation records `workflow.step_overdue` with no actor: the clock did it, not a person; its
        recipients are the step's department's `managers` (by department id), whom a handler tells.
        """
        escalated = self.escalations_due(now)
        for step in escalated:
            step.escalated_at = now
            assert step.due_at is not None and step.activated_at is not None  # overdue implies both
            self.record(WorkflowStepOverdue(**self._about(now, None, step), due_at=step.due_at,
                                            activated_at=step.activated_at, required_role=step.required_role,
                                            recipients=tuple((managers or {}).get(step.department_id, ()))))
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
            self.record(WorkflowCompleted(**self._about(at, actor)))
            return
        stage = min(s.stage for s in waiting)
        for step in waiting:
            if step.stage != stage:
                continue
            step.status, step.activated_at, step.escalated_at = StepStatus.ACTIVE, at, None
            minutes = step.definition.due_within_minutes
            step.due_at = due_at(step.department_id, at, minutes) if minutes else None
            self.record(WorkflowStepActivated(**self._about(at, actor, step), due_at=step.due_at))

    def _cancel_open_steps(self) -> list[str]:
        cancelled = [s for s in self.steps if s.status.open]
        for step in cancelled:
            step.status = StepStatus.CANCELLED
        return [s.key for s in cancelled]

    def _about(self, at: datetime, actor: uuid.UUID | None, step: WorkflowStep | None = None) -> dict[str, Any]:
        """The envelope and what every event carries (WorkflowEvent; WorkflowStepEvent with a step)."""
        about: dict[str, Any] = {
            "aggregate_id": self.id, "occurred_at": at, "actor_id": actor, "definition_id": self.definition_id,
            "definition_key": self.definition_key, "definition_version": self.definition_version,
            "subject_type": self.subject_type, "subject_id": self.subject_id, "status": self.status,
        }
        if step is not None:
            about.update(step_key=step.key, step_name=step.name, kind=step.kind, stage=step.stage,
                         department_id=step.department_id, assignee_id=step.assignee_id)
        return about

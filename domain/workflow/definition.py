"""Workflow definitions: versioned, immutable recipes of steps grouped into stages, and who may define them."""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Collection, Iterable, Mapping, Sequence

from domain.organisation import Role, Staff
from domain.shared import InvalidInput, NotAuthorized, NotFound, coerce_choice, require_text
from domain.workflow.conditions import StepCondition

MAX_STEPS = 50
MAX_STAGE = 999
MAX_DUE_MINUTES = 60 * 24 * 365
KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


class WorkflowSubject(StrEnum):
    ORDER = "ORDER"
    CUSTOMER = "CUSTOMER"
    COMPLAINT = "COMPLAINT"



class StepKind(StrEnum):
    APPROVAL = "APPROVAL"
    TASK = "TASK"



def _reraise_at(err: InvalidInput | NotFound, *path: str) -> InvalidInput | NotFound:
    """The same error, its field path moved under `path` (e.g. ("steps", "1"))."""
    return type(err)(err.message, field=path + (err.field or ()))


def may_define(actor: Staff, department_ids: Iterable[uuid.UUID]) -> bool:
    """Rule: KeyUsersAndManagersDefineTheWorkflowsTheirDepartmentTakesPartIn (ADMINs define anything;
    inactive staff nothing)."""
    if not actor.active:
        return False
    if actor.role is Role.ADMIN:
        return True
    return actor.role.at_least(Role.KEY_USER) and actor.department_id in set(department_ids)


def require_definer(actor: Staff, department_ids: Iterable[uuid.UUID]) -> None:
    if not may_define(actor, department_ids):
        raise NotAuthorized()


def _key(value: str | None, field_name: str) -> str:
    text = (require_text(value, field_name, max_length=80) or "").lower()
    if not KEY_PATTERN.match(text):
        raise InvalidInput(
            f"{field_name} may hold only letters, digits, '.', '_' and '-', starting with a letter or digit.",
            field=(field_name,),
        )
    return text



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
            raise NotFound("There is no such department.", field=("departmentId",))
        kind = coerce_choice(StepKind, self.kind, "kind")
        role = coerce_choice(Role, self.required_role if self.required_role is not None else Role.MEMBER, "requiredRole")
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
        by: Staff | None = None,
    ) -> "WorkflowDefinition":
        """Validate and build a definition; `previous` is the latest version of the same key, if any.

        With `by` (what every use case passes; ready-made definitions are built without), authority comes
        first: `may_define` over the new steps' departments and, when the key exists, over the current
        version's (so no department takes over another's workflow); NotAuthorized otherwise.
        Rules: AWorkflowHasAtLeastOneStep; StepKeysAreUniqueWithinAWorkflow; plus every rule of
        `StepDefinition.checked` (NotFound for a department not in `known_department_ids`) and
        `StepCondition.create`. Fields are reported as paths such as ("steps", "1", "condition", "value").
        """
        if by is not None:
            require_definer(by, (step.department_id for step in steps))
            if previous is not None:
                require_definer(by, (step.department_id for step in previous.steps))
        key = _key(key, "key")
        if previous is not None and previous.key != key:
            raise ValueError(f"previous is a version of {previous.key!r}, not {key!r}")
        name = require_text(name, "name", max_length=200) or ""
        subject = coerce_choice(WorkflowSubject, subject, "subject")
        if not steps:
            raise InvalidInput("A workflow needs at least one step.", field=("steps",))
        if len(steps) > MAX_STEPS:
            raise InvalidInput(f"A workflow has at most {MAX_STEPS} steps.", field=("steps",))
        checked: list[StepDefinition] = []
        for index, step in enumerate(steps):
            try:
                step = step.checked(known_department_ids)
            except (InvalidInput, NotFound) as err:
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


def definition_key(value: str | None) -> str | None:
    """The normalised key a definition would get, or None when `value` is not a valid key (`define` says why)."""
    try:
        return _key(value, "key")
    except InvalidInput:
        return None

"""Read models of workflow definitions, instances, their steps, and a person's work queue."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from application.queries.pagination import Page, PageRequest
from domain.organisation import Role
from domain.shared import NotAuthorized


@dataclass(frozen=True, kw_only=True)
class ConditionView:
    field: str
    op: str
    value: str


@dataclass(frozen=True, kw_only=True)
class StepDefinitionView:
    key: str
    name: str
    department_id: uuid.UUID
    kind: str
    required_role: str
    stage: int
    due_within_minutes: int | None
    condition: ConditionView | None


@dataclass(frozen=True, kw_only=True)
class WorkflowDefinitionView:
    id: uuid.UUID
    key: str
    name: str
    version: int
    active: bool
    subject: str
    steps: tuple[StepDefinitionView, ...]


@dataclass(frozen=True, kw_only=True)
class WorkflowStepView:
    instance_id: uuid.UUID
    key: str
    name: str
    department_id: uuid.UUID
    kind: str
    required_role: str
    status: str
    stage: int
    assignee_id: uuid.UUID | None
    decided_by: uuid.UUID | None
    decided_at: datetime | None
    comment: str | None
    activated_at: datetime | None
    due_at: datetime | None
    escalated_at: datetime | None = None

    def overdue(self, now: datetime) -> bool:
        """As `domain.workflow.WorkflowStep.overdue`: an ACTIVE step past its due time."""
        return self.status == "ACTIVE" and self.due_at is not None and now > self.due_at


@dataclass(frozen=True, kw_only=True)
class WorkflowInstanceView:
    id: uuid.UUID
    definition_id: uuid.UUID
    definition_key: str
    definition_version: int
    subject_type: str
    subject_id: uuid.UUID
    status: str
    context: dict[str, Any]
    started_by: uuid.UUID | None
    started_at: datetime
    completed_at: datetime | None
    version: int


def sees_instance(staff_id: uuid.UUID, department_id: uuid.UUID | None, role: str,
                  instance: WorkflowInstanceView, steps: list[WorkflowStepView]) -> bool:
    """Who sees what a workflow is about (its context, its events): ADMINs; its starter; staff of a department
    with a step in it; whoever a step is assigned (or was delegated) to. `workflowEvents` and
    `WorkflowInstance.context` both follow it."""
    return (role == "ADMIN" or instance.started_by == staff_id or any(s.department_id == department_id for s in steps)
            or any(s.assignee_id == staff_id for s in steps))


@dataclass(frozen=True, kw_only=True)
class WorkerView:
    """Whose work queue: the caller's id, department and role."""

    id: uuid.UUID
    department_id: uuid.UUID
    role: str


class WorkflowQueries(Protocol):
    async def definitions(self, active_only: bool) -> list[WorkflowDefinitionView]:
        """By key, newest version first."""

    async def definitions_by_ids(self, ids: list[uuid.UUID]) -> list[WorkflowDefinitionView | None]: ...
    async def instances(self, status: str | None, subject_id: uuid.UUID | None,
                        page: PageRequest) -> Page[WorkflowInstanceView]:
        """Newest first (started_at, id)."""

    async def instances_by_ids(self, ids: list[uuid.UUID]) -> list[WorkflowInstanceView | None]: ...
    async def instances_by_subject(self, subject_ids: list[uuid.UUID]) -> list[list[WorkflowInstanceView]]: ...
    async def steps(self, instance_ids: list[uuid.UUID]) -> list[list[WorkflowStepView]]: ...
    async def my_work(self, worker: WorkerView, page: PageRequest) -> Page[WorkflowStepView]:
        """ACTIVE steps the worker may act on: assigned to them first, then their department's unassigned
        ones whose required role they hold; within each, the soonest due first (undated last)."""

    async def overdue(self, department_id: uuid.UUID | None, now: datetime,
                      page: PageRequest) -> Page[WorkflowStepView]:
        """ACTIVE steps past their due time at `now` (of one department, or all), longest overdue first."""


def overdue_department_scope(actor: WorkerView, department_id: uuid.UUID | None) -> uuid.UUID | None:
    """Whose overdue steps the actor may list: an ADMIN any department's, or all (None); a MANAGER their
    own department's (the default). Raises NotAuthorized for anybody else, or for another department."""
    if actor.role == Role.ADMIN.value:
        return department_id
    if actor.role == Role.MANAGER.value and department_id in (None, actor.department_id):
        return actor.department_id
    raise NotAuthorized()

"""Read models of workflow definitions, instances, their steps, and a person's work queue."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from application.queries.pagination import Page, PageRequest


@dataclass(frozen=True)
class ConditionView:
    field: str
    op: str
    value: str


@dataclass(frozen=True)
class StepDefinitionView:
    key: str
    name: str
    department_id: uuid.UUID
    kind: str
    required_role: str
    stage: int
    due_within_minutes: int | None
    condition: ConditionView | None


@dataclass(frozen=True)
class WorkflowDefinitionView:
    id: uuid.UUID
    key: str
    name: str
    version: int
    active: bool
    subject: str
    steps: tuple[StepDefinitionView, ...]


@dataclass(frozen=True)
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

    def overdue(self, now: datetime) -> bool:
        """As `domain.workflow.WorkflowStep.overdue`: an ACTIVE step past its due time."""
        return self.status == "ACTIVE" and self.due_at is not None and now > self.due_at


@dataclass(frozen=True)
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


@dataclass(frozen=True)
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

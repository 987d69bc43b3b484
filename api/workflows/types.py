"""Workflow definitions, instances, steps and work items as the API shows them."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from api.common.relay import Node, to_global_id
from api.common.scalars import JSON
from api.context import Context, Loaders
from api.nodes import Loaded, register_part, resolve_node
from api.organisation.enums import RoleEnum
from api.organisation.types import Department, Staff, load_department, load_staff
from api.workflows.enums import (
    SUBJECT_NODE_TYPES,
    ComparisonOpEnum,
    StepKindEnum,
    StepStatusEnum,
    WorkflowStatusEnum,
    WorkflowSubjectEnum,
)
from application.queries.workflows import (
    ConditionView,
    StepDefinitionView,
    WorkflowDefinitionView,
    WorkflowInstanceView,
    WorkflowStepView,
    sees_instance,
)
from application.queries.written import definition_view, instance_view, step_views
from domain.organisation import Role
from domain.workflow import ComparisonOp, StepKind, StepStatus, WorkflowStatus, WorkflowSubject

__all__ = ["WorkItem", "WorkflowDefinition", "WorkflowEvent", "WorkflowInstance", "WorkflowStatusEnum",
           "WorkflowStep"]


@strawberry.type(description="A step runs only when its condition holds on the instance's context, "
                             "e.g. amount GT 10000")
class StepCondition:
    field: str
    op: ComparisonOpEnum  # type: ignore[valid-type]
    value: str

    @classmethod
    def from_view(cls, v: ConditionView | None) -> "StepCondition | None":
        return None if v is None else cls(field=v.field, op=ComparisonOp(v.op), value=v.value)


@strawberry.type
class WorkflowStepDefinition:
    key: str
    name: str
    kind: StepKindEnum  # type: ignore[valid-type]
    required_role: RoleEnum  # type: ignore[valid-type]
    stage: int = strawberry.field(description="Steps sharing a stage number run in parallel; stages run in "
                                              "ascending order")
    due_within_minutes: int | None
    condition: StepCondition | None
    _view: strawberry.Private[StepDefinitionView]

    @classmethod
    def from_view(cls, v: StepDefinitionView) -> "WorkflowStepDefinition":
        return cls(key=v.key, name=v.name, kind=StepKind(v.kind), required_role=Role(v.required_role), stage=v.stage,
                   due_within_minutes=v.due_within_minutes, condition=StepCondition.from_view(v.condition), _view=v)

    @strawberry.field
    async def department(self, info: Info[Context, None]) -> Department:
        department = await load_department(info, self._view.department_id)
        assert department is not None
        return department


@strawberry.type
class WorkflowDefinition(Node, Loaded, loader="workflow_definition_by_id", view_of=definition_view):
    id: strawberry.ID
    key: str
    name: str
    version: int
    active: bool
    subject: WorkflowSubjectEnum  # type: ignore[valid-type]
    steps: list[WorkflowStepDefinition]

    @classmethod
    def from_view(cls, v: WorkflowDefinitionView) -> "WorkflowDefinition":
        return cls(id=to_global_id("WorkflowDefinition", v.id), key=v.key, name=v.name, version=v.version,
                   active=v.active, subject=WorkflowSubject(v.subject),
                   steps=[WorkflowStepDefinition.from_view(s) for s in v.steps])



@strawberry.type
class WorkflowStep(Node):
    id: strawberry.ID = strawberry.field(description="The instance's ID and the step's key")
    key: str
    name: str
    kind: StepKindEnum  # type: ignore[valid-type]
    required_role: RoleEnum = strawberry.field(  # type: ignore[valid-type]
        description="The least role the step's department needs to decide it (an assignee needs none)")
    status: StepStatusEnum  # type: ignore[valid-type]
    stage: int
    decided_at: datetime | None
    comment: str | None
    activated_at: datetime | None
    due_at: datetime | None = strawberry.field(
        description="activatedAt plus the step's dueWithinMinutes in business minutes on its department's calendar")
    escalated_at: datetime | None = strawberry.field(
        description="When `crm worker` escalated this activation as overdue (its managers were notified)")
    _view: strawberry.Private[WorkflowStepView]

    @classmethod
    def from_view(cls, v: WorkflowStepView) -> "WorkflowStep":
        return cls(id=to_global_id("WorkflowStep", v.instance_id, v.key), key=v.key, name=v.name,
                   kind=StepKind(v.kind), required_role=Role(v.required_role), status=StepStatus(v.status),
                   stage=v.stage, decided_at=v.decided_at, comment=v.comment, activated_at=v.activated_at,
                   due_at=v.due_at, escalated_at=v.escalated_at, _view=v)

    @strawberry.field
    async def department(self, info: Info[Context, None]) -> Department:
        department = await load_department(info, self._view.department_id)
        assert department is not None
        return department

    @strawberry.field
    async def assignee(self, info: Info[Context, None]) -> Staff | None:
        return await load_staff(info, self._view.assignee_id)

    @strawberry.field
    async def decided_by(self, info: Info[Context, None]) -> Staff | None:
        return await load_staff(info, self._view.decided_by)

    @strawberry.field(description="ACTIVE and past its due time, now")
    def overdue(self, info: Info[Context, None]) -> bool:
        return self._view.overdue(info.context.clock.now())


@strawberry.type
class WorkflowInstance(Node, Loaded, loader="workflow_instance_by_id", view_of=instance_view):
    id: strawberry.ID
    status: WorkflowStatusEnum  # type: ignore[valid-type]
    started_at: datetime
    completed_at: datetime | None
    version: int
    _view: strawberry.Private[WorkflowInstanceView]
    _steps: strawberry.Private[list[WorkflowStepView] | None] = None  # known already: no loader round trip

    @classmethod
    def from_view(cls, v: WorkflowInstanceView, steps: list[WorkflowStepView] | None = None) -> "WorkflowInstance":
        return cls(id=to_global_id("WorkflowInstance", v.id), status=WorkflowStatus(v.status),
                   started_at=v.started_at, completed_at=v.completed_at, version=v.version, _view=v, _steps=steps)

    @classmethod
    def prime(cls, loaders: Loaders, written: Any) -> None:
        super().prime(loaders, written)
        loaders.steps_by_instance.prime(written.id, step_views(written))

    @strawberry.field
    async def definition(self, info: Info[Context, None]) -> WorkflowDefinition:
        definition = await WorkflowDefinition.load(info, self._view.definition_id)
        assert definition is not None
        return definition  # type: ignore[no-any-return]

    @strawberry.field(description="The Order, Customer or Complaint this instance is about")
    async def subject(self, info: Info[Context, None]) -> Node:
        node = await resolve_node(info, SUBJECT_NODE_TYPES[WorkflowSubject(self._view.subject_type)],
                                  self._view.subject_id)
        assert node is not None, "a workflow's subject exists"
        return node  # type: ignore[no-any-return]

    async def _step_views(self, info: Info[Context, None]) -> list[WorkflowStepView]:
        steps = self._steps
        if steps is None:
            steps = await info.context.loaders.steps_by_instance.load(self._view.id)
        return steps

    @strawberry.field
    async def steps(self, info: Info[Context, None]) -> list[WorkflowStep]:
        return [WorkflowStep.from_view(s) for s in await self._step_views(info)]

    @strawberry.field(description="The values the steps' conditions read (amount, currency, customer ...), for "
                                  "those who see the instance's events (workflowEvents): ADMINs, its starter, staff "
                                  "of a department with a step in it, whoever a step is assigned to; {} for others")
    async def context(self, info: Info[Context, None]) -> JSON:
        actor = info.context.actor
        if sees_instance(actor.id, actor.department_id, actor.role.value, self._view, await self._step_views(info)):
            return self._view.context
        return {}

    @strawberry.field
    async def started_by(self, info: Info[Context, None]) -> Staff | None:
        return await load_staff(info, self._view.started_by)


@strawberry.type
class WorkItem(Node):
    id: strawberry.ID = strawberry.field(description="The instance's ID and the step's key: the same work item "
                                                     "in every list, so a client cache updates it in place")
    step: WorkflowStep
    _step: strawberry.Private[WorkflowStepView]

    @classmethod
    def from_view(cls, v: WorkflowStepView) -> "WorkItem":
        return cls(id=to_global_id("WorkItem", v.instance_id, v.key), step=WorkflowStep.from_view(v), _step=v)

    @strawberry.field
    async def instance(self, info: Info[Context, None]) -> WorkflowInstance:
        instance = await WorkflowInstance.load(info, self._step.instance_id)
        assert instance is not None
        return instance  # type: ignore[no-any-return]


@strawberry.type
class WorkflowEvent:
    kind: str = strawberry.field(description="What happened: STARTED, STEP_ACTIVATED, STEP_DECIDED, STEP_DELEGATED, "
                                             "STEP_OVERDUE (escalated by the worker), COMPLETED, REJECTED or "
                                             "CANCELLED")
    at: datetime
    instance: WorkflowInstance
    step_key: str | None


async def _step(info: Info[Context, None], instance_id: uuid.UUID, key: str) -> WorkflowStepView | None:
    steps = await info.context.loaders.steps_by_instance.load(instance_id)
    return next((step for step in steps if step.key == key), None)


async def _workflow_step(info: Info[Context, None], instance_id: uuid.UUID, key: str) -> WorkflowStep | None:
    step = await _step(info, instance_id, key)
    return WorkflowStep.from_view(step) if step else None


async def _work_item(info: Info[Context, None], instance_id: uuid.UUID, key: str) -> WorkItem | None:
    step = await _step(info, instance_id, key)
    return WorkItem.from_view(step) if step else None


register_part("WorkflowStep", _workflow_step)
register_part("WorkItem", _work_item)

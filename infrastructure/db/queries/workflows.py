"""SQL read models for workflow definitions, instances, steps and work queues."""
from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select

from application.queries.pagination import Page, PageRequest
from application.queries.workflows import (
    ConditionView,
    StepDefinitionView,
    WorkerView,
    WorkflowDefinitionView,
    WorkflowInstanceView,
    WorkflowStepView,
)
from domain.organisation import Role
from infrastructure.db.queries.rows import in_order
from infrastructure.db.queries.keyset import SortKey, paginate
from infrastructure.db.workflow_tables import overdue_steps, workflow_definitions, workflow_instances, workflow_steps
from infrastructure.db.reads import SqlReadModel

d, i, s = workflow_definitions, workflow_instances, workflow_steps
INSTANCE_COLUMNS = [i.c.id, i.c.definition_id, i.c.definition_key, i.c.definition_version, i.c.subject_type,
                    i.c.subject_id, i.c.status, i.c.context, i.c.started_by, i.c.started_at, i.c.completed_at,
                    i.c.version]
STEP_COLUMNS = [s.c.instance_id, s.c.key, s.c.name, s.c.department_id, s.c.kind, s.c.required_role, s.c.status,
                s.c.stage, s.c.assignee_id, s.c.decided_by, s.c.decided_at, s.c.comment, s.c.activated_at,
                s.c.due_at, s.c.escalated_at]


def definition_view(r: Any) -> WorkflowDefinitionView:
    steps = tuple(
        StepDefinitionView(
            key=step["key"], name=step["name"], department_id=uuid.UUID(step["departmentId"]), kind=step["kind"],
            required_role=step["requiredRole"], stage=step["stage"], due_within_minutes=step.get("dueWithinMinutes"),
            condition=ConditionView(**step["condition"]) if step.get("condition") else None)
        for step in r.steps)
    return WorkflowDefinitionView(id=r.id, key=r.key, name=r.name, version=r.version, active=r.active,
                                  subject=r.subject, steps=steps)


def instance_view(r: Any) -> WorkflowInstanceView:
    return WorkflowInstanceView(id=r.id, definition_id=r.definition_id, definition_key=r.definition_key,
                                definition_version=r.definition_version, subject_type=r.subject_type,
                                subject_id=r.subject_id, status=r.status, context=r.context or {},
                                started_by=r.started_by, started_at=r.started_at, completed_at=r.completed_at,
                                version=r.version)


def step_view(r: Any) -> WorkflowStepView:
    return WorkflowStepView(instance_id=r.instance_id, key=r.key, name=r.name, department_id=r.department_id,
                            kind=r.kind, required_role=r.required_role, status=r.status, stage=r.stage,
                            assignee_id=r.assignee_id, decided_by=r.decided_by, decided_at=r.decided_at,
                            comment=r.comment, activated_at=r.activated_at, due_at=r.due_at,
                            escalated_at=r.escalated_at)


class SqlWorkflowQueries(SqlReadModel):
    async def definitions(self, active_only: bool) -> list[WorkflowDefinitionView]:
        query = select(d).order_by(d.c.key, d.c.version.desc())
        if active_only:
            query = query.where(d.c.active.is_(True))
        return [definition_view(r) for r in await self._all(query)]

    async def definitions_by_ids(self, ids: list[uuid.UUID]) -> list[WorkflowDefinitionView | None]:
        rows = await self._all(select(d).where(d.c.id.in_(ids)))
        return in_order(ids, {r.id: definition_view(r) for r in rows})

    async def instances(self, status: str | None, subject_id: uuid.UUID | None,
                        page: PageRequest) -> Page[WorkflowInstanceView]:
        query = select(*INSTANCE_COLUMNS)
        if status is not None:
            query = query.where(i.c.status == status)
        if subject_id is not None:
            query = query.where(i.c.subject_id == subject_id)
        keys = [SortKey(i.c.started_at, datetime), SortKey(i.c.id, uuid.UUID)]
        return await paginate(self._reads, query, keys, descending=True, page=page, to_item=instance_view)

    async def instances_by_ids(self, ids: list[uuid.UUID]) -> list[WorkflowInstanceView | None]:
        rows = await self._all(select(*INSTANCE_COLUMNS).where(i.c.id.in_(ids)))
        return in_order(ids, {r.id: instance_view(r) for r in rows})

    async def instances_by_subject(self, subject_ids: list[uuid.UUID]) -> list[list[WorkflowInstanceView]]:
        found: dict[uuid.UUID, list[WorkflowInstanceView]] = defaultdict(list)
        for r in await self._all(select(*INSTANCE_COLUMNS).where(i.c.subject_id.in_(subject_ids))
                                 .order_by(i.c.started_at, i.c.id)):
            found[r.subject_id].append(instance_view(r))
        return [found.get(subject_id, []) for subject_id in subject_ids]

    async def steps(self, instance_ids: list[uuid.UUID]) -> list[list[WorkflowStepView]]:
        found: dict[uuid.UUID, list[WorkflowStepView]] = defaultdict(list)
        for r in await self._all(select(*STEP_COLUMNS).where(s.c.instance_id.in_(instance_ids))
                                 .order_by(s.c.instance_id, s.c.position)):
            found[r.instance_id].append(step_view(r))
        return [found.get(instance_id, []) for instance_id in instance_ids]

    async def my_work(self, worker: WorkerView, page: PageRequest) -> Page[WorkflowStepView]:
        """Two index paths, (assignee_id, status, due_at) and (department_id, status, due_at); the sort is
        (assigned to me first, undated last, due time or else activation time, instance, step)."""
        roles = [r.value for r in Role if Role(worker.role).at_least(r)]
        mine = s.c.assignee_id == worker.id
        departments = and_(s.c.assignee_id.is_(None), s.c.department_id == worker.department_id,
                           s.c.required_role.in_(roles))
        bucket = case((mine, 0), else_=1).label("bucket")
        undated = case((s.c.due_at.is_(None), 1), else_=0).label("undated")
        when = func.coalesce(s.c.due_at, s.c.activated_at).label("sort_at")
        query = select(*STEP_COLUMNS, bucket, undated, when).where(s.c.status == "ACTIVE", or_(mine, departments))
        keys = [SortKey(bucket, int), SortKey(undated, int), SortKey(when, datetime), SortKey(s.c.instance_id, uuid.UUID),
                SortKey(s.c.key, str)]
        return await paginate(self._reads, query, keys, descending=False, page=page, to_item=step_view)

    async def overdue(self, department_id: uuid.UUID | None, now: datetime,
                      page: PageRequest) -> Page[WorkflowStepView]:
        """One department's: a range scan on (department_id, status, due_at); all: on the escalation
        worker's (status, escalated_at, due_at)."""
        query = select(*STEP_COLUMNS).where(overdue_steps(now))
        if department_id is not None:
            query = query.where(s.c.department_id == department_id)
        keys = [SortKey(s.c.due_at, datetime), SortKey(s.c.instance_id, uuid.UUID), SortKey(s.c.key, str)]
        return await paginate(self._reads, query, keys, descending=False, page=page, to_item=step_view)

"""Workflow definitions (versioned, steps as JSON) and instances (a row plus one row per step)."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.organisation import Role
from domain.shared import Conflict
from domain.workflow import (
    ComparisonOp,
    Decision,
    Delegation,
    StepCondition,
    StepDefinition,
    StepKind,
    StepStatus,
    WorkflowDefinition,
    WorkflowInstance,
    WorkflowStatus,
    WorkflowStep,
    WorkflowSubject,
)
from infrastructure.db.repositories.organisation import Tracker, locked, save_versioned
from infrastructure.db.workflow_tables import overdue_steps, workflow_definitions, workflow_instances, workflow_steps

# ----------------------------------------------------------------------------- definitions


def step_to_json(step: StepDefinition) -> dict[str, Any]:
    """The stored shape of a definition's step (migration 0002 writes the same)."""
    condition = step.condition
    return {
        "key": step.key, "name": step.name, "departmentId": str(step.department_id), "kind": step.kind.value,
        "requiredRole": step.required_role.value, "stage": step.stage, "dueWithinMinutes": step.due_within_minutes,
        "condition": None if condition is None else {
            "field": condition.field, "op": condition.op.value, "value": condition.value},
    }


def step_from_json(data: dict[str, Any]) -> StepDefinition:
    condition = data.get("condition")
    return StepDefinition(
        key=data["key"], name=data["name"], department_id=uuid.UUID(data["departmentId"]),
        kind=StepKind(data["kind"]), required_role=Role(data["requiredRole"]), stage=int(data["stage"]),
        due_within_minutes=data.get("dueWithinMinutes"),
        condition=None if not condition else StepCondition(
            condition["field"], ComparisonOp(condition["op"]), condition["value"]))


def definition_from_row(row: Any) -> WorkflowDefinition:
    return WorkflowDefinition(
        id=row.id, key=row.key, name=row.name, version=row.version, subject=WorkflowSubject(row.subject),
        steps=tuple(step_from_json(s) for s in row.steps), active=row.active)


class SqlWorkflowDefinitionRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, definition_id: uuid.UUID) -> WorkflowDefinition | None:
        d = workflow_definitions
        row = (await self._conn.execute(select(d).where(d.c.id == definition_id))).first()
        return definition_from_row(row) if row else None

    async def latest(self, key: str) -> WorkflowDefinition | None:
        d = workflow_definitions
        row = (await self._conn.execute(
            select(d).where(d.c.key == key.strip().lower()).order_by(d.c.version.desc()).limit(1))).first()
        return definition_from_row(row) if row else None

    async def add(self, definition: WorkflowDefinition, *, by: uuid.UUID | None, at: datetime) -> None:
        try:
            async with self._conn.begin_nested():
                await self._conn.execute(insert(workflow_definitions).values(
                    id=definition.id, key=definition.key, version=definition.version, name=definition.name,
                    subject=definition.subject.value, steps=[step_to_json(s) for s in definition.steps],
                    active=definition.active, created_by=by, created_at=at))
        except IntegrityError:
            raise Conflict(f"Someone else defined version {definition.version} of {definition.key!r} at the same "
                           "time; reload and retry.") from None

    async def retire(self, definition: WorkflowDefinition) -> None:
        d = workflow_definitions
        result = await self._conn.execute(
            update(d).where(d.c.id == definition.id, d.c.active.is_(True)).values(active=False))
        if result.rowcount != 1:
            raise Conflict(f"Someone else redefined {definition.key!r} at the same time; reload and retry.")


# ----------------------------------------------------------------------------- instances


def _step_state(step: WorkflowStep) -> dict[str, Any]:
    """The columns of a step row that change while the instance runs."""
    return {
        "status": step.status.value, "assignee_id": step.assignee_id, "activated_at": step.activated_at,
        "due_at": step.due_at, "decision": step.decision.value if step.decision else None,
        "decided_by": step.decided_by, "decided_at": step.decided_at, "comment": step.comment,
        "delegations": [{"fromId": str(d.from_id), "toId": str(d.to_id), "at": d.at.isoformat(),
                         "comment": d.comment} for d in step.delegations],
        "escalated_at": step.escalated_at,
    }


def _step_row(instance: WorkflowInstance, position: int, step: WorkflowStep) -> dict[str, Any]:
    definition, condition = step.definition, step.definition.condition
    return {
        "instance_id": instance.id, "key": step.key, "position": position, "name": definition.name,
        "department_id": definition.department_id, "kind": definition.kind.value,
        "required_role": definition.required_role.value, "stage": definition.stage,
        "due_within_minutes": definition.due_within_minutes,
        "condition_field": condition.field if condition else None,
        "condition_op": condition.op.value if condition else None,
        "condition_value": condition.value if condition else None,
        **_step_state(step),
    }


def _step_from_row(row: Any) -> WorkflowStep:
    condition = None
    if row.condition_field is not None:
        condition = StepCondition(row.condition_field, ComparisonOp(row.condition_op), row.condition_value)
    definition = StepDefinition(
        key=row.key, name=row.name, department_id=row.department_id, kind=StepKind(row.kind),
        required_role=Role(row.required_role), stage=row.stage, due_within_minutes=row.due_within_minutes,
        condition=condition)
    return WorkflowStep(
        definition=definition, status=StepStatus(row.status), assignee_id=row.assignee_id,
        activated_at=row.activated_at, due_at=row.due_at, decision=Decision(row.decision) if row.decision else None,
        decided_by=row.decided_by, decided_at=row.decided_at, comment=row.comment,
        delegations=[Delegation(uuid.UUID(d["fromId"]), uuid.UUID(d["toId"]), datetime.fromisoformat(d["at"]),
                                d.get("comment")) for d in row.delegations or []],
        escalated_at=row.escalated_at)


class SqlWorkflowRepository:
    def __init__(self, conn: AsyncConnection, tracker: Tracker) -> None:
        self._conn = conn
        self._tracker = tracker
        self._loaded: dict[uuid.UUID, list[dict[str, Any]]] = {}  # step states as read, to write only changes

    async def get(self, instance_id: uuid.UUID) -> WorkflowInstance | None:
        i, s = workflow_instances, workflow_steps
        row = (await self._conn.execute(locked(self._conn, select(i).where(i.c.id == instance_id)))).first()
        if row is None:
            return None
        steps = [_step_from_row(r) for r in await self._conn.execute(
            select(s).where(s.c.instance_id == instance_id).order_by(s.c.position))]
        instance = WorkflowInstance(
            id=row.id, version=row.version, definition_id=row.definition_id, definition_key=row.definition_key,
            definition_version=row.definition_version, subject_type=WorkflowSubject(row.subject_type),
            subject_id=row.subject_id, context=row.context or {}, status=WorkflowStatus(row.status), steps=steps,
            started_by=row.started_by, started_at=row.started_at, updated_at=row.updated_at,
            completed_at=row.completed_at, cancelled_by=row.cancelled_by, cancelled_at=row.cancelled_at,
            cancel_reason=row.cancel_reason)
        self._loaded[instance.id] = [_step_state(step) for step in steps]
        self._tracker.track(instance)
        return instance

    async def add(self, instance: WorkflowInstance) -> None:
        instance.version = 1
        await self._conn.execute(insert(workflow_instances).values(
            id=instance.id, definition_id=instance.definition_id, definition_key=instance.definition_key,
            definition_version=instance.definition_version, subject_type=instance.subject_type.value,
            subject_id=instance.subject_id, status=instance.status.value, context=instance.context,
            started_by=instance.started_by, started_at=instance.started_at, updated_at=instance.updated_at,
            completed_at=instance.completed_at, cancelled_by=instance.cancelled_by,
            cancelled_at=instance.cancelled_at, cancel_reason=instance.cancel_reason, version=1))
        await self._conn.execute(insert(workflow_steps),
                                 [_step_row(instance, n, step) for n, step in enumerate(instance.steps)])
        self._loaded[instance.id] = [_step_state(step) for step in instance.steps]
        self._tracker.track(instance)

    async def claim_overdue(self, now: datetime, limit: int) -> list[tuple[uuid.UUID, str]]:
        """(instance id, step key) of up to `limit` ACTIVE steps past their due time and not escalated yet,
        soonest due first: one range scan on ix_workflow_steps_status_escalated_at_due_at.

        On PostgreSQL the steps' *instance* rows are locked (FOR NO KEY UPDATE OF ... SKIP LOCKED: a row
        that a concurrent insert merely references is not skipped): an instance
        another worker holds, or a person is deciding on right now, is skipped rather than waited for, and
        the worker takes its locks in the same order as `save` does (instance row first, then steps), so
        it never deadlocks with someone deciding. On SQLite the writer lock serialises workers."""
        i, s = workflow_instances, workflow_steps
        query = (select(s.c.instance_id, s.c.key)
                 .where(overdue_steps(now), s.c.escalated_at.is_(None))
                 .order_by(s.c.due_at).limit(limit))  # the index's order: no sort
        if self._conn.dialect.name == "postgresql":
            query = (query.join_from(s, i, i.c.id == s.c.instance_id)
                     .with_for_update(of=i, skip_locked=True, key_share=True))
        return [(row.instance_id, row.key) for row in await self._conn.execute(query)]

    async def save(self, instance: WorkflowInstance) -> None:
        """The versioned UPDATE of the instance row comes first: of two concurrent deciders exactly one
        gets past it (the other waits for the row lock, then finds the version moved: Conflict)."""
        await save_versioned(self._conn, workflow_instances, instance, {
            "status": instance.status.value, "context": instance.context, "updated_at": instance.updated_at,
            "completed_at": instance.completed_at, "cancelled_by": instance.cancelled_by,
            "cancelled_at": instance.cancelled_at, "cancel_reason": instance.cancel_reason})
        s = workflow_steps
        before = self._loaded.get(instance.id, [])
        states = [_step_state(step) for step in instance.steps]
        for n, (step, state) in enumerate(zip(instance.steps, states)):
            if n < len(before) and before[n] == state:
                continue
            await self._conn.execute(
                update(s).where(s.c.instance_id == instance.id, s.c.key == step.key).values(**state))
        self._loaded[instance.id] = states
        self._tracker.track(instance)

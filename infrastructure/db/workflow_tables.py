"""Workflow definitions, instances and their steps (SQLAlchemy Core, on the shared `metadata`).

Steps are rows, not JSON, so that "my work" is an indexed query: a person's assigned steps come from
(assignee_id, status, due_at), their department's from (department_id, status, due_at). The escalation
worker finds the overdue steps not escalated yet with one range scan on (status, escalated_at, due_at):
status = 'ACTIVE' AND escalated_at IS NULL AND due_at < now, soonest due first.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Column, ColumnElement, ForeignKey, Index, Integer, SmallInteger, String, Table, \
    Text, UniqueConstraint, Uuid, and_

from domain.workflow.instance import StepStatus
from infrastructure.db.metadata import metadata
from infrastructure.db.types import UTCDateTime

workflow_definitions = Table(
    "workflow_definitions",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("key", String(80), nullable=False),
    Column("version", Integer, nullable=False),
    Column("name", String(200), nullable=False),
    Column("subject", String(20), nullable=False),
    Column("steps", JSON, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_by", Uuid, ForeignKey("staff.id"), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("key", "version"),
)

workflow_instances = Table(
    "workflow_instances",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("definition_id", Uuid, ForeignKey("workflow_definitions.id"), nullable=False),
    Column("definition_key", String(80), nullable=False),
    Column("definition_version", Integer, nullable=False),
    Column("subject_type", String(20), nullable=False),
    Column("subject_id", Uuid, nullable=False),
    Column("status", String(20), nullable=False),
    Column("context", JSON, nullable=False),
    Column("started_by", Uuid, ForeignKey("staff.id"), nullable=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("completed_at", UTCDateTime, nullable=True),
    Column("cancelled_by", Uuid, ForeignKey("staff.id"), nullable=True),
    Column("cancelled_at", UTCDateTime, nullable=True),
    Column("cancel_reason", Text, nullable=True),
    Column("version", Integer, nullable=False),
    Index("ix_workflow_instances_started_at_id", "started_at", "id"),
    Index("ix_workflow_instances_status_started_at_id", "status", "started_at", "id"),
    Index("ix_workflow_instances_subject_id_started_at_id", "subject_id", "started_at", "id"),
)

workflow_steps = Table(
    "workflow_steps",
    metadata,
    Column("instance_id", Uuid, ForeignKey("workflow_instances.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(80), primary_key=True),
    Column("position", SmallInteger, nullable=False),
    # the definition's step, snapshotted when the instance started
    Column("name", String(200), nullable=False),
    Column("department_id", Uuid, ForeignKey("departments.id"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("required_role", String(20), nullable=False),
    Column("stage", SmallInteger, nullable=False),
    Column("due_within_minutes", Integer, nullable=True),
    Column("condition_field", String(100), nullable=True),
    Column("condition_op", String(10), nullable=True),
    Column("condition_value", String(200), nullable=True),
    # where it stands
    Column("status", String(20), nullable=False),
    Column("assignee_id", Uuid, ForeignKey("staff.id"), nullable=True),
    Column("activated_at", UTCDateTime, nullable=True),
    Column("due_at", UTCDateTime, nullable=True),
    Column("decision", String(20), nullable=True),
    Column("decided_by", Uuid, ForeignKey("staff.id"), nullable=True),
    Column("decided_at", UTCDateTime, nullable=True),
    Column("comment", Text, nullable=True),
    Column("delegations", JSON, nullable=False),
    # when the current activation was escalated as overdue (None: not yet); reset on activation
    Column("escalated_at", UTCDateTime, nullable=True),
    Index("ix_workflow_steps_assignee_id_status_due_at", "assignee_id", "status", "due_at"),
    Index("ix_workflow_steps_department_id_status_due_at", "department_id", "status", "due_at"),
    Index("ix_workflow_steps_status_escalated_at_due_at", "status", "escalated_at", "due_at"),
)


def overdue_steps(now: datetime) -> ColumnElement[bool]:
    """`domain.workflow`'s WorkflowStep.overdue in SQL: an ACTIVE step whose due time is before `now` (the
    (status, escalated_at, due_at) and (department_id, status, due_at) indexes serve it)."""
    return and_(workflow_steps.c.status == StepStatus.ACTIVE.value, workflow_steps.c.due_at < now)

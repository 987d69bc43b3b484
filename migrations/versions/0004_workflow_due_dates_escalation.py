"""Workflow due dates on department calendars, and overdue-step escalation: departments.calendar_id,
workflow_steps.escalated_at with the escalation worker's index (status, escalated_at, due_at).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 10:12:00

SQLite notes. Adding a column with a foreign key is a plain ALTER TABLE there (a nullable column may
carry a REFERENCES clause); alembic's batch mode would rebuild `departments` instead, and dropping the
old table fails while staff, steps ... reference it (foreign keys are enforced and cannot be switched off
inside the migration's transaction). For the same reason SQLite cannot drop the column again: the
downgrade clears it and leaves it in place (nothing before this revision reads it), and the upgrade
reuses a column it finds.
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import infrastructure.db.types


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

FK_NAME = "fk_departments_calendar_id_business_calendars"


def _department_columns() -> set[str]:
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns("departments")}


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        if "calendar_id" not in _department_columns():
            op.execute(f"ALTER TABLE departments ADD COLUMN calendar_id CHAR(32) "
                       f"CONSTRAINT {FK_NAME} REFERENCES business_calendars (id)")
    else:
        op.add_column('departments', sa.Column('calendar_id', sa.Uuid(), nullable=True))
        op.create_foreign_key(op.f(FK_NAME), 'departments', 'business_calendars', ['calendar_id'], ['id'])

    with op.batch_alter_table('workflow_steps', schema=None) as batch_op:
        batch_op.add_column(sa.Column('escalated_at', infrastructure.db.types.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.create_index('ix_workflow_steps_status_escalated_at_due_at', ['status', 'escalated_at', 'due_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('workflow_steps', schema=None) as batch_op:
        batch_op.drop_index('ix_workflow_steps_status_escalated_at_due_at')
        batch_op.drop_column('escalated_at')

    if op.get_bind().dialect.name == "sqlite":
        op.execute("UPDATE departments SET calendar_id = NULL")  # see the module docstring
    else:
        op.drop_constraint(op.f(FK_NAME), 'departments', type_='foreignkey')
        op.drop_column('departments', 'calendar_id')

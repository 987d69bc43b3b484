"""The rollout by department: each department's phase and checklist targets, its phase history, staff trainings;
and complaint_reads (who read a complaint's timeline without handling it, one row per person, complaint and day).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 17:20:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import infrastructure.db.types


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('department_rollouts',
    sa.Column('department_id', sa.Uuid(), nullable=False),
    sa.Column('phase', sa.String(length=20), nullable=False),
    sa.Column('checklist', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', infrastructure.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_department_rollouts_department_id_departments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('department_id', name=op.f('pk_department_rollouts'))
    )
    op.create_table('rollout_phase_changes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('department_id', sa.Uuid(), nullable=False),
    sa.Column('from_phase', sa.String(length=20), nullable=True),
    sa.Column('to_phase', sa.String(length=20), nullable=False),
    sa.Column('at', infrastructure.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('by_id', sa.Uuid(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['by_id'], ['staff.id'], name=op.f('fk_rollout_phase_changes_by_id_staff')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_rollout_phase_changes_department_id_departments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rollout_phase_changes'))
    )
    op.create_index('ix_rollout_phase_changes_department_id_at', 'rollout_phase_changes', ['department_id', 'at'], unique=False)
    op.create_table('staff_trainings',
    sa.Column('staff_id', sa.Uuid(), nullable=False),
    sa.Column('trained_at', infrastructure.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('marked_by', sa.Uuid(), nullable=False),
    sa.Column('marked_at', infrastructure.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['marked_by'], ['staff.id'], name=op.f('fk_staff_trainings_marked_by_staff')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_staff_trainings_staff_id_staff'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('staff_id', name=op.f('pk_staff_trainings'))
    )
    op.create_table('complaint_reads',
    sa.Column('complaint_id', sa.Uuid(), nullable=False),
    sa.Column('staff_id', sa.Uuid(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('first_read_at', infrastructure.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaints.id'], name=op.f('fk_complaint_reads_complaint_id_complaints'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_complaint_reads_staff_id_staff'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('complaint_id', 'staff_id', 'day', name=op.f('pk_complaint_reads'))
    )
    op.create_index('ix_complaint_reads_staff_id_day', 'complaint_reads', ['staff_id', 'day'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_complaint_reads_staff_id_day', table_name='complaint_reads')
    op.drop_table('complaint_reads')
    op.drop_table('staff_trainings')
    op.drop_index('ix_rollout_phase_changes_department_id_at', table_name='rollout_phase_changes')
    op.drop_table('rollout_phase_changes')
    op.drop_table('department_rollouts')

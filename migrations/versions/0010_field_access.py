"""Field access rules: who reads unit costs, order profitability, receivables and the profitability report
(no row: the default rule, domain/field_access.py).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 12:00:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import infrastructure.db.types


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('field_access',
    sa.Column('field', sa.String(length=40), nullable=False),
    sa.Column('roles', sa.JSON(), nullable=False),
    sa.Column('department_ids', sa.JSON(), nullable=False),
    sa.Column('owner', sa.Boolean(), nullable=False),
    sa.Column('updated_at', infrastructure.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.Uuid(), nullable=True),
    sa.PrimaryKeyConstraint('field', name=op.f('pk_field_access'))
    )


def downgrade() -> None:
    op.drop_table('field_access')

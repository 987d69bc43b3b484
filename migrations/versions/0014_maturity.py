"""The maturity thresholds an ADMIN set (the defaults live in domain/maturity.py).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 18:00:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import infrastructure.db.types


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('maturity_thresholds',
    sa.Column('key', sa.String(length=60), nullable=False),
    sa.Column('value', sa.Double(), nullable=False),
    sa.Column('set_by', sa.Uuid(), nullable=True),
    sa.Column('set_at', infrastructure.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['set_by'], ['staff.id'], name=op.f('fk_maturity_thresholds_set_by_staff')),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_maturity_thresholds'))
    )


def downgrade() -> None:
    op.drop_table('maturity_thresholds')

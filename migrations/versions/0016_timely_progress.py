"""Each progress entry says whether it came after its update interval had run out, judged when it is recorded
(the maturity report's timely entry no longer waits for the SLA worker's breaches).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 20:00:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('complaint_timeline', schema=None) as batch_op:
        batch_op.add_column(sa.Column('late', sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('complaint_timeline', schema=None) as batch_op:
        batch_op.drop_column('late')

"""Staff: tokens_valid_after, set when a member is deactivated, so tokens issued before stay dead after a
reactivation.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 11:30:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import infrastructure.db.types


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('staff') as batch:
        batch.add_column(sa.Column('tokens_valid_after', infrastructure.db.types.UTCDateTime(timezone=True),
                                   nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('staff') as batch:
        batch.drop_column('tokens_valid_after')

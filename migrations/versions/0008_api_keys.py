"""API keys for partner systems, stored with the SHA-256 of their secret only.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 11:40:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import infrastructure.db.types


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_keys',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('acts_as', sa.Uuid(), nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('created_at', infrastructure.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', infrastructure.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', infrastructure.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['acts_as'], ['staff.id'], name=op.f('fk_api_keys_acts_as_staff')),
    sa.ForeignKeyConstraint(['created_by'], ['staff.id'], name=op.f('fk_api_keys_created_by_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys'))
    )
    op.create_index(op.f('ix_api_keys_acts_as'), 'api_keys', ['acts_as'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_api_keys_acts_as'), table_name='api_keys')
    op.drop_table('api_keys')

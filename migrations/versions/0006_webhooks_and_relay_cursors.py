"""Events out: webhooks (with their event types and per-event delivery state) and the relay's cursors
into the outbox (the broker's, the fan-out to webhooks). The outbox itself is unchanged.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 10:24:32.877275
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import infrastructure.db.types


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('relay_cursors',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('position', sa.BigInteger(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', infrastructure.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_success_at', infrastructure.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_failure_at', infrastructure.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('lease_owner', sa.Uuid(), nullable=True),
    sa.Column('lease_until', infrastructure.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', infrastructure.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_relay_cursors'))
    )
    op.create_table('webhooks',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('events', sa.JSON(), nullable=False),
    sa.Column('secret_ciphertext', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('created_at', infrastructure.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('after_position', sa.BigInteger(), nullable=False),
    sa.Column('last_success_at', infrastructure.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_failure_at', infrastructure.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('consecutive_failures', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['staff.id'], name=op.f('fk_webhooks_created_by_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhooks'))
    )
    with op.batch_alter_table('webhooks', schema=None) as batch_op:
        batch_op.create_index('ix_webhooks_created_at_id', ['created_at', 'id'], unique=False)

    op.create_table('webhook_deliveries',
    sa.Column('webhook_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.BigInteger(), nullable=False),
    sa.Column('event_id', sa.Uuid(), nullable=False),
    sa.Column('aggregate_id', sa.Uuid(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', infrastructure.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_attempt_at', infrastructure.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('parked_at', infrastructure.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lease_owner', sa.Uuid(), nullable=True),
    sa.Column('lease_until', infrastructure.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', infrastructure.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('PENDING', 'PARKED')", name=op.f('ck_webhook_deliveries_state')),
    sa.ForeignKeyConstraint(['webhook_id'], ['webhooks.id'], name=op.f('fk_webhook_deliveries_webhook_id_webhooks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('webhook_id', 'position', name=op.f('pk_webhook_deliveries'))
    )
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_deliveries_state_next_attempt_at_position', ['state', 'next_attempt_at', 'position'], unique=False)
        batch_op.create_index('ix_webhook_deliveries_webhook_id_aggregate_id_position', ['webhook_id', 'aggregate_id', 'position'], unique=False)

    op.create_table('webhook_event_types',
    sa.Column('webhook_id', sa.Uuid(), nullable=False),
    sa.Column('event_type', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['webhook_id'], ['webhooks.id'], name=op.f('fk_webhook_event_types_webhook_id_webhooks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('webhook_id', 'event_type', name=op.f('pk_webhook_event_types'))
    )


def downgrade() -> None:
    op.drop_table('webhook_event_types')
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_deliveries_webhook_id_aggregate_id_position')
        batch_op.drop_index('ix_webhook_deliveries_state_next_attempt_at_position')

    op.drop_table('webhook_deliveries')
    with op.batch_alter_table('webhooks', schema=None) as batch_op:
        batch_op.drop_index('ix_webhooks_created_at_id')

    op.drop_table('webhooks')
    op.drop_table('relay_cursors')

"""Order status machine and the event feed: outbox.feed_xid (the transaction id the feed orders an event
by) with the feed's index (feed_xid, position); the Kanban's covering indexes on orders (status, currency, total_amount),
and the same behind owner_id.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 14:30:00

On PostgreSQL a BEFORE INSERT trigger sets feed_xid on every outbox row, whoever writes it: the larger of
the writing transaction's id (`pg_current_xact_id()`) and the largest feed_xid already in the outbox
(index-only, one entry). Why both: infrastructure/db/queries/events.py. Rows written before this revision
keep 0 and stay in position order ahead of everything newer. SQLite's writers take turns (BEGIN
IMMEDIATE), so position order is commit order there and the column stays 0.
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

FEED_XID_FUNCTION = """
CREATE FUNCTION outbox_feed_xid() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.feed_xid := GREATEST((pg_current_xact_id()::text)::bigint,
                             COALESCE((SELECT max(feed_xid) FROM outbox), 0));
    RETURN NEW;
END
$$
"""
FEED_XID_TRIGGER = ("CREATE TRIGGER outbox_feed_xid BEFORE INSERT ON outbox "
                    "FOR EACH ROW EXECUTE FUNCTION outbox_feed_xid()")


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('feed_xid', sa.BigInteger(), server_default=sa.text('0'), nullable=False))
        batch_op.create_index('ix_outbox_feed_xid_position', ['feed_xid', 'position'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FEED_XID_FUNCTION)
        op.execute(FEED_XID_TRIGGER)
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_status_currency_total_amount', ['status', 'currency', 'total_amount'],
                              unique=False)
        batch_op.create_index('ix_orders_owner_id_status_currency_total_amount',
                              ['owner_id', 'status', 'currency', 'total_amount'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_owner_id_status_currency_total_amount')
        batch_op.drop_index('ix_orders_status_currency_total_amount')
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER outbox_feed_xid ON outbox")
        op.execute("DROP FUNCTION outbox_feed_xid()")
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_feed_xid_position')
        batch_op.drop_column('feed_xid')

"""The sales pipeline: opportunity stages, opportunities (campaign_id without a foreign key until the campaigns
table exists) and their stage history; the opportunity-number sequence on PostgreSQL.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 17:00:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import infrastructure.db.types


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('opportunity_stages',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('position', sa.SmallInteger(), nullable=False),
    sa.Column('probability', sa.SmallInteger(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('created_at', infrastructure.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opportunity_stages')),
    sa.UniqueConstraint('name', name=op.f('uq_opportunity_stages_name'))
    )
    op.create_table('opportunities',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('owner_id', sa.Uuid(), nullable=True),
    sa.Column('department_id', sa.Uuid(), nullable=False),
    sa.Column('stage_id', sa.Uuid(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount', infrastructure.db.types.ExactDecimal(precision=20, scale=4), nullable=False),
    sa.Column('probability', sa.SmallInteger(), nullable=False),
    sa.Column('weighted_amount', infrastructure.db.types.ExactDecimal(precision=20, scale=4), nullable=False),
    sa.Column('expected_close_date', sa.Date(), nullable=True),
    sa.Column('campaign_id', sa.Uuid(), nullable=True),
    sa.Column('lost_reason', sa.String(length=1000), nullable=True),
    sa.Column('order_id', sa.Uuid(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', infrastructure.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', infrastructure.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_opportunities_customer_id_customers')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_opportunities_department_id_departments')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_opportunities_order_id_orders'), initially='DEFERRED', deferrable=True),
    sa.ForeignKeyConstraint(['owner_id'], ['staff.id'], name=op.f('fk_opportunities_owner_id_staff')),
    sa.ForeignKeyConstraint(['stage_id'], ['opportunity_stages.id'], name=op.f('fk_opportunities_stage_id_opportunity_stages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opportunities')),
    sa.UniqueConstraint('number', name=op.f('uq_opportunities_number')),
    sa.UniqueConstraint('order_id', name=op.f('uq_opportunities_order_id'))
    )
    op.create_index('ix_opportunities_campaign_id', 'opportunities', ['campaign_id'], unique=False)
    op.create_index('ix_opportunities_created_at_id', 'opportunities', ['created_at', 'id'], unique=False)
    op.create_index('ix_opportunities_customer_id_created_at_id', 'opportunities', ['customer_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_opportunities_expected_close_date', 'opportunities', ['expected_close_date'], unique=False)
    op.create_index('ix_opportunities_owner_id_created_at_id', 'opportunities', ['owner_id', 'created_at', 'id'], unique=False)
    op.create_index('ix_opportunities_stage_id_created_at_id', 'opportunities', ['stage_id', 'created_at', 'id'], unique=False)

    op.create_table('opportunity_stage_changes',
    sa.Column('opportunity_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('from_stage_id', sa.Uuid(), nullable=True),
    sa.Column('to_stage_id', sa.Uuid(), nullable=False),
    sa.Column('at', infrastructure.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('by', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['by'], ['staff.id'], name=op.f('fk_opportunity_stage_changes_by_staff')),
    sa.ForeignKeyConstraint(['from_stage_id'], ['opportunity_stages.id'], name=op.f('fk_opportunity_stage_changes_from_stage_id_opportunity_stages')),
    sa.ForeignKeyConstraint(['opportunity_id'], ['opportunities.id'], name=op.f('fk_opportunity_stage_changes_opportunity_id_opportunities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['to_stage_id'], ['opportunity_stages.id'], name=op.f('fk_opportunity_stage_changes_to_stage_id_opportunity_stages')),
    sa.PrimaryKeyConstraint('opportunity_id', 'position', name=op.f('pk_opportunity_stage_changes'))
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE opportunity_number_seq")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE IF EXISTS opportunity_number_seq")
    op.drop_table('opportunity_stage_changes')
    op.drop_table('opportunities')
    op.drop_table('opportunity_stages')

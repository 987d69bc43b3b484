"""Marketing campaigns and their members (issue 16). It follows the sales pipeline's 0011
(on the campaigns branch it followed 0010) and needs nothing of it.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 17:00:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import infrastructure.db.types


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('campaigns',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('channel', sa.String(length=50), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=True),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('budget_amount', infrastructure.db.types.ExactDecimal(precision=20, scale=4), nullable=True),
    sa.Column('budget_currency', sa.String(length=3), nullable=True),
    sa.Column('owner_id', sa.Uuid(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', infrastructure.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', infrastructure.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['staff.id'], name=op.f('fk_campaigns_owner_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns'))
    )
    op.create_index('ix_campaigns_created_at_id', 'campaigns', ['created_at', 'id'], unique=False)
    op.create_index('ix_campaigns_status_created_at_id', 'campaigns', ['status', 'created_at', 'id'], unique=False)
    op.create_table('campaign_members',
    sa.Column('campaign_id', sa.Uuid(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('contact_id', sa.Uuid(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('responded_at', infrastructure.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('added_at', infrastructure.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', infrastructure.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_members_campaign_id_campaigns'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_campaign_members_customer_id_customers'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('campaign_id', 'customer_id', name=op.f('pk_campaign_members'))
    )
    op.create_index('ix_campaign_members_campaign_id_added_at_customer_id', 'campaign_members',
                    ['campaign_id', 'added_at', 'customer_id'], unique=False)
    op.create_index('ix_campaign_members_campaign_id_status_added_at_customer_id', 'campaign_members',
                    ['campaign_id', 'status', 'added_at', 'customer_id'], unique=False)
    op.create_index('ix_campaign_members_customer_id_status', 'campaign_members', ['customer_id', 'status'],
                    unique=False)
    # the campaign that sourced an opportunity (0011 kept the column without a key: campaigns come here)
    with op.batch_alter_table('opportunities') as batch:
        batch.create_foreign_key(op.f('fk_opportunities_campaign_id_campaigns'), 'campaigns', ['campaign_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('opportunities') as batch:
        batch.drop_constraint(op.f('fk_opportunities_campaign_id_campaigns'), type_='foreignkey')
    op.drop_index('ix_campaign_members_customer_id_status', table_name='campaign_members')
    op.drop_index('ix_campaign_members_campaign_id_status_added_at_customer_id', table_name='campaign_members')
    op.drop_index('ix_campaign_members_campaign_id_added_at_customer_id', table_name='campaign_members')
    op.drop_table('campaign_members')
    op.drop_index('ix_campaigns_status_created_at_id', table_name='campaigns')
    op.drop_index('ix_campaigns_created_at_id', table_name='campaigns')
    op.drop_table('campaigns')

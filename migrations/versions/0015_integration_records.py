"""What the integration sync keeps: the ERP's unit costs and finance's receivables as it last found them, and
the joined systems' health each time it looked (the maturity report's enterprise figures count from them).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 19:40:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
import infrastructure.db.types


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('erp_unit_costs',
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount', infrastructure.db.types.ExactDecimal(precision=30, scale=10), nullable=True),
    sa.Column('as_of', infrastructure.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('checked_at', infrastructure.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sku', 'currency', name=op.f('pk_erp_unit_costs'))
    )
    with op.batch_alter_table('erp_unit_costs', schema=None) as batch_op:
        batch_op.create_index('ix_erp_unit_costs_checked_at', ['checked_at'], unique=False)

    op.create_table('integration_health_samples',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('sampled_at', infrastructure.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integration_health_samples'))
    )
    with op.batch_alter_table('integration_health_samples', schema=None) as batch_op:
        batch_op.create_index('ix_integration_health_samples_sampled_at', ['sampled_at'], unique=False)

    op.create_table('finance_receivables',
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('known', sa.Boolean(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('outstanding', infrastructure.db.types.ExactDecimal(precision=20, scale=4), nullable=True),
    sa.Column('overdue', infrastructure.db.types.ExactDecimal(precision=20, scale=4), nullable=True),
    sa.Column('as_of', infrastructure.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('checked_at', infrastructure.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_finance_receivables_customer_id_customers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('customer_id', name=op.f('pk_finance_receivables'))
    )
    with op.batch_alter_table('finance_receivables', schema=None) as batch_op:
        batch_op.create_index('ix_finance_receivables_checked_at', ['checked_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('finance_receivables', schema=None) as batch_op:
        batch_op.drop_index('ix_finance_receivables_checked_at')

    op.drop_table('finance_receivables')
    with op.batch_alter_table('integration_health_samples', schema=None) as batch_op:
        batch_op.drop_index('ix_integration_health_samples_sampled_at')

    op.drop_table('integration_health_samples')
    with op.batch_alter_table('erp_unit_costs', schema=None) as batch_op:
        batch_op.drop_index('ix_erp_unit_costs_checked_at')

    op.drop_table('erp_unit_costs')

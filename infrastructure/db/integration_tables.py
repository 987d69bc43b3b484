"""What the integration sync (application/integration_sync.py, run by `crm worker`) keeps of the systems joined to
the CRM: the ERP's unit costs and finance's receivables as it last found them, and how every joined system was
doing each time it looked (SQLAlchemy Core, on the shared `metadata`). The maturity figures count from these; the
API keeps reading costs and receivables live."""
from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Index, Integer, String, Table, Text, Uuid

from infrastructure.db.metadata import metadata
from infrastructure.db.order_tables import MONEY
from infrastructure.db.types import ExactDecimal, UTCDateTime

# One row per (SKU, currency) some order asked for: its unit cost, or NULL where the ERP knows no such SKU (or has
# no rate for the currency).
erp_unit_costs = Table(
    "erp_unit_costs",
    metadata,
    Column("sku", String(64), primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("amount", ExactDecimal(30, 10), nullable=True),
    Column("as_of", UTCDateTime, nullable=True),
    Column("source", String(40), nullable=False),
    Column("checked_at", UTCDateTime, nullable=False),
    Index("ix_erp_unit_costs_checked_at", "checked_at"),
)

# One row per customer with a code: whether finance knows it, and what it owed when last asked.
finance_receivables = Table(
    "finance_receivables",
    metadata,
    Column("customer_id", Uuid, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True),
    Column("code", String(40), nullable=False),  # the code finance was asked by
    Column("known", Boolean, nullable=False),
    Column("currency", String(3), nullable=True),
    Column("outstanding", ExactDecimal(*MONEY), nullable=True),
    Column("overdue", ExactDecimal(*MONEY), nullable=True),
    Column("as_of", UTCDateTime, nullable=True),
    Column("source", String(40), nullable=False),
    Column("checked_at", UTCDateTime, nullable=False),
    Index("ix_finance_receivables_checked_at", "checked_at"),
)

# Each joined system's state each time the sync looked (every CRM_INTEGRATION_SYNC_INTERVAL seconds per worker).
integration_health_samples = Table(
    "integration_health_samples",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("sampled_at", UTCDateTime, nullable=False),
    Column("name", String(100), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("state", String(20), nullable=False),
    Column("error", Text, nullable=True),
    Index("ix_integration_health_samples_sampled_at", "sampled_at"),
)

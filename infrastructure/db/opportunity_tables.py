"""The sales pipeline: stages, opportunities and their stage history (SQLAlchemy Core, on the shared `metadata`).

`campaign_id` (the campaign that sourced a deal) gets its foreign key in migration 0012, which brings the campaigns
table."""
from __future__ import annotations

from sqlalchemy import Column, Date, ForeignKey, Index, Integer, SmallInteger, String, Table, Uuid

from infrastructure.db.metadata import metadata
from infrastructure.db.order_tables import MONEY
from infrastructure.db.types import ExactDecimal, UTCDateTime

opportunity_stages = Table(
    "opportunity_stages",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(60), nullable=False, unique=True),
    Column("position", SmallInteger, nullable=False),
    Column("probability", SmallInteger, nullable=False),
    Column("kind", String(10), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

opportunities = Table(
    "opportunities",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("number", String(20), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("customer_id", Uuid, ForeignKey("customers.id"), nullable=False),
    Column("owner_id", Uuid, ForeignKey("staff.id"), nullable=True),
    Column("department_id", Uuid, ForeignKey("departments.id"), nullable=False),
    Column("stage_id", Uuid, ForeignKey("opportunity_stages.id"), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount", ExactDecimal(*MONEY), nullable=False),
    Column("probability", SmallInteger, nullable=False),
    # amount x probability rounded as the domain rounds it: the board and the forecast sum these exactly
    Column("weighted_amount", ExactDecimal(*MONEY), nullable=False),
    Column("expected_close_date", Date, nullable=True),
    Column("campaign_id", Uuid, ForeignKey("campaigns.id"), nullable=True),  # the campaign that sourced it
    Column("lost_reason", String(1000), nullable=True),
    # written before the order row in the same transaction (the won deal's handler adds the order at commit)
    Column("order_id", Uuid, ForeignKey("orders.id", deferrable=True, initially="DEFERRED"), nullable=True,
           unique=True),
    Column("version", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_opportunities_created_at_id", "created_at", "id"),
    Index("ix_opportunities_customer_id_created_at_id", "customer_id", "created_at", "id"),
    Index("ix_opportunities_owner_id_created_at_id", "owner_id", "created_at", "id"),
    Index("ix_opportunities_stage_id_created_at_id", "stage_id", "created_at", "id"),
    Index("ix_opportunities_campaign_id", "campaign_id"),
    Index("ix_opportunities_expected_close_date", "expected_close_date"),
)

opportunity_stage_changes = Table(
    "opportunity_stage_changes",
    metadata,
    Column("opportunity_id", Uuid, ForeignKey("opportunities.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("from_stage_id", Uuid, ForeignKey("opportunity_stages.id"), nullable=True),
    Column("to_stage_id", Uuid, ForeignKey("opportunity_stages.id"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("by", Uuid, ForeignKey("staff.id"), nullable=True),
)

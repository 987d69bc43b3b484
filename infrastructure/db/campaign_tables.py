"""Marketing campaigns and their members (SQLAlchemy Core, on the shared `metadata`)."""
from __future__ import annotations

from sqlalchemy import Column, Date, ForeignKey, Index, Integer, String, Table, Uuid

from infrastructure.db.metadata import metadata
from infrastructure.db.order_tables import MONEY
from infrastructure.db.types import ExactDecimal, UTCDateTime

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("channel", String(50), nullable=False),
    Column("status", String(20), nullable=False),
    Column("starts_on", Date, nullable=True),
    Column("ends_on", Date, nullable=True),
    Column("budget_amount", ExactDecimal(*MONEY), nullable=True),
    Column("budget_currency", String(3), nullable=True),
    Column("owner_id", Uuid, ForeignKey("staff.id"), nullable=True),
    Column("version", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_campaigns_created_at_id", "created_at", "id"),
    Index("ix_campaigns_status_created_at_id", "status", "created_at", "id"),
)

# One row per (campaign, customer). The member's API id is the campaign's and the customer's (a part id), so
# adding a segment is one INSERT ... SELECT that needs no id made per row. `contact_id` has no foreign key:
# a customer's contacts are rewritten when the customer is saved; a contact that went away reads as none.
campaign_members = Table(
    "campaign_members",
    metadata,
    Column("campaign_id", Uuid, ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True),
    Column("customer_id", Uuid, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True),
    Column("contact_id", Uuid, nullable=True),
    Column("status", String(20), nullable=False),
    Column("responded_at", UTCDateTime, nullable=True),
    Column("added_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # Campaign.members (all, or of one status), oldest first, keyset on (added_at, customer_id)
    Index("ix_campaign_members_campaign_id_added_at_customer_id", "campaign_id", "added_at", "customer_id"),
    Index("ix_campaign_members_campaign_id_status_added_at_customer_id", "campaign_id", "status", "added_at",
          "customer_id"),
    # Customer.campaigns, and the opt-out every segment leaves out
    Index("ix_campaign_members_customer_id_status", "customer_id", "status"),
)

"""Complaints, their timelines and fired SLA events; categories, SLA policies, business calendars;
and notifications (SQLAlchemy Core, on the shared `metadata`)."""
from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)

from infrastructure.db.metadata import metadata
from infrastructure.db.types import UTCDateTime

business_calendars = Table(
    "business_calendars",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("timezone", String(64), nullable=False),
    Column("working_hours", JSON, nullable=False),  # [[weekday, "HH:MM", "HH:MM"], ...]
    Column("holidays", JSON, nullable=False),  # ["YYYY-MM-DD", ...]
    Column("created_by", Uuid, ForeignKey("staff.id"), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

complaint_categories = Table(
    "complaint_categories",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("code", String(40), nullable=False, unique=True),
    Column("name", String(100), nullable=False),
    Column("parent_id", Uuid, ForeignKey("complaint_categories.id"), nullable=True),
    Column("active", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_complaint_categories_parent_id", "parent_id"),
)

sla_policies = Table(
    "sla_policies",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("category_id", Uuid, ForeignKey("complaint_categories.id"), nullable=True),
    Column("priority", String(20), nullable=True),
    Column("customer_tier", String(20), nullable=True),
    Column("first_response_minutes", Integer, nullable=False),
    Column("resolution_minutes", Integer, nullable=False),
    Column("update_interval_minutes", Integer, nullable=True),
    Column("warn_at", Double, nullable=False),
    Column("calendar_id", Uuid, ForeignKey("business_calendars.id"), nullable=False),
    Column("escalate_to_id", Uuid, ForeignKey("staff.id"), nullable=True),
    Column("active", Boolean, nullable=False),
    Column("created_by", Uuid, ForeignKey("staff.id"), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_sla_policies_active_name", "active", "name"),
)

complaints = Table(
    "complaints",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("number", String(20), nullable=False, unique=True),
    Column("customer_id", Uuid, ForeignKey("customers.id"), nullable=False),
    Column("order_id", Uuid, ForeignKey("orders.id"), nullable=True),
    Column("category_id", Uuid, ForeignKey("complaint_categories.id"), nullable=False),
    Column("priority", String(20), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("status", String(30), nullable=False),
    Column("department_id", Uuid, ForeignKey("departments.id"), nullable=False),
    Column("assignee_id", Uuid, ForeignKey("staff.id"), nullable=True),
    Column("filed_by", Uuid, ForeignKey("staff.id"), nullable=True),
    Column("resolution", Text, nullable=True),
    Column("satisfaction", SmallInteger, nullable=True),
    Column("resolved_at", UTCDateTime, nullable=True),
    # business minutes the resolution clock ran until RESOLVED (for the SLA report's median)
    Column("resolution_minutes", Integer, nullable=True),
    # the matched policy and a snapshot of its targets, fixed at filing
    Column("sla_policy_id", Uuid, ForeignKey("sla_policies.id"), nullable=True),
    Column("sla_terms", JSON, nullable=True),
    Column("escalation_level", Integer, nullable=False),
    # when the next SLA warning or breach falls due (the worker's one indexed query)
    Column("sla_next_deadline", UTCDateTime, nullable=True),
    # from when at least one target is in WARNING or BREACHED (the slaAtRisk filter: <= now)
    Column("sla_at_risk_at", UTCDateTime, nullable=True),
    Column("first_response_breached", Boolean, nullable=False),
    Column("resolution_breached", Boolean, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("satisfaction IS NULL OR satisfaction BETWEEN 1 AND 5", name="satisfaction_range"),
    Index("ix_complaints_created_at_id", "created_at", "id"),
    Index("ix_complaints_customer_id_created_at_id", "customer_id", "created_at", "id"),
    Index("ix_complaints_department_id_created_at_id", "department_id", "created_at", "id"),
    Index("ix_complaints_assignee_id_created_at_id", "assignee_id", "created_at", "id"),
    Index("ix_complaints_filed_by", "filed_by"),
    Index("ix_complaints_order_id", "order_id"),
    Index("ix_complaints_sla_next_deadline", "sla_next_deadline"),
    Index("ix_complaints_sla_at_risk_at", "sla_at_risk_at"),
)

complaint_timeline = Table(
    "complaint_timeline",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("complaint_id", Uuid, ForeignKey("complaints.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("kind", String(30), nullable=False),
    Column("author_id", Uuid, ForeignKey("staff.id"), nullable=True),
    Column("department_id", Uuid, ForeignKey("departments.id"), nullable=True),
    Column("visibility", String(20), nullable=False),
    Column("message", Text, nullable=True),
    Column("from_status", String(30), nullable=True),
    Column("to_status", String(30), nullable=True),
    Column("late", Boolean, nullable=True),  # a progress entry recorded after its update interval had run out
    UniqueConstraint("complaint_id", "position"),
)

# SLA warnings and breaches already fired: the key makes each happen exactly once.
complaint_sla_events = Table(
    "complaint_sla_events",
    metadata,
    Column("complaint_id", Uuid, ForeignKey("complaints.id", ondelete="CASCADE"), nullable=False),
    Column("clock", String(20), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("cycle_start", UTCDateTime, nullable=False),
    Column("fired_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("complaint_id", "clock", "kind", "cycle_start"),
)

# Written by the Notifier adapter in the transaction that decided to notify; a sender (e-mail,
# chat) can deliver them later. (dedupe_key, recipient) is unique: nobody is told twice.
notifications = Table(
    "notifications",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("recipient_id", Uuid, ForeignKey("staff.id"), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("subject_type", String(30), nullable=True),
    Column("subject_id", Uuid, nullable=True),
    Column("message", Text, nullable=False),
    Column("dedupe_key", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime, nullable=True),
    UniqueConstraint("dedupe_key", "recipient_id"),
    Index("ix_notifications_recipient_id_created_at", "recipient_id", "created_at"),
)

"""The relational schema (SQLAlchemy Core): the core tables here, each feature's in its own module (order_tables.py,
workflow_tables.py ...), all on the one `metadata` (infrastructure/db/metadata.py) and all importable from here.
Alembic migrations must agree with it (`alembic check`)."""
from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    Uuid,
    text,
)

from infrastructure.db.metadata import metadata
from infrastructure.db.types import UTCDateTime


departments = Table(
    "departments",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("code", String(20), nullable=False, unique=True),
    Column("name", String(100), nullable=False),
    # the business calendar its workflow steps' due times count on (None: the default, see domain/workflow/instance.py);
    # use_alter: calendars name their creator (staff), staff their department, so the tables form a cycle
    Column("calendar_id", Uuid, ForeignKey("business_calendars.id", use_alter=True), nullable=True),
)

staff = Table(
    "staff",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("email", String(254), nullable=False, unique=True),
    Column("department_id", Uuid, ForeignKey("departments.id"), nullable=False, index=True),
    Column("role", String(20), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("version", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("tokens_valid_after", UTCDateTime, nullable=True),  # set at a deactivation: older tokens stay dead
)

customers = Table(
    "customers",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("code", String(40), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("tier", String(20), nullable=False),
    Column("stage", String(20), nullable=False),
    Column("owner_id", Uuid, ForeignKey("staff.id"), nullable=True),
    Column("attributes", JSON, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_customers_name_id", "name", "id"),
    Index("ix_customers_created_at_id", "created_at", "id"),
    Index("ix_customers_updated_at_id", "updated_at", "id"),
    Index("ix_customers_owner_id", "owner_id"),
    Index("ix_customers_stage", "stage"),
)

customer_contacts = Table(
    "customer_contacts",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("customer_id", Uuid, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
    Column("position", SmallInteger, nullable=False),
    Column("name", String(200), nullable=False),
    Column("email", String(254), nullable=True),
    Column("phone", String(40), nullable=True),
    Column("title", String(100), nullable=True),
    Column("is_primary", Boolean, nullable=False),
    Index("ix_customer_contacts_customer_id_position", "customer_id", "position"),
    Index("ix_customer_contacts_email", "email"),
)

customer_tags = Table(
    "customer_tags",
    metadata,
    Column("customer_id", Uuid, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True),
    Column("tag", String(50), primary_key=True),
    Index("ix_customer_tags_tag", "tag"),
)

customer_stage_changes = Table(
    "customer_stage_changes",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("customer_id", Uuid, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
    Column("from_stage", String(20), nullable=True),
    Column("to_stage", String(20), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("by_id", Uuid, ForeignKey("staff.id"), nullable=True),
    Column("reason", Text, nullable=True),
    Index("ix_customer_stage_changes_customer_id_at", "customer_id", "at"),
)

interactions = Table(
    "interactions",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("customer_id", Uuid, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("author_id", Uuid, ForeignKey("staff.id"), nullable=True),
    Column("department_id", Uuid, ForeignKey("departments.id"), nullable=True),
    Column("summary", Text, nullable=False),
    Column("rating", SmallInteger, nullable=True),
    Column("recorded_at", UTCDateTime, nullable=False),
    CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="rating_range"),
    Index("ix_interactions_customer_id_occurred_at_id", "customer_id", "occurred_at", "id"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("scope", String(100), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("result_id", Uuid, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

sequences = Table(
    "sequences",
    metadata,
    Column("name", String(50), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("position", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("id", Uuid, nullable=False, unique=True),
    Column("type", String(100), nullable=False),
    Column("aggregate_type", String(50), nullable=False),
    Column("aggregate_id", Uuid, nullable=False),
    Column("actor_id", Uuid, nullable=True),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("payload", JSON, nullable=False),
    # The transaction id the event feed orders the row by, set by a trigger on PostgreSQL (migration 0005):
    # the writer's own or a later one; always 0 on SQLite, whose writers take turns. The feed reads in
    # (feed_xid, position) order, below the oldest running transaction: infrastructure/db/queries/events.py.
    Column("feed_xid", BigInteger, nullable=False, server_default=text("0")),
    Index("ix_outbox_aggregate_id_position", "aggregate_id", "position"),
    Index("ix_outbox_feed_xid_position", "feed_xid", "position"),
)

customer_activity = Table(
    "customer_activity",
    metadata,
    Column("id", Uuid, primary_key=True),  # the event id: a replayed event cannot add a second row
    Column("customer_id", Uuid, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("actor_id", Uuid, ForeignKey("staff.id"), nullable=True),
    Column("department_id", Uuid, ForeignKey("departments.id"), nullable=True),
    Column("summary", Text, nullable=False),
    Column("subject_type", String(30), nullable=True),
    Column("subject_id", Uuid, nullable=True),
    Index("ix_customer_activity_customer_id_at_id", "customer_id", "at", "id"),
)

# Tables of later features live in their own modules on the same metadata; importing them here lets
# alembic (and everything that imports this module) see them.
from infrastructure.db.order_tables import order_lines, orders  # noqa: E402,F401
from infrastructure.db.workflow_tables import workflow_definitions, workflow_instances, workflow_steps  # noqa: E402,F401
from infrastructure.db.complaint_tables import (  # noqa: E402,F401
    business_calendars,
    complaint_categories,
    complaint_sla_events,
    complaint_timeline,
    complaints,
    notifications,
    sla_policies,
)
from infrastructure.db.relay_tables import (  # noqa: E402,F401
    relay_cursors,
    webhook_deliveries,
    webhook_event_types,
    webhooks,
)
from infrastructure.db.security_tables import api_keys, audit_log, field_access  # noqa: E402,F401
from infrastructure.db.campaign_tables import campaign_members, campaigns  # noqa: E402,F401
from infrastructure.db.rollout_tables import (  # noqa: E402,F401
    complaint_reads,
    department_rollouts,
    maturity_thresholds,
    rollout_phase_changes,
    staff_trainings,
)
from infrastructure.db.opportunity_tables import (  # noqa: E402,F401
    opportunities,
    opportunity_stage_changes,
    opportunity_stages,
)
from infrastructure.db.integration_tables import (  # noqa: E402,F401
    erp_unit_costs,
    finance_receivables,
    integration_health_samples,
)

"""Events out: webhooks, their per-event delivery state, and the relay's cursors into the outbox
(SQLAlchemy Core, on the shared `metadata`). The relay never changes `outbox` rows: what each
destination has received is kept here."""
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
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    Uuid,
)

from infrastructure.db.metadata import metadata
from infrastructure.db.types import UTCDateTime

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("url", String(2000), nullable=False),
    Column("events", JSON, nullable=False),  # as registered, for display: ["complaint.filed", ...] or ["*"]
    Column("secret_ciphertext", Text, nullable=False),  # Fernet token; the plain secret is shown once
    Column("active", Boolean, nullable=False),
    Column("created_by", Uuid, ForeignKey("staff.id"), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    # the outbox position at registration: a webhook receives the events committed after it
    Column("after_position", BigInteger, nullable=False),
    Column("last_success_at", UTCDateTime, nullable=True),
    Column("last_failure_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("consecutive_failures", Integer, nullable=False),
    Index("ix_webhooks_created_at_id", "created_at", "id"),
)

# One row per subscribed event type ("*" for all), so the relay matches events to webhooks in SQL.
webhook_event_types = Table(
    "webhook_event_types",
    metadata,
    Column("webhook_id", Uuid, ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    Column("event_type", String(100), nullable=False),
    PrimaryKeyConstraint("webhook_id", "event_type"),
)

# An event waiting to go to one webhook (delivered ones are deleted; parked ones stay).
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("webhook_id", Uuid, ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    Column("position", BigInteger, nullable=False),  # the event's outbox position
    Column("event_id", Uuid, nullable=False),
    Column("aggregate_id", Uuid, nullable=False),
    Column("state", String(10), nullable=False),
    Column("attempts", Integer, nullable=False),  # failed attempts so far
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("last_attempt_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("parked_at", UTCDateTime, nullable=True),
    Column("lease_owner", Uuid, nullable=True),
    Column("lease_until", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("webhook_id", "position"),
    CheckConstraint("state IN ('PENDING', 'PARKED')", name="state"),
    # in order per aggregate: "is an older event of this aggregate still pending for this webhook?"
    Index("ix_webhook_deliveries_webhook_id_aggregate_id_position", "webhook_id", "aggregate_id", "position"),
    Index("ix_webhook_deliveries_state_next_attempt_at_position", "state", "next_attempt_at", "position"),
)

# Where a cursor-driven destination (the broker; the fan-out to webhooks) stands in the outbox, its
# lease (one relay at a time) and its health.
relay_cursors = Table(
    "relay_cursors",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("position", BigInteger, nullable=False),  # every event up to here was handed on
    Column("failures", Integer, nullable=False),  # in a row; 0 after a success
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("last_success_at", UTCDateTime, nullable=True),
    Column("last_failure_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("lease_owner", Uuid, nullable=True),
    Column("lease_until", UTCDateTime, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
)

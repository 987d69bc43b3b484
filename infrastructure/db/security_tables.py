"""API keys for partner systems (the secret only as its SHA-256) and the audit log (SQLAlchemy Core, on the shared
`metadata`)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Index, String, Table, Uuid

from infrastructure.db.metadata import metadata
from infrastructure.db.types import UTCDateTime

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("acts_as", Uuid, ForeignKey("staff.id"), nullable=False, index=True),
    Column("created_by", Uuid, ForeignKey("staff.id"), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("last_used_at", UTCDateTime, nullable=True),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor_id", Uuid, nullable=True, index=True),
    Column("api_key_id", Uuid, nullable=True),
    Column("aggregate_type", String(50), nullable=False),
    Column("aggregate_id", Uuid, nullable=False),
    Column("operation", String(200), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("before", JSON, nullable=True),
    Column("after", JSON, nullable=True),
    Column("request_id", String(32), nullable=True),
    Index("ix_audit_log_at_id", "at", "id"),
    Index("ix_audit_log_aggregate_id_at", "aggregate_id", "at"),
)


def audit_row(record: Any) -> dict[str, Any]:
    """The audit_log row of an application.audit.AuditRecord."""
    return {f: getattr(record, f) for f in ("id", "at", "actor_id", "api_key_id", "aggregate_type", "aggregate_id",
                                            "operation", "kind", "before", "after", "request_id")}

field_access = Table(
    "field_access",
    metadata,
    Column("field", String(40), primary_key=True),
    Column("roles", JSON, nullable=False),
    Column("department_ids", JSON, nullable=False),
    Column("owner", Boolean, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", Uuid, nullable=True),
)

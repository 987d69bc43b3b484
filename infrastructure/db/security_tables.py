"""API keys for partner systems (SQLAlchemy Core, on the shared `metadata`): the secret only as its SHA-256."""
from __future__ import annotations

from sqlalchemy import JSON, Column, ForeignKey, String, Table, Uuid

from infrastructure.db.tables import metadata
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

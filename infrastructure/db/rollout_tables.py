"""The rollout by department: each department's phase and checklist targets, its phase history, who of its staff
was trained; and who read a complaint's timeline without handling it (SQLAlchemy Core, on the shared `metadata`).

A department without a `department_rollouts` row is in SURVEY at version 0 (domain/rollout.py)."""
from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Date, Double, ForeignKey, Index, Integer, PrimaryKeyConstraint, \
    String, Table, Text, Uuid

from infrastructure.db.metadata import metadata
from infrastructure.db.types import UTCDateTime

department_rollouts = Table(
    "department_rollouts",
    metadata,
    Column("department_id", Uuid, ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True),
    Column("phase", String(20), nullable=False),
    Column("checklist", JSON, nullable=False),  # {key: {"target": int | null, "done": bool}}
    Column("version", Integer, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

rollout_phase_changes = Table(
    "rollout_phase_changes",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("department_id", Uuid, ForeignKey("departments.id", ondelete="CASCADE"), nullable=False),
    Column("from_phase", String(20), nullable=True),
    Column("to_phase", String(20), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("by_id", Uuid, ForeignKey("staff.id"), nullable=True),
    Column("note", Text, nullable=True),
    Index("ix_rollout_phase_changes_department_id_at", "department_id", "at"),
)

staff_trainings = Table(
    "staff_trainings",
    metadata,
    Column("staff_id", Uuid, ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True),
    Column("trained_at", UTCDateTime, nullable=False),
    Column("marked_by", Uuid, ForeignKey("staff.id"), nullable=False),
    Column("marked_at", UTCDateTime, nullable=False),
)

# One row per reader, complaint and (UTC) day: written behind the read path (infrastructure/complaint_reads.py).
complaint_reads = Table(
    "complaint_reads",
    metadata,
    Column("complaint_id", Uuid, ForeignKey("complaints.id", ondelete="CASCADE"), nullable=False),
    Column("staff_id", Uuid, ForeignKey("staff.id", ondelete="CASCADE"), nullable=False),
    Column("day", Date, nullable=False),
    Column("first_read_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("complaint_id", "staff_id", "day"),
    Index("ix_complaint_reads_staff_id_day", "staff_id", "day"),
)

# The maturity thresholds an ADMIN set (domain/maturity.py THRESHOLDS has the defaults; a key without a row has its).
maturity_thresholds = Table(
    "maturity_thresholds",
    metadata,
    Column("key", String(60), primary_key=True),
    Column("value", Double, nullable=False),
    Column("set_by", Uuid, ForeignKey("staff.id"), nullable=True),
    Column("set_at", UTCDateTime, nullable=False),
)

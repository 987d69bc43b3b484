"""Sales orders and their lines (SQLAlchemy Core, on the shared `metadata`)."""
from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, SmallInteger, String, Table, Uuid

from infrastructure.db.metadata import metadata
from infrastructure.db.types import ExactDecimal, UTCDateTime

MONEY = (20, 4)  # up to 10^16 with the 4 decimals of the finest currencies (CLF, UYW)

orders = Table(
    "orders",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("number", String(20), nullable=False, unique=True),
    Column("customer_id", Uuid, ForeignKey("customers.id"), nullable=False),
    Column("owner_id", Uuid, ForeignKey("staff.id"), nullable=True),
    Column("status", String(20), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("total_amount", ExactDecimal(*MONEY), nullable=False),
    Column("advance_payment", String(20), nullable=False),
    Column("placed_at", UTCDateTime, nullable=True),
    Column("version", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_orders_created_at_id", "created_at", "id"),
    Index("ix_orders_customer_id_created_at_id", "customer_id", "created_at", "id"),
    Index("ix_orders_owner_id_created_at_id", "owner_id", "created_at", "id"),
    Index("ix_orders_status_created_at_id", "status", "created_at", "id"),
    Index("ix_orders_placed_at", "placed_at"),
    # cover the Kanban's GROUP BY status, currency with SUM(total_amount), for everybody's orders and for one
    # owner's ("my board"): an index-only scan without a sort (bench/order_board.py)
    Index("ix_orders_status_currency_total_amount", "status", "currency", "total_amount"),
    Index("ix_orders_owner_id_status_currency_total_amount", "owner_id", "status", "currency", "total_amount"),
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("order_id", Uuid, ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True),
    Column("position", SmallInteger, primary_key=True),
    Column("sku", String(64), nullable=False),
    Column("description", String(500), nullable=False),
    Column("quantity", ExactDecimal(20, 6), nullable=False),
    Column("unit_price", ExactDecimal(*MONEY), nullable=False),
    Column("discount_percent", ExactDecimal(7, 4), nullable=False),
    Column("line_total", ExactDecimal(*MONEY), nullable=False),
    CheckConstraint("position >= 0", name="position_not_negative"),
)

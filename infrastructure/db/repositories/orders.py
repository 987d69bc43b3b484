"""Orders with their lines."""
from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.money import Money
from domain.order import AdvancePaymentStatus, Order, OrderLine, OrderStatus
from domain.shared import Conflict
from infrastructure.db.order_tables import order_lines, orders
from infrastructure.db.repositories.organisation import Tracker, locked, save_versioned


def _line_rows(order: Order) -> list[dict[str, Any]]:
    return [
        {"order_id": order.id, "position": i, "sku": line.sku, "description": line.description,
         "quantity": line.quantity, "unit_price": line.unit_price.amount, "discount_percent": line.discount_percent,
         "line_total": line.line_total.amount}
        for i, line in enumerate(order.lines)
    ]


class SqlOrderRepository:
    """Lines are written once, with the order: nothing changes them yet (a later issue edits drafts)."""

    def __init__(self, conn: AsyncConnection, tracker: Tracker) -> None:
        self._conn = conn
        self._tracker = tracker
        self._read: dict[uuid.UUID, tuple[tuple[Any, ...], AdvancePaymentStatus]] = {}  # as loaded or last saved

    async def get(self, order_id: uuid.UUID) -> Order | None:
        row = (await self._conn.execute(locked(self._conn, select(orders).where(orders.c.id == order_id)))).first()
        if row is None:
            return None
        lines: dict[uuid.UUID, list[OrderLine]] = defaultdict(list)
        for line in await self._conn.execute(
                select(order_lines).where(order_lines.c.order_id == order_id).order_by(order_lines.c.position)):
            lines[line.order_id].append(OrderLine(
                sku=line.sku, description=line.description, quantity=line.quantity,
                unit_price=Money(line.unit_price, row.currency), discount_percent=line.discount_percent))
        order = Order(
            id=row.id, version=row.version, number=row.number, customer_id=row.customer_id, owner_id=row.owner_id,
            status=OrderStatus(row.status), currency=row.currency, lines=lines[row.id],
            advance_payment=AdvancePaymentStatus(row.advance_payment), placed_at=row.placed_at,
            created_at=row.created_at, updated_at=row.updated_at)
        self._remember(order)
        self._tracker.track(order)
        return order

    def _remember(self, order: Order) -> None:
        self._read[order.id] = (order.versioned_state, order.advance_payment)

    async def add(self, order: Order) -> None:
        order.version = 1
        await self._conn.execute(insert(orders).values(
            id=order.id, number=order.number, customer_id=order.customer_id, owner_id=order.owner_id,
            status=order.status.value, currency=order.currency, total_amount=order.total.amount,
            advance_payment=order.advance_payment.value, placed_at=order.placed_at, version=1,
            created_at=order.created_at, updated_at=order.updated_at))
        await self._conn.execute(insert(order_lines), _line_rows(order))
        self._remember(order)
        self._tracker.track(order)

    async def save(self, order: Order) -> None:
        """A change of `versioned_state` is guarded by and bumps the version; the advance payment alone is
        written guarded by the version (no other change since the read: a cancellation would have raised it)
        and by its own value read (two workflows cannot both request it), and leaves the version as it is."""
        state, advance = self._read[order.id]
        if order.advance_payment is not advance:
            result = await self._conn.execute(
                update(orders).where(orders.c.id == order.id, orders.c.version == order.version,
                                     orders.c.advance_payment == advance.value)
                .values(advance_payment=order.advance_payment.value, updated_at=order.updated_at))
            if result.rowcount != 1:
                raise Conflict("order was changed by someone else; reload and retry.", field=("expectedVersion",))
        if order.versioned_state != state:
            await save_versioned(self._conn, orders, order, {
                "owner_id": order.owner_id, "status": order.status.value, "total_amount": order.total.amount,
                "placed_at": order.placed_at, "updated_at": order.updated_at})
        self._remember(order)
        self._tracker.track(order)

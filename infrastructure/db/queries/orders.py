"""SQL read models for orders and their lines."""
from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from application.queries.orders import OrderFilter, OrderLineView, OrderView
from application.queries.pagination import Page, PageRequest
from infrastructure.db.order_tables import order_lines, orders
from infrastructure.db.queries.customers import in_order
from infrastructure.db.queries.keyset import SortKey, paginate

o = orders
ORDER_COLUMNS = [o.c.id, o.c.number, o.c.customer_id, o.c.owner_id, o.c.status, o.c.currency, o.c.total_amount,
                 o.c.advance_payment, o.c.placed_at, o.c.created_at, o.c.updated_at, o.c.version]


def order_view(r: Any) -> OrderView:
    return OrderView(r.id, r.number, r.customer_id, r.owner_id, r.status, r.currency, r.total_amount,
                     r.advance_payment, r.placed_at, r.created_at, r.updated_at, r.version)


class SqlOrderQueries:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def _all(self, stmt: Any) -> list[Any]:
        async with self._engine.connect() as conn:
            return list((await conn.execute(stmt)).all())

    async def list(self, filter: OrderFilter, page: PageRequest) -> Page[OrderView]:
        query = select(*ORDER_COLUMNS)
        if filter.statuses:
            query = query.where(o.c.status.in_(filter.statuses))
        if filter.customer_id is not None:
            query = query.where(o.c.customer_id == filter.customer_id)
        if filter.owner_id is not None:
            query = query.where(o.c.owner_id == filter.owner_id)
        if filter.placed_from is not None:
            query = query.where(o.c.placed_at >= filter.placed_from)
        if filter.placed_to is not None:
            query = query.where(o.c.placed_at < filter.placed_to)
        keys = [SortKey(o.c.created_at, datetime), SortKey(o.c.id, uuid.UUID)]
        return await paginate(self._engine, query, keys, descending=True, page=page, to_item=order_view)

    async def by_ids(self, ids: list[uuid.UUID]) -> list[OrderView | None]:
        rows = await self._all(select(*ORDER_COLUMNS).where(o.c.id.in_(ids)))
        return in_order(ids, {r.id: order_view(r) for r in rows})

    async def by_number(self, number: str) -> OrderView | None:
        rows = await self._all(select(*ORDER_COLUMNS).where(o.c.number == number.strip().upper()))
        return order_view(rows[0]) if rows else None

    async def lines(self, order_ids: list[uuid.UUID]) -> list[list[OrderLineView]]:
        ol = order_lines
        found: dict[uuid.UUID, list[OrderLineView]] = defaultdict(list)
        for r in await self._all(
                select(ol, o.c.currency).join(o, o.c.id == ol.c.order_id).where(ol.c.order_id.in_(order_ids))
                .order_by(ol.c.order_id, ol.c.position)):
            found[r.order_id].append(OrderLineView(r.sku, r.description, r.quantity, r.unit_price,
                                                   r.discount_percent, r.line_total, r.currency))
        return [found.get(i, []) for i in order_ids]

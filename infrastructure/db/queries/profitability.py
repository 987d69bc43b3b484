"""What was sold, per (group, currency, SKU), for the profitability report: one grouped statement."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, literal_column, select

from application.queries.profitability import REVENUE_STATUSES, ProfitabilityGroup, SoldQuantity
from infrastructure.db.exact_sum import exact_sum, exact_sum_value
from infrastructure.db.order_tables import order_lines, orders
from infrastructure.db.tables import customers, staff
from infrastructure.db.reads import SqlReadModel

QUANTITY_SCALE, MONEY_SCALE = 6, 4  # the columns' scales (order_tables.py)


class SqlProfitabilityQueries(SqlReadModel):
    async def sold(self, placed_from: datetime, placed_to: datetime, group_by: ProfitabilityGroup,
                   limit: int) -> list[SoldQuantity]:
        o, ol = orders, order_lines
        source: Any = ol.join(o, o.c.id == ol.c.order_id)
        if group_by is ProfitabilityGroup.CUSTOMER:
            source = source.join(customers, customers.c.id == o.c.customer_id)
            key, label, extra_group = customers.c.code, customers.c.name, [customers.c.name]
        elif group_by is ProfitabilityGroup.OWNER:
            source = source.outerjoin(staff, staff.c.id == o.c.owner_id)
            key, label, extra_group = func.coalesce(staff.c.email, literal_column("''")), \
                func.coalesce(func.max(staff.c.name), literal_column("''")), []
        else:
            key, label, extra_group = ol.c.sku, func.max(ol.c.description), []
        dialect = self._reads.dialect
        stmt = (
            select(key.label("key"), label.label("label"), o.c.currency, ol.c.sku,
                   *exact_sum(ol.c.quantity, "quantity", QUANTITY_SCALE, dialect),
                   *exact_sum(ol.c.line_total, "revenue", MONEY_SCALE, dialect))
            .select_from(source)
            .where(o.c.status.in_(REVENUE_STATUSES), o.c.placed_at >= placed_from, o.c.placed_at < placed_to)
            .group_by(key, *extra_group, o.c.currency, ol.c.sku)
            .order_by(key, o.c.currency, ol.c.sku)
            .limit(limit + 1)
        )
        rows = await self._all(stmt)
        return [SoldQuantity(r.key, r.label, r.currency, r.sku,
                             exact_sum_value(r, "quantity", QUANTITY_SCALE, dialect),
                             exact_sum_value(r, "revenue", MONEY_SCALE, dialect)) for r in rows]

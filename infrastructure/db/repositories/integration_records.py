"""IntegrationRecords on SQL (infrastructure/db/integration_tables.py): what the integration sync found, each call
one transaction; the pairs and customers due are found with an anti-join on their record's age, so a pass walks
through them batch by batch (a saved record is no longer due)."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import and_, delete, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from application.ports import CustomerReceivables, UnitCost
from application.queries.integrations import IntegrationHealthView
from infrastructure.db import tables as t

costs, owed, samples = t.erp_unit_costs, t.finance_receivables, t.integration_health_samples


class SqlIntegrationRecords:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    def _upsert(self, table: Any, keys: list[str], rows: list[dict[str, Any]]) -> Any:
        dialect = postgresql if self._engine.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(table)
        return stmt.on_conflict_do_update(index_elements=keys, set_={
            name: stmt.excluded[name] for name in rows[0] if name not in keys})

    async def _all(self, stmt: Any) -> list[Any]:
        async with self._engine.connect() as conn:
            return list((await conn.execute(stmt)).all())

    async def sample_health(self, views: Sequence[IntegrationHealthView], at: datetime) -> None:
        if not views:
            return
        async with self._engine.begin() as conn:
            await conn.execute(insert(samples), [
                {"sampled_at": at, "name": v.name[:100], "kind": v.kind.value, "state": v.state.value,
                 "error": v.last_error} for v in views])

    async def forget_samples(self, before: datetime) -> int:
        async with self._engine.begin() as conn:
            return (await conn.execute(delete(samples).where(samples.c.sampled_at < before))).rowcount or 0

    async def costs_to_check(self, checked_before: datetime, limit: int) -> list[tuple[str, str]]:
        o, ol = t.orders, t.order_lines
        pairs = select(ol.c.sku, o.c.currency).select_from(ol.join(o, o.c.id == ol.c.order_id)).distinct().subquery()
        due = (select(pairs.c.sku, pairs.c.currency)
               .select_from(pairs.outerjoin(costs, and_(costs.c.sku == pairs.c.sku,
                                                        costs.c.currency == pairs.c.currency)))
               .where(or_(costs.c.sku.is_(None), costs.c.checked_at < checked_before))
               .order_by(pairs.c.sku, pairs.c.currency).limit(limit))
        return [(r.sku, r.currency) for r in await self._all(due)]

    async def save_costs(self, asked: Sequence[tuple[str, str]], found: dict[tuple[str, str], UnitCost | None],
                         source: str, at: datetime) -> None:
        if not asked:
            return
        rows = []
        for sku, currency in dict.fromkeys(asked):
            cost = found.get((sku, currency))
            rows.append({"sku": sku, "currency": currency, "amount": None if cost is None else cost.amount,
                         "as_of": None if cost is None else cost.as_of, "source": source[:40], "checked_at": at})
        async with self._engine.begin() as conn:
            await conn.execute(self._upsert(costs, ["sku", "currency"], rows), rows)

    async def customers_to_check(self, checked_before: datetime, limit: int) -> list[tuple[uuid.UUID, str]]:
        c = t.customers
        due = (select(c.c.id, c.c.code).select_from(c.outerjoin(owed, owed.c.customer_id == c.c.id))
               .where(or_(owed.c.customer_id.is_(None), owed.c.checked_at < checked_before, owed.c.code != c.c.code))
               .order_by(c.c.id).limit(limit))
        return [(r.id, r.code) for r in await self._all(due)]

    async def save_receivables(self, asked: Sequence[tuple[uuid.UUID, str]],
                               found: dict[str, CustomerReceivables | None], source: str, at: datetime) -> None:
        if not asked:
            return
        rows = []
        for customer_id, code in dict(asked).items():
            r = found.get(code)
            rows.append({"customer_id": customer_id, "code": code, "known": r is not None,
                         "currency": None if r is None else r.outstanding.currency,
                         "outstanding": None if r is None else r.outstanding.amount,
                         "overdue": None if r is None else r.overdue.amount,
                         "as_of": None if r is None else r.as_of, "source": source[:40], "checked_at": at})
        async with self._engine.begin() as conn:
            await conn.execute(self._upsert(owed, ["customer_id"], rows), rows)

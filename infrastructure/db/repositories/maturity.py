"""MaturityThresholdStore on SQL (table maturity_thresholds): the set thresholds in one statement on the request's
connection; a change is one transaction with its audit record."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from application.audit import audit_record
from domain.organisation import Staff
from infrastructure.db.reads import Reads
from infrastructure.db.rollout_tables import maturity_thresholds as mt
from infrastructure.db.security_tables import audit_log, audit_row

AUDIT_NAMESPACE = uuid.UUID("0b6f1c2e-8a43-4b5e-9c71-3d2a6e5f4a14")  # figure keys as audit aggregate ids


class SqlMaturityThresholds:
    def __init__(self, engine: AsyncEngine, read_engine: AsyncEngine) -> None:
        self._engine = engine
        self._reads = Reads(read_engine)

    async def stored(self) -> dict[str, float]:
        return {r.key: float(r.value) for r in await self._reads.all(select(mt.c.key, mt.c.value))}

    async def save(self, key: str, value: float | None, by: Staff, at: datetime) -> None:
        before = (await self.stored()).get(key)
        async with self._engine.begin() as conn:
            await conn.execute(delete(mt).where(mt.c.key == key))
            if value is not None:
                await conn.execute(insert(mt).values(key=key, value=value, set_by=by.id, set_at=at))
            await conn.execute(insert(audit_log).values(audit_row(audit_record(
                "maturity_threshold", uuid.uuid5(AUDIT_NAMESPACE, key), {"value": before}, {"value": value}, [],
                at))))

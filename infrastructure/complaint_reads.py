"""Who read a complaint's timeline without handling it, written behind the read path.

`record` is a set lookup and an add, nothing else: the reads of a process are noted in memory, deduplicated
per (complaint, reader, UTC day) for the day, and a background task writes them shortly after in one batched
`INSERT ... ON CONFLICT DO NOTHING` (the table's key makes a second process's or a restarted one's row for the
same day a no-op). The task runs in a context of its own, not the request's: its statement is not the request's,
and the request never waits for it. A failed write is logged and its keys forgotten, so a later read notes them
again; the app's shutdown writes what is still pending (api/app.py's lifespan)."""
from __future__ import annotations

import asyncio
import contextvars
import logging
import uuid
from datetime import date, datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.shared import as_utc
from infrastructure.db.rollout_tables import complaint_reads

log = logging.getLogger("crm.complaint_reads")
Key = tuple[uuid.UUID, uuid.UUID, date]  # complaint, reader, UTC day
SEEN_KEPT = 200_000  # a day's keys this process remembers at most (beyond: forgotten, the key dedupes)


class BufferedComplaintReads:
    def __init__(self, engine: AsyncEngine, delay: float = 0.25) -> None:
        self._engine = engine
        self._delay = delay
        self._day: date | None = None
        self._seen: set[Key] = set()
        self._pending: dict[Key, datetime] = {}
        self._task: asyncio.Task[None] | None = None

    def record(self, complaint_id: uuid.UUID, staff_id: uuid.UUID, at: datetime) -> None:
        at = as_utc(at, "A complaint read")
        day = at.date()
        if day != self._day or len(self._seen) >= SEEN_KEPT:
            self._day, self._seen = day, set()
        key = (complaint_id, staff_id, day)
        if key in self._seen:
            return
        self._seen.add(key)
        self._pending[key] = at
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._task = loop.create_task(self._soon(), context=contextvars.Context())

    async def _soon(self) -> None:
        await asyncio.sleep(self._delay)
        await self._write()

    async def flush(self) -> None:
        """Write what is pending now (waiting for a write under way first, never cutting one short)."""
        task = self._task
        if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
            await asyncio.shield(task)
        await self._write()

    async def _write(self) -> None:
        batch, self._pending = self._pending, {}
        if not batch:
            return
        rows = [{"complaint_id": c, "staff_id": s, "day": d, "first_read_at": at} for (c, s, d), at in batch.items()]
        dialect = postgresql if self._engine.dialect.name == "postgresql" else sqlite
        try:
            async with self._engine.begin() as conn:
                await conn.execute(dialect.insert(complaint_reads).on_conflict_do_nothing(), rows)
        except Exception as err:  # noqa: BLE001 - a lost read note must not fail anything; a later read retries
            log.warning("complaint reads: %d not written: %s", len(rows), err)
            self._seen.difference_update(batch)

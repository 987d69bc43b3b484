"""Cross-process live updates on PostgreSQL (LISTEN/NOTIFY).

The unit of work NOTIFYs the ids of the events it wrote inside its own transaction, so
PostgreSQL delivers the notification only when that transaction commits, never for a
rolled-back one. Every serving process LISTENs on one dedicated connection, reads the
notified events back from the outbox (payloads can exceed NOTIFY's 8000-byte limit) and
hands them to its local InProcessPublisher. Events written by this process come back the
same way, so each process delivers each event to its subscribers exactly once.
"""
from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any

import asyncpg
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql import func

from domain.shared import DomainEvent
from infrastructure.db import tables as t
from infrastructure.pubsub import InProcessPublisher

CHANNEL = "crm_events"
log = logging.getLogger("crm.pubsub")


def asyncpg_dsn(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


IDS_PER_NOTIFICATION = 150  # 150 quoted uuids stay well under NOTIFY's 8000-byte payload limit


async def notify_committed(conn: AsyncConnection, events: list[DomainEvent]) -> None:
    """Queue notifications carrying the event ids; PostgreSQL sends them at COMMIT, in order."""
    for start in range(0, len(events), IDS_PER_NOTIFICATION):
        ids = json.dumps([str(e.id) for e in events[start:start + IDS_PER_NOTIFICATION]])
        await conn.execute(select(func.pg_notify(CHANNEL, ids)))


def event_from_row(row: Any) -> DomainEvent:
    return DomainEvent(type=row.type, aggregate_type=row.aggregate_type, aggregate_id=row.aggregate_id,
                       occurred_at=row.occurred_at, payload=row.payload, actor_id=row.actor_id, id=row.id)


class PostgresEventRelay:
    """One LISTEN connection per process; notifications are handled one at a time, in the order
    PostgreSQL delivered them (commit order), and fanned out to the local subscribers."""

    def __init__(self, database_url: str, engine: AsyncEngine, local: InProcessPublisher) -> None:
        self._dsn = asyncpg_dsn(database_url)
        self._engine = engine
        self._local = local
        self._connection: asyncpg.Connection | None = None
        self._inbox: asyncio.Queue[str] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._connection = await asyncpg.connect(self._dsn)
        await self._connection.add_listener(CHANNEL, self._on_notify)
        self._worker = asyncio.get_running_loop().create_task(self._deliver_forever())

    async def stop(self) -> None:
        if self._connection is not None:
            await self._connection.close()
            self._connection = None
        if self._worker is not None:
            self._worker.cancel()
            try:
                await self._worker
            except asyncio.CancelledError:
                pass
            self._worker = None

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        self._inbox.put_nowait(payload)

    async def _deliver_forever(self) -> None:
        while True:
            payload = await self._inbox.get()
            try:
                await self._deliver(payload)
            except Exception:  # noqa: BLE001 - a bad notification must not stop live updates
                log.exception("could not deliver notified events %s", payload[:200])

    async def _deliver(self, payload: str) -> None:
        ids = [uuid.UUID(i) for i in json.loads(payload)]
        async with self._engine.connect() as conn:
            rows = (await conn.execute(
                select(t.outbox).where(t.outbox.c.id.in_(ids)).order_by(t.outbox.c.position))).all()
        await self._local.publish([event_from_row(r) for r in rows])

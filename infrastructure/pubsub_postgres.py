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
from collections import OrderedDict
from typing import Any

import asyncpg
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql import func

from domain.shared import DomainEvent, StoredEvent
from infrastructure.db import tables as t
from infrastructure.db.faults import database_fault
from infrastructure.pubsub import InProcessPublisher

CHANNEL = "crm_events"
log = logging.getLogger("crm.pubsub")


def asyncpg_dsn(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


STOP_ATTEMPTS = 50  # cancellations asked of a relay task that goes on, 0.1 s apart
SEEN_IDS = 10_000  # delivered event ids remembered, so a replay after a reconnection sends none twice
IDS_PER_NOTIFICATION = 150  # 150 quoted uuids stay well under NOTIFY's 8000-byte payload limit


async def notify_committed(conn: AsyncConnection, events: list[DomainEvent]) -> None:
    """Queue notifications carrying the event ids; PostgreSQL sends them at COMMIT, in order."""
    for start in range(0, len(events), IDS_PER_NOTIFICATION):
        ids = json.dumps([str(e.id) for e in events[start:start + IDS_PER_NOTIFICATION]])
        await conn.execute(select(func.pg_notify(CHANNEL, ids)))


def event_from_row(row: Any) -> DomainEvent:
    return StoredEvent.of(type=row.type, aggregate_type=row.aggregate_type, aggregate_id=row.aggregate_id,
                          occurred_at=row.occurred_at, payload=row.payload, actor_id=row.actor_id, id=row.id)


XMIN = "SELECT (pg_snapshot_xmin(pg_current_snapshot())::text)::bigint"


class _Resume:
    """Queued when the LISTEN connection is lost: replay the gap before any notification received after it."""

    def __init__(self) -> None:
        self.listening = asyncio.Event()  # set once the new connection LISTENs (the replay must read after that)


class PostgresEventRelay:
    """One LISTEN connection per process; notifications are handled one at a time, in the order
    PostgreSQL delivered them (commit order), and fanned out to the local subscribers.

    **It heals itself.** When the connection drops (a terminated backend, a network cut) or stops answering
    its heartbeat (a network pause), the relay reconnects with backoff (0.1 s doubling up to 5 s) and, before
    any notification received afterwards, replays from the outbox every event it may have missed:

    - The horizon. Each heartbeat reads the oldest running transaction id (the snapshot's xmin) on the LISTEN
      connection, and the relay keeps the value of the heartbeat before: every transaction below it ended at
      least one heartbeat ago, so its notification has arrived (and is delivered, even after a drop). An
      event of any later transaction has `feed_xid` at or above the horizon (feed_xid is at least the
      writing transaction's id: infrastructure/db/queries/events.py), so the replay reads those, in feed
      order, skipping the ids it delivered recently. Subscribers see each event once and, per aggregate,
      in order.
    - Too much missed. If more than `replay_limit` events went by (more than a subscriber's queue holds
      anyway), every subscription ends with StreamInterrupted (extensions.code EVENTS_MISSED) instead of
      carrying on with a hole; clients resubscribe and reload.
    """

    def __init__(self, database_url: str, engine: AsyncEngine, local: InProcessPublisher, *,
                 heartbeat: float = 5.0, replay_limit: int = 1000, connect_timeout: float = 5.0) -> None:
        self._dsn = asyncpg_dsn(database_url)
        self._engine = engine
        self._local = local
        self._heartbeat = heartbeat
        self._replay_limit = replay_limit
        self._connect_timeout = connect_timeout
        self._connection: asyncpg.Connection | None = None
        self._inbox: asyncio.Queue[str | _Resume] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._lost = asyncio.Event()
        self._horizon = 0  # replay from this feed_xid after a drop (see the class docstring)
        self._seen: OrderedDict[uuid.UUID, None] = OrderedDict()  # recently delivered event ids
        self.connects = 0  # connections made so far (1 + reconnections)

    async def start(self) -> None:
        """LISTEN now (so what commits after start() is delivered), and keep doing so. A database that cannot be
        reached at all at start-up fails the start (a process that cannot even start stops the service,
        api/serving.py); once started, the relay heals itself."""
        await self._connect(resume=None)
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._deliver_forever()), loop.create_task(self._stay_connected())]

    async def stop(self) -> None:
        """Cancel the relay's tasks and close its connection. A cancellation is asked again until the task ends:
        Python 3.11's `asyncio.wait_for` (the loops use it) can swallow one that lands as its inner wait completes,
        and the loop would go on, and a shutdown waiting for it would wait for ever."""
        pending = set(self._tasks)
        for _ in range(STOP_ATTEMPTS):
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=0.1)
            if not pending:
                break
        if pending:
            log.error("live-update relay: %d task(s) would not stop", len(pending))
        for task in self._tasks:  # what a task that ended on an error raised: read, so it is not reported unread
            if task.done() and not task.cancelled():
                task.exception()
        self._tasks = []
        await self._close()

    async def _connect(self, resume: _Resume | None) -> None:
        connection = await asyncpg.connect(self._dsn, timeout=self._connect_timeout)
        try:
            if resume is not None:
                self._inbox.put_nowait(resume)  # ahead of every notification the new LISTEN receives
            await asyncio.wait_for(connection.add_listener(CHANNEL, self._on_notify), self._connect_timeout)
            if not self.connects:  # nothing was delivered before: replays start from now
                self._horizon = await asyncio.wait_for(connection.fetchval(XMIN), self._connect_timeout)
        except BaseException:
            connection.terminate()
            raise
        connection.add_termination_listener(lambda _conn: self._lost.set())
        self._connection = connection
        self.connects += 1
        if resume is not None:
            resume.listening.set()

    async def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            connection.terminate()

    async def _stay_connected(self) -> None:
        """Heartbeat while connected; reconnect with backoff once the connection is lost or hangs."""
        delay = 0.1
        pending: _Resume | None = None
        last_xmin = self._horizon
        while True:
            if self._connection is not None and not self._lost.is_set():
                try:
                    await asyncio.wait_for(self._lost.wait(), self._heartbeat)
                except asyncio.TimeoutError:
                    try:
                        xmin = await asyncio.wait_for(self._connection.fetchval(XMIN), self._heartbeat)
                    except (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as err:
                        log.warning("live updates: the LISTEN connection stopped answering (%s)", err)
                        self._lost.set()
                    else:
                        self._horizon, last_xmin = last_xmin, xmin
                continue
            await self._close()
            pending = pending or _Resume()
            try:
                await self._connect(resume=pending)
            except (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as err:
                log.warning("live updates: reconnecting in %.1f s (%s)", delay, err)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            log.info("live updates: LISTENing again; replaying the gap from the outbox")
            pending, delay = None, 0.1
            last_xmin = self._horizon
            self._lost.clear()

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        self._inbox.put_nowait(payload)

    async def _deliver_forever(self) -> None:
        while True:
            item = await self._inbox.get()
            while True:
                try:
                    if isinstance(item, _Resume):
                        await self._replay(item)
                    else:
                        await self._deliver(item)
                    break
                except Exception as err:  # noqa: BLE001 - a bad notification must not stop live updates
                    if database_fault(err) is None:
                        log.exception("could not deliver notified events %s", str(item)[:200])
                        break
                    log.warning("live updates: cannot read events back yet (%s); retrying", err)  # the database is away
                    await asyncio.sleep(1.0)

    async def _deliver(self, payload: str) -> None:
        ids = [i for i in map(uuid.UUID, json.loads(payload)) if i not in self._seen]
        if ids:
            await self._publish(await self._rows(t.outbox.c.id.in_(ids)))

    async def _replay(self, resume: _Resume) -> None:
        await resume.listening.wait()
        async with self._engine.connect() as conn:
            found = (await conn.execute(
                select(t.outbox.c.id).where(t.outbox.c.feed_xid >= self._horizon)
                .order_by(t.outbox.c.feed_xid, t.outbox.c.position)
                .limit(len(self._seen) + self._replay_limit + 1))).scalars().all()
        missed = [i for i in found if i not in self._seen]
        if len(missed) > self._replay_limit:
            log.warning("live updates: more than %d events missed; ending the subscriptions", self._replay_limit)
            self._remember(missed)
            self._local.interrupt()
            return
        if missed:
            log.info("live updates: %d events replayed after a reconnection", len(missed))
            await self._publish(await self._rows(t.outbox.c.id.in_(missed)))

    async def _rows(self, where: Any) -> list[Any]:
        async with self._engine.connect() as conn:
            return list((await conn.execute(
                select(t.outbox).where(where).order_by(t.outbox.c.feed_xid, t.outbox.c.position))).all())

    async def _publish(self, rows: list[Any]) -> None:
        self._remember([r.id for r in rows])
        await self._local.publish([event_from_row(r) for r in rows])

    def _remember(self, ids: list[uuid.UUID]) -> None:
        for event_id in ids:
            self._seen[event_id] = None
        while len(self._seen) > SEEN_IDS:
            self._seen.popitem(last=False)

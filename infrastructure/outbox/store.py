"""The relay's state in SQL: webhook deliveries and cursors (infrastructure/db/relay_tables.py), and
which outbox events are safe to hand on.

Which events are settled. Outbox positions come from a sequence when a row is inserted, not when
its transaction commits, so on PostgreSQL a reader may see position 42 while 41 is still in a
running transaction; a cursor moved past 42 would skip 41 for good. The relay therefore moves a
cursor only over positions with no hole below them, and when it sees a hole it asks who could still
fill it: every transaction that inserts into `outbox` holds a ROW EXCLUSIVE lock on the table from
before it takes its position until it ends. If no other transaction holds that lock, every position
handed out so far belongs to a transaction that has ended, so a hole is a rollback and can be passed
(after reading the range again, in case its owner committed meanwhile). If some do, the relay notes
them and passes the hole only once all of them have ended; transactions that start later take higher
positions and cannot fill it. So nothing is skipped, a long transaction delays the relay only while
it runs, and the order stays position order -- which is causal order per aggregate: a later event of
an aggregate is written by a transaction that saw the earlier one committed. (The event feed orders
by (transaction id, position) instead, see infrastructure/db/queries/events.py; that order can put
an aggregate's later event first when its transaction started writing earlier, which deliveries that
promise per-aggregate order cannot allow.) SQLite has one writer at a time, so there positions are
assigned in commit order and every visible row is settled.

Leases. A claim writes `lease_owner`/`lease_until` in a short transaction and the sending happens
outside any transaction; the outcome is recorded in another short one. A lease is short
(CRM_RELAY_LEASE, 10 s): while a relay is alive its heartbeat renews every lease it holds (`renew`, from
application/outbox_relay.py's Relay.tick), so a slow chain keeps its claim; a relay that dies stops
renewing and its leases run out within one lease, after which another relay picks the chains up.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Select,
    and_,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql import ColumnElement

from application.audit import audit_record, audit_state
from application.ports import BrokerBatch, OutboxEvent, WebhookDelivery
from domain.webhook import ALL_EVENTS, Webhook
from infrastructure.db import tables as t
from infrastructure.db.relay_tables import relay_cursors, webhook_deliveries, webhook_event_types, webhooks
from infrastructure.db.security_tables import audit_log, audit_row
from infrastructure.db.types import UTCDateTime
from infrastructure.outbox.secret_box import SecretBox, SecretUnreadable

ob = t.outbox
d = webhook_deliveries
w = webhooks
s = webhook_event_types
rc = relay_cursors

PENDING, PARKED = "PENDING", "PARKED"
FAN_OUT_CURSOR = "webhooks:fan-out"
MAX_CHAIN = 25  # deliveries of one (webhook, aggregate) leased in one claim
MAX_ERROR_LENGTH = 1000
DEFAULT_LEASE = timedelta(seconds=10)  # CRM_RELAY_LEASE; a live relay renews its leases (its heartbeat)
SUCCESS_STAMP_INTERVAL = timedelta(seconds=1)


def broker_cursor_name(exchange: str) -> str:
    return f"broker:{exchange}"


def outbox_event(row: Any) -> OutboxEvent:
    return OutboxEvent(position=row.position, id=row.id, type=row.type, aggregate_type=row.aggregate_type,
                       aggregate_id=row.aggregate_id, occurred_at=row.occurred_at, payload=row.payload,
                       actor_id=row.actor_id)


def _events_between(after: int, upto: int) -> Select[Any]:
    return (select(ob.c.position, ob.c.id, ob.c.type, ob.c.aggregate_type, ob.c.aggregate_id, ob.c.occurred_at,
                   ob.c.payload, ob.c.actor_id)
            .where(ob.c.position > after, ob.c.position <= upto).order_by(ob.c.position))


def _is_postgres(conn: AsyncConnection) -> bool:
    return conn.dialect.name == "postgresql"


def _at(now: datetime) -> Any:
    return literal(now, UTCDateTime())


# ----------------------------------------------------------------------------- settled positions


@dataclass(frozen=True)
class _Watch:
    seen_upto: int  # the highest position visible when a hole was first seen
    writers: frozenset[str]  # the transactions (virtual ids) then holding a write lock on the outbox


class OutboxHorizon:
    """How far a cursor may move (see the module docstring). Remembers, per cursor, the writers it
    is waiting for; losing that memory (a restart) only means starting the wait again."""

    def __init__(self) -> None:
        self._watches: dict[str, _Watch] = {}

    async def settled_upto(self, conn: AsyncConnection, cursor: str, after: int, limit: int) -> tuple[int, int]:
        """(highest position up to which every event after `after` is settled, how many events that
        covers); (after, 0) when nothing is."""
        positions = list((await conn.execute(
            select(ob.c.position).where(ob.c.position > after).order_by(ob.c.position).limit(limit))).scalars())
        if not positions:
            return after, 0
        if not _is_postgres(conn):
            return positions[-1], len(positions)
        contiguous, count = after, 0
        for position in positions:
            if position != contiguous + 1:
                break
            contiguous, count = position, count + 1
        if count == len(positions):
            self._watches.pop(cursor, None)
            return contiguous, count
        writers = await self._outbox_writers(conn)
        watch = self._watches.get(cursor)
        if not writers:
            # everyone who took a position has ended: the holes are rollbacks (read again just below)
            self._watches.pop(cursor, None)
            return positions[-1], len(positions)
        if watch is not None and not (watch.writers & writers):
            # all who could hold a hole up to watch.seen_upto have ended since; later ones take higher positions
            self._watches.pop(cursor, None)
            upto = max(contiguous, min(watch.seen_upto, positions[-1]))
            return upto, sum(1 for p in positions if p <= upto)
        if watch is None:
            self._watches[cursor] = _Watch(positions[-1], frozenset(writers))
        return contiguous, count

    @staticmethod
    async def _outbox_writers(conn: AsyncConnection) -> set[str]:
        rows = await conn.execute(text(
            "SELECT DISTINCT virtualtransaction FROM pg_locks WHERE locktype = 'relation' "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND relation = 'outbox'::regclass AND mode = 'RowExclusiveLock' AND pid <> pg_backend_pid()"))
        return {row[0] for row in rows}


async def _lock_cursor(conn: AsyncConnection, name: str) -> Any:
    query = select(rc).where(rc.c.name == name)
    if _is_postgres(conn):
        query = query.with_for_update()
    return (await conn.execute(query)).one_or_none()


async def _create_cursor(engine: AsyncEngine, name: str, position: int, now: datetime) -> None:
    """Create a cursor in a transaction of its own; a concurrent relay creating it first is fine."""
    try:
        async with engine.connect() as conn:
            await conn.execute(insert(rc).values(name=name, position=position, failures=0, updated_at=now))
            await conn.commit()
    except IntegrityError:
        pass


def _free(now: datetime) -> ColumnElement[bool]:
    return or_(d.c.lease_until.is_(None), d.c.lease_until < now)


# ------------------------------------------------------------------------------------- webhooks


class SqlWebhookRegistry:
    def __init__(self, engine: AsyncEngine, box: SecretBox) -> None:
        self._engine = engine
        self._box = box

    async def add(self, webhook: Webhook, secret: str) -> None:
        async with self._engine.connect() as conn:
            head = (await conn.execute(select(func.coalesce(func.max(ob.c.position), 0)))).scalar_one()
            await conn.execute(insert(w).values(
                id=webhook.id, url=webhook.url, events=list(webhook.events), secret_ciphertext=self._box.seal(secret),
                active=webhook.active, created_by=webhook.created_by, created_at=webhook.created_at,
                after_position=head, consecutive_failures=0))
            await conn.execute(insert(s), [{"webhook_id": webhook.id, "event_type": e} for e in webhook.events])
            await conn.execute(insert(audit_log).values(audit_row(audit_record(
                "webhook", webhook.id, None, audit_state(webhook), [], webhook.created_at))))
            await conn.commit()


class SqlWebhookOutbox:
    """WebhookOutbox on SQL. `engine` writes (on SQLite it takes the write lock); `read_engine`
    answers the cheap "anything to do?" questions without it."""

    def __init__(self, engine: AsyncEngine, read_engine: AsyncEngine, box: SecretBox, *,
                 lease: timedelta = DEFAULT_LEASE, horizon: OutboxHorizon | None = None) -> None:
        self._engine = engine
        self._read_engine = read_engine
        self._box = box
        self._lease = lease
        self._horizon = horizon or OutboxHorizon()
        self.owner = uuid.uuid4()

    async def fan_out(self, now: datetime, limit: int) -> int:
        if not await self._fan_out_due():
            return 0
        async with self._engine.connect() as conn:
            start = (await conn.execute(select(func.min(w.c.after_position)).where(w.c.active))).scalar_one()
            if start is None:
                return 0
            cursor = await _lock_cursor(conn, FAN_OUT_CURSOR)
            if cursor is None:
                await conn.rollback()
                await _create_cursor(self._engine, FAN_OUT_CURSOR, start, now)
                return await self.fan_out(now, limit)
            after = max(cursor.position, start)
            upto, count = await self._horizon.settled_upto(conn, FAN_OUT_CURSOR, after, limit)
            if upto > after:
                wanted = or_(s.c.event_type == ob.c.type, s.c.event_type == ALL_EVENTS)
                await conn.execute(insert(d).from_select(
                    ["webhook_id", "position", "event_id", "aggregate_id", "state", "attempts", "next_attempt_at",
                     "created_at"],
                    select(s.c.webhook_id, ob.c.position, ob.c.id, ob.c.aggregate_id, literal(PENDING), literal(0),
                           _at(now), _at(now))
                    .select_from(ob.join(s, wanted).join(w, w.c.id == s.c.webhook_id))
                    .where(ob.c.position > after, ob.c.position <= upto, w.c.active,
                           ob.c.position > w.c.after_position)))
            if upto != cursor.position:
                await conn.execute(update(rc).where(rc.c.name == FAN_OUT_CURSOR).values(position=upto, updated_at=now))
            await conn.commit()
        return count

    async def _fan_out_due(self) -> bool:
        """Is there an active webhook and an outbox event past the fan-out cursor? (No write lock.)"""
        async with self._read_engine.connect() as conn:
            start = (await conn.execute(select(func.min(w.c.after_position)).where(w.c.active))).scalar_one()
            if start is None:
                return False
            cursor = (await conn.execute(select(rc.c.position).where(rc.c.name == FAN_OUT_CURSOR))).scalar()
            after = max(cursor or 0, start)
            return (await conn.execute(select(ob.c.position).where(ob.c.position > after).limit(1))).first() \
                is not None

    async def claim(self, now: datetime, limit: int) -> list[list[WebhookDelivery]]:
        if not await self._claim_due(now):
            return []
        older = d.alias("older")
        pending_before = exists(select(older.c.position).where(
            older.c.webhook_id == d.c.webhook_id, older.c.aggregate_id == d.c.aggregate_id,
            older.c.position < d.c.position, older.c.state == PENDING))
        heads_query = (select(d.c.webhook_id, d.c.aggregate_id)
                       .select_from(d.join(w, w.c.id == d.c.webhook_id))
                       .where(w.c.active, d.c.state == PENDING, d.c.next_attempt_at <= now, _free(now),
                              ~pending_before)
                       .order_by(d.c.next_attempt_at, d.c.position).limit(limit))
        async with self._engine.connect() as conn:
            if _is_postgres(conn):
                heads_query = heads_query.with_for_update(of=d, skip_locked=True)
            heads = [(r.webhook_id, r.aggregate_id) for r in await conn.execute(heads_query)]
            if not heads:
                await conn.rollback()
                return []
            rows = (await conn.execute(
                select(d.c.webhook_id, d.c.aggregate_id, d.c.position, d.c.attempts, d.c.lease_until)
                .where(tuple_(d.c.webhook_id, d.c.aggregate_id).in_(heads), d.c.state == PENDING)
                .order_by(d.c.webhook_id, d.c.aggregate_id, d.c.position))).all()
            chains: dict[tuple[uuid.UUID, uuid.UUID], list[Any]] = {}
            blocked: set[tuple[uuid.UUID, uuid.UUID]] = set()
            for row in rows:
                key = (row.webhook_id, row.aggregate_id)
                chain = chains.setdefault(key, [])
                if key in blocked or len(chain) >= MAX_CHAIN:
                    continue
                if row.lease_until is not None and row.lease_until >= now:
                    blocked.add(key)  # another relay is on it: stop here to keep the order
                    continue
                chain.append(row)
            chosen = [chain for chain in chains.values() if chain]
            keys = [(r.webhook_id, r.position) for chain in chosen for r in chain]
            if not keys:
                await conn.rollback()
                return []
            await conn.execute(update(d).where(tuple_(d.c.webhook_id, d.c.position).in_(keys))
                               .values(lease_owner=self.owner, lease_until=now + self._lease))
            positions = sorted({position for _, position in keys})
            events = {r.position: outbox_event(r) for r in await conn.execute(
                _events_between(positions[0] - 1, positions[-1]).where(ob.c.position.in_(positions)))}
            hooks = {r.id: r for r in await conn.execute(
                select(w.c.id, w.c.url, w.c.secret_ciphertext).where(w.c.id.in_(list({k[0] for k in heads}))))}
            await conn.commit()
        secrets = {hook_id: self._open(hook.secret_ciphertext) for hook_id, hook in hooks.items()}
        return [[WebhookDelivery(webhook_id=r.webhook_id, url=hooks[r.webhook_id].url, secret=secrets[r.webhook_id],
                                 event=events[r.position], attempts=r.attempts)
                 for r in chain if r.position in events] for chain in chosen]

    async def _claim_due(self, now: datetime) -> bool:
        async with self._read_engine.connect() as conn:
            return (await conn.execute(select(d.c.position).where(
                d.c.state == PENDING, d.c.next_attempt_at <= now, _free(now)).limit(1))).first() is not None

    def _open(self, ciphertext: str) -> str:
        try:
            return self._box.open(ciphertext)
        except SecretUnreadable:
            return ""  # the sender refuses to send unsigned; the delivery fails and is retried, then parked

    @staticmethod
    def _key(delivery: WebhookDelivery) -> ColumnElement[bool]:
        return and_(d.c.webhook_id == delivery.webhook_id, d.c.position == delivery.event.position)

    async def delivered(self, deliveries: list[WebhookDelivery], now: datetime) -> None:
        if not deliveries:
            return
        async with self._engine.connect() as conn:
            await conn.execute(delete(d).where(tuple_(d.c.webhook_id, d.c.position).in_(
                [(x.webhook_id, x.event.position) for x in deliveries])))
            # a webhook's row is shared by all its chains: touch it only when its health changes or once a
            # second, so concurrent chains do not queue on its lock
            await conn.execute(update(w).where(
                w.c.id.in_(list({x.webhook_id for x in deliveries})),
                or_(w.c.consecutive_failures != 0, w.c.last_success_at.is_(None),
                    w.c.last_success_at < now - SUCCESS_STAMP_INTERVAL))
                .values(last_success_at=now, consecutive_failures=0))
            await conn.commit()

    async def failed(self, delivery: WebhookDelivery, now: datetime, error: str, retry_at: datetime | None) -> None:
        error = error[:MAX_ERROR_LENGTH]
        parked = retry_at is None
        async with self._engine.connect() as conn:
            await conn.execute(update(d).where(self._key(delivery)).values(
                attempts=d.c.attempts + 1, last_error=error, last_attempt_at=now, next_attempt_at=retry_at or now,
                state=PARKED if parked else PENDING, parked_at=now if parked else None, lease_owner=None,
                lease_until=None))
            await conn.execute(update(w).where(w.c.id == delivery.webhook_id).values(
                last_error=error, last_failure_at=now, consecutive_failures=w.c.consecutive_failures + 1))
            await conn.commit()

    async def release(self, deliveries: list[WebhookDelivery]) -> None:
        if not deliveries:
            return
        keys = [(x.webhook_id, x.event.position) for x in deliveries]
        async with self._engine.connect() as conn:
            await conn.execute(update(d).where(tuple_(d.c.webhook_id, d.c.position).in_(keys),
                                               d.c.lease_owner == self.owner)
                               .values(lease_owner=None, lease_until=None))
            await conn.commit()

    async def renew(self, now: datetime) -> None:
        """On PostgreSQL rows a chain is recording right now are skipped (SKIP LOCKED): the heartbeat never
        waits for a chain, so it cannot deadlock with one, and those rows are being released anyway."""
        mine = select(d.c.webhook_id, d.c.position).where(d.c.lease_owner == self.owner, d.c.lease_until.is_not(None))
        async with self._engine.connect() as conn:
            if _is_postgres(conn):
                mine = mine.with_for_update(skip_locked=True)
            await conn.execute(update(d).where(tuple_(d.c.webhook_id, d.c.position).in_(mine))
                               .values(lease_until=now + self._lease))
            await conn.commit()


# --------------------------------------------------------------------------------------- broker


class SqlBrokerOutbox:
    """BrokerOutbox on SQL: one cursor row per exchange. A new cursor starts at the newest event: the
    broker receives what is committed from the first time a relay runs with it configured."""

    def __init__(self, engine: AsyncEngine, read_engine: AsyncEngine, exchange: str, *,
                 lease: timedelta = DEFAULT_LEASE, horizon: OutboxHorizon | None = None) -> None:
        self._engine = engine
        self._read_engine = read_engine
        self.name = broker_cursor_name(exchange)
        self._lease = lease
        self._horizon = horizon or OutboxHorizon()
        self.owner = uuid.uuid4()

    async def claim(self, now: datetime, limit: int) -> BrokerBatch | None:
        if not await self._due(now):
            return None
        async with self._engine.connect() as conn:
            cursor = await _lock_cursor(conn, self.name)
            if cursor is None:
                head = (await conn.execute(select(func.coalesce(func.max(ob.c.position), 0)))).scalar_one()
                await conn.rollback()
                await _create_cursor(self._engine, self.name, head, now)
                return await self.claim(now, limit)
            if not self._claimable(cursor, now):
                await conn.rollback()
                return None
            upto, count = await self._horizon.settled_upto(conn, self.name, cursor.position, limit)
            if not count and cursor.failures == 0 and cursor.last_success_at is not None:
                await conn.rollback()
                return None
            events = [outbox_event(r) for r in await conn.execute(_events_between(cursor.position, upto))] \
                if upto > cursor.position else []
            await conn.execute(update(rc).where(rc.c.name == self.name).values(
                lease_owner=self.owner, lease_until=now + self._lease))
            await conn.commit()
        return BrokerBatch(events=events, failures=cursor.failures)

    def _claimable(self, cursor: Any, now: datetime) -> bool:
        leased = cursor.lease_until is not None and cursor.lease_until >= now and cursor.lease_owner != self.owner
        return not leased and (cursor.next_attempt_at is None or cursor.next_attempt_at <= now)

    async def _due(self, now: datetime) -> bool:
        """Anything to publish, a retry due, or no cursor yet? (No write lock.)"""
        async with self._read_engine.connect() as conn:
            cursor = (await conn.execute(select(rc).where(rc.c.name == self.name))).one_or_none()
            if cursor is None or cursor.last_success_at is None:
                return True
            if not self._claimable(cursor, now):
                return False
            if cursor.failures:
                return True
            return (await conn.execute(select(ob.c.position).where(ob.c.position > cursor.position).limit(1))
                    ).first() is not None

    async def delivered(self, upto: int | None, now: datetime) -> None:
        values: dict[str, Any] = {"failures": 0, "next_attempt_at": None, "last_success_at": now, "lease_owner": None,
                                  "lease_until": None, "updated_at": now}
        if upto is not None:
            values["position"] = upto
        async with self._engine.connect() as conn:
            await conn.execute(update(rc).where(rc.c.name == self.name, rc.c.lease_owner == self.owner)
                               .values(**values))
            await conn.commit()

    async def failed(self, now: datetime, error: str, retry_at: datetime) -> None:
        async with self._engine.connect() as conn:
            await conn.execute(update(rc).where(rc.c.name == self.name, rc.c.lease_owner == self.owner).values(
                failures=rc.c.failures + 1, last_error=error[:MAX_ERROR_LENGTH], last_failure_at=now,
                next_attempt_at=retry_at, lease_owner=None, lease_until=None, updated_at=now))
            await conn.commit()

    async def renew(self, now: datetime) -> None:
        async with self._engine.connect() as conn:
            await conn.execute(update(rc).where(rc.c.name == self.name, rc.c.lease_owner == self.owner,
                                                rc.c.lease_until.is_not(None)).values(lease_until=now + self._lease))
            await conn.commit()

"""The SQLAlchemy unit of work: one connection, one transaction; the message bus's handlers run in it, outbox rows
and audit records are written in it."""
from __future__ import annotations

from collections import deque
from typing import Self

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from application.audit import aggregate_records, audit_state
from application.messagebus import BUS, MessageBus
from application.ports import EventPublisher
from domain.shared import AggregateRoot, Conflict, DomainEvent
from infrastructure.db import tables as t
from infrastructure.db.reads import in_transaction, release_request_connection
from infrastructure.db.security_tables import audit_log, audit_row
from infrastructure.db.repositories.activity import SqlActivityFeed
from infrastructure.db.repositories.campaigns import SqlCampaignRepository
from infrastructure.db.repositories.complaints import (
    SqlCalendarRepository,
    SqlComplaintCategoryRepository,
    SqlComplaintRepository,
    SqlNotifier,
    SqlSlaPolicyRepository,
)
from infrastructure.db.repositories.customers import SqlCustomerRepository, SqlInteractionRepository
from infrastructure.db.repositories.opportunities import SqlOpportunityRepository, SqlOpportunityStageRepository
from infrastructure.db.repositories.orders import SqlOrderRepository
from infrastructure.db.repositories.organisation import SqlDepartmentRepository, SqlStaffRepository
from infrastructure.db.repositories.rollout import SqlRolloutRepository
from infrastructure.db.repositories.support import SqlIdempotencyStore, SqlSequences
from infrastructure.pubsub_postgres import notify_committed
from infrastructure.db.repositories.workflows import SqlWorkflowDefinitionRepository, SqlWorkflowRepository

PUBLISH_LIMIT = 1000


class SqlUnitOfWork:
    def __init__(self, engine: AsyncEngine, publisher: EventPublisher | None = None, *,
                 notify: bool = False, bus: MessageBus | None = None) -> None:
        """`notify` (PostgreSQL): announce committed events with NOTIFY inside the transaction, for
        every process's listener (infrastructure/pubsub_postgres.py), instead of publishing them
        to this process's subscribers directly. `bus`: the handlers run at commit (default: the service's)."""
        self._engine = engine
        self._bus = bus if bus is not None else BUS
        self._publisher = publisher
        self._notify = notify
        self._connection: AsyncConnection | None = None
        # insertion-ordered (aggregates hash by identity): each one's state when first seen, None when it is new
        # (created in this transaction: its creation is recorded already), for the audit log
        self._seen: dict[AggregateRoot, dict[str, object] | None] = {}
        # Events flushed to the outbox, kept to publish after the commit. In-process subscribers
        # keep only their newest events anyway (a bounded queue), so more would be dropped there.
        self._flushed: deque[DomainEvent] = deque(maxlen=PUBLISH_LIMIT)

    def track(self, aggregate: AggregateRoot) -> None:
        if aggregate not in self._seen:
            self._seen[aggregate] = None if aggregate.pending_events else audit_state(aggregate)

    def recorded_events(self) -> list[DomainEvent]:
        return [event for aggregate in self._seen for event in aggregate.pending_events]

    async def __aenter__(self) -> Self:
        await release_request_connection()  # one connection per request at a time (infrastructure/db/reads.py)
        self._connection = await self._engine.connect()
        conn = self._connection
        self._lending = in_transaction(self._engine, conn)
        self._lending.__enter__()
        self.customers = SqlCustomerRepository(conn, self)
        self.interactions = SqlInteractionRepository(conn, self)
        self.staff = SqlStaffRepository(conn, self)
        self.departments = SqlDepartmentRepository(conn)
        self.idempotency = SqlIdempotencyStore(conn)
        self.sequences = SqlSequences(conn)
        self.orders = SqlOrderRepository(conn, self)
        self.campaigns = SqlCampaignRepository(conn, self)
        self.opportunities = SqlOpportunityRepository(conn, self)
        self.opportunity_stages = SqlOpportunityStageRepository(conn)
        self.workflow_definitions = SqlWorkflowDefinitionRepository(conn)
        self.workflows = SqlWorkflowRepository(conn, self)
        self.complaints = SqlComplaintRepository(conn, self)
        self.complaint_categories = SqlComplaintCategoryRepository(conn)
        self.sla_policies = SqlSlaPolicyRepository(conn)
        self.calendars = SqlCalendarRepository(conn)
        self.notifier = SqlNotifier(conn)
        self.activity = SqlActivityFeed(conn)
        self.rollouts = SqlRolloutRepository(conn, self)
        return self

    async def __aexit__(self, exc_type: object, exc: object, tb: object) -> None:
        assert self._connection is not None
        try:
            self._lending.__exit__(None, None, None)
            if self._connection.in_transaction():
                await self._connection.rollback()
        finally:
            await self._connection.close()
            self._connection = None
            self._seen.clear()
            self._flushed.clear()
        if isinstance(exc, IntegrityError):
            # a unique key taken by a concurrent transaction mid-way (not only at commit)
            raise Conflict("Someone else wrote the same thing at the same time; reload and retry.") from exc

    @property
    def connection(self) -> AsyncConnection:
        assert self._connection is not None, "use the unit of work inside `async with`"
        return self._connection

    async def flush(self, *, write_events: bool = True) -> None:
        """Write the events recorded so far to the outbox (or drop them) and forget the aggregates
        seen so far, so bulk work in one transaction holds one batch in memory, not all of them.
        An aggregate seen before a flush must be loaded again before it is saved again."""
        if write_events:
            await self._bus.dispatch(self)
        written = self._written()
        events = [e for _, _, agg_events in written for e in agg_events]
        self._seen.clear()
        self.customers.forget()
        if events and write_events:
            await self._write_events(events, written)
            self._flushed.extend(events)

    def _written(self) -> list[tuple[AggregateRoot, dict[str, object] | None, list[DomainEvent]]]:
        """Each aggregate seen with the events it recorded since (collected) and its state when first seen."""
        return [(agg, before, agg.collect_events()) for agg, before in self._seen.items()]

    async def _write_events(self, events: list[DomainEvent],
                            written: list[tuple[AggregateRoot, dict[str, object] | None, list[DomainEvent]]]) -> None:
        await self.connection.execute(insert(t.outbox), [outbox_row(e) for e in events])
        await self.connection.execute(insert(audit_log), [audit_row(r) for r in aggregate_records(
            written, events[0].occurred_at)])

    async def commit(self) -> None:
        await self._bus.dispatch(self)
        written = self._written()
        events: list[DomainEvent] = [e for _, _, agg_events in written for e in agg_events]
        conn = self.connection
        published = [*self._flushed, *events]
        self._flushed.clear()
        try:
            if events:
                await self._write_events(events, written)
            if self._notify:
                await notify_committed(conn, published)
            await conn.commit()
        except IntegrityError as err:
            await conn.rollback()
            raise Conflict("Someone else wrote the same thing at the same time; reload and retry.") from err
        if published and self._publisher is not None and not self._notify:
            await self._publisher.publish(published)


def outbox_row(event: DomainEvent) -> dict[str, object]:
    return {
        "id": event.id,
        "type": event.type,
        "aggregate_type": event.aggregate_type,
        "aggregate_id": event.aggregate_id,
        "actor_id": event.actor_id,
        "occurred_at": event.occurred_at,
        "payload": event.payload,
    }

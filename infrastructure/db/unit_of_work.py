"""The SQLAlchemy unit of work: one connection, one transaction, outbox rows written in it."""
from __future__ import annotations

from typing import Self

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from application.activity import ActivityRecord, activity_for
from application.ports import EventPublisher
from domain.shared import AggregateRoot, Conflict, DomainEvent
from infrastructure.db import tables as t
from infrastructure.db.repositories.customers import SqlCustomerRepository, SqlInteractionRepository
from infrastructure.db.repositories.organisation import SqlDepartmentRepository, SqlStaffRepository
from infrastructure.db.repositories.support import SqlIdempotencyStore, SqlSequences


class SqlUnitOfWork:
    def __init__(self, engine: AsyncEngine, publisher: EventPublisher | None = None) -> None:
        self._engine = engine
        self._publisher = publisher
        self._connection: AsyncConnection | None = None
        self._seen: list[AggregateRoot] = []

    def track(self, aggregate: AggregateRoot) -> None:
        if aggregate not in self._seen:
            self._seen.append(aggregate)

    async def __aenter__(self) -> Self:
        self._connection = await self._engine.connect()
        conn = self._connection
        self.customers = SqlCustomerRepository(conn, self)
        self.interactions = SqlInteractionRepository(conn, self)
        self.staff = SqlStaffRepository(conn, self)
        self.departments = SqlDepartmentRepository(conn)
        self.idempotency = SqlIdempotencyStore(conn)
        self.sequences = SqlSequences(conn)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._connection is not None
        try:
            if self._connection.in_transaction():
                await self._connection.rollback()
        finally:
            await self._connection.close()
            self._connection = None
            self._seen.clear()

    @property
    def connection(self) -> AsyncConnection:
        assert self._connection is not None, "use the unit of work inside `async with`"
        return self._connection

    async def commit(self) -> None:
        events: list[DomainEvent] = [e for agg in self._seen for e in agg.collect_events()]
        conn = self.connection
        try:
            if events:
                await conn.execute(insert(t.outbox), [outbox_row(e) for e in events])
                await self._project_activity(events)
            await conn.commit()
        except IntegrityError as err:
            await conn.rollback()
            raise Conflict("Someone else wrote the same thing at the same time; reload and retry.") from err
        if events and self._publisher is not None:
            await self._publisher.publish(events)


    async def _project_activity(self, events: list[DomainEvent]) -> None:
        records = [r for r in map(activity_for, events) if r is not None]
        if not records:
            return
        need_department = {r.actor_id for r in records if r.department_id is None and r.actor_id}
        departments = {}
        if need_department:
            rows = await self.connection.execute(
                select(t.staff.c.id, t.staff.c.department_id).where(t.staff.c.id.in_(need_department)))
            departments = {row.id: row.department_id for row in rows}
        await self.connection.execute(insert(t.customer_activity), [activity_row(r, departments) for r in records])


def activity_row(record: ActivityRecord, departments: dict) -> dict[str, object]:  # type: ignore[type-arg]
    return {
        "id": record.event_id,
        "customer_id": record.customer_id,
        "at": record.at,
        "kind": record.kind,
        "actor_id": record.actor_id,
        "department_id": record.department_id or departments.get(record.actor_id),
        "summary": record.summary,
        "subject_type": record.subject_type,
        "subject_id": record.subject_id,
    }


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

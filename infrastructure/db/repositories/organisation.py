"""Departments and staff."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.organisation import Department, Role, Staff
from domain.shared import AggregateRoot, Conflict
from infrastructure.db import tables as t


class Tracker(Protocol):
    def track(self, aggregate: AggregateRoot) -> None: ...


def locked(conn: AsyncConnection, stmt: Any) -> Any:
    """The read of an aggregate's row for a write: `FOR NO KEY UPDATE` on PostgreSQL, so concurrent writers of
    one aggregate take turns from here to their commit, and what the writer reads next (its children: steps,
    lines, contacts) is what the last writer committed, never half of it. NO KEY: the writers update the row,
    they never delete it or change its id, so an insert that merely references the row (a complaint filed for
    a customer, a read note) neither waits for them nor makes them wait. SQLite's writers take turns anyway
    (BEGIN IMMEDIATE). The rule is in docs/reliability.md."""
    return stmt.with_for_update(key_share=True) if conn.dialect.name == "postgresql" else stmt


def staff_from_row(row: Any) -> Staff:
    return Staff(id=row.id, name=row.name, email=row.email, department_id=row.department_id,
                 role=Role(row.role), active=row.active, version=row.version,
                 tokens_valid_after=row.tokens_valid_after)


def department_from_row(row: Any) -> Department:
    return Department(id=row.id, code=row.code, name=row.name, calendar_id=row.calendar_id)


async def save_versioned(conn: AsyncConnection, table: Any, aggregate: AggregateRoot, values: dict[str, Any], *,
                         key: Any = None) -> None:
    """UPDATE guarded by the version read; bumps the version or raises Conflict. `key`: the aggregate's id column
    when it is not `id`."""
    result = await conn.execute(
        update(table)
        .where((table.c.id if key is None else key) == aggregate.id, table.c.version == aggregate.version)
        .values(**values, version=aggregate.version + 1)
    )
    if result.rowcount != 1:
        raise Conflict(f"{aggregate.aggregate_type} was changed by someone else; reload and retry.",
                       field=("expectedVersion",))
    aggregate.version += 1


class SqlStaffRepository:
    def __init__(self, conn: AsyncConnection, tracker: Tracker) -> None:
        self._conn = conn
        self._tracker = tracker

    async def _one(self, *where: Any, for_update: bool = False) -> Staff | None:
        stmt = select(t.staff).where(*where)
        row = (await self._conn.execute(locked(self._conn, stmt) if for_update else stmt)).first()
        if row is None:
            return None
        staff = staff_from_row(row)
        self._tracker.track(staff)
        return staff

    async def get(self, staff_id: uuid.UUID, *, for_update: bool = False) -> Staff | None:
        return await self._one(t.staff.c.id == staff_id, for_update=for_update)

    async def get_by_email(self, email: str) -> Staff | None:
        return await self._one(t.staff.c.email == email.lower())

    async def get_many_by_email(self, emails: list[str]) -> dict[str, Staff]:
        if not emails:
            return {}
        rows = await self._conn.execute(select(t.staff).where(t.staff.c.email.in_([e.lower() for e in emails])))
        return {row.email: staff_from_row(row) for row in rows}

    async def add(self, staff: Staff) -> None:
        now = datetime.now(UTC)
        staff.version = 1
        await self._conn.execute(insert(t.staff).values(
            id=staff.id, name=staff.name, email=staff.email, department_id=staff.department_id,
            role=staff.role.value, active=staff.active, version=1, created_at=now, updated_at=now,
            tokens_valid_after=staff.tokens_valid_after))
        self._tracker.track(staff)

    async def active_in_department(self, department_id: uuid.UUID, role: Role | None = None) -> list[Staff]:
        s = t.staff
        query = select(s).where(s.c.department_id == department_id, s.c.active.is_(True))
        if role is not None:
            query = query.where(s.c.role == role.value)
        return [staff_from_row(row) for row in await self._conn.execute(query.order_by(s.c.email))]

    async def save(self, staff: Staff) -> None:
        await save_versioned(self._conn, t.staff, staff, {
            "name": staff.name, "email": staff.email, "department_id": staff.department_id,
            "role": staff.role.value, "active": staff.active, "tokens_valid_after": staff.tokens_valid_after,
            "updated_at": datetime.now(UTC)})
        self._tracker.track(staff)


class SqlDepartmentRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, department_id: uuid.UUID) -> Department | None:
        row = (await self._conn.execute(select(t.departments).where(t.departments.c.id == department_id))).first()
        return department_from_row(row) if row else None

    async def get_by_code(self, code: str) -> Department | None:
        row = (await self._conn.execute(select(t.departments).where(t.departments.c.code == code.upper()))).first()
        return department_from_row(row) if row else None

    async def save(self, department: Department) -> None:
        """Departments carry no version: the last choice of calendar wins."""
        d = t.departments
        await self._conn.execute(update(d).where(d.c.id == department.id).values(calendar_id=department.calendar_id))

"""The customer activity feed's table: where application/activity.py's projection writes."""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from application.activity import ActivityRecord, Subject
from infrastructure.db import tables as t
from infrastructure.db.complaint_tables import complaints
from infrastructure.db.order_tables import orders

# How the projection finds the customer of a workflow's subject: (id column, customer column).
SUBJECT_CUSTOMERS = {
    "ORDER": (orders.c.id, orders.c.customer_id),
    "COMPLAINT": (complaints.c.id, complaints.c.customer_id),
}


class SqlActivityFeed:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def customers_of(self, subjects: set[Subject]) -> dict[Subject, uuid.UUID]:
        found: dict[Subject, uuid.UUID] = {}
        for subject_type in {kind for kind, _ in subjects}:
            columns = SUBJECT_CUSTOMERS.get(subject_type)
            if columns is None:
                continue
            id_column, customer_column = columns
            wanted = [subject_id for kind, subject_id in subjects if kind == subject_type]
            for row in await self._conn.execute(select(id_column, customer_column).where(id_column.in_(wanted))):
                found[(subject_type, row[0])] = row[1]
        return found

    async def add(self, records: list[ActivityRecord]) -> None:
        need_department = {r.actor_id for r in records if r.department_id is None and r.actor_id}
        departments: dict[uuid.UUID, uuid.UUID] = {}
        if need_department:
            rows = await self._conn.execute(
                select(t.staff.c.id, t.staff.c.department_id).where(t.staff.c.id.in_(need_department)))
            departments = {row.id: row.department_id for row in rows}
        await self._conn.execute(insert(t.customer_activity), [activity_row(r, departments) for r in records])


def activity_row(record: ActivityRecord, departments: dict[uuid.UUID, uuid.UUID]) -> dict[str, Any]:
    return {
        "id": record.event_id,
        "customer_id": record.customer_id,
        "at": record.at,
        "kind": record.kind,
        "actor_id": record.actor_id,
        "department_id": record.department_id or (departments.get(record.actor_id) if record.actor_id else None),
        "summary": record.summary,
        "subject_type": record.subject_type,
        "subject_id": record.subject_id,
    }

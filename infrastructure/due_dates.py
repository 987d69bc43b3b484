"""The `DueDates` adapter: a step's due time in business minutes on its department's calendar.

Which calendar: the department's own (`departments.calendar_id`, set with `setDepartmentCalendar`);
without one, the calendar named `domain.workflow.DEFAULT_CALENDAR_NAME` ("Standard") if one is defined;
without that either, plain clock minutes. The arithmetic is `domain.workflow.business_due_at`.

Each question is one query on its own connection from the *read* engine: the use case asks while its
own transaction is open, and on SQLite that transaction already holds the writer lock, so a read
through the write engine (BEGIN IMMEDIATE) would wait for it forever. Nothing is cached: a department's
calendar can change at any time, in any process.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import case, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.calendar import BusinessCalendar
from domain.workflow import DEFAULT_CALENDAR_NAME, business_due_at
from infrastructure.db import tables as t
from infrastructure.db.reads import Reads
from infrastructure.db.repositories.complaints import calendar_from_row


class DepartmentCalendarDueDates:
    def __init__(self, engine: AsyncEngine, default_calendar_name: str = DEFAULT_CALENDAR_NAME) -> None:
        self._reads = Reads(engine)
        self._default = default_calendar_name

    async def calendar_for(self, department_id: uuid.UUID) -> BusinessCalendar | None:
        """The department's calendar, else the default one, else None (plain clock minutes)."""
        bc, d = t.business_calendars, t.departments
        own = select(d.c.calendar_id).where(d.c.id == department_id).scalar_subquery()
        query = (select(bc).where(or_(bc.c.id == own, bc.c.name == literal(self._default)))
                 .order_by(case((bc.c.id == own, 0), else_=1)).limit(1))
        rows = await self._reads.all(query)  # inside a unit of work: on its connection
        return calendar_from_row(rows[0]) if rows else None

    async def due_at(self, department_id: uuid.UUID, start: datetime, minutes: int) -> datetime:
        return business_due_at(await self.calendar_for(department_id), start, minutes)


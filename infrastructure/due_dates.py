"""The `DueDates` adapter. For now plain calendar minutes; department business calendars replace it."""
from __future__ import annotations

import uuid
from datetime import datetime

from domain.workflow import calendar_minutes


class CalendarMinutesDueDates:
    """Every minute counts, around the clock and on holidays (domain.workflow.calendar_minutes)."""

    async def due_at(self, department_id: uuid.UUID, start: datetime, minutes: int) -> datetime:
        return calendar_minutes(department_id, start, minutes)

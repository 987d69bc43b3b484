"""The reference the calendar's arithmetic is tested against: the plain walk over the working windows, window by
window, that domain/calendar.py's `_Timeline` (running totals, binary search) replaced. Test code only."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterator

from domain.calendar import (
    MAX_IDLE_DAYS,
    BusinessCalendar,
    NoWorkingTimeAhead,
    _openings,
    _utc,
    business_time_between,
)

_ONE_MINUTE = timedelta(minutes=1)
_ZERO = timedelta(0)


def working_windows(calendar: BusinessCalendar, since: datetime, until: datetime | None = None) -> Iterator[tuple[datetime, datetime]]:
    """The calendar's open intervals [opening, closing) as UTC instants, in order, starting
    with the first that closes after `since`; stops after the local day of `until` (endless
    without it). Raises NoWorkingTimeAhead if no window appears for MAX_IDLE_DAYS days."""
    since = _utc(since)
    zone = calendar.zone
    last_day = _utc(until).astimezone(zone).date() if until is not None else None
    day = since.astimezone(zone).date() - timedelta(days=1)  # an overnight window may reach `since`
    idle_days = 0
    while last_day is None or day <= last_day:
        today = _openings(calendar, day)
        open_today = bool(today)
        for opening, closing in today:
            if closing > since:
                yield opening, closing
        idle_days = 0 if open_today else idle_days + 1
        if idle_days > MAX_IDLE_DAYS:
            raise NoWorkingTimeAhead(f"Calendar {calendar.name!r} has no working time for over {MAX_IDLE_DAYS} days.")
        try:
            day += timedelta(days=1)
        except OverflowError:
            raise NoWorkingTimeAhead(f"Calendar {calendar.name!r} has no working time before the end of time.") from None


def working_window_at(calendar: BusinessCalendar, at: datetime) -> tuple[datetime, datetime] | None:
    """The window [opening, closing) containing `at`, or None outside working time."""
    at = _utc(at)
    for opening, closing in working_windows(calendar, at, until=at):
        if opening > at:
            break
        return opening, closing
    return None


def is_working_time(calendar: BusinessCalendar, at: datetime) -> bool:
    return working_window_at(calendar, at) is not None


def next_working_start(calendar: BusinessCalendar, at: datetime) -> datetime:
    """`at` itself (in UTC) during working time, else the next window opening."""
    at = _utc(at)
    for opening, _closing in working_windows(calendar, at):
        return max(opening, at)
    raise AssertionError("working_windows without `until` never ends")  # pragma: no cover


def _whole_minutes(amount: timedelta) -> int:
    """Truncated toward zero, so between(a, b) == -between(b, a)."""
    minutes = abs(amount) // _ONE_MINUTE
    return -minutes if amount < _ZERO else minutes


def business_minutes_between(calendar: BusinessCalendar, start: datetime, end: datetime) -> int:
    """Whole business minutes from `start` to `end` (truncated toward zero; negative when
    `end` is before `start`). Exact inverse of `add_business_minutes`."""
    return _whole_minutes(business_time_between(calendar, start, end))

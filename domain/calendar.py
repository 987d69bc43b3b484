"""Business time: working windows in a local time zone, holidays, and arithmetic over them.

SLA targets are counted in *business minutes*: minutes that pass while the business is open.
A `BusinessCalendar` says when that is; the functions below add and measure business time.

Semantics, chosen once and documented here so every caller agrees:

- A window is local wall-clock time on an ISO weekday (1 = Monday). `end <= start` means the
  window runs past midnight into the next day ("22:00"-"06:00"); "24:00" is accepted as an end
  and means midnight at the end of the day. A day may hold several windows (split shifts).
- A holiday (a local date) removes the windows that START on that date; an overnight window
  that started the evening before still runs into the holiday morning.
- Business time is real elapsed time while a window is open. Wall-clock times are turned into
  instants like this, so that the mapping never runs backwards:
    * a time that happens twice (autumn, clocks go back) means its FIRST occurrence;
    * a time that does not exist (spring, clocks jump forward) means the instant of the jump,
      i.e. the first real moment whose wall clock reads that time or later.
  So on the spring-forward night a "22:00"-"06:00" window lasts 7 hours, on the autumn night 9;
  a window lying wholly inside the skipped hour is empty that day; a "02:00"-"03:00" window on
  the autumn night lasts 2 hours (from the first 02:00 until 03:00 standard time).
- Windows are half-open, [opening, closing): the closing instant itself is not working time.
- All results are aware UTC datetimes; naive datetimes are refused (ValueError), because an
  instant without a zone is a bug, not user input.

Adding and measuring are binary searches over running totals of the windows (`_Timeline`), which is
extended day by day as far as a question needs. A guard stops it if no window turns up for longer
than any valid calendar allows (`NoWorkingTimeAhead`).
"""
from __future__ import annotations

import re
import uuid
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property, lru_cache
from typing import Iterable, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.shared import InvalidInput, LimitExceeded, as_utc, require_text

MAX_NAME_LENGTH = 100
MAX_TIMEZONE_LENGTH = 64
MAX_WINDOWS = 70  # ten a day is already more than any real rota
MAX_HOLIDAYS = 1000
MINUTES_PER_DAY = 24 * 60
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
# With at most MAX_HOLIDAYS holidays a calendar with one window a week can be idle for at most
# MAX_HOLIDAYS + 1 weeks; a walk that finds nothing for longer can never find anything.
MAX_IDLE_DAYS = 7 * (MAX_HOLIDAYS + 2)
OPENINGS_KEPT = 4096  # days of openings a calendar keeps (above: forgotten, and computed again)

_ONE_MINUTE = timedelta(minutes=1)
_ZERO = timedelta(0)
_HHMM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


class NoWorkingTimeAhead(LimitExceeded):
    """The calendar has no working window in reach, so no deadline can be computed."""


@dataclass(frozen=True, order=True)
class WorkingWindow:
    """One opening on an ISO weekday, in minutes of the local day. `end_minute <= start_minute`
    means the window closes the next day; `end_minute == 1440` is midnight ("24:00")."""

    weekday: int
    start_minute: int
    end_minute: int

    @property
    def overnight(self) -> bool:
        return self.end_minute <= self.start_minute

    @property
    def length_minutes(self) -> int:
        """Wall-clock length; real length differs only on a DST night."""
        return self.end_minute - self.start_minute if not self.overnight else self.end_minute + MINUTES_PER_DAY - self.start_minute

    @property
    def start(self) -> str:
        return _format_minute(self.start_minute)

    @property
    def end(self) -> str:
        return _format_minute(self.end_minute)


@dataclass(frozen=True)
class BusinessCalendar:
    """When the business is open: windows per weekday in an IANA zone, minus holidays.

    Build one with `define`, which validates; the constructor trusts its arguments (it is used
    when loading a calendar that was validated when it was defined).
    """

    name: str
    timezone: str
    windows: tuple[WorkingWindow, ...]
    holidays: frozenset[date] = frozenset()
    id: uuid.UUID = field(default_factory=uuid.uuid4)

    @classmethod
    def define(
        cls,
        name: str,
        timezone: str,
        windows: Sequence[tuple[int, str, str]],
        holidays: Iterable[date | str] = (),
        *,
        id: uuid.UUID | None = None,
    ) -> "BusinessCalendar":
        """Validate user input. Raises InvalidInput with a field path such as
        ("workingHours", "2", "start") naming the offending entry."""
        clean_name = require_text(name, "name", max_length=MAX_NAME_LENGTH) or ""
        return cls(
            name=clean_name,
            timezone=_check_timezone(timezone),
            windows=_check_windows(windows),
            holidays=_check_holidays(holidays),
            id=id or uuid.uuid4(),
        )

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def _by_weekday(self) -> dict[int, tuple[WorkingWindow, ...]]:
        days: dict[int, list[WorkingWindow]] = {}
        for window in sorted(self.windows):
            days.setdefault(window.weekday, []).append(window)
        return {weekday: tuple(windows) for weekday, windows in days.items()}

    @cached_property
    def _openings_by_day(self) -> dict[date, tuple[tuple[datetime, datetime], ...]]:
        return {}  # filled by _openings

    @cached_property
    def _timelines(self) -> list["_Timeline"]:
        return []  # the one _timeline keeps (a list, so it can be replaced on this frozen instance)

    @property
    def sorted_holidays(self) -> list[date]:
        return sorted(self.holidays)


# ------------------------------------------------------------------------------ validation


def _format_minute(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _parse_time(value: object, where: tuple[str, ...], *, allow_midnight_end: bool) -> int:
    if isinstance(value, str):
        text = value.strip()
        if allow_midnight_end and text == "24:00":
            return MINUTES_PER_DAY
        match = _HHMM.fullmatch(text)
        if match:
            return int(match.group(1)) * 60 + int(match.group(2))
    hint = " (or 24:00 for midnight at the end of the day)" if allow_midnight_end else ""
    raise InvalidInput(f"Give the time as HH:MM between 00:00 and 23:59{hint}.", field=where)


def _check_timezone(value: object) -> str:
    key = value.strip() if isinstance(value, str) else ""
    if not key or len(key) > MAX_TIMEZONE_LENGTH:
        raise InvalidInput("Give an IANA time zone such as Europe/Berlin.", field=("timezone",))
    try:
        ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError, UnicodeError):
        raise InvalidInput(f"Unknown time zone {key!r}; use an IANA name such as Europe/Berlin.", field=("timezone",)) from None
    return key


def _check_windows(windows: Sequence[tuple[int, str, str]]) -> tuple[WorkingWindow, ...]:
    items = list(windows or ())
    if not items:
        raise InvalidInput("A calendar needs at least one working window.", field=("workingHours",))
    if len(items) > MAX_WINDOWS:
        raise InvalidInput(f"A calendar may have at most {MAX_WINDOWS} working windows.", field=("workingHours",))
    parsed: list[tuple[int, WorkingWindow]] = []
    for index, item in enumerate(items):
        where = ("workingHours", str(index))
        try:
            weekday, start, end = item
        except (TypeError, ValueError):
            raise InvalidInput("A working window is (weekday, start, end).", field=where) from None
        if isinstance(weekday, bool) or not isinstance(weekday, int) or not 1 <= weekday <= 7:
            raise InvalidInput("Weekday must be 1 (Monday) to 7 (Sunday).", field=(*where, "weekday"))
        start_minute = _parse_time(start, (*where, "start"), allow_midnight_end=False)
        end_minute = _parse_time(end, (*where, "end"), allow_midnight_end=True)
        if start_minute == end_minute:
            raise InvalidInput("A working window must not be empty; use 00:00 to 24:00 for a whole day.", field=(*where, "end"))
        parsed.append((index, WorkingWindow(weekday, start_minute, end_minute)))
    _refuse_overlaps(parsed)
    return tuple(sorted(window for _, window in parsed))


def _refuse_overlaps(parsed: list[tuple[int, WorkingWindow]]) -> None:
    """Lay every window on the weekly circle (Sunday night runs into Monday) and refuse overlaps,
    including an overnight window running into the next day's first window. Touching is fine."""
    placed = sorted(
        ((window.weekday - 1) * MINUTES_PER_DAY + window.start_minute, index, window) for index, window in parsed
    )
    for position, (start, index, window) in enumerate(placed):
        next_start, next_index, next_window = placed[(position + 1) % len(placed)]
        if position + 1 == len(placed):
            next_start += MINUTES_PER_WEEK
        if len(placed) > 1 and start + window.length_minutes > next_start:
            later = max(index, next_index)
            raise InvalidInput(
                f"Working windows overlap: day {window.weekday} {window.start}-{window.end} "
                f"and day {next_window.weekday} {next_window.start}-{next_window.end}.",
                field=("workingHours", str(later)),
            )


def _check_holidays(holidays: Iterable[date | str]) -> frozenset[date]:
    items = list(holidays or ())
    if len(items) > MAX_HOLIDAYS:
        raise InvalidInput(f"A calendar may list at most {MAX_HOLIDAYS} holidays.", field=("holidays",))
    days: set[date] = set()
    for index, item in enumerate(items):
        if isinstance(item, str):
            try:
                item = date.fromisoformat(item.strip())
            except ValueError:
                item = None  # type: ignore[assignment]
        if not isinstance(item, date) or isinstance(item, datetime):
            raise InvalidInput("A holiday is a date, YYYY-MM-DD.", field=("holidays", str(index)))
        days.add(item)
    return frozenset(days)


# ------------------------------------------------------------------------- instants and windows


def _utc(at: datetime) -> datetime:
    return as_utc(at, "Business-time arithmetic")


@lru_cache(maxsize=65536)
def _local_to_utc(wall: datetime, zone: ZoneInfo) -> datetime:
    """A naive local wall-clock time as a UTC instant: a repeated time means its first
    occurrence, a skipped time the instant the clocks jumped (see the module docstring).

    Kept per (wall time, zone): SLA clocks walk the same openings and closings for every complaint of a
    page, and this conversion was most of their cost."""
    instant = wall.replace(tzinfo=zone).astimezone(UTC)  # fold=0: first occurrence
    if instant.astimezone(zone).replace(tzinfo=None) == wall:
        return instant
    # In a gap fold=1 applies the offset after the jump (an instant before it) and fold=0 the
    # offset before the jump (an instant after it); search between them for the jump itself.
    low = int(wall.replace(tzinfo=zone, fold=1).timestamp())
    high = int(instant.timestamp())
    after = datetime.fromtimestamp(high, zone).utcoffset()
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == after:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def _openings(calendar: BusinessCalendar, day: date) -> tuple[tuple[datetime, datetime], ...]:
    """The day's non-empty windows as UTC instants, kept on the calendar: a page of SLA clocks walks the same
    days for every complaint."""
    days = calendar._openings_by_day
    found = days.get(day)
    if found is None:
        found = ()
        if day not in calendar.holidays:
            zone, midnight = calendar.zone, datetime.combine(day, time())
            windows = []
            for window in calendar._by_weekday.get(day.isoweekday(), ()):
                opening = _local_to_utc(midnight + timedelta(minutes=window.start_minute), zone)
                closing = _local_to_utc(midnight + timedelta(minutes=window.start_minute + window.length_minutes), zone)
                if closing > opening:  # empty only when wholly inside a DST gap
                    windows.append((opening, closing))
            found = tuple(windows)
        if len(days) >= OPENINGS_KEPT:
            days.clear()
        days[day] = found
    return found


class _Timeline:
    """A calendar's openings from one local day on, as sorted lists with running totals of business time, so
    that adding and measuring business time are two binary searches however far they reach (a complaint open
    for months walked every window of those months, for each of its clocks, on every read).

    Windows never overlap (`define` refuses it), so openings and closings are both in order; empty windows
    (inside a DST gap) are left out. It is extended day by day as far as a question needs, with the same
    guard as `working_windows`: no window for over MAX_IDLE_DAYS days means none will ever come."""

    def __init__(self, calendar: BusinessCalendar, first_day: date) -> None:
        self.calendar = calendar
        self.first_day = self.next_day = first_day
        try:  # from this instant on, a question's day (and the day before it) is on the timeline
            self.answers_from = _local_to_utc(datetime.combine(first_day + timedelta(days=2), time()), calendar.zone)
        except OverflowError:
            self.answers_from = datetime.max.replace(tzinfo=UTC)
        self.openings: list[datetime] = []
        self.closings: list[datetime] = []
        self.before: list[timedelta] = [_ZERO]  # business time before window i (one more entry than windows)
        self._idle_days = 0

    def _add_day(self) -> None:
        day = self.next_day
        today = _openings(self.calendar, day)
        for opening, closing in today:
            self.openings.append(opening)
            self.closings.append(closing)
            self.before.append(self.before[-1] + (closing - opening))
        self._idle_days = 0 if today else self._idle_days + 1
        if self._idle_days > MAX_IDLE_DAYS:
            raise NoWorkingTimeAhead(
                f"Calendar {self.calendar.name!r} has no working time for over {MAX_IDLE_DAYS} days.")
        try:
            self.next_day = day + timedelta(days=1)
        except OverflowError:
            raise NoWorkingTimeAhead(
                f"Calendar {self.calendar.name!r} has no working time before the end of time.") from None

    def cover(self, last_day: date) -> None:
        """Every window of the local days up to `last_day`."""
        while self.next_day <= last_day:
            self._add_day()

    def first_closing_after(self, at: datetime) -> int:
        while not self.closings or self.closings[-1] <= at:
            self._add_day()
        return bisect_right(self.closings, at)

    def reach(self, total: timedelta) -> None:
        """Windows until the running total reaches `total`."""
        while self.before[-1] < total:
            self._add_day()


TIMELINE_WINDOWS_KEPT = 100_000  # beyond: started again from the day asked about
TIMELINE_LEAD = timedelta(days=42)


def _timeline(calendar: BusinessCalendar, since: datetime) -> _Timeline:
    """The calendar's timeline, starting early enough for `since` (an overnight window of the day before may
    still be open)."""
    kept = calendar._timelines
    if kept and since >= kept[0].answers_from and len(kept[0].openings) <= TIMELINE_WINDOWS_KEPT:
        return kept[0]
    first_day = since.astimezone(calendar.zone).date() - timedelta(days=1)
    if not kept or kept[0].first_day > first_day or len(kept[0].openings) > TIMELINE_WINDOWS_KEPT:
        # started some weeks early: a page of complaints asks about ever earlier filings, newest first
        try:
            first_day -= TIMELINE_LEAD
        except OverflowError:
            pass
        kept[:] = [_Timeline(calendar, first_day)]
    return kept[0]


# ---------------------------------------------------------------------------------- arithmetic


def add_business_time(calendar: BusinessCalendar, start: datetime, amount: timedelta) -> datetime:
    """The earliest instant by which `amount` of business time has passed since `start`.

    Starting outside working time, counting begins at the next opening. Zero returns `start`
    (in UTC) wherever it lies. A positive amount that is used up exactly at a closing returns
    that closing, not the next opening, so add(add(s, a), b) == add(s, a + b)."""
    at = _utc(start)
    if amount < _ZERO:
        raise ValueError("Cannot add negative business time.")
    if not amount:
        return at
    timeline = _timeline(calendar, at)
    i = timeline.first_closing_after(at)
    opening = timeline.openings[i]
    # the business time on the timeline by which `amount` is used up, and the window it falls in
    goal = timeline.before[i] + (max(opening, at) - opening) + amount
    timeline.reach(goal)
    k = bisect_left(timeline.before, goal, lo=i + 1) - 1
    return timeline.openings[k] + (goal - timeline.before[k])


def add_business_minutes(calendar: BusinessCalendar, start: datetime, minutes: int) -> datetime:
    """`add_business_time` in whole minutes; see there."""
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 0:
        raise ValueError("minutes must be a non-negative integer.")
    return add_business_time(calendar, start, minutes * _ONE_MINUTE)


def business_time_between(calendar: BusinessCalendar, start: datetime, end: datetime) -> timedelta:
    """Exact business time from `start` to `end`; negative when `end` is before `start`."""
    low, high = _utc(start), _utc(end)
    if high < low:
        return -business_time_between(calendar, high, low)
    timeline = _timeline(calendar, low)
    timeline.cover(high.astimezone(calendar.zone).date())
    i = bisect_right(timeline.closings, low)  # the first window closing after `low`
    j = bisect_left(timeline.openings, high, lo=i)  # the first opening at or after `high`: not counted
    if j <= i:
        return _ZERO
    total = timeline.before[j] - timeline.before[i]
    if timeline.openings[i] < low:
        total -= low - timeline.openings[i]
    if timeline.closings[j - 1] > high:
        total -= timeline.closings[j - 1] - high
    return total


def business_time_within(calendar: BusinessCalendar, segments: Iterable[tuple[datetime, datetime]]) -> timedelta:
    """The business time inside `segments` (each from its start to its end, in order, not overlapping): what a
    clock that runs only in some stretches (not while paused) has used."""
    return sum((business_time_between(calendar, start, end) for start, end in segments), _ZERO)

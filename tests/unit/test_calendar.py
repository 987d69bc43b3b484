"""Business-time arithmetic: tables for the cases people argue about (lunch breaks, weekends,
holidays, DST nights, overnight shifts, half-hour offsets), properties for everything else."""
from __future__ import annotations

import time as clock
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.calendar import (
    MAX_HOLIDAYS,
    BusinessCalendar,
    NoWorkingTimeAhead,
    WorkingWindow,
    add_business_minutes,
    add_business_time,
    business_time_between,
    business_time_within,
)
from domain.shared import InvalidInput, LimitExceeded
from tests.conftest import examples
from tests.unit.calendar_walk import (
    business_minutes_between,
    is_working_time,
    next_working_start,
    working_window_at,
    working_windows,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")
WEEKDAYS = range(1, 6)

OFFICE = BusinessCalendar.define(
    "Berlin office", "Europe/Berlin",
    [(d, start, end) for d in WEEKDAYS for start, end in (("08:00", "12:00"), ("13:00", "17:00"))],
    [date(2026, 4, 3), "2026-04-06", date(2026, 12, 25)],  # Good Friday, Easter Monday, Christmas
)
NIGHT = BusinessCalendar.define("Night desk", "Europe/Berlin", [(d, "22:00", "06:00") for d in range(1, 8)], ["2026-12-24"])
NEW_YORK_OFFICE = BusinessCalendar.define("NYC", "America/New_York", [(d, "09:00", "17:00") for d in WEEKDAYS])
KOLKATA_OFFICE = BusinessCalendar.define("Kolkata", "Asia/Kolkata", [(d, "09:30", "18:00") for d in range(1, 7)])
DST_HOUR = BusinessCalendar.define("Sunday small hours", "Europe/Berlin", [(7, "02:30", "03:30")])
INSIDE_GAP = BusinessCalendar.define("Inside the gap", "Europe/Berlin", [(7, "02:10", "02:50")])


def ber(month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=BERLIN)


def nyc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=NEW_YORK)


def kol(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=KOLKATA)


def utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


# ------------------------------------------------------------------------------------- define


def test_define_normalises_and_exposes_the_contract_shape() -> None:
    cal = BusinessCalendar.define(
        "  Support  ", " Europe/Berlin ",
        [(2, "13:00", "17:00"), (1, "22:00", "06:00"), (2, "08:00", "12:00"), (7, "00:00", "24:00")],
        ["2026-12-25", date(2026, 12, 25), date(2026, 1, 1)],
    )
    assert cal.name == "Support" and cal.timezone == "Europe/Berlin"
    assert [(w.weekday, w.start, w.end) for w in cal.windows] == [
        (1, "22:00", "06:00"), (2, "08:00", "12:00"), (2, "13:00", "17:00"), (7, "00:00", "24:00"),
    ]
    assert cal.windows[0].overnight and cal.windows[0].length_minutes == 480
    assert cal.windows[-1].length_minutes == 1440 and not cal.windows[-1].overnight
    assert cal.sorted_holidays == [date(2026, 1, 1), date(2026, 12, 25)]
    assert cal == BusinessCalendar(cal.name, cal.timezone, cal.windows, cal.holidays, cal.id)


def test_touching_windows_and_a_week_round_the_clock_are_allowed() -> None:
    cal = BusinessCalendar.define("24/7", "UTC", [(d, "00:00", "12:00") for d in range(1, 8)] + [(d, "12:00", "00:00") for d in range(1, 8)])
    assert business_minutes_between(cal, utc(3, 2, 0), utc(3, 9, 0)) == 7 * 1440
    assert add_business_minutes(cal, utc(3, 2, 11, 30), 60) == utc(3, 2, 12, 30)


WINDOWS_OK = [(1, "08:00", "12:00")]


@pytest.mark.parametrize(
    ("name", "zone", "windows", "holidays", "field"),
    [
        ("", "Europe/Berlin", WINDOWS_OK, [], ("name",)),
        ("   ", "Europe/Berlin", WINDOWS_OK, [], ("name",)),
        ("x" * 101, "Europe/Berlin", WINDOWS_OK, [], ("name",)),
        ("Cal", "Mars/Olympus_Mons", WINDOWS_OK, [], ("timezone",)),
        ("Cal", "", WINDOWS_OK, [], ("timezone",)),
        ("Cal", "../../etc/passwd", WINDOWS_OK, [], ("timezone",)),
        ("Cal", "Europe", WINDOWS_OK, [], ("timezone",)),
        ("Cal", "Europe/Berlin", [], [], ("workingHours",)),
        ("Cal", "Europe/Berlin", [(1, "08:00", "09:00")] * 71, [], ("workingHours",)),
        ("Cal", "Europe/Berlin", [(1, "08:00", "09:00"), (0, "08:00", "12:00")], [], ("workingHours", "1", "weekday")),
        ("Cal", "Europe/Berlin", [(8, "08:00", "12:00")], [], ("workingHours", "0", "weekday")),
        ("Cal", "Europe/Berlin", [(True, "08:00", "12:00")], [], ("workingHours", "0", "weekday")),
        ("Cal", "Europe/Berlin", [(1, "8:00", "12:00")], [], ("workingHours", "0", "start")),
        ("Cal", "Europe/Berlin", [(1, "24:00", "12:00")], [], ("workingHours", "0", "start")),
        ("Cal", "Europe/Berlin", [(1, "08:00", "12:60")], [], ("workingHours", "0", "end")),
        ("Cal", "Europe/Berlin", [(1, "08:00", "noon")], [], ("workingHours", "0", "end")),
        ("Cal", "Europe/Berlin", [(1, "08:00", None)], [], ("workingHours", "0", "end")),
        ("Cal", "Europe/Berlin", [(1, "09:00", "09:00")], [], ("workingHours", "0", "end")),
        ("Cal", "Europe/Berlin", [(1, "00:00", "00:00")], [], ("workingHours", "0", "end")),
        ("Cal", "Europe/Berlin", [(1, "08:00")], [], ("workingHours", "0")),
        # overlaps: same day, identical, overnight into the next day, Sunday night into Monday
        ("Cal", "Europe/Berlin", [(1, "08:00", "12:00"), (1, "11:00", "13:00")], [], ("workingHours", "1")),
        ("Cal", "Europe/Berlin", [(1, "11:00", "13:00"), (2, "08:00", "09:00"), (1, "08:00", "12:00")], [], ("workingHours", "2")),
        ("Cal", "Europe/Berlin", [(3, "08:00", "12:00"), (3, "08:00", "12:00")], [], ("workingHours", "1")),
        ("Cal", "Europe/Berlin", [(1, "22:00", "06:00"), (2, "05:00", "07:00")], [], ("workingHours", "1")),
        ("Cal", "Europe/Berlin", [(1, "05:00", "07:00"), (7, "22:00", "06:00")], [], ("workingHours", "1")),
        ("Cal", "Europe/Berlin", [(1, "00:00", "24:00"), (1, "23:00", "01:00")], [], ("workingHours", "1")),
        ("Cal", "Europe/Berlin", WINDOWS_OK, ["2026-02-30"], ("holidays", "0")),
        ("Cal", "Europe/Berlin", WINDOWS_OK, [date(2026, 1, 1), datetime(2026, 1, 2)], ("holidays", "1")),
        ("Cal", "Europe/Berlin", WINDOWS_OK, [date(2026, 1, 1) + timedelta(days=i) for i in range(MAX_HOLIDAYS + 1)], ("holidays",)),
    ],
)
def test_define_refuses_bad_input_naming_the_field(name: str, zone: str, windows: list, holidays: list, field: tuple) -> None:
    with pytest.raises(InvalidInput) as err:
        BusinessCalendar.define(name, zone, windows, holidays)
    assert err.value.field == field
    assert err.value.code == "INVALID"


def test_a_thousand_holidays_are_accepted() -> None:
    days = [date(2026, 1, 1) + timedelta(days=i) for i in range(MAX_HOLIDAYS)]
    assert len(BusinessCalendar.define("Cal", "UTC", WINDOWS_OK, days).holidays) == MAX_HOLIDAYS


# ------------------------------------------------------------------------------------ adding


@pytest.mark.parametrize(
    ("calendar", "start", "minutes", "expected"),
    [
        (OFFICE, ber(3, 2, 9), 60, ber(3, 2, 10)),
        (OFFICE, ber(3, 2, 9, 15), 0, ber(3, 2, 9, 15)),  # zero from inside: start
        (OFFICE, ber(3, 7, 10), 0, ber(3, 7, 10)),  # zero from outside: start too (nothing elapsed)
        (OFFICE, ber(3, 2, 11, 30), 60, ber(3, 2, 13, 30)),  # across lunch
        (OFFICE, ber(3, 2, 11), 60, ber(3, 2, 12)),  # used up at a closing: that closing
        (OFFICE, ber(3, 2, 12), 1, ber(3, 2, 13, 1)),
        (OFFICE, ber(3, 2, 7), 1, ber(3, 2, 8, 1)),  # before opening: counting starts at 08:00
        (OFFICE, ber(3, 2, 17), 480, ber(3, 3, 17)),
        (OFFICE, ber(3, 2, 9), 5 * 480, ber(3, 9, 9)),
        (OFFICE, ber(3, 6, 16, 30), 60, ber(3, 9, 8, 30)),  # weekend
        (OFFICE, ber(3, 7, 10), 1, ber(3, 9, 8, 1)),  # from Saturday
        (OFFICE, ber(3, 27, 16), 120, ber(3, 30, 9)),  # over the spring-forward weekend
        (OFFICE, ber(10, 23, 16), 120, ber(10, 26, 9)),  # over the fall-back weekend
        (OFFICE, ber(4, 2, 16), 120, ber(4, 7, 9)),  # Easter: Friday and Monday are holidays
        (OFFICE, ber(12, 24, 16, 30), 30, ber(12, 24, 17)),
        (OFFICE, ber(12, 24, 16, 30), 31, ber(12, 28, 8, 1)),  # 25th holiday, then a weekend
        (NIGHT, ber(3, 28, 22), 420, ber(3, 29, 6)),  # the spring-forward night has 7 hours
        (NIGHT, ber(3, 28, 22), 421, ber(3, 29, 22, 1)),
        (NIGHT, ber(10, 24, 22), 540, ber(10, 25, 6)),  # the fall-back night has 9 hours
        (NIGHT, ber(10, 24, 22), 300, utc(10, 25, 1)),  # 02:00 CET, the second 02:00
        (NIGHT, ber(3, 2, 12), 60, ber(3, 2, 23)),
        (NIGHT, ber(12, 24, 5), 61, ber(12, 25, 22, 1)),  # the 24th's own night is a holiday
        (NEW_YORK_OFFICE, nyc(3, 6, 16), 120, nyc(3, 9, 10)),
        (NEW_YORK_OFFICE, nyc(10, 30, 16), 120, nyc(11, 2, 10)),
        (KOLKATA_OFFICE, kol(1, 5, 17), 90, kol(1, 6, 10)),
        (KOLKATA_OFFICE, kol(1, 10, 17, 30), 60, kol(1, 12, 10)),  # Saturday works, Sunday not
        (DST_HOUR, ber(3, 28, 12), 30, utc(3, 29, 1, 30)),  # 02:30 does not exist: opens at the jump
        (DST_HOUR, ber(10, 24, 12), 120, utc(10, 25, 2, 30)),  # 02:30 (first) to 03:30 is 2 hours
    ],
)
def test_add_business_minutes(calendar: BusinessCalendar, start: datetime, minutes: int, expected: datetime) -> None:
    result = add_business_minutes(calendar, start, minutes)
    assert result == expected
    assert result.tzinfo is UTC
    assert business_minutes_between(calendar, start, result) == minutes


def test_add_keeps_seconds_and_accepts_any_zone_for_the_start() -> None:
    start = datetime(2026, 3, 2, 8, 30, 15, 500, tzinfo=UTC)  # 09:30:15 in Berlin
    assert add_business_minutes(OFFICE, start, 30) == ber(3, 2, 10, 0, 15) + timedelta(microseconds=500)
    assert add_business_time(OFFICE, ber(3, 2, 11, 59, 30), timedelta(seconds=45)) == ber(3, 2, 13, 0, 15)


@pytest.mark.parametrize("minutes", [-1, 1.5, True, None])
def test_add_refuses_anything_but_a_non_negative_whole_number(minutes: object) -> None:
    with pytest.raises(ValueError):
        add_business_minutes(OFFICE, ber(3, 2, 9), minutes)  # type: ignore[arg-type]


def test_naive_datetimes_are_a_bug() -> None:
    with pytest.raises(ValueError):
        add_business_minutes(OFFICE, datetime(2026, 3, 2, 9), 1)
    with pytest.raises(ValueError):
        business_minutes_between(OFFICE, ber(3, 2, 9), datetime(2026, 3, 2, 10))


def test_a_hundred_thousand_minutes_take_well_under_fifty_milliseconds() -> None:
    best = float("inf")
    for _ in range(3):
        began = clock.perf_counter()
        result = add_business_minutes(OFFICE, ber(3, 2, 9), 100_000)
        best = min(best, clock.perf_counter() - began)
    assert business_minutes_between(OFFICE, ber(3, 2, 9), result) == 100_000
    assert best < 0.05


def test_the_walk_stops_when_no_window_can_ever_come() -> None:
    every_day = frozenset(date(2026, 1, 1) + timedelta(days=i) for i in range(40 * 366))
    hopeless = BusinessCalendar("Always closed", "UTC", (WorkingWindow(1, 480, 960),), every_day)
    with pytest.raises(NoWorkingTimeAhead) as err:
        add_business_minutes(hopeless, utc(1, 1, 0), 1)
    assert isinstance(err.value, LimitExceeded)
    with pytest.raises(NoWorkingTimeAhead):
        next_working_start(hopeless, utc(1, 1, 0))
    # Bounded questions still answer inside the dead stretch.
    assert business_minutes_between(hopeless, utc(1, 1, 0), utc(12, 31, 0)) == 0
    assert not is_working_time(hopeless, utc(3, 2, 9))
    # And at the end of time.
    mondays_only = BusinessCalendar.define("Mondays", "UTC", [(1, "08:00", "09:00")])
    with pytest.raises(NoWorkingTimeAhead):
        add_business_minutes(mondays_only, datetime(9999, 12, 28, tzinfo=UTC), 60)


def test_the_most_holidays_allowed_still_leave_a_reachable_window() -> None:
    mondays = [date(2026, 3, 2) + timedelta(weeks=i) for i in range(MAX_HOLIDAYS)]
    cal = BusinessCalendar.define("Mondays", "UTC", [(1, "08:00", "09:00")], mondays)
    assert add_business_minutes(cal, utc(3, 2, 0), 1) == datetime.combine(
        date(2026, 3, 2) + timedelta(weeks=MAX_HOLIDAYS), datetime.min.time(), UTC) + timedelta(hours=8, minutes=1)


# ----------------------------------------------------------------------------------- measuring


@pytest.mark.parametrize(
    ("calendar", "start", "end", "minutes"),
    [
        (OFFICE, ber(3, 2, 9), ber(3, 2, 10), 60),
        (OFFICE, ber(3, 2, 10), ber(3, 2, 9), -60),
        (OFFICE, ber(3, 2, 7), ber(3, 2, 18), 480),
        (OFFICE, ber(3, 2, 9), ber(3, 2, 9), 0),
        (OFFICE, ber(3, 2, 9), ber(3, 2, 9, 0, 59), 0),  # whole minutes, truncated
        (OFFICE, ber(3, 2, 9, 0, 59), ber(3, 2, 9), 0),  # toward zero both ways
        (OFFICE, ber(3, 2, 9), ber(3, 2, 9, 1, 59), 1),
        (OFFICE, ber(3, 27, 12), ber(3, 30, 12), 480),
        (OFFICE, ber(3, 7, 0), ber(3, 9, 0), 0),
        (OFFICE, ber(4, 2, 0), ber(4, 8, 0), 2 * 480),  # Thursday and Tuesday only
        (OFFICE, ber(1, 1), datetime(2027, 1, 1, tzinfo=BERLIN), (261 - 3) * 480),  # 2026: 261 weekdays, 3 holidays on them
        (NIGHT, ber(3, 28, 21), ber(3, 29, 7), 420),
        (NIGHT, ber(10, 24, 21), ber(10, 25, 7), 540),
        (NIGHT, ber(12, 23, 20), ber(12, 26, 0), 480 + 0 + 120),  # the 24th's night removed, its morning kept
        (NEW_YORK_OFFICE, nyc(3, 6, 9), nyc(3, 10, 9), 2 * 480),
        (KOLKATA_OFFICE, utc(1, 5, 4), utc(1, 5, 5), 60),  # 09:30-10:30 IST
        (KOLKATA_OFFICE, utc(1, 5, 3, 30), utc(1, 5, 4, 30), 30),
        (INSIDE_GAP, ber(3, 28), ber(3, 30), 0),  # wholly inside the skipped hour: empty that night
        (INSIDE_GAP, ber(3, 21), ber(3, 23), 40),
        (INSIDE_GAP, ber(10, 24), ber(10, 26), 40),  # first 02:10 to first 02:50
    ],
)
def test_business_minutes_between(calendar: BusinessCalendar, start: datetime, end: datetime, minutes: int) -> None:
    assert business_minutes_between(calendar, start, end) == minutes


def test_business_time_within_sums_the_stretches_a_clock_ran() -> None:
    """What a paused clock used (the SLA's resolution clock, a complaint's resolution minutes): 9-10 and 11-14
    on a Monday, lunch 12-13 not counted."""
    assert business_time_within(OFFICE, []) == timedelta(0)
    assert business_time_within(OFFICE, [(ber(3, 2, 9), ber(3, 2, 10)), (ber(3, 2, 11), ber(3, 2, 14))]) == \
        timedelta(minutes=60 + 120)


# ------------------------------------------------------------------------------ where are we?


@pytest.mark.parametrize(
    ("calendar", "at", "working", "next_start"),
    [
        (OFFICE, ber(3, 2, 8), True, ber(3, 2, 8)),  # opening is inside
        (OFFICE, ber(3, 2, 11, 59, 59), True, ber(3, 2, 11, 59, 59)),
        (OFFICE, ber(3, 2, 12), False, ber(3, 2, 13)),  # closing is outside
        (OFFICE, ber(3, 2, 17), False, ber(3, 3, 8)),
        (OFFICE, ber(3, 6, 17, 30), False, ber(3, 9, 8)),
        (OFFICE, ber(3, 7, 10), False, ber(3, 9, 8)),
        (OFFICE, ber(3, 28, 10), False, ber(3, 30, 8)),  # the DST weekend
        (OFFICE, ber(4, 3, 10), False, ber(4, 7, 8)),  # Good Friday
        (OFFICE, ber(4, 2, 18), False, ber(4, 7, 8)),
        (NIGHT, ber(3, 2, 23), True, ber(3, 2, 23)),
        (NIGHT, ber(3, 3, 5), True, ber(3, 3, 5)),  # Monday's window, Tuesday morning
        (NIGHT, ber(3, 2, 6), False, ber(3, 2, 22)),
        (NIGHT, ber(12, 24, 5), True, ber(12, 24, 5)),  # started the evening before the holiday
        (NIGHT, ber(12, 24, 23), False, ber(12, 25, 22)),
        (KOLKATA_OFFICE, utc(1, 5, 3, 59), False, utc(1, 5, 4)),
        (KOLKATA_OFFICE, utc(1, 5, 4), True, utc(1, 5, 4)),
        (DST_HOUR, utc(3, 29, 0, 59), False, utc(3, 29, 1)),
        (DST_HOUR, utc(10, 25, 1, 30), True, utc(10, 25, 1, 30)),  # the repeated hour
    ],
)
def test_is_working_time_and_next_working_start(calendar: BusinessCalendar, at: datetime, working: bool, next_start: datetime) -> None:
    assert is_working_time(calendar, at) is working
    found = next_working_start(calendar, at)
    assert found == next_start and found.tzinfo is UTC
    window = working_window_at(calendar, at)
    assert (window is not None) is working
    if window:
        assert window[0] <= at < window[1]


def test_windows_are_listed_in_order_between_two_instants() -> None:
    assert list(working_windows(OFFICE, ber(3, 6, 12), ber(3, 9, 12))) == [
        (ber(3, 6, 13), ber(3, 6, 17)), (ber(3, 9, 8), ber(3, 9, 12)), (ber(3, 9, 13), ber(3, 9, 17)),
    ]
    assert list(working_windows(DST_HOUR, ber(3, 28), ber(3, 30))) == [(utc(3, 29, 1), utc(3, 29, 1, 30))]
    assert list(working_windows(INSIDE_GAP, ber(3, 28), ber(3, 30))) == []


# ---------------------------------------------------------------------------------- properties

ZONES = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Chatham", "UTC"]


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    """Fixed calendars, or random non-overlapping windows laid on the week (DST zones, a
    half-hour DST in Lord Howe, overnight windows, holidays in 2026)."""
    if draw(st.booleans()):
        return draw(st.sampled_from([OFFICE, NIGHT, NEW_YORK_OFFICE, KOLKATA_OFFICE, DST_HOUR]))
    points = sorted(draw(st.sets(st.integers(0, 7 * 1440 - 1), min_size=2, max_size=10)))
    windows = []
    for start, end in zip(points[::2], points[1::2]):
        length = min(end - start, 1439)
        weekday, minute = divmod(start, 1440)
        closing = (minute + length) % 1440
        windows.append((weekday + 1, f"{minute // 60:02d}:{minute % 60:02d}", f"{closing // 60:02d}:{closing % 60:02d}"))
    holidays = draw(st.lists(st.dates(date(2026, 1, 1), date(2027, 3, 1)), max_size=40))
    return BusinessCalendar.define("Random", draw(st.sampled_from(ZONES)), windows, holidays)


# Clock changes of the zones above in 2026, to land near them far more often than by chance.
DST_DAYS = [datetime(2026, m, d, tzinfo=UTC) for m, d in ((3, 8), (3, 29), (4, 5), (9, 27), (10, 4), (10, 25), (11, 1))]
instants = st.one_of(
    st.datetimes(datetime(2026, 1, 1), datetime(2027, 1, 1), timezones=st.just(UTC)),
    st.builds(lambda day, offset: day + timedelta(seconds=offset), st.sampled_from(DST_DAYS), st.integers(-3 * 86400, 3 * 86400)),
)
minutes = st.integers(0, 20_000)
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(calendars(), instants, minutes)
def test_adding_then_measuring_round_trips(cal: BusinessCalendar, start: datetime, m: int) -> None:
    assert business_minutes_between(cal, start, add_business_minutes(cal, start, m)) == m


@PROPERTY
@given(calendars(), instants, minutes, minutes)
def test_adding_is_additive(cal: BusinessCalendar, start: datetime, a: int, b: int) -> None:
    assert add_business_minutes(cal, add_business_minutes(cal, start, a), b) == add_business_minutes(cal, start, a + b)


@PROPERTY
@given(calendars(), instants, instants, minutes, minutes)
def test_adding_is_monotonic(cal: BusinessCalendar, s1: datetime, s2: datetime, a: int, b: int) -> None:
    (s1, s2), (a, b) = sorted((s1, s2)), sorted((a, b))
    assert add_business_minutes(cal, s1, a) <= add_business_minutes(cal, s1, b)
    assert add_business_minutes(cal, s1, a) <= add_business_minutes(cal, s2, a)


@PROPERTY
@given(calendars(), instants, st.integers(1, 20_000))
def test_results_fall_in_working_time_or_at_a_closing_never_on_a_holiday(cal: BusinessCalendar, start: datetime, m: int) -> None:
    result = add_business_minutes(cal, start, m)
    assert result > start
    window = working_window_at(cal, result - timedelta(microseconds=1))
    assert window is not None and window[0] < result <= window[1]
    assert window[0].astimezone(cal.zone).date() not in cal.holidays
    if cal is OFFICE:
        assert result.astimezone(BERLIN).date() not in cal.holidays


@PROPERTY
@given(calendars(), instants, instants, instants)
def test_measuring_is_additive_antisymmetric_and_bounded_by_real_time(cal: BusinessCalendar, a: datetime, b: datetime, c: datetime) -> None:
    a, b, c = sorted((a, b, c))
    ab, bc = business_time_between(cal, a, b), business_time_between(cal, b, c)
    assert ab + bc == business_time_between(cal, a, c)
    assert business_time_between(cal, c, a) == -(ab + bc)
    assert business_minutes_between(cal, c, a) == -business_minutes_between(cal, a, c)
    assert timedelta(0) <= ab <= b - a


@PROPERTY
@given(calendars(), instants)
def test_next_working_start_is_working_time_with_nothing_before_it(cal: BusinessCalendar, at: datetime) -> None:
    found = next_working_start(cal, at)
    assert found >= at and is_working_time(cal, found)
    assert business_time_between(cal, at, found) == timedelta(0)
    assert (found == at) is is_working_time(cal, at)


@PROPERTY
@given(calendars(), st.lists(instants, min_size=2, max_size=6))
def test_business_time_within_back_to_back_stretches_is_the_whole(cal: BusinessCalendar, raw: list) -> None:
    cuts = sorted(raw)
    assert business_time_within(cal, zip(cuts, cuts[1:])) == business_time_between(cal, cuts[0], cuts[-1])


@settings(max_examples=examples(40), deadline=None)
@given(calendars(), instants.map(lambda t: t.replace(second=0, microsecond=0)), st.integers(0, 1500))
def test_measuring_agrees_with_counting_minute_by_minute(cal: BusinessCalendar, start: datetime, span: int) -> None:
    counted = sum(is_working_time(cal, start + timedelta(minutes=i)) for i in range(span))
    assert business_minutes_between(cal, start, start + timedelta(minutes=span)) == counted


# The arithmetic answers from running totals over the calendar's windows (domain/calendar.py `_Timeline`); these
# are the plain walks over `working_windows` it replaced, window by window, kept as the reference
# (tests/unit/calendar_walk.py).

def walked_add(cal: BusinessCalendar, start: datetime, amount: timedelta) -> datetime:
    at, left = start.astimezone(UTC), amount
    if not left:
        return at
    for opening, closing in working_windows(cal, at):
        opening = max(opening, at)
        if left <= closing - opening:
            return opening + left
        left -= closing - opening
    raise AssertionError("unreachable")


def walked_between(cal: BusinessCalendar, low: datetime, high: datetime) -> timedelta:
    total = timedelta(0)
    for opening, closing in working_windows(cal, low, until=high):
        if opening >= high:
            break
        total += min(closing, high) - max(opening, low)
    return total


@PROPERTY
@given(calendars(), st.lists(st.tuples(instants, st.integers(0, 30 * 24 * 3600)), min_size=1, max_size=6))
def test_adding_and_measuring_agree_with_walking_the_windows(cal: BusinessCalendar, asked: list) -> None:
    """In any order of questions (the calendar keeps what it worked out between them): the same answers."""
    for start, seconds in asked:
        amount = timedelta(seconds=seconds)
        assert add_business_time(cal, start, amount) == walked_add(cal, start, amount)
        end = start + amount
        assert business_time_between(cal, start, end) == walked_between(cal, start, end)

"""SLA policies and clocks: which policy applies to a complaint, and where its clocks stand.

Everything here is a pure function of a policy, its business calendar, the complaint's history
and `now`, so the API (showing a complaint's SLA), the worker (escalating due clocks) and
reports all compute the same answer.

Three clocks, each counted in business minutes of the policy's calendar:

- FIRST_RESPONSE runs from filing until someone responds: the first status change away from
  OPEN (normally to ACKNOWLEDGED; a jump straight to IN_PROGRESS or beyond also responds) or
  the first progress entry, whichever is earlier. It never pauses.
- RESOLUTION runs from filing while the complaint is OPEN, ACKNOWLEDGED or IN_PROGRESS, is
  PAUSED while WAITING_ON_CUSTOMER (that time is kept out) and stops at RESOLVED or CLOSED.
  Reopening (RESOLVED -> IN_PROGRESS) resumes the SAME clock: the business time used before
  the resolution still counts, the time spent resolved does not. A breach stays a breach.
- NEXT_UPDATE is the cadence: at most `update_interval_minutes` business minutes between
  progress entries while unresolved. Each cycle starts at the latest of filing, the last
  progress entry and the last reopening; it pauses while WAITING_ON_CUSTOMER like resolution
  does. It is NOT_APPLICABLE without an interval and while RESOLVED or CLOSED.

`due_at` is the first instant at which the target counts as missed: stopping a clock before it
is MET, at or after it is late (BREACHED, with `met_at` set). While PAUSED, `due_at` and
`warn_at_time` say when they would fall if the pause ended now; for a MET clock, when the
target would have fallen. `remaining_minutes` is whole business minutes left, rounded down:
negative once more than an instant overdue, 0 at the very due instant (already BREACHED).

Escalation happens exactly once per (clock, kind, cycle): `pending_events`/`due_events` take
the set of event keys the caller has already fired and never return those again.
"""
from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Callable, Collection, Iterable, NamedTuple, Sequence, TypeVar

from domain.calendar import BusinessCalendar, add_business_time, business_time_between
from domain.complaint_status import (  # the clocks are a function of the status history
    PAUSED_STATUSES,
    RUNNING_STATUSES,
    STOPPED_STATUSES,
    ComplaintStatus,
    Priority,
)
from domain.customer import CustomerTier
from domain.shared import E, InvalidInput, as_utc, coerce_choice, require_text

MAX_NAME_LENGTH = 100
MAX_TARGET_MINUTES = 525_600  # a year of round-the-clock minutes; anything longer is a typo
DEFAULT_WARN_AT = 0.8
_MINUTE = timedelta(minutes=1)
_ZERO = timedelta(0)


class SlaTargetState(StrEnum):
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    WARNING = "WARNING"
    MET = "MET"
    BREACHED = "BREACHED"
    NOT_APPLICABLE = "NOT_APPLICABLE"


class ClockName(StrEnum):
    FIRST_RESPONSE = "FIRST_RESPONSE"
    RESOLUTION = "RESOLUTION"
    NEXT_UPDATE = "NEXT_UPDATE"


class SlaEventKind(StrEnum):
    WARNING = "WARNING"
    BREACH = "BREACH"




# ------------------------------------------------------------------------------------ policies


@dataclass(frozen=True)
class SlaPolicy:
    """Targets for the complaints it matches; null criteria match anything."""

    name: str
    calendar_id: uuid.UUID
    first_response_minutes: int
    resolution_minutes: int
    category_id: uuid.UUID | None = None
    priority: Priority | None = None
    customer_tier: CustomerTier | None = None
    update_interval_minutes: int | None = None
    warn_at: float = DEFAULT_WARN_AT
    escalate_to_id: uuid.UUID | None = None
    active: bool = True
    id: uuid.UUID = field(default_factory=uuid.uuid4)

    @classmethod
    def define(
        cls,
        *,
        name: str,
        calendar_id: uuid.UUID,
        first_response_minutes: int,
        resolution_minutes: int,
        category_id: uuid.UUID | None = None,
        priority: str | None = None,
        customer_tier: str | None = None,
        update_interval_minutes: int | None = None,
        warn_at: float | None = None,
        escalate_to_id: uuid.UUID | None = None,
        active: bool = True,
        id: uuid.UUID | None = None,
    ) -> "SlaPolicy":
        """Validate user input; InvalidInput fields follow DefineSlaPolicyInput. Whether the
        referenced category, calendar and staff exist is the use case's business."""
        first = _check_minutes(first_response_minutes, "firstResponseMinutes")
        resolution = _check_minutes(resolution_minutes, "resolutionMinutes")
        if resolution < first:
            raise InvalidInput("Resolution cannot be due before the first response.", field=("resolutionMinutes",))
        return cls(
            name=require_text(name, "name", max_length=MAX_NAME_LENGTH) or "",
            calendar_id=_check_id(calendar_id, "calendarId", required=True),  # type: ignore[arg-type]
            first_response_minutes=first,
            resolution_minutes=resolution,
            category_id=_check_id(category_id, "categoryId"),
            priority=_check_choice(Priority, priority, "priority"),
            customer_tier=_check_choice(CustomerTier, customer_tier, "customerTier"),
            update_interval_minutes=None if update_interval_minutes is None else _check_minutes(update_interval_minutes, "updateIntervalMinutes"),
            warn_at=_check_warn_at(warn_at),
            escalate_to_id=_check_id(escalate_to_id, "escalateToId"),
            active=bool(active),
            id=id or uuid.uuid4(),
        )

    def matches(self, category_path: Sequence[uuid.UUID], priority: str | None, tier: str | None) -> bool:
        return (
            self.active
            and (self.category_id is None or self.category_id in category_path)
            and (self.priority is None or self.priority == priority)
            and (self.customer_tier is None or self.customer_tier == tier)
        )


def _check_minutes(value: object, field_name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TARGET_MINUTES:
        raise InvalidInput(f"{field_name} must be a whole number of minutes from 1 to {MAX_TARGET_MINUTES}.", field=(field_name,))
    return value


def _check_warn_at(value: object) -> float:
    if value is None:
        return DEFAULT_WARN_AT
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not 0 < value < 1:
        raise InvalidInput("warnAt must be a share between 0 and 1 (exclusive), e.g. 0.8.", field=("warnAt",))
    return float(value)


def _check_id(value: object, field_name: str, *, required: bool = False) -> uuid.UUID | None:
    if value is None and not required:
        return None
    if not isinstance(value, uuid.UUID):
        raise InvalidInput(f"{field_name} must be an id.", field=(field_name,))
    return value


def _check_choice(enum: type[E], value: object, field_name: str) -> E | None:
    return None if value is None else coerce_choice(enum, value, field_name)


def match_policy(
    policies: Iterable[SlaPolicy],
    category_path: Sequence[uuid.UUID],
    priority: str | None,
    tier: str | None,
) -> SlaPolicy | None:
    """The most specific active policy matching a complaint, or None.

    `category_path` runs from the complaint's own category up to the root. Specificity:
    category first (a nearer ancestor beats a farther one, any category beats none), then
    priority, then customer tier. Equally specific policies are duplicates in all but targets;
    the stricter one wins (shorter resolution, then first response, then update interval),
    then the name and finally the id, so the answer never depends on input order."""
    path = list(category_path)

    def rank(policy: SlaPolicy) -> tuple:  # type: ignore[type-arg]
        category_rank = len(path) - path.index(policy.category_id) if policy.category_id is not None else 0
        return (
            -category_rank,
            policy.priority is None,
            policy.customer_tier is None,
            policy.resolution_minutes,
            policy.first_response_minutes,
            policy.update_interval_minutes if policy.update_interval_minutes is not None else math.inf,
            policy.name,
            str(policy.id),
        )

    candidates = [policy for policy in policies if policy.matches(path, priority, tier)]
    return min(candidates, key=rank, default=None)


# -------------------------------------------------------------------------------------- clocks


class StatusChange(NamedTuple):
    at: datetime
    from_status: str | None
    to_status: str


@dataclass(frozen=True)
class SlaTarget:
    """Where one clock stands at `now`. `cycle_start` identifies the clock's current cycle
    (the filing time, or for NEXT_UPDATE the instant the current gap began)."""

    clock: ClockName
    state: SlaTargetState
    due_at: datetime | None = None
    met_at: datetime | None = None
    remaining_minutes: int | None = None
    warn_at_time: datetime | None = None
    cycle_start: datetime | None = None

    @property
    def stopped(self) -> bool:
        return self.met_at is not None or self.state is SlaTargetState.NOT_APPLICABLE


@dataclass(frozen=True)
class SlaEvaluation:
    now: datetime
    first_response: SlaTarget
    resolution: SlaTarget
    next_update: SlaTarget

    @property
    def targets(self) -> tuple[SlaTarget, SlaTarget, SlaTarget]:
        return (self.first_response, self.resolution, self.next_update)

    @property
    def at_risk(self) -> bool:
        """At least one target in WARNING or BREACHED (the `slaAtRisk` filter)."""
        return any(t.state in (SlaTargetState.WARNING, SlaTargetState.BREACHED) for t in self.targets)


def _utc(at: datetime) -> datetime:
    return as_utc(at, "An SLA clock")


_Segment = tuple[datetime, datetime]


class _Period(NamedTuple):
    start: datetime
    end: datetime
    status: ComplaintStatus


def running_stretches(filed_at: datetime, status_history: Iterable[tuple[datetime, str | None, str]],
                      until: datetime) -> list[_Segment]:
    """When the resolution clock ran between filing and `until`: the stretches OPEN, ACKNOWLEDGED or
    IN_PROGRESS (not WAITING_ON_CUSTOMER, not RESOLVED before a reopening). `status_history` as `evaluate_sla`
    takes it."""
    filed = _utc(filed_at)
    end = max(_utc(until), filed)
    return _running(_periods(filed, _changes(filed, status_history, end), end))


def _changes(filed: datetime, status_history: Iterable[tuple[datetime, str | None, str]],
             now: datetime) -> list[StatusChange]:
    """The changes up to `now`, in order; those before filing count as at filing."""
    return sorted(
        (StatusChange(max(_utc(at), filed), from_status, to_status) for at, from_status, to_status in status_history
         if _utc(at) <= now),
        key=lambda change: change.at,
    )


def _running(periods: Sequence[_Period]) -> list[_Segment]:
    return [(p.start, p.end) for p in periods if p.status in RUNNING_STATUSES and p.end > p.start]


def _periods(filed: datetime, changes: Sequence[StatusChange], now: datetime) -> list[_Period]:
    """The complaint's statuses as back-to-back periods from filing to `now`."""
    periods: list[_Period] = []
    start, status = filed, ComplaintStatus.OPEN
    for change in changes:
        periods.append(_Period(start, change.at, status))
        start, status = change.at, ComplaintStatus(change.to_status)
    periods.append(_Period(start, now, status))
    return periods


KNOWN_KEPT = 20_000  # answers a calendar remembers for the clocks (then it starts afresh)
_T = TypeVar("_T")


def _known(calendar: BusinessCalendar) -> dict[object, object]:
    """What the clocks worked out on `calendar` that no later `now` changes: business time within a stretch that
    has ended, and where a target falls inside what already ran. A page of complaints is asked again and again
    (the service queue), and only its running stretches' ends move. Kept on the calendar object (its values are
    its own: an edited calendar is another object), bounded."""
    known = calendar.__dict__.get("_sla_known")
    if known is None or len(known) > KNOWN_KEPT:
        known = calendar.__dict__["_sla_known"] = {}
    return known  # type: ignore[no-any-return]


def _remembered(known: dict[object, object], key: object, work: Callable[[], _T]) -> _T:
    found = known.get(key)
    if found is None:
        found = known[key] = work()
    return found  # type: ignore[return-value]


def _clock(
    clock: ClockName,
    calendar: BusinessCalendar,
    minutes: int,
    warn_at: float,
    segments: Sequence[_Segment],
    *,
    paused: bool,
    stopped_at: datetime | None,
    now: datetime,
    cycle_start: datetime,
) -> SlaTarget:
    """A clock that ran during `segments` (all ending by `now`), is now running, paused or
    stopped, and has a target of `minutes` business minutes."""
    target = minutes * _MINUTE
    warning = max(timedelta(seconds=1), timedelta(seconds=round(minutes * 60 * warn_at)))
    known = _known(calendar)
    spans = [business_time_between(calendar, start, end) if end == now else _remembered(
        known, (start, end), lambda start=start, end=end: business_time_between(calendar, start, end))
        for start, end in segments]
    elapsed = sum(spans, _ZERO)  # business_time_within, keeping each stretch's share for `reached`
    # Where the clock would continue: from the stop, or from now (running, or resumed now).
    resume_at = stopped_at if stopped_at is not None else now
    # Running right now: a target not reached yet falls `amount - used` after now, which is where it falls counted
    # from the start of the running stretch (business time is additive, and none passes between the stretch's
    # last business instant and now), and that does not move with now (tests/unit/test_sla.py).
    running_now = stopped_at is None and not paused and bool(segments) and segments[-1][1] == now

    def reached(amount: timedelta) -> datetime:
        used = _ZERO
        for (start, _end), span in zip(segments, spans):
            if used + span >= amount:  # within what ran: the same answer at every `now`
                left = amount - used
                return _remembered(known, (start, left), lambda: add_business_time(calendar, start, left))
            used += span
        if running_now:  # from the start of what runs now, not from now: the same instant, and the same at any now
            start, left = segments[-1][0], amount - used + spans[-1]
            return _remembered(known, (start, left), lambda: add_business_time(calendar, start, left))
        return add_business_time(calendar, resume_at, amount - used)

    due_at, warn_time = reached(target), reached(warning)
    remaining = (target - elapsed) // _MINUTE
    if stopped_at is not None:
        on_time = stopped_at < due_at
        state = SlaTargetState.MET if on_time else SlaTargetState.BREACHED
        return SlaTarget(clock, state, due_at, stopped_at, None if on_time else remaining, warn_time, cycle_start)
    if elapsed >= target:
        state = SlaTargetState.BREACHED
    elif paused:
        state = SlaTargetState.PAUSED
    elif elapsed >= warning:
        state = SlaTargetState.WARNING
    else:
        state = SlaTargetState.RUNNING
    return SlaTarget(clock, state, due_at, None, remaining, warn_time, cycle_start)


def evaluate_sla(
    policy: SlaPolicy,
    calendar: BusinessCalendar,
    filed_at: datetime,
    status_history: Iterable[tuple[datetime, str | None, str]],
    progress_at: Iterable[datetime],
    now: datetime,
) -> SlaEvaluation:
    """Where the three clocks stand at `now`.

    `status_history` holds (at, from_status, to_status) changes in any order; only `to_status`
    is used, the complaint starts OPEN at `filed_at`. History after `now` is ignored and
    history before filing is treated as happening at filing."""
    if calendar.id != policy.calendar_id:
        raise ValueError("The calendar is not the policy's calendar.")
    filed = _utc(filed_at)
    now = max(_utc(now), filed)
    changes = _changes(filed, status_history, now)
    progress = sorted(max(_utc(at), filed) for at in progress_at if _utc(at) <= now)
    periods = _periods(filed, changes, now)
    status = periods[-1].status
    running = _running(periods)

    # First response: the earliest status change away from OPEN, or the first progress entry.
    responses = [c.at for c in changes if ComplaintStatus(c.to_status) is not ComplaintStatus.OPEN] + progress[:1]
    responded = min(responses, default=None)
    first_response = _clock(
        ClockName.FIRST_RESPONSE, calendar, policy.first_response_minutes, policy.warn_at,
        [(filed, responded or now)], paused=False, stopped_at=responded, now=now, cycle_start=filed,
    )

    # Resolution: met at the start of the current resolved/closed stretch, if there is one.
    resolved_at = None
    if status in STOPPED_STATUSES:
        resolved_at = periods[-1].start
        for period in reversed(periods):
            if period.status not in STOPPED_STATUSES:
                break
            resolved_at = period.start
    resolution = _clock(
        ClockName.RESOLUTION, calendar, policy.resolution_minutes, policy.warn_at,
        running, paused=status in PAUSED_STATUSES, stopped_at=resolved_at, now=now, cycle_start=filed,
    )

    # Next update: a new cycle at filing, each progress entry and each reopening.
    if policy.update_interval_minutes is None or status in STOPPED_STATUSES:
        next_update = SlaTarget(ClockName.NEXT_UPDATE, SlaTargetState.NOT_APPLICABLE)
    else:
        reopenings = [
            later.start for earlier, later in zip(periods, periods[1:])
            if earlier.status in STOPPED_STATUSES and later.status not in STOPPED_STATUSES
        ]
        cycle_start = max([filed, *progress[-1:], *reopenings])
        segments = [(max(start, cycle_start), end) for start, end in running if end > cycle_start]
        next_update = _clock(
            ClockName.NEXT_UPDATE, calendar, policy.update_interval_minutes, policy.warn_at,
            segments, paused=status in PAUSED_STATUSES, stopped_at=None, now=now, cycle_start=cycle_start,
        )
    return SlaEvaluation(now, first_response, resolution, next_update)


# -------------------------------------------------------------------------------------- events


class SlaEventKey(NamedTuple):
    """What the caller records once an event has fired. The cycle matters only for NEXT_UPDATE,
    whose warning and breach may fire again after each progress entry."""

    clock: ClockName
    kind: SlaEventKind
    cycle_start: datetime


@dataclass(frozen=True)
class SlaEvent:
    clock: ClockName
    kind: SlaEventKind
    at: datetime
    cycle_start: datetime

    @property
    def key(self) -> SlaEventKey:
        return SlaEventKey(self.clock, self.kind, self.cycle_start)


def pending_events(evaluation: SlaEvaluation, fired: Collection[SlaEventKey] = ()) -> list[SlaEvent]:
    """Warnings and breaches not yet in `fired`, past or future, earliest first.

    Met and not-applicable clocks owe nothing. A paused clock owes only what it already
    crossed before pausing. A breach supersedes a warning that was never fired (a worker that
    was down does not send a stale warning together with the breach)."""
    fired = set(fired)
    events: list[SlaEvent] = []
    for target in evaluation.targets:
        if target.stopped or target.due_at is None or target.warn_at_time is None or target.cycle_start is None:
            continue
        breach = SlaEvent(target.clock, SlaEventKind.BREACH, target.due_at, target.cycle_start)
        if breach.key in fired:
            continue
        breached = target.state is SlaTargetState.BREACHED
        running = target.state is not SlaTargetState.PAUSED
        if breached or running:
            events.append(breach)
        warning = SlaEvent(target.clock, SlaEventKind.WARNING, target.warn_at_time, target.cycle_start)
        if not breached and warning.key not in fired and (running or warning.at <= evaluation.now):
            events.append(warning)
    return sorted(events, key=lambda e: (e.at, list(ClockName).index(e.clock), e.kind is SlaEventKind.BREACH))


def due_events(evaluation: SlaEvaluation, fired: Collection[SlaEventKey] = ()) -> list[SlaEvent]:
    """The events to fire now. Record each fired `event.key` and pass them back next time:
    that is what makes escalation happen exactly once."""
    return [event for event in pending_events(evaluation, fired) if event.at <= evaluation.now]


def next_deadline(evaluation: SlaEvaluation, fired: Collection[SlaEventKey] = ()) -> datetime | None:
    """The earliest instant at which an event not in `fired` falls due, for an indexed column:
    a worker selects complaints with `next_deadline <= now`, fires `due_events`, records them
    and stores the new value. It is in the past when something is due and not yet fired, and
    None when nothing can fall due without a status change (all clocks met or paused)."""
    return min((event.at for event in pending_events(evaluation, fired)), default=None)

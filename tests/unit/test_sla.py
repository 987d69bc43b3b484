"""SLA policies and clocks: validation, matching, the three clocks across pauses, reopenings,
warnings and breaches, and escalation events that fire exactly once.

Clock tests run on a Berlin office calendar (08:00-12:00 and 13:00-17:00, Monday to Friday)
with a policy of 60 minutes to first response, 480 to resolution, an update every 240 and a
warning at 80 %. 2026-03-02 is a Monday.
"""
from __future__ import annotations

import itertools
import math
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.calendar import BusinessCalendar, add_business_time, business_time_between
from domain.complaint_status import ComplaintStatus, Priority
from domain.customer import CustomerTier
from domain.shared import InvalidInput
from domain.sla import (
    MAX_TARGET_MINUTES,
    ClockName,
    SlaEvaluation,
    SlaEvent,
    SlaEventKey,
    SlaEventKind,
    SlaPolicy,
    SlaTargetState,
    StatusChange,
    due_events,
    evaluate_sla,
    match_policy,
    next_deadline,
    pending_events,
)
from tests.conftest import examples

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = BusinessCalendar.define(
    "Berlin office", "Europe/Berlin",
    [(d, start, end) for d in range(1, 6) for start, end in (("08:00", "12:00"), ("13:00", "17:00"))],
    ["2026-04-03", "2026-04-06"],
)
POLICY = SlaPolicy.define(
    name="Standard", calendar_id=OFFICE.id, first_response_minutes=60, resolution_minutes=480,
    update_interval_minutes=240, warn_at=0.8,
)
NO_CADENCE = SlaPolicy.define(name="No cadence", calendar_id=OFFICE.id, first_response_minutes=60, resolution_minutes=480)

S = ComplaintStatus
State = SlaTargetState
FR, RES, NU = ClockName.FIRST_RESPONSE, ClockName.RESOLUTION, ClockName.NEXT_UPDATE
WARN, BREACH = SlaEventKind.WARNING, SlaEventKind.BREACH


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BERLIN)


FILED = at(2, 9)


def change(when: datetime, frm: str | None, to: str) -> StatusChange:
    return StatusChange(when, frm, to)


def evaluate(history: list = (), progress: list = (), now: datetime = FILED, *, policy: SlaPolicy = POLICY,
             filed: datetime = FILED) -> SlaEvaluation:  # type: ignore[assignment]
    return evaluate_sla(policy, OFFICE, filed, history, progress, now)


# ----------------------------------------------------------------------------------- policies


def test_define_fills_defaults_and_normalises_choices() -> None:
    category, staff = uuid.uuid4(), uuid.uuid4()
    policy = SlaPolicy.define(name="  Gold  ", calendar_id=OFFICE.id, first_response_minutes=30, resolution_minutes=30,
                              category_id=category, priority="HIGH", customer_tier="GOLD", escalate_to_id=staff)
    assert policy.name == "Gold" and policy.warn_at == 0.8 and policy.active
    assert policy.priority is Priority.HIGH and policy.customer_tier is CustomerTier.GOLD
    assert policy.update_interval_minutes is None and policy.escalate_to_id == staff
    assert SlaPolicy.define(name="x", calendar_id=OFFICE.id, first_response_minutes=1,
                            resolution_minutes=MAX_TARGET_MINUTES, warn_at=0.5, active=False).active is False


GOOD = {"name": "Policy", "calendar_id": OFFICE.id, "first_response_minutes": 60, "resolution_minutes": 480}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": " "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"calendar_id": None}, "calendarId"),
        ({"calendar_id": "not-an-id"}, "calendarId"),
        ({"category_id": "not-an-id"}, "categoryId"),
        ({"escalate_to_id": 42}, "escalateToId"),
        ({"first_response_minutes": 0}, "firstResponseMinutes"),
        ({"first_response_minutes": -5}, "firstResponseMinutes"),
        ({"first_response_minutes": 1.5}, "firstResponseMinutes"),
        ({"first_response_minutes": True}, "firstResponseMinutes"),
        ({"first_response_minutes": None}, "firstResponseMinutes"),
        ({"resolution_minutes": MAX_TARGET_MINUTES + 1}, "resolutionMinutes"),
        ({"resolution_minutes": 30}, "resolutionMinutes"),  # before the first response
        ({"update_interval_minutes": 0}, "updateIntervalMinutes"),
        ({"update_interval_minutes": MAX_TARGET_MINUTES + 1}, "updateIntervalMinutes"),
        ({"warn_at": 0}, "warnAt"),
        ({"warn_at": 1}, "warnAt"),
        ({"warn_at": 1.2}, "warnAt"),
        ({"warn_at": -0.1}, "warnAt"),
        ({"warn_at": math.nan}, "warnAt"),
        ({"warn_at": True}, "warnAt"),
        ({"warn_at": "0.8"}, "warnAt"),
        ({"priority": "CRITICAL"}, "priority"),
        ({"customer_tier": "PLATINUM"}, "customerTier"),
    ],
)
def test_define_refuses_bad_input_with_the_contracts_field_names(overrides: dict, field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        SlaPolicy.define(**{**GOOD, **overrides})
    assert err.value.field == (field,)


ROOT, CHILD, GRANDCHILD, OTHER, UNRELATED = (uuid.UUID(int=i) for i in range(1, 6))
LINEAGE = [GRANDCHILD, CHILD, ROOT]


def policy(name: str, **criteria: object) -> SlaPolicy:
    return SlaPolicy.define(name=name, calendar_id=OFFICE.id, first_response_minutes=60, resolution_minutes=480,
                            id=uuid.UUID(int=abs(hash(name)) % 10**12), **criteria)  # type: ignore[arg-type]


CATALOGUE = [
    policy("any"),
    policy("high", priority="HIGH"),
    policy("gold", customer_tier="GOLD"),
    policy("high gold", priority="HIGH", customer_tier="GOLD"),
    policy("root", category_id=ROOT),
    policy("root gold", category_id=ROOT, customer_tier="GOLD"),
    policy("child", category_id=CHILD),
    policy("child high", category_id=CHILD, priority="HIGH"),
    policy("grandchild, retired", category_id=GRANDCHILD, priority="HIGH", active=False),
    policy("other", category_id=OTHER),
]


@pytest.mark.parametrize(
    ("path", "priority", "tier", "expected"),
    [
        (LINEAGE, "HIGH", "GOLD", "child high"),  # nearest active category, then priority
        (LINEAGE, "LOW", "GOLD", "child"),  # nearer category beats root + tier
        (LINEAGE, Priority.HIGH, CustomerTier.GOLD, "child high"),  # enums work as well as strings
        ([CHILD, ROOT], "URGENT", "STANDARD", "child"),
        ([ROOT], "HIGH", "GOLD", "root gold"),  # any category beats priority + tier
        ([ROOT], "HIGH", "SILVER", "root"),
        ([OTHER], "HIGH", "GOLD", "other"),
        ([UNRELATED], "HIGH", "GOLD", "high gold"),
        ([UNRELATED], "HIGH", "STANDARD", "high"),  # priority beats tier
        ([UNRELATED], "LOW", "GOLD", "gold"),
        ([UNRELATED], "LOW", "STANDARD", "any"),
        ([], "NORMAL", None, "any"),
    ],
)
def test_the_most_specific_active_policy_wins(path: list, priority: str, tier: str | None, expected: str) -> None:
    chosen = match_policy(CATALOGUE, path, priority, tier)
    assert chosen is not None and chosen.name == expected
    for order in (list(reversed(CATALOGUE)), CATALOGUE[3:] + CATALOGUE[:3]):
        assert match_policy(order, path, priority, tier) == chosen


def test_no_match_gives_none() -> None:
    assert match_policy([], LINEAGE, "HIGH", "GOLD") is None
    assert match_policy([p for p in CATALOGUE if p.category_id == OTHER or not p.active], LINEAGE, "HIGH", "GOLD") is None
    assert match_policy([policy("high only", priority="HIGH")], LINEAGE, "LOW", "GOLD") is None


def test_ties_go_to_the_stricter_policy_then_the_name_then_the_id_whatever_the_order() -> None:
    base = dict(calendar_id=OFFICE.id, priority="HIGH")
    lenient = SlaPolicy.define(name="a lenient", first_response_minutes=60, resolution_minutes=600, **base)  # type: ignore[arg-type]
    strict = SlaPolicy.define(name="z strict", first_response_minutes=60, resolution_minutes=480, **base)  # type: ignore[arg-type]
    faster = SlaPolicy.define(name="z faster", first_response_minutes=30, resolution_minutes=480, **base)  # type: ignore[arg-type]
    twin_a = SlaPolicy.define(name="twin", first_response_minutes=10, resolution_minutes=100, id=uuid.UUID(int=7), **base)  # type: ignore[arg-type]
    twin_b = SlaPolicy.define(name="twin", first_response_minutes=10, resolution_minutes=100, id=uuid.UUID(int=9), **base)  # type: ignore[arg-type]
    for order in itertools.permutations([lenient, strict, faster]):
        assert match_policy(order, [], "HIGH", None) is faster
    for order in itertools.permutations([lenient, strict]):
        assert match_policy(order, [], "HIGH", None) is strict
    for order in itertools.permutations([twin_b, twin_a, strict]):
        assert match_policy(order, [], "HIGH", None) is twin_a


@settings(max_examples=examples(100), deadline=None)
@given(st.permutations(CATALOGUE), st.sampled_from([LINEAGE, [CHILD, ROOT], [ROOT], [OTHER], [UNRELATED]]),
       st.sampled_from(list(Priority)), st.sampled_from(list(CustomerTier)))
def test_matching_is_order_independent_and_respects_every_criterion(policies: list, path: list, prio: Priority,
                                                                     tier: CustomerTier) -> None:
    chosen = match_policy(policies, path, prio, tier)
    assert chosen == match_policy(CATALOGUE, path, prio, tier)
    assert chosen is not None and chosen.active  # "any" always matches
    assert chosen.category_id in (None, *path)
    assert chosen.priority in (None, prio) and chosen.customer_tier in (None, tier)


# ----------------------------------------------------------------------------- first response


@pytest.mark.parametrize(
    ("history", "progress", "now", "state", "due", "met", "remaining"),
    [
        ([], [], at(2, 9, 30), State.RUNNING, at(2, 10), None, 30),
        ([], [], at(2, 9, 48), State.WARNING, at(2, 10), None, 12),  # 80 % of 60 minutes used
        ([], [], at(2, 10), State.BREACHED, at(2, 10), None, 0),  # the due instant is already late
        ([], [], at(2, 10, 1), State.BREACHED, at(2, 10), None, -1),
        ([], [], at(3, 10), State.BREACHED, at(2, 10), None, -480),  # 540 business minutes used
        ([change(at(2, 9, 40), S.OPEN, S.ACKNOWLEDGED)], [], at(2, 11), State.MET, at(2, 10), at(2, 9, 40), None),
        ([change(at(2, 9, 40), S.OPEN, S.ACKNOWLEDGED)], [at(2, 9, 20)], at(2, 11), State.MET, at(2, 10), at(2, 9, 20), None),
        ([change(at(2, 9, 30), S.OPEN, S.IN_PROGRESS)], [], at(2, 11), State.MET, at(2, 10), at(2, 9, 30), None),
        ([change(at(2, 10, 30), S.OPEN, S.ACKNOWLEDGED)], [], at(2, 11), State.BREACHED, at(2, 10), at(2, 10, 30), -30),
        ([change(at(2, 10), S.OPEN, S.ACKNOWLEDGED)], [], at(2, 11), State.BREACHED, at(2, 10), at(2, 10), 0),
        ([change(at(2, 9, 40), S.OPEN, S.ACKNOWLEDGED)], [], at(2, 9, 30), State.RUNNING, at(2, 10), None, 30),  # future ignored
    ],
)
def test_first_response(history: list, progress: list, now: datetime, state: State, due: datetime,
                        met: datetime | None, remaining: int | None) -> None:
    target = evaluate(history, progress, now).first_response
    assert (target.state, target.due_at, target.met_at, target.remaining_minutes) == (state, due, met, remaining)
    assert target.warn_at_time == at(2, 9, 48)
    assert target.due_at.tzinfo is UTC and target.cycle_start == FILED


def test_first_response_counts_business_time_only() -> None:
    friday = at(6, 16, 30)
    target = evaluate(now=at(9, 8, 10), filed=friday).first_response
    assert (target.state, target.due_at, target.warn_at_time, target.remaining_minutes) == (State.RUNNING, at(9, 8, 30), at(9, 8, 18), 20)
    saturday = evaluate(now=at(7, 12), filed=at(7, 10)).first_response
    assert (saturday.state, saturday.due_at, saturday.remaining_minutes) == (State.RUNNING, at(9, 9), 60)


def test_clocks_run_across_the_dst_weekend_in_local_office_hours() -> None:
    evaluation = evaluate(now=at(30, 9), filed=at(27, 16))  # Friday before the clocks go forward
    assert evaluation.first_response.due_at == at(27, 17) == datetime(2026, 3, 27, 16, tzinfo=UTC)
    assert evaluation.resolution.due_at == at(30, 16) == datetime(2026, 3, 30, 14, tzinfo=UTC)  # 60 Friday, 420 Monday
    assert evaluation.resolution.remaining_minutes == 480 - 60 - 60


# -------------------------------------------------------------------------------- resolution

WAIT = [change(at(2, 10), S.IN_PROGRESS, S.WAITING_ON_CUSTOMER)]
WAIT_AND_BACK = WAIT + [change(at(3, 10), S.WAITING_ON_CUSTOMER, S.IN_PROGRESS)]
RESOLVED = [change(at(2, 9, 30), S.OPEN, S.IN_PROGRESS), change(at(2, 11), S.IN_PROGRESS, S.RESOLVED)]
REOPENED = RESOLVED + [change(at(4, 9), S.RESOLVED, S.IN_PROGRESS)]


@pytest.mark.parametrize(
    ("history", "now", "state", "due", "met", "remaining"),
    [
        ([], at(2, 16), State.RUNNING, at(3, 9), None, 120),
        ([], at(2, 16, 30), State.WARNING, at(3, 9), None, 90),  # warning from 16:24 (384 minutes)
        ([], at(3, 9), State.BREACHED, at(3, 9), None, 0),
        ([], at(3, 10), State.BREACHED, at(3, 9), None, -60),
        # waiting on the customer: paused, due as if the pause ended now
        (WAIT, at(2, 15), State.PAUSED, at(3, 14), None, 420),
        (WAIT, at(9, 15), State.PAUSED, at(10, 14), None, 420),  # a week later, the same 420 left
        (WAIT_AND_BACK, at(3, 11), State.RUNNING, at(4, 9), None, 360),
        # a breach survives a pause
        ([change(at(3, 9, 30), S.OPEN, S.WAITING_ON_CUSTOMER)], at(4, 12), State.BREACHED, at(3, 9), None, -30),
        # resolved in time, late, exactly on the due instant
        (RESOLVED, at(2, 12), State.MET, at(3, 9), at(2, 11), None),
        ([change(at(3, 10), S.OPEN, S.RESOLVED)], at(3, 12), State.BREACHED, at(3, 9), at(3, 10), -60),
        ([change(at(3, 9), S.OPEN, S.RESOLVED)], at(3, 12), State.BREACHED, at(3, 9), at(3, 9), 0),
        # closing keeps the resolution time
        (RESOLVED + [change(at(5, 9), S.RESOLVED, S.CLOSED)], at(6, 9), State.MET, at(3, 9), at(2, 11), None),
        # reopening resumes the same clock: 120 minutes used before, the resolved days free
        (REOPENED, at(4, 10), State.RUNNING, at(4, 16), None, 300),
        (REOPENED + [change(at(4, 15), S.IN_PROGRESS, S.RESOLVED)], at(4, 16), State.MET, at(4, 16), at(4, 15), None),
        (REOPENED + [change(at(4, 17), S.IN_PROGRESS, S.RESOLVED)], at(5, 9), State.BREACHED, at(4, 16), at(4, 17), -60),
    ],
)
def test_resolution(history: list, now: datetime, state: State, due: datetime, met: datetime | None, remaining: int | None) -> None:
    target = evaluate(history, [], now).resolution
    assert (target.state, target.due_at, target.met_at, target.remaining_minutes) == (state, due, met, remaining)


def test_paused_clock_reports_when_it_would_warn_if_resumed() -> None:
    target = evaluate(WAIT, [], at(2, 15)).resolution
    assert target.warn_at_time == at(3, 11, 24)  # 60 used, 324 more from 15:00
    crossed = evaluate([change(at(2, 16, 30), S.OPEN, S.WAITING_ON_CUSTOMER)], [], at(3, 9)).resolution
    assert crossed.state is State.PAUSED and crossed.warn_at_time == at(2, 16, 24)


def test_history_in_any_order_and_any_zone_gives_the_same_answer() -> None:
    shuffled = [StatusChange(c.at.astimezone(UTC), c.from_status, c.to_status) for c in reversed(WAIT_AND_BACK)]
    assert evaluate(shuffled, [], at(3, 11)) == evaluate(WAIT_AND_BACK, [], at(3, 11))
    plain_tuples = [(c.at, str(c.from_status), str(c.to_status)) for c in WAIT_AND_BACK]
    assert evaluate(plain_tuples, [], at(3, 11)) == evaluate(WAIT_AND_BACK, [], at(3, 11))


# ------------------------------------------------------------------------------- next update


@pytest.mark.parametrize(
    ("history", "progress", "now", "state", "due", "remaining", "cycle"),
    [
        ([], [], at(2, 11), State.RUNNING, at(2, 14), 120, FILED),  # first gap counts from filing
        ([], [], at(2, 13, 30), State.WARNING, at(2, 14), 30, FILED),  # warning from 13:12
        ([], [], at(2, 14, 30), State.BREACHED, at(2, 14), -30, FILED),
        ([], [at(2, 10)], at(2, 11), State.RUNNING, at(2, 15), 180, at(2, 10)),
        ([], [at(2, 10), at(2, 14)], at(2, 16), State.RUNNING, at(3, 9), 120, at(2, 14)),
        ([], [at(2, 10), at(2, 14)], at(2, 13), State.RUNNING, at(2, 15), 120, at(2, 10)),  # later entry not yet made
        (WAIT, [at(2, 10)], at(2, 15), State.PAUSED, at(3, 10), 240, at(2, 10)),
        (WAIT_AND_BACK, [at(2, 9, 30)], at(3, 11), State.RUNNING, at(3, 14, 30), 150, at(2, 9, 30)),
        (REOPENED, [at(2, 10, 30)], at(4, 10), State.RUNNING, at(4, 14), 180, at(4, 9)),  # reopening starts a cycle
    ],
)
def test_next_update(history: list, progress: list, now: datetime, state: State, due: datetime, remaining: int,
                     cycle: datetime) -> None:
    target = evaluate(history, progress, now).next_update
    assert (target.state, target.due_at, target.remaining_minutes, target.cycle_start) == (state, due, remaining, cycle)
    assert target.met_at is None


@pytest.mark.parametrize(
    ("history", "policy"),
    [(RESOLVED, POLICY), (RESOLVED + [change(at(5, 9), S.RESOLVED, S.CLOSED)], POLICY), ([], NO_CADENCE), (WAIT, NO_CADENCE)],
)
def test_next_update_does_not_apply_once_resolved_or_without_a_cadence(history: list, policy: SlaPolicy) -> None:
    target = evaluate(history, [], at(5, 10), policy=policy).next_update
    assert target.state is State.NOT_APPLICABLE
    assert (target.due_at, target.met_at, target.remaining_minutes, target.warn_at_time) == (None, None, None, None)


def test_at_risk_means_a_warning_or_a_breach() -> None:
    assert not evaluate(now=at(2, 9, 30)).at_risk
    assert evaluate(now=at(2, 9, 50)).at_risk
    assert evaluate(now=at(2, 10, 30)).at_risk


def test_evaluation_refuses_a_foreign_calendar_and_naive_times() -> None:
    other = BusinessCalendar.define("Other", "UTC", [(1, "08:00", "16:00")])
    with pytest.raises(ValueError):
        evaluate_sla(POLICY, other, FILED, [], [], at(2, 10))
    with pytest.raises(ValueError):
        evaluate_sla(POLICY, OFFICE, datetime(2026, 3, 2, 9), [], [], at(2, 10))


def test_a_clock_read_before_filing_reads_as_at_filing() -> None:
    early = evaluate(now=at(2, 8))
    assert early.first_response.remaining_minutes == 60 and early.first_response.state is State.RUNNING


# ------------------------------------------------------------------------------------ events


def keys(events: list[SlaEvent]) -> list[tuple[ClockName, SlaEventKind]]:
    return [(e.clock, e.kind) for e in events]


def test_a_worker_waking_at_each_deadline_fires_every_event_once_in_order() -> None:
    fired: set[SlaEventKey] = set()
    log = []
    now = FILED
    deadline = next_deadline(evaluate(now=now), fired)
    while deadline is not None:
        now = deadline
        evaluation = evaluate(now=now)
        events = due_events(evaluation, fired)
        assert events, "woken for nothing"
        for event in events:
            assert event.key not in fired
            fired.add(event.key)
            log.append((event.clock, event.kind, event.at))
        deadline = next_deadline(evaluation, fired)
        assert deadline is None or deadline > now
    assert log == [
        (FR, WARN, at(2, 9, 48)), (FR, BREACH, at(2, 10)),
        (NU, WARN, at(2, 13, 12)), (NU, BREACH, at(2, 14)),
        (RES, WARN, at(2, 16, 24)), (RES, BREACH, at(3, 9)),
    ]
    assert due_events(evaluate(now=at(20, 9)), fired) == []


def test_nothing_is_due_before_its_time_and_nothing_twice() -> None:
    evaluation = evaluate(now=at(2, 9, 47))
    assert due_events(evaluation) == []
    assert next_deadline(evaluation) == at(2, 9, 48)
    assert keys(pending_events(evaluation)) == [(FR, WARN), (FR, BREACH), (NU, WARN), (NU, BREACH), (RES, WARN), (RES, BREACH)]
    evaluation = evaluate(now=at(2, 9, 50))
    [warning] = due_events(evaluation)
    assert warning.key == SlaEventKey(FR, WARN, FILED) and warning.at == at(2, 9, 48)
    assert due_events(evaluation, {warning.key}) == []
    assert next_deadline(evaluation, {warning.key}) == at(2, 10)
    assert next_deadline(evaluation) == at(2, 9, 48)  # unfired and past: due now


def test_a_late_worker_sends_the_breach_without_the_stale_warning() -> None:
    evaluation = evaluate(now=at(2, 10, 30))
    assert keys(due_events(evaluation)) == [(FR, BREACH)]
    assert keys(due_events(evaluation, {SlaEventKey(FR, BREACH, FILED)})) == []
    late = evaluate(now=at(3, 12))
    assert keys(due_events(late)) == [(FR, BREACH), (NU, BREACH), (RES, BREACH)]


def test_met_clocks_owe_nothing_and_paused_clocks_owe_only_what_they_crossed() -> None:
    history = [change(at(2, 9, 30), S.OPEN, S.ACKNOWLEDGED), change(at(2, 9, 40), S.ACKNOWLEDGED, S.WAITING_ON_CUSTOMER)]
    evaluation = evaluate(history, [], at(9, 9))
    assert [t.state for t in evaluation.targets] == [State.MET, State.PAUSED, State.PAUSED]
    assert pending_events(evaluation) == [] and next_deadline(evaluation) is None
    # paused after crossing the warning share: that warning is still owed, nothing else
    history = [change(at(2, 9, 30), S.OPEN, S.ACKNOWLEDGED), change(at(2, 16, 30), S.ACKNOWLEDGED, S.WAITING_ON_CUSTOMER)]
    evaluation = evaluate(history, [at(2, 13)], at(3, 9))
    assert keys(due_events(evaluation)) == [(NU, WARN), (RES, WARN)]  # 16:12 and 16:24
    assert next_deadline(evaluation, {SlaEventKey(NU, WARN, at(2, 13)), SlaEventKey(RES, WARN, FILED)}) is None
    # resolved late without the worker noticing: nothing to escalate any more
    evaluation = evaluate([change(at(3, 10), S.OPEN, S.RESOLVED)], [], at(3, 12))
    assert evaluation.resolution.state is State.BREACHED and pending_events(evaluation) == []


def test_each_update_gap_is_a_new_cycle_with_its_own_events() -> None:
    evaluation = evaluate([], [], at(2, 14, 30))
    fired = {e.key for e in due_events(evaluation)}
    assert SlaEventKey(NU, BREACH, FILED) in fired
    after_update = evaluate([], [at(2, 15)], at(3, 11))  # next gap: due Tue 10:00
    [event] = [e for e in due_events(after_update, fired) if e.clock is NU]
    assert event.key == SlaEventKey(NU, BREACH, at(2, 15)) and event.at == at(3, 10)
    # the breach of the first gap stays fired: reopening the question does not re-send it
    assert SlaEventKey(NU, BREACH, FILED) not in {e.key for e in due_events(after_update, fired)}


def test_reopening_does_not_refire_the_resolution_breach() -> None:
    history = [change(at(3, 10), S.OPEN, S.RESOLVED), change(at(4, 9), S.RESOLVED, S.IN_PROGRESS)]
    evaluation = evaluate(history, [], at(4, 9, 30))
    assert evaluation.resolution.state is State.BREACHED
    fired = {SlaEventKey(FR, BREACH, FILED), SlaEventKey(RES, BREACH, FILED)}
    assert all(e.clock is NU for e in due_events(evaluation, fired))


# A random complaint history: status moves and progress entries at random business-ish times.
MOVES = st.lists(
    st.tuples(st.integers(0, 7 * 24 * 60), st.sampled_from([S.ACKNOWLEDGED, S.IN_PROGRESS, S.WAITING_ON_CUSTOMER, S.RESOLVED, S.IN_PROGRESS])),
    max_size=6,
)


@settings(max_examples=examples(60), deadline=None)
@given(MOVES, st.lists(st.integers(0, 7 * 24 * 60), max_size=4), st.lists(st.integers(1, 600), min_size=1, max_size=40))
def test_any_worker_schedule_fires_each_event_at_most_once_and_never_early(moves: list, progress: list, naps: list) -> None:
    history, previous = [], S.OPEN
    for offset, status in sorted(moves):
        history.append(change(FILED + timedelta(minutes=offset), previous, status))
        previous = status
    entries = [FILED + timedelta(minutes=m) for m in progress]
    fired: set[SlaEventKey] = set()
    now = FILED
    for nap in naps:
        now += timedelta(minutes=nap)
        evaluation = evaluate(history, entries, now)
        for event in due_events(evaluation, fired):
            assert event.key not in fired and event.at <= now
            fired.add(event.key)
        deadline = next_deadline(evaluation, fired)
        assert deadline is None or deadline > now
        for target in evaluation.targets:
            if target.state is State.BREACHED and target.met_at is None:
                assert SlaEventKey(target.clock, BREACH, target.cycle_start) in fired
            if target.state in (State.MET, State.NOT_APPLICABLE):
                assert target.remaining_minutes is None
            elif target.state in (State.RUNNING, State.WARNING, State.PAUSED):
                assert target.remaining_minutes is not None and target.remaining_minutes >= 0
                assert target.due_at is not None and target.due_at > now


@settings(max_examples=examples(200), deadline=None)
@given(st.integers(0, 20 * 24 * 60), st.integers(0, 20 * 24 * 60), st.integers(1, 5 * 24 * 60))
def test_a_target_counted_from_a_running_stretchs_start_falls_where_it_falls_counted_from_now(
        start: int, running: int, more: int) -> None:
    """What the clocks rely on to answer the same due time at every `now` while a clock runs (domain/sla.py
    `_clock`): from any start, `business time so far + more` lands where `more` from now lands, whether now is in
    business hours or not."""
    begin = FILED + timedelta(minutes=start)
    now = begin + timedelta(minutes=running)
    so_far = business_time_between(OFFICE, begin, now)
    assert add_business_time(OFFICE, begin, so_far + timedelta(minutes=more)) == \
        add_business_time(OFFICE, now, timedelta(minutes=more))


@settings(max_examples=examples(60), deadline=None)
@given(MOVES, st.lists(st.integers(0, 7 * 24 * 60), max_size=4), st.lists(st.integers(1, 900), min_size=1, max_size=12))
def test_clocks_asked_again_and_again_answer_as_on_a_calendar_asked_for_the_first_time(
        moves: list, progress: list, naps: list) -> None:
    """A calendar remembers what no later `now` changes (domain/sla.py `_known`); the answers are those of a
    calendar that remembers nothing."""
    history, previous = [], S.OPEN
    for offset, status in sorted(moves):
        history.append(change(FILED + timedelta(minutes=offset), previous, status))
        previous = status
    entries = [FILED + timedelta(minutes=m) for m in progress]
    remembering = BusinessCalendar.define(OFFICE.name, OFFICE.timezone, [(w.weekday, w.start, w.end)
                                                                         for w in OFFICE.windows],
                                          sorted(OFFICE.holidays), id=OFFICE.id)
    now = FILED
    for nap in naps:
        now += timedelta(minutes=nap)
        fresh = BusinessCalendar.define(OFFICE.name, OFFICE.timezone, [(w.weekday, w.start, w.end)
                                                                       for w in OFFICE.windows],
                                        sorted(OFFICE.holidays), id=OFFICE.id)
        assert evaluate_sla(POLICY, remembering, FILED, history, entries, now) == \
            evaluate_sla(POLICY, fresh, FILED, history, entries, now)

"""Workflow due times on a department's business calendar, overdue escalation once per activation, and
who chooses a department's calendar. Pure domain: no database, no clock."""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.calendar import BusinessCalendar
from domain.organisation import Department, Role, Staff, may_choose_calendar
from domain.shared import NotAuthorized
from domain.workflow import (
    DEFAULT_CALENDAR_NAME,
    StepDefinition,
    StepKind,
    StepStatus,
    WorkflowDefinition,
    WorkflowInstance,
    WorkflowSubject,
    business_due_at,
)

BERLIN = ZoneInfo("Europe/Berlin")
SALES = uuid.UUID("00000000-0000-0000-0000-0000000000a1")
FINANCE = uuid.UUID("00000000-0000-0000-0000-0000000000b2")
# Office hours with a lunch break, like the demo calendar; Easter Monday 2025 off.
OFFICE = BusinessCalendar.define("Office", "Europe/Berlin",
                                 [(d, s, e) for d in range(1, 6) for s, e in (("08:00", "12:00"), ("13:00", "17:00"))],
                                 [date(2025, 4, 21)])
FRIDAY_4PM = datetime(2025, 3, 7, 16, 0, tzinfo=BERLIN)


def berlin(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=BERLIN)


def person(department: uuid.UUID, role: Role = Role.MEMBER, *, active: bool = True) -> Staff:
    return Staff(id=uuid.uuid4(), name="x", email=f"{uuid.uuid4().hex[:8]}@example.com", department_id=department,
                 role=role, active=active)


# --------------------------------------------------------------------------- due times


@pytest.mark.parametrize("start, minutes, due", [
    (FRIDAY_4PM, 120, berlin(10, 9)),  # one hour on Friday, the second on Monday morning
    (FRIDAY_4PM, 60, berlin(7, 17)),  # used up exactly at closing: closing, not Monday's opening
    (berlin(3, 11, 30), 60, berlin(3, 13, 30)),  # the lunch hour does not count
    (berlin(8, 10), 30, berlin(10, 8, 30)),  # a Saturday start counts from Monday's opening
    (berlin(3, 7), 480, berlin(3, 17)),  # one working day from before opening
    (datetime(2025, 4, 18, 16, 0, tzinfo=BERLIN), 120, datetime(2025, 4, 22, 9, 0, tzinfo=BERLIN)),  # holiday Monday
])
def test_due_times_count_business_minutes_on_the_calendar(start: datetime, minutes: int, due: datetime) -> None:
    found = business_due_at(OFFICE, start, minutes)
    assert found == due and found.tzinfo is UTC


def test_due_times_follow_the_calendars_own_zone() -> None:
    new_york = BusinessCalendar.define("NY", "America/New_York", [(d, "09:00", "17:00") for d in range(1, 6)])
    start = datetime(2025, 3, 7, 16, 0, tzinfo=ZoneInfo("America/New_York"))  # Friday 16:00 there = 22:00 Berlin
    assert business_due_at(new_york, start, 120) == datetime(2025, 3, 10, 10, 0, tzinfo=ZoneInfo("America/New_York"))
    # the same instant on the Berlin calendar is after hours: Monday 08:00 + 2h
    assert business_due_at(OFFICE, start, 120) == berlin(10, 10)


def test_without_a_calendar_every_minute_counts() -> None:
    assert business_due_at(None, FRIDAY_4PM, 120) == FRIDAY_4PM + timedelta(minutes=120)
    assert DEFAULT_CALENDAR_NAME == "Standard"


def test_activation_uses_the_due_at_callable_with_the_department_calendars() -> None:
    calendars = {SALES: OFFICE, FINANCE: None}
    definition = WorkflowDefinition.define(key="flow", name="Flow", subject=WorkflowSubject.CUSTOMER, steps=[
        StepDefinition("a", "A", SALES, StepKind.APPROVAL, stage=1, due_within_minutes=120),
        StepDefinition("b", "B", FINANCE, StepKind.APPROVAL, stage=1, due_within_minutes=120),
    ])
    instance = WorkflowInstance.start(definition, WorkflowSubject.CUSTOMER, uuid.uuid4(), {},
                                      started_by=person(SALES), at=FRIDAY_4PM,
                                      due_at=lambda d, s, m: business_due_at(calendars[d], s, m))
    assert instance.step("a").due_at == berlin(10, 9)
    assert instance.step("b").due_at == FRIDAY_4PM + timedelta(hours=2)


# --------------------------------------------------------------------------- escalation


def two_stage_instance(at: datetime = FRIDAY_4PM) -> WorkflowInstance:
    definition = WorkflowDefinition.define(key="flow", name="Flow", subject=WorkflowSubject.CUSTOMER, steps=[
        StepDefinition("a", "Check A", SALES, StepKind.APPROVAL, stage=1, due_within_minutes=60),
        StepDefinition("b", "Check B", FINANCE, StepKind.TASK, Role.MANAGER, stage=1, due_within_minutes=120),
        StepDefinition("undated", "No due time", SALES, StepKind.TASK, stage=1),
        StepDefinition("c", "Release", FINANCE, StepKind.TASK, stage=2, due_within_minutes=30),
    ])
    instance = WorkflowInstance.start(definition, WorkflowSubject.CUSTOMER, uuid.uuid4(), {},
                                      started_by=person(SALES), at=at,
                                      due_at=lambda d, s, m: s + timedelta(minutes=m))
    instance.collect_events()
    return instance


def test_nothing_is_escalated_before_it_is_overdue() -> None:
    instance = two_stage_instance()
    assert instance.escalate_overdue(FRIDAY_4PM + timedelta(minutes=60)) == []  # due, not past
    assert instance.collect_events() == [] and instance.step("a").escalated_at is None


def test_an_overdue_step_is_escalated_once_with_an_event_for_its_department() -> None:
    instance = two_stage_instance()
    now = FRIDAY_4PM + timedelta(minutes=61)
    escalated = instance.escalate_overdue(now)
    assert [s.key for s in escalated] == ["a"]
    assert instance.step("a").escalated_at == now and instance.step("b").escalated_at is None
    (event,) = instance.collect_events()
    assert event.type == "workflow.step_overdue" and event.actor_id is None and event.occurred_at == now
    assert event.payload["stepKey"] == "a" and event.payload["departmentId"] == str(SALES)
    assert datetime.fromisoformat(event.payload["dueAt"]) == FRIDAY_4PM + timedelta(minutes=60)
    assert datetime.fromisoformat(event.payload["activatedAt"]) == FRIDAY_4PM
    assert instance.updated_at == now

    # later runs: "a" never again, "b" once its time has passed too; the undated step never
    assert instance.escalate_overdue(now + timedelta(minutes=30)) == []
    assert [s.key for s in instance.escalate_overdue(now + timedelta(hours=5))] == ["b"]
    assert [e.payload["stepKey"] for e in instance.collect_events()] == ["b"]
    assert instance.escalate_overdue(now + timedelta(days=30)) == [] and instance.collect_events() == []


def test_parallel_overdue_steps_are_escalated_together() -> None:
    instance = two_stage_instance()
    escalated = instance.escalate_overdue(FRIDAY_4PM + timedelta(hours=3))
    assert [s.key for s in escalated] == ["a", "b"]
    assert [e.payload["stepKey"] for e in instance.collect_events()] == ["a", "b"]


def test_decided_steps_are_never_escalated_and_the_next_activation_gets_its_own() -> None:
    instance = two_stage_instance()
    due = lambda d, s, m: s + timedelta(minutes=m)  # noqa: E731
    instance.escalate_overdue(FRIDAY_4PM + timedelta(minutes=90))  # "a" escalated
    later = FRIDAY_4PM + timedelta(hours=1, minutes=40)
    instance.decide("a", "APPROVE", by=person(SALES), at=later, due_at=due)
    instance.decide("b", "COMPLETE", by=person(FINANCE, Role.MANAGER), at=later, due_at=due)
    instance.decide("undated", "COMPLETE", by=person(SALES), at=later, due_at=due)
    release = instance.step("c")
    assert release.status is StepStatus.ACTIVE and release.escalated_at is None  # activated fresh
    assert instance.step("a").escalated_at is not None  # history kept on the decided step
    instance.collect_events()
    assert [s.key for s in instance.escalate_overdue(later + timedelta(minutes=31))] == ["c"]
    instance.cancel(by=person(SALES, Role.ADMIN), at=later + timedelta(hours=1), reason="stop")
    assert instance.escalate_overdue(later + timedelta(days=1)) == []


# --------------------------------------------------------------------------- who chooses the calendar


def test_admins_and_the_departments_manager_choose_its_calendar() -> None:
    sales = Department(id=SALES, code="SALES", name="Sales")
    calendar = uuid.uuid4()
    for allowed in (person(FINANCE, Role.ADMIN), person(SALES, Role.MANAGER)):
        assert may_choose_calendar(allowed, SALES)
        changed = sales.with_calendar(calendar, by=allowed)
        assert changed.calendar_id == calendar and sales.calendar_id is None  # a new value; the old one unchanged
        assert changed.with_calendar(None, by=allowed).calendar_id is None
    for refused in (person(FINANCE, Role.MANAGER), person(SALES, Role.KEY_USER), person(SALES, Role.MEMBER),
                    person(SALES, Role.MANAGER, active=False), person(SALES, Role.ADMIN, active=False)):
        assert not may_choose_calendar(refused, SALES)
        with pytest.raises(NotAuthorized):
            sales.with_calendar(calendar, by=refused)

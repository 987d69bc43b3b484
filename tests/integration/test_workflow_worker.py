"""The workflow worker against a real database: two workers (two containers, as two processes would have)
run concurrently while a fake clock (the containers' clock provider, overridden) moves past the steps'
due times; every step activation is escalated exactly once, with one notification per manager of its
department, one outbox event and one Customer.activity entry. On PostgreSQL the claims really overlap
(FOR NO KEY UPDATE SKIP LOCKED); on SQLite the writer lock serialises them. Also: due times come from the
department calendars (the DueDates adapter), the claim is one indexed query, and `crm worker --once`
escalates.

The workflows live in a fake February 2024 that no other test uses: the worker only claims what is
overdue at the fake clock's time, so nothing of the other tests (due in real time) is touched.
"""
from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import AsyncIterator
from zoneinfo import ZoneInfo

import pytest
from dependency_injector import providers
from sqlalchemy import and_, func, select, text, update

from application import workflows as wu
from application.complaints import DefineCalendar, define_calendar
from application.customers import CreateCustomer, create_customer
from application.organisation import find_active_staff_by_email
from application.workflow_worker import EscalationTick, run_workflow_worker
from domain.customer import CustomerKind
from domain.organisation import Staff
from domain.workflow import WorkflowSubject
from infrastructure.container import Container, build_container, dispose
from infrastructure.db import tables as t
from infrastructure.db.engine import create_engine
from infrastructure.due_dates import DepartmentCalendarDueDates
from tests.application.fakes import FakeClock
from tests.conftest import Database, settings_for, unique
from tests.integration.servers import crm_on_sqlite

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = datetime(2024, 2, 5, 9, 0, tzinfo=BERLIN)  # the demo calendar: 08:00-12:00, 13:00-17:00 on weekdays
INSTANCES = 12
s = t.workflow_steps


async def _staff(container: Container, email: str) -> Staff:
    staff = await find_active_staff_by_email(container.services.uow(), email)
    assert staff is not None
    return staff


async def _departments(container: Container) -> dict[str, uuid.UUID]:
    async with container.core.engine().connect() as conn:
        return {r.code: r.id for r in await conn.execute(select(t.departments.c.code, t.departments.c.id))}


async def _managers(container: Container, department_id: uuid.UUID) -> set[uuid.UUID]:
    async with container.core.engine().connect() as conn:
        return set((await conn.execute(select(t.staff.c.id).where(
            t.staff.c.department_id == department_id, t.staff.c.role == "MANAGER",
            t.staff.c.active.is_(True)))).scalars())


async def _start_many(container: Container, count: int) -> tuple[list[uuid.UUID], str]:
    """`count` instances of a new three-step workflow started at the (fake) clock's now: SALES (60 business
    minutes) and FINANCE (120) in parallel, then WAREHOUSE (30)."""
    clock, uow = container.gateways.clock(), container.services.uow
    admin = await _staff(container, "admin@example.com")
    starter = await _staff(container, "sales.key@example.com")
    d = await _departments(container)
    key = unique("escalate")
    await wu.define_workflow(uow(), clock, admin, wu.DefineWorkflow(key=key, name="Escalation", subject="CUSTOMER", steps=(
        wu.StepData("sales", "Sales checks", d["SALES"], "APPROVAL", 1, due_within_minutes=60),
        wu.StepData("finance", "Finance checks", d["FINANCE"], "APPROVAL", 1, due_within_minutes=120),
        wu.StepData("release", "Warehouse releases", d["WAREHOUSE"], "TASK", 2, due_within_minutes=30),
    )))
    ids = []
    for n in range(count):
        customer = await create_customer(uow(), clock, starter, CreateCustomer(name=unique("Overdue"),
                                                                                kind=CustomerKind.COMPANY))
        instance = await wu.start_workflow(uow(), clock, container.services.due_dates(), starter, wu.StartWorkflow(
            definition_key=key, subject_type=WorkflowSubject.CUSTOMER, subject_id=customer.id))
        ids.append(instance.id)
    return ids, key


@pytest.fixture
async def second_container(database: Database) -> AsyncIterator[Container]:
    """Another process's container: its own engines and connection pools on the same database."""
    other = build_container(settings_for(database.url))
    yield other
    await dispose(other)


@pytest.fixture
def fake_clock(container: Container, second_container: Container) -> AsyncIterator[FakeClock]:
    """Both containers' clock provider overridden with one fake clock, reset afterwards."""
    fake = FakeClock(MONDAY)
    for c in (container, second_container):
        c.gateways.clock.override(providers.Object(fake))
    yield fake  # type: ignore[misc]
    for c in (container, second_container):
        c.gateways.clock.reset_override()


async def test_two_workers_escalate_every_overdue_activation_exactly_once(
        container: Container, second_container: Container, fake_clock: FakeClock) -> None:
    ids, _ = await _start_many(container, INSTANCES)
    d = await _departments(container)
    async with container.core.engine().connect() as conn:
        due = {(r.key, r.due_at) for r in await conn.execute(select(s.c.key, s.c.due_at).where(
            s.c.instance_id.in_(ids), s.c.status == "ACTIVE"))}
    # business minutes on the departments' (demo) calendar: Monday 09:00 + 60 and + 120
    assert due == {("sales", datetime(2024, 2, 5, 10, 0, tzinfo=BERLIN)),
                   ("finance", datetime(2024, 2, 5, 11, 0, tzinfo=BERLIN))}

    stop = asyncio.Event()
    totals: list[EscalationTick] = []

    async def worker(c: Container) -> None:
        # the clock comes from the container, as `crm worker` takes it
        totals.append(await run_workflow_worker(c.services.uow, c.gateways.clock(), interval=0.01,
                                                batch_size=4, stop=stop))

    async def drained() -> None:
        """Wait until the workers have escalated everything of ours that is overdue."""
        async with container.core.engine().connect() as conn:
            for _ in range(1000):
                left = (await conn.execute(select(func.count()).select_from(s).where(
                    s.c.instance_id.in_(ids), s.c.status == "ACTIVE", s.c.escalated_at.is_(None),
                    s.c.due_at < fake_clock.now()))).scalar_one()
                await conn.rollback()
                if not left:
                    return
                await asyncio.sleep(0.02)
        raise AssertionError(f"{left} steps still overdue and not escalated at {fake_clock.now()}")

    running = [asyncio.create_task(worker(container)), asyncio.create_task(worker(second_container))]
    try:
        fake_clock.set(MONDAY + timedelta(minutes=60))  # sales due, not past: nothing
        await asyncio.sleep(0.1)
        async with container.core.engine().connect() as conn:
            assert (await conn.execute(select(func.count()).select_from(s).where(
                s.c.instance_id.in_(ids), s.c.escalated_at.is_not(None)))).scalar_one() == 0
        fake_clock.set(MONDAY + timedelta(minutes=61))
        await drained()
        fake_clock.set(MONDAY + timedelta(minutes=150))  # finance too
        await drained()

        # both decided at 11:45: the warehouse step starts, due 30 business minutes later, after lunch
        fake_clock.set(MONDAY + timedelta(hours=2, minutes=45))
        uow, due_dates = container.services.uow, container.services.due_dates()
        sales, finance = await _staff(container, "sales.member@example.com"), await _staff(
            container, "finance.member@example.com")
        for instance_id in ids:
            await wu.decide_step(uow(), fake_clock, due_dates, sales, wu.DecideStep(instance_id, "sales", "APPROVE"))
            await wu.decide_step(uow(), fake_clock, due_dates, finance, wu.DecideStep(instance_id, "finance",
                                                                                          "APPROVE"))
        async with container.core.engine().connect() as conn:
            release_due = set((await conn.execute(select(s.c.due_at).where(
                s.c.instance_id.in_(ids), s.c.key == "release"))).scalars())
        assert release_due == {datetime(2024, 2, 5, 13, 15, tzinfo=BERLIN)}
        fake_clock.set(datetime(2024, 2, 5, 13, 16, tzinfo=BERLIN))
        await drained()
    finally:
        stop.set()
        await asyncio.gather(*running)

    async with container.core.engine().connect() as conn:
        escalated = (await conn.execute(select(s.c.instance_id, s.c.key, s.c.escalated_at).where(
            s.c.instance_id.in_(ids)))).all()
        events = (await conn.execute(select(t.outbox.c.aggregate_id, t.outbox.c.payload).where(
            t.outbox.c.aggregate_id.in_(ids), t.outbox.c.type == "workflow.step_overdue"))).all()
        notices = (await conn.execute(select(t.notifications.c.subject_id, t.notifications.c.recipient_id,
                                             t.notifications.c.dedupe_key, t.notifications.c.kind).where(
            t.notifications.c.subject_id.in_(ids)))).all()
        activity = (await conn.execute(select(t.customer_activity.c.subject_id, t.customer_activity.c.kind,
                                              t.customer_activity.c.department_id, t.customer_activity.c.summary)
                                       .where(t.customer_activity.c.subject_id.in_(ids),
                                              t.customer_activity.c.summary.contains("overdue")))).all()
    assert len(escalated) == INSTANCES * 3 and all(at is not None for _, _, at in escalated)

    per_step = Counter((instance_id, payload["stepKey"]) for instance_id, payload in events)
    assert len(per_step) == INSTANCES * 3 and set(per_step.values()) == {1}  # exactly once per activation

    managers = {key: await _managers(container, d[code])
                for key, code in (("sales", "SALES"), ("finance", "FINANCE"), ("release", "WAREHOUSE"))}
    assert all(managers.values()), "the demo has a manager in every department"
    assert len(notices) == len(set(notices)) == INSTANCES * sum(len(m) for m in managers.values())
    told = Counter((subject, recipient, key.split(":")[2]) for subject, recipient, key, _ in notices)
    assert set(told.values()) == {1}
    assert {(recipient, step) for _, recipient, step in told} == {
        (m, step) for step, people in managers.items() for m in people}
    assert {kind for *_, kind in notices} == {"WORKFLOW_STEP_OVERDUE"}

    assert len(activity) == INSTANCES * 3 and {kind for _, kind, _, _ in activity} == {"WORKFLOW"}
    assert {department for _, _, department, _ in activity} == {d["SALES"], d["FINANCE"], d["WAREHOUSE"]}

    assert sum(tick.escalated for tick in totals) == INSTANCES * 3
    assert sum(tick.notifications for tick in totals) == len(notices)


async def test_claims_of_concurrent_transactions_do_not_overlap(
        container: Container, second_container: Container, database: Database, fake_clock: FakeClock) -> None:
    """On PostgreSQL a second worker skips the instances the first one holds instead of waiting for them."""
    if database.backend != "postgresql":
        pytest.skip("SQLite has one writer at a time: a second claim waits for the first transaction")
    fake_clock.set(MONDAY + timedelta(days=7))
    ids, _ = await _start_many(container, 4)
    fake_clock.advance(hours=5)
    first, second = container.services.uow(), second_container.services.uow()
    async with first:
        mine = {instance_id for instance_id, _ in await first.workflows.claim_overdue(fake_clock.now(), 100)}
        assert set(ids) <= mine
        async with second:
            theirs = {i for i, _ in await second.workflows.claim_overdue(fake_clock.now(), 100)}
            assert theirs.isdisjoint(ids)  # all held by the first: skipped, not waited for
    tick = await run_workflow_worker(second_container.services.uow, fake_clock, once=True)
    assert tick.escalated >= 8


async def test_the_overdue_query_uses_the_escalation_index(container: Container, database: Database) -> None:
    """What `claim_overdue` runs (without the instance lock): a range scan on (status, escalated_at, due_at)."""
    sql = ("SELECT instance_id, key FROM workflow_steps WHERE status = 'ACTIVE' AND escalated_at IS NULL "
           "AND due_at < :now ORDER BY due_at LIMIT 100")
    async with container.core.engine().connect() as conn:
        if database.backend == "postgresql":
            await conn.execute(text("SET LOCAL enable_seqscan = off"))  # a test table is small
            rows = (await conn.execute(text("EXPLAIN " + sql), {"now": datetime.now(UTC)})).all()
        else:
            rows = (await conn.execute(text("EXPLAIN QUERY PLAN " + sql), {"now": "2024-01-01 00:00:00"})).all()
        await conn.rollback()
    plan = "\n".join(str(r[-1]) for r in rows)
    assert "ix_workflow_steps_status_escalated_at_due_at" in plan, plan


async def test_due_dates_come_from_the_department_calendar_else_the_default(container: Container) -> None:
    """The adapter: a department's own calendar wins; a department without one counts on the default-named
    calendar if there is one, else every minute. (A made-up default name keeps the shared "Standard" free.)"""
    d = await _departments(container)
    default = unique("Default calendar")
    due_dates = DepartmentCalendarDueDates(container.core.read_engine(), default_calendar_name=default)
    friday = datetime(2024, 2, 9, 16, 0, tzinfo=BERLIN)
    nowhere = uuid.uuid4()  # a department without a calendar
    assert await due_dates.calendar_for(nowhere) is None
    assert await due_dates.due_at(nowhere, friday, 120) == friday + timedelta(minutes=120)

    admin = await _staff(container, "admin@example.com")
    new_york = await define_calendar(container.services.uow(), container.gateways.clock(), admin, DefineCalendar(
        name=default, timezone="America/New_York", working_hours=tuple((day, "09:00", "17:00") for day in range(1, 6))))
    assert (await due_dates.calendar_for(nowhere)) == new_york
    # Friday 16:00 Berlin is 10:00 in New York: two business hours there end at 12:00 New York time
    assert await due_dates.due_at(nowhere, friday, 120) == datetime(2024, 2, 9, 12, 0,
                                                                   tzinfo=ZoneInfo("America/New_York"))
    # a department with its own calendar (the demo's, in Berlin) keeps it: Monday 09:00
    assert (await due_dates.calendar_for(d["SALES"])).timezone == "Europe/Berlin"  # type: ignore[union-attr]
    assert await due_dates.due_at(d["SALES"], friday, 120) == datetime(2024, 2, 12, 9, 0, tzinfo=BERLIN)


def test_crm_worker_once_escalates_overdue_steps(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"

    def crm(*args: str) -> subprocess.CompletedProcess[str]:
        return crm_on_sqlite(*args, db=db)

    assert crm("migrate").returncode == 0
    assert crm("seed-demo").returncode == 0

    async def overdue_all() -> int:
        """Move the due time of every dated active demo step into the past."""
        engine = create_engine(f"sqlite+aiosqlite:///{db}")
        try:
            async with engine.begin() as conn:
                active = and_(s.c.status == "ACTIVE", s.c.due_at.is_not(None))
                calendars = set((await conn.execute(select(t.departments.c.calendar_id))).scalars())
                assert len(calendars) == 1 and None not in calendars  # the demo calendar, for every department
                return (await conn.execute(update(s).where(active).values(
                    due_at=datetime(2020, 1, 6, 9, 0, tzinfo=UTC)))).rowcount
        finally:
            await engine.dispose()

    overdue = asyncio.run(overdue_all())
    assert overdue >= 3
    result = crm("worker", "--once")
    assert result.returncode == 0, result.stderr
    assert "sla worker stopped:" in result.stdout
    assert f"workflow worker stopped: {overdue} overdue steps escalated" in result.stdout
    again = crm("worker", "--once")
    assert again.returncode == 0 and "workflow worker stopped: 0 overdue steps escalated" in again.stdout

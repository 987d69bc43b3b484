"""The SLA worker against a real database: two workers (two containers, as two processes would have)
run concurrently while a fake clock moves past warnings and breaches; every escalation and every
notification happens exactly once. On PostgreSQL the claims really overlap (FOR NO KEY UPDATE SKIP LOCKED);
on SQLite the writer lock serialises them. Also: the due-clock query is one indexed query, and
`crm worker --once` runs.

The complaints live in a fake week of January 2024 that no other test uses.
"""
from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text

from application import complaints as uc
from application.customers import CreateCustomer, create_customer
from application.organisation import find_active_staff_by_email
from application.sla_worker import SlaTick, fire_due_sla_events, run_sla_worker
from domain.complaint import Channel, Priority
from domain.customer import CustomerKind
from infrastructure.container import Container, build_container, dispose
from infrastructure.db import tables as t
from tests.application.fakes import FakeClock
from tests.conftest import Database, settings_for, unique
from tests.integration.servers import crm_on_sqlite

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = datetime(2024, 1, 8, 9, 0, tzinfo=BERLIN)
COMPLAINTS = 24


async def _staff(container: Container, email: str):  # type: ignore[no-untyped-def]
    staff = await find_active_staff_by_email(container.services.uow(), email)
    assert staff is not None
    return staff


async def _file_many(container: Container, clock: FakeClock, count: int) -> tuple[list[uuid.UUID], dict]:
    """`count` complaints filed at `clock.now()` under a 10/60/30-minute policy (warn at half) that
    escalates to the service manager; the customers belong to the sales key user."""
    uow = container.services.uow
    key_user = await _staff(container, "service.key@example.com")
    manager = await _staff(container, "service.manager@example.com")
    owner = await _staff(container, "sales.key@example.com")
    calendar = await uc.define_calendar(uow(), clock, key_user, uc.DefineCalendar(
        name=unique("Worker office"), timezone="Europe/Berlin",
        working_hours=tuple((d, "08:00", "17:00") for d in range(1, 6))))
    category = await uc.define_category(uow(), clock, key_user, uc.DefineCategory(code=unique("wrk"), name="Worker"))
    await uc.define_sla_policy(uow(), clock, key_user, uc.DefineSlaPolicy(
        name=unique("Worker policy"), calendar_id=calendar.id, category_id=category.id, first_response_minutes=10,
        resolution_minutes=60, update_interval_minutes=30, warn_at=0.5, escalate_to_id=manager.id))
    customers = [await create_customer(uow(), clock, owner, CreateCustomer(
        name=unique("Worker customer"), kind=CustomerKind.COMPANY, owner_id=owner.id)) for _ in range(3)]
    ids = []
    for n in range(count):
        complaint = await uc.file_complaint(uow(), clock, owner, uc.FileComplaint(
            customer_id=customers[n % 3].id, category_id=category.id, priority=Priority.NORMAL,
            channel=Channel.EMAIL, subject=f"Complaint {n}", description="worker test"))
        ids.append(complaint.id)
    return ids, {"manager": manager.id, "owner": owner.id}


async def _timeline_counts(container: Container, ids: list[uuid.UUID]) -> dict[uuid.UUID, Counter[str]]:
    tl = t.complaint_timeline
    async with container.core.engine().connect() as conn:
        rows = (await conn.execute(select(tl.c.complaint_id, tl.c.kind, func.count())
                                   .where(tl.c.complaint_id.in_(ids)).group_by(tl.c.complaint_id, tl.c.kind))).all()
    found: dict[uuid.UUID, Counter[str]] = {i: Counter() for i in ids}
    for complaint_id, kind, count in rows:
        found[complaint_id][kind] = count
    return found


async def _notifications(container: Container, ids: list[uuid.UUID]) -> list[tuple[uuid.UUID, uuid.UUID, str]]:
    n = t.notifications
    async with container.core.engine().connect() as conn:
        return [tuple(r) for r in (await conn.execute(  # type: ignore[misc]
            select(n.c.subject_id, n.c.recipient_id, n.c.dedupe_key).where(n.c.subject_id.in_(ids)))).all()]


@pytest.fixture
async def second_container(database: Database):  # type: ignore[no-untyped-def]
    """Another process's container: its own engines and connection pools on the same database."""
    other = build_container(settings_for(database.url))
    yield other
    await dispose(other)


async def test_two_workers_fire_every_warning_and_breach_exactly_once(
        container: Container, second_container: Container) -> None:
    clock = FakeClock(MONDAY)
    ids, people = await _file_many(container, clock, COMPLAINTS)

    # Past the first-response warning (5 business minutes): both workers at once, small batches.
    clock.set(MONDAY + timedelta(minutes=6))
    ticks = await asyncio.gather(
        run_sla_worker(container.services.uow, clock, once=True, batch_size=3),
        run_sla_worker(second_container.services.uow, clock, once=True, batch_size=3))
    assert sum(tick.claimed for tick in ticks) == COMPLAINTS
    assert sum(tick.warnings for tick in ticks) == COMPLAINTS and sum(tick.breaches for tick in ticks) == 0
    counts = await _timeline_counts(container, ids)
    assert all(c["SLA_WARNING"] == 1 and c["SLA_BREACH"] == 0 for c in counts.values())

    # Long-running workers while the clock moves on past every breach (and the warnings in between).
    stop = asyncio.Event()
    totals: list[SlaTick] = []

    async def worker(c: Container) -> None:
        totals.append(await run_sla_worker(c.services.uow, clock, interval=0.01, batch_size=4, stop=stop))

    async def drained() -> None:
        """Wait until the workers have fired everything of ours that is due."""
        async with container.core.engine().connect() as conn:
            for _ in range(1000):
                due = (await conn.execute(select(func.count()).select_from(t.complaints).where(
                    t.complaints.c.id.in_(ids), t.complaints.c.sla_next_deadline <= clock.now()))).scalar_one()
                await conn.rollback()
                if not due:
                    return
                await asyncio.sleep(0.02)
        raise AssertionError(f"{due} complaints still due at {clock.now()}")

    running = [asyncio.create_task(worker(container)), asyncio.create_task(worker(second_container))]
    try:
        # first-response breach; cadence warning; resolution warning with cadence breach; resolution breach
        for minutes in (11, 16, 29, 31, 45, 61, 90, 240):
            clock.set(MONDAY + timedelta(minutes=minutes))
            await drained()
    finally:
        stop.set()
        await asyncio.gather(*running)

    counts = await _timeline_counts(container, ids)
    for complaint_id, count in counts.items():
        # first response: warning then breach; resolution and cadence: warned, then breached
        assert count["SLA_BREACH"] == 3 and count["ESCALATION"] == 3, (complaint_id, count)
        assert count["SLA_WARNING"] == 3, (complaint_id, count)
    async with container.core.engine().connect() as conn:
        levels = (await conn.execute(select(t.complaints.c.escalation_level, t.complaints.c.sla_next_deadline)
                                     .where(t.complaints.c.id.in_(ids)))).all()
        fired = (await conn.execute(select(func.count()).select_from(t.complaint_sla_events).where(
            t.complaint_sla_events.c.complaint_id.in_(ids)))).scalar_one()
    assert {(level, deadline) for level, deadline in levels} == {(3, None)}
    assert fired == COMPLAINTS * 6
    notices = await _notifications(container, ids)
    # three breaches per complaint, each told to the escalation contact and the account owner once
    assert len(notices) == len(set(notices)) == COMPLAINTS * 3 * 2
    per_person = Counter((subject, recipient) for subject, recipient, _ in notices)
    assert set(per_person.values()) == {3}
    assert {recipient for _, recipient in per_person} == {people["manager"], people["owner"]}
    assert sum(tick.breaches for tick in totals) == COMPLAINTS * 3
    assert sum(tick.notifications for tick in totals) == COMPLAINTS * 6


async def test_claims_of_concurrent_transactions_do_not_overlap(
        container: Container, second_container: Container, database: Database) -> None:
    """On PostgreSQL a second worker skips the rows the first one holds instead of waiting for them."""
    if database.backend != "postgresql":
        pytest.skip("SQLite has one writer at a time: a second claim waits for the first transaction")
    clock = FakeClock(MONDAY + timedelta(days=7))
    ids, _ = await _file_many(container, clock, 6)
    clock.advance(minutes=30)
    first, second = container.services.uow(), second_container.services.uow()
    async with first:
        mine = set(await first.complaints.claim_due(clock.now(), 100)) & set(ids)
        assert mine == set(ids)
        async with second:
            theirs = set(await second.complaints.claim_due(clock.now(), 100)) & set(ids)
            assert theirs == set()  # all held by the first: skipped, not waited for
    tick = await fire_due_sla_events(second_container.services.uow(), clock)
    assert tick.claimed >= 6


async def test_a_row_being_written_that_references_a_due_complaint_does_not_hide_it(
        container: Container, database: Database) -> None:
    """A read note being written behind a read (or any insert referencing the complaint) holds the complaint's
    row FOR KEY SHARE until it commits; the claim (FOR NO KEY UPDATE SKIP LOCKED) must not skip it for that."""
    if database.backend != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite's writer lock serialises the two")
    clock = FakeClock(MONDAY + timedelta(days=14))
    ids, people = await _file_many(container, clock, 1)
    clock.advance(minutes=6)  # past the first-response warning
    async with container.core.engine().connect() as reader:  # the read note's transaction, still open
        await reader.execute(t.complaint_reads.insert().values(
            complaint_id=ids[0], staff_id=people["manager"], day=clock.now().date(), first_read_at=clock.now()))
        tick = await fire_due_sla_events(container.services.uow(), clock)
        await reader.rollback()
    assert tick.warnings >= 1
    assert (await _timeline_counts(container, ids))[ids[0]]["SLA_WARNING"] == 1


async def test_the_due_query_uses_the_deadline_index(container: Container, database: Database) -> None:
    """What `claim_due` runs (without its FOR NO KEY UPDATE SKIP LOCKED): a range scan on the stored deadline."""
    sql = "SELECT id FROM complaints WHERE sla_next_deadline <= :now ORDER BY sla_next_deadline LIMIT 100"
    async with container.core.engine().connect() as conn:
        if database.backend == "postgresql":
            await conn.execute(text("SET LOCAL enable_seqscan = off"))  # a test table is small
            rows = (await conn.execute(text("EXPLAIN " + sql), {"now": datetime.now(BERLIN)})).all()
        else:
            rows = (await conn.execute(text("EXPLAIN QUERY PLAN " + sql), {"now": "2024-01-01 00:00:00"})).all()
        await conn.rollback()
    plan = "\n".join(str(r[-1]) for r in rows)
    assert "ix_complaints_sla_next_deadline" in plan, plan


def test_crm_worker_once(tmp_path: Path) -> None:
    def crm(*args: str) -> subprocess.CompletedProcess[str]:
        return crm_on_sqlite(*args, db=tmp_path / "crm.db")

    assert crm("migrate").returncode == 0
    assert crm("seed-demo").returncode == 0
    result = crm("worker", "--once", "--batch-size", "5")
    assert result.returncode == 0, result.stderr
    assert "sla worker stopped:" in result.stdout
    again = crm("worker", "--once")
    assert again.returncode == 0 and "sla worker stopped:" in again.stdout

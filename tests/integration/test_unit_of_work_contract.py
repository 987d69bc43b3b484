"""One contract, three units of work: the application tests' fake (tests/application/fakes.py) and the SQL
one (infrastructure/db/unit_of_work.py) on SQLite and on PostgreSQL go through the same cases, so the fake
the use-case tests rely on cannot drift from what the service really does.

Each case uses one unit of work at a time (SQLite takes its write lock at BEGIN, so two open at once in one
task would wait for each other) and reads what was committed through a new one, never through the store.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import AsyncIterator, Awaitable, Callable

import pytest
from sqlalchemy import select

from application.messagebus import BUS, MessageBus
from application.ports import UnitOfWork
from domain.customer import Customer, CustomerCreated, CustomerKind, LifecycleStage
from domain.shared import Conflict, DomainEvent
from infrastructure.db import tables as t
from infrastructure.db.engine import create_engine
from infrastructure.db.migrate import upgrade
from infrastructure.db.unit_of_work import SqlUnitOfWork
from tests.application.fakes import FakeClock, InMemoryStore, RecordingPublisher
from tests.conftest import BACKENDS, fresh_database, unique


@dataclass
class Units:
    """How a case gets a unit of work (with the service's message bus, or another) and sees what was published."""

    name: str
    make: Callable[[MessageBus], UnitOfWork]
    publisher: RecordingPublisher
    activity: Callable[[uuid.UUID], Awaitable[list[str]]]  # the committed feed of a customer: its summaries

    def uow(self, bus: MessageBus = BUS) -> UnitOfWork:
        return self.make(bus)

    @property
    def published_types(self) -> list[str]:
        return [e.type for batch in self.publisher.published for e in batch]


@pytest.fixture(scope="module")
async def engines() -> AsyncIterator[dict[str, object]]:
    """One migrated, empty database per backend, made when a case first asks for it."""
    made: dict[str, object] = {}
    cleanups = []

    async def engine_for(backend: str) -> object:
        if backend not in made:
            database, cleanup = await fresh_database(backend)
            cleanups.append(cleanup)
            engine = create_engine(database.url, pool_size=2, max_overflow=1)
            await upgrade(engine)
            made[backend] = engine
        return made[backend]

    yield {"for": engine_for}
    for engine in made.values():
        await engine.dispose()  # type: ignore[attr-defined]
    for cleanup in cleanups:
        await cleanup()


@pytest.fixture(params=["fake", *BACKENDS])
async def units(request: pytest.FixtureRequest, engines: dict) -> Units:  # type: ignore[type-arg]
    publisher = RecordingPublisher()
    if request.param == "fake":
        store = InMemoryStore(publisher)

        def fake(bus: MessageBus) -> UnitOfWork:
            store.bus = bus
            return store.uow()

        async def fake_feed(customer_id: uuid.UUID) -> list[str]:
            return [r.summary for r in store.activity if r.customer_id == customer_id]

        return Units("fake", fake, publisher, fake_feed)
    engine = await engines["for"](request.param)

    async def feed(customer_id: uuid.UUID) -> list[str]:
        async with engine.connect() as conn:  # type: ignore[attr-defined]
            rows = await conn.execute(select(t.customer_activity.c.summary).where(
                t.customer_activity.c.customer_id == customer_id).order_by(t.customer_activity.c.at))
            return [row.summary for row in rows]

    return Units(request.param, lambda bus: SqlUnitOfWork(engine, publisher, bus=bus), publisher, feed)  # type: ignore[arg-type]


def a_customer(clock: FakeClock, code: str | None = None) -> Customer:
    return Customer.register(code=code or unique("C"), name="Acme", kind=CustomerKind.COMPANY, at=clock.now(),
                             by=None)


async def registered(units: Units, clock: FakeClock) -> Customer:
    """A customer added and committed."""
    customer = a_customer(clock)
    async with units.uow() as uow:
        await uow.customers.add(customer)
        await uow.commit()
    return customer


async def committed(units: Units, customer_id: uuid.UUID) -> Customer | None:
    async with units.uow() as uow:
        return await uow.customers.get(customer_id)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


# ------------------------------------------------------------------------------------------ the cases


async def test_nothing_is_written_without_commit(units: Units, clock: FakeClock) -> None:
    customer, scope = a_customer(clock), unique("scope")
    async with units.uow() as uow:
        await uow.customers.add(customer)
        await uow.idempotency.remember(scope, "k", "fp", customer.id)
        assert await uow.customers.get_by_code(customer.code) is not None  # visible inside the transaction
    assert await committed(units, customer.id) is None
    async with units.uow() as uow:
        assert await uow.idempotency.lookup(scope, "k") is None
    assert units.published_types == [] and await units.activity(customer.id) == []


async def test_an_exception_rolls_back(units: Units, clock: FakeClock) -> None:
    customer = a_customer(clock)
    with pytest.raises(RuntimeError):
        async with units.uow() as uow:
            await uow.customers.add(customer)
            raise RuntimeError("boom")
    assert await committed(units, customer.id) is None


async def test_commit_applies_writes_sets_versions_and_hands_the_events_on(units: Units, clock: FakeClock) -> None:
    customer = await registered(units, clock)
    stored = await committed(units, customer.id)
    assert stored is not None and stored.code == customer.code
    assert customer.version == 1 and stored.version == 1
    assert units.published_types == ["customer.created"]  # after the commit, once
    assert await units.activity(customer.id) == ["Registered as LEAD"]  # projected in the same transaction


async def test_reads_are_copies(units: Units, clock: FakeClock) -> None:
    customer = await registered(units, clock)
    async with units.uow() as uow:
        loaded = await uow.customers.get(customer.id)
        assert loaded is not None
        loaded.update(at=clock.now(), by=None, name="Changed but not saved")
        await uow.commit()
    stored = await committed(units, customer.id)
    assert stored is not None and stored.name == "Acme"


async def test_a_save_based_on_a_stale_read_is_refused(units: Units, clock: FakeClock) -> None:
    customer = await registered(units, clock)
    async with units.uow() as uow:
        stale = await uow.customers.get(customer.id)
    async with units.uow() as uow:
        fresh = await uow.customers.get(customer.id)
        assert fresh is not None
        fresh.change_stage(LifecycleStage.PROSPECT, at=clock.advance(timedelta(minutes=1)), by=None)
        await uow.customers.save(fresh)
        await uow.commit()
    assert stale is not None
    stale.change_stage(LifecycleStage.AT_RISK, at=clock.now(), by=None)
    async with units.uow() as uow:
        with pytest.raises(Conflict):
            await uow.customers.save(stale)
    stored = await committed(units, customer.id)
    assert stored is not None and (stored.stage, stored.version) == (LifecycleStage.PROSPECT, 2)


async def test_a_unique_business_key_taken_is_a_conflict_and_writes_nothing(units: Units, clock: FakeClock) -> None:
    first = await registered(units, clock)
    other, twin = a_customer(clock), a_customer(clock, first.code)
    with pytest.raises(Conflict):
        async with units.uow() as uow:
            await uow.customers.add_many([other, twin])
            await uow.commit()
    assert await committed(units, other.id) is None and await committed(units, twin.id) is None
    assert units.published_types == ["customer.created"]


async def test_repositories_refuse_work_outside_the_transaction(units: Units) -> None:
    uow = units.uow()
    with pytest.raises((RuntimeError, AttributeError)):
        await uow.customers.get(uuid.uuid4())


# ------------------------------------------------------------------------------------ the message bus


def a_bus_that_registers_a_twin(*, then_fail: bool = False) -> MessageBus:
    """A handler of CustomerCreated that registers a second customer in the same unit of work (whose own
    CustomerCreated is handled in turn, and ignored); optionally it then fails."""

    async def register_twin(uow: UnitOfWork, event: CustomerCreated) -> None:
        if event.code.endswith("-TWIN"):
            return
        twin = Customer.register(code=f"{event.code}-TWIN", name="Twin", kind=CustomerKind.COMPANY,
                                 at=event.occurred_at, by=event.actor_id)
        await uow.customers.add(twin)
        if then_fail:
            raise RuntimeError("the handler failed")

    return MessageBus({CustomerCreated: [register_twin]})


async def test_handlers_react_inside_the_transaction_and_their_events_go_out_with_it(
        units: Units, clock: FakeClock) -> None:
    customer = a_customer(clock)
    async with units.uow(a_bus_that_registers_a_twin()) as uow:
        await uow.customers.add(customer)
        await uow.commit()
    async with units.uow() as uow:
        twin = await uow.customers.get_by_code(f"{customer.code}-TWIN")
    assert twin is not None and await committed(units, customer.id) is not None
    assert units.published_types == ["customer.created", "customer.created"]
    published: list[DomainEvent] = units.publisher.published[0]
    assert [e.aggregate_id for e in published] == [customer.id, twin.id]


async def test_a_handler_that_fails_rolls_the_whole_unit_of_work_back(units: Units, clock: FakeClock) -> None:
    customer = a_customer(clock)
    with pytest.raises(RuntimeError):
        async with units.uow(a_bus_that_registers_a_twin(then_fail=True)) as uow:
            await uow.customers.add(customer)
            await uow.commit()
    assert await committed(units, customer.id) is None
    async with units.uow() as uow:
        assert await uow.customers.get_by_code(f"{customer.code}-TWIN") is None
    assert units.published_types == [] and await units.activity(customer.id) == []

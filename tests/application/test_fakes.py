"""The fakes keep the promises the use-case tests rely on (rollback unless commit, versions, copies).

If these fail, the use-case tests cannot be trusted either way. The promises the SQL unit of work keeps too
are checked on both, side by side, in tests/integration/test_unit_of_work_contract.py; these are the rest
(two units of work open at once, the fake's own bookkeeping).
"""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from domain.customer import Customer, CustomerKind, LifecycleStage
from domain.shared import Conflict
from tests.application.conftest import Org
from tests.application.fakes import FakeClock, InMemoryStore


def a_customer(clock: FakeClock, code: str = "ACME") -> Customer:
    return Customer.register(code=code, name="Acme", kind=CustomerKind.COMPANY, at=clock.now(), by=None)


async def test_nothing_is_written_without_commit(store: InMemoryStore, clock: FakeClock) -> None:
    async with store.uow() as uow:
        await uow.customers.add(a_customer(clock))
        await uow.idempotency.remember("s", "k", "fp", uuid.uuid4())
        await uow.sequences.next_value("n")
        assert await uow.customers.get_by_code("acme") is not None  # visible inside the transaction
    assert store.customers == {} and store.idempotency == {} and store.sequences == {}
    assert store.committed_events == []


async def test_commit_applies_writes_and_collects_events(store: InMemoryStore, clock: FakeClock) -> None:
    customer = a_customer(clock)
    async with store.uow() as uow:
        await uow.customers.add(customer)
        await uow.commit()
        assert [e.type for e in uow.committed_events] == ["customer.created"]
    assert store.customer(customer.id).version == 1 and customer.version == 1
    assert [e.type for e in store.committed_events] == ["customer.created"]


async def test_save_bumps_the_version_and_refuses_a_stale_one(store: InMemoryStore, clock: FakeClock) -> None:
    customer = a_customer(clock)
    async with store.uow() as uow:
        await uow.customers.add(customer)
        await uow.commit()
    async with store.uow() as first, store.uow() as second:
        mine = await first.customers.get(customer.id)
        theirs = await second.customers.get(customer.id)
        assert mine is not None and theirs is not None
        mine.change_stage(LifecycleStage.PROSPECT, at=clock.advance(timedelta(minutes=1)), by=None)
        await first.customers.save(mine)
        await first.commit()
        theirs.change_stage(LifecycleStage.AT_RISK, at=clock.now(), by=None)
        with pytest.raises(Conflict):
            await second.customers.save(theirs)
    stored = store.customer(customer.id)
    assert (stored.stage, stored.version) == (LifecycleStage.PROSPECT, 2)


async def test_commit_rechecks_versions_staged_before_someone_else_committed(
        store: InMemoryStore, clock: FakeClock) -> None:
    customer = a_customer(clock)
    async with store.uow() as uow:
        await uow.customers.add(customer)
        await uow.commit()
    async with store.uow() as first, store.uow() as second:
        mine, theirs = await first.customers.get(customer.id), await second.customers.get(customer.id)
        assert mine is not None and theirs is not None
        mine.update(at=clock.now(), by=None, name="Mine")
        theirs.update(at=clock.now(), by=None, name="Theirs")
        await first.customers.save(mine)
        await second.customers.save(theirs)
        await first.commit()
        with pytest.raises(Conflict):
            await second.commit()
    assert store.customer(customer.id).name == "Mine"


async def test_unique_codes_and_emails_are_enforced(store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    async with store.uow() as uow:
        await uow.customers.add(a_customer(clock, "X"))
        with pytest.raises(Conflict):
            await uow.customers.add(a_customer(clock, "X"))
        staff = await uow.staff.get(org.sales_member.id)
        assert staff is not None
        staff.email = org.admin.email
        with pytest.raises(Conflict):
            await uow.staff.save(staff)


async def test_add_many_is_all_or_nothing(store: InMemoryStore, clock: FakeClock) -> None:
    async with store.uow() as uow:
        await uow.customers.add_many([a_customer(clock, "A"), a_customer(clock, "B")])
        with pytest.raises(Conflict):
            await uow.customers.add_many([a_customer(clock, "C"), a_customer(clock, "A")])
        await uow.commit()
    assert sorted(c.code for c in store.customers.values()) == ["A", "B"]
    assert all(c.version == 1 for c in store.customers.values())


def test_the_clock_is_settable_and_advanceable() -> None:
    clock = FakeClock()
    start = clock.now()
    assert clock.now() == start
    assert clock.advance(minutes=5) == start + timedelta(minutes=5)
    clock.set(start)
    assert clock.now() == start and start.tzinfo is not None

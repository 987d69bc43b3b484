"""The LISTEN relay heals itself (PostgreSQL): its connection goes through a fault proxy this test owns; the
proxy drops or hangs it, events commit meanwhile, and the subscriber still receives every one of them once, in
order, after the relay reconnected; when more went by than it replays, the subscription ends with
StreamInterrupted (EVENTS_MISSED) instead of carrying on with a hole."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import AsyncIterator

import pytest

from application.ports import StreamInterrupted
from domain.customer import Customer, CustomerKind
from domain.shared import DomainEvent
from infrastructure.container import build_container, dispose
from infrastructure.db.migrate import upgrade
from infrastructure.db.unit_of_work import SqlUnitOfWork
from infrastructure.pubsub import InProcessPublisher
from infrastructure.pubsub_postgres import PostgresEventRelay
from infrastructure.settings import Settings
from tests.conftest import BACKENDS, fresh_database
from tests.faults import FaultProxy

pytestmark = pytest.mark.skipif("postgresql" not in BACKENDS,
                                reason="LISTEN/NOTIFY is PostgreSQL's (CRM_TEST_BACKENDS leaves it out)")


class Setup:
    def __init__(self, engine, local: InProcessPublisher, relay: PostgresEventRelay, proxy: FaultProxy) -> None:
        self.engine, self.local, self.relay, self.proxy = engine, local, relay, proxy

    async def write(self, *codes: str) -> None:
        for code in codes:
            async with SqlUnitOfWork(self.engine, self.local, notify=True) as uow:
                await uow.customers.add(Customer.register(code=code, name=code, kind=CustomerKind.COMPANY,
                                                          at=datetime.now(UTC), by=None))
                await uow.commit()

    async def reconnected(self, connects: int) -> None:
        for _ in range(200):
            if self.relay.connects > connects:
                return
            await asyncio.sleep(0.05)
        raise AssertionError("the relay did not reconnect")


@pytest.fixture
async def setup() -> AsyncIterator[Setup]:
    db, cleanup = await fresh_database("postgresql")
    container = build_container(Settings(database_url=db.url, env="test", db_pool_size=2, db_max_overflow=0))
    engine = container.core.engine()
    proxy = await FaultProxy.for_url(db.url).start()
    local = InProcessPublisher()
    # only the LISTEN connection goes through the proxy; the writes and the read-backs go straight
    relay = PostgresEventRelay(proxy.url(db.url), engine, local, heartbeat=0.3, replay_limit=5)
    try:
        await upgrade(engine)
        await relay.start()
        yield Setup(engine, local, relay, proxy)
    finally:
        await relay.stop()
        await proxy.close()
        await dispose(container)
        await cleanup()


async def take(stream: AsyncIterator[DomainEvent], count: int) -> list[str]:
    return [(await asyncio.wait_for(stream.__anext__(), 10)).payload["code"] for _ in range(count)]


async def nothing_more(stream: AsyncIterator[DomainEvent]) -> None:
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(stream.__anext__(), 1)


async def subscribed(local: InProcessPublisher) -> AsyncIterator[DomainEvent]:
    stream = local.subscribe()
    first = asyncio.ensure_future(stream.__anext__())
    await asyncio.sleep(0)  # registered

    async def rest() -> AsyncIterator[DomainEvent]:
        yield await first
        async for event in stream:
            yield event

    return rest()


@pytest.mark.parametrize("fault", ["reset", "cut", "pause"])
async def test_events_committed_while_the_listen_connection_is_away_arrive_after_it_is_back(
        setup: Setup, fault: str) -> None:
    stream = await subscribed(setup.local)
    await setup.write("BEFORE")
    assert await take(stream, 1) == ["BEFORE"]

    connects = setup.relay.connects
    getattr(setup.proxy, fault)()
    await setup.write("DURING-1", "DURING-2")  # committed while the relay hears nothing
    await asyncio.sleep(1.0)  # the relay notices (a pause only by its heartbeat) and retries meanwhile
    setup.proxy.restore()
    await setup.reconnected(connects)
    await setup.write("AFTER")

    assert await take(stream, 3) == ["DURING-1", "DURING-2", "AFTER"]  # the gap replayed, in order, once
    await nothing_more(stream)


async def test_when_more_went_by_than_it_replays_the_subscriptions_end_with_events_missed(setup: Setup) -> None:
    stream = await subscribed(setup.local)
    await setup.write("BEFORE")
    assert await take(stream, 1) == ["BEFORE"]

    connects = setup.relay.connects
    setup.proxy.cut()
    await setup.write(*[f"MISSED-{n}" for n in range(6)])  # one more than replay_limit
    setup.proxy.restore()
    await setup.reconnected(connects)
    with pytest.raises(StreamInterrupted):
        await asyncio.wait_for(stream.__anext__(), 10)

    again = await subscribed(setup.local)  # a new subscription carries on live
    await setup.write("NEXT")
    assert await take(again, 1) == ["NEXT"]

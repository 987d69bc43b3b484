"""The broker relay against the real RabbitMQ on 127.0.0.1:5672 and a real database (each backend): a durable
topic exchange, routing key = event type, persistent messages whose message_id is the event id, in order per
aggregate; with the broker cut off (a fault proxy this test owns, tests/faults.py: the shared broker is never
stopped) the events wait in the outbox and all arrive once it is back; a crash between publishing and recording publishes again, and a consumer deduplicating on the
message id acts on each event once.

RabbitMQ is required: if it cannot be reached these tests fail, they are never skipped. Each test uses an
exchange and queues of its own.
"""
from __future__ import annotations

import asyncio
import json
import os
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import AsyncIterator, Iterator

import aio_pika
import pytest

from application.outbox_relay import RelayTick, relay_to_broker
from application.queries.integrations import HealthState, IntegrationHealthView, IntegrationKind
from domain.webhook import RetrySchedule
from infrastructure.container import Container
from infrastructure.outbox.broker import RabbitMqBroker
from infrastructure.outbox.health import BrokerHealthReporter
from infrastructure.outbox.store import SqlBrokerOutbox
from tests.application.fakes import FakeClock
from tests.faults import FaultProxy
from tests.integration.test_webhook_relay import customers_with_history

AMQP_URL = os.environ.get("CRM_TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/")
START = datetime(2032, 6, 7, 9, 0, tzinfo=UTC)
SCHEDULE = RetrySchedule((timedelta(seconds=1), timedelta(seconds=2)))


@dataclass
class Setup:
    exchange: str
    everything: str  # a queue bound with "#"
    updates: str  # a queue bound with "customer.updated"


async def _connect() -> aio_pika.abc.AbstractConnection:
    try:
        return await aio_pika.connect(AMQP_URL, timeout=10)
    except Exception as err:  # noqa: BLE001
        pytest.fail(f"RabbitMQ is required for these tests but unreachable at {AMQP_URL}: {err}")


@pytest.fixture
async def setup() -> AsyncIterator[Setup]:
    name = f"crm.events.test-{uuid.uuid4().hex[:8]}"
    found = Setup(name, f"{name}.all", f"{name}.updates")
    connection = await _connect()
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC, durable=True)
        for queue_name, pattern in ((found.everything, "#"), (found.updates, "customer.updated")):
            queue = await channel.declare_queue(queue_name, durable=True)
            await queue.bind(exchange, pattern)
    yield found
    connection = await _connect()
    async with connection:
        channel = await connection.channel()
        for queue_name in (found.everything, found.updates):
            await channel.queue_delete(queue_name)
        await channel.exchange_delete(name)


async def received(queue_name: str) -> list[aio_pika.abc.AbstractIncomingMessage]:
    """Everything waiting in the queue (taken and acknowledged)."""
    messages = []
    connection = await _connect()
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(queue_name, durable=True, passive=True)
        while (message := await queue.get(fail=False, timeout=10)) is not None:
            await message.ack()
            messages.append(message)
    return messages


def dedupe(messages: list[aio_pika.abc.AbstractIncomingMessage]) -> list[str]:
    """What a consumer acts on: each message id once, in arrival order."""
    seen: dict[str, None] = {}
    for message in messages:
        assert message.message_id is not None
        seen.setdefault(message.message_id, None)
    return list(seen)


def per_aggregate(event_ids: list[str], history: dict[uuid.UUID, list[str]]) -> dict[uuid.UUID, list[str]]:
    return {aggregate: [e for e in event_ids if e in events] for aggregate, events in history.items()}


@contextmanager
def cut_off(proxy: FaultProxy) -> Iterator[None]:
    """The broker unreachable for the block (its connections dropped, new ones refused), then reachable again."""
    proxy.cut()
    try:
        yield
    finally:
        proxy.restore()


async def declared_durable_topic(exchange: str) -> None:
    """Declaring it again as a durable topic exchange succeeds only if that is what it is (else the broker
    refuses with PRECONDITION_FAILED)."""
    connection = await _connect()
    async with connection:
        channel = await connection.channel()
        await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)


def parts(container: Container, exchange: str, url: str = AMQP_URL,
          ) -> tuple[SqlBrokerOutbox, RabbitMqBroker, BrokerHealthReporter]:
    return (SqlBrokerOutbox(container.core.engine(), container.core.read_engine(), exchange),
            RabbitMqBroker(url, exchange, timeout=5),
            BrokerHealthReporter(container.core.read_engine(), url, exchange))


async def health(reporter: BrokerHealthReporter) -> IntegrationHealthView:
    [view] = await reporter.health()
    return view


async def test_events_go_to_a_durable_topic_exchange_by_type_with_their_ids(
        container: Container, setup: Setup) -> None:
    clock = FakeClock(START)
    outbox, broker, reporter = parts(container, setup.exchange)
    try:
        view = await health(reporter)
        assert view.kind is IntegrationKind.EVENT_BROKER and view.state is HealthState.DEGRADED
        assert view.last_error == "not connected yet: is `crm worker` running?"
        assert await relay_to_broker(outbox, broker, clock, SCHEDULE) == RelayTick()  # connects; starts at the head
        assert (await health(reporter)).state is HealthState.UP
        history = await customers_with_history(container, clock, 3, 2)
        assert (await health(reporter)).pending_events == 9
        assert (await relay_to_broker(outbox, broker, clock, SCHEDULE)).published == 9
    finally:
        await broker.aclose()

    messages = await received(setup.everything)
    ours = {e for events in history.values() for e in events}
    assert {m.message_id for m in messages} == ours and len(messages) == 9
    assert per_aggregate([m.message_id for m in messages], history) == history  # in order per aggregate
    for message in messages:
        body = json.loads(message.body)
        assert message.routing_key == body["type"] == message.type
        assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
        assert message.content_type == "application/json" and message.app_id == "crm"
        assert body["id"] == message.message_id and message.headers["aggregate_id"] == body["aggregateId"]
    updates = await received(setup.updates)
    assert {m.routing_key for m in updates} == {"customer.updated"} and len(updates) == 6
    await declared_durable_topic(setup.exchange)
    view = await health(reporter)
    assert view.state is HealthState.UP and view.pending_events == 0 and view.last_success_at == clock.now()


async def test_with_the_broker_stopped_events_wait_and_all_arrive_once_it_is_back(
        container: Container, setup: Setup) -> None:
    clock = FakeClock(START + timedelta(days=1))
    proxy = await FaultProxy.for_url(AMQP_URL).start()
    outbox, broker, reporter = parts(container, setup.exchange, proxy.url(AMQP_URL))
    try:
        await relay_to_broker(outbox, broker, clock, SCHEDULE)  # connected, cursor at the head
        with cut_off(proxy):
            history = await customers_with_history(container, clock, 3, 2)
            states = []
            for _ in range(3):
                assert await relay_to_broker(outbox, broker, clock, SCHEDULE) == RelayTick(broker_failures=1)
                assert await relay_to_broker(outbox, broker, clock, SCHEDULE) == RelayTick()  # retry not due yet
                view = await health(reporter)
                states.append(view.state)
                assert view.pending_events == 9 and view.last_error and view.last_error.startswith("broker: ")
                clock.advance(seconds=2)
            assert states == [HealthState.DEGRADED, HealthState.DEGRADED, HealthState.DOWN]
        for _ in range(30):  # back: the next due try publishes everything that waited
            tick = await relay_to_broker(outbox, broker, clock, SCHEDULE)
            if tick.published:
                break
            clock.advance(seconds=2)
            await asyncio.sleep(0.5)  # the client may take a moment to notice and reconnect
        assert tick.published == 9
    finally:
        await broker.aclose()
        await proxy.close()
    messages = await received(setup.everything)
    assert per_aggregate(dedupe(messages), history) == history and len(messages) == 9
    view = await health(reporter)
    assert view.state is HealthState.UP and view.pending_events == 0
    assert view.last_error is None and view.last_error_at is not None  # back: the error is history


async def test_a_crash_between_publishing_and_recording_publishes_again_and_consumers_dedupe(
        container: Container, setup: Setup) -> None:
    clock = FakeClock(START + timedelta(days=2))
    outbox, broker, _ = parts(container, setup.exchange)

    class CrashAfterPublishing(SqlBrokerOutbox):
        async def delivered(self, upto: int | None, now: datetime) -> None:
            if upto is not None:
                raise ConnectionResetError("the relay died")
            await super().delivered(upto, now)

    crashing = CrashAfterPublishing(container.core.engine(), container.core.read_engine(), setup.exchange)
    try:
        await relay_to_broker(outbox, broker, clock, SCHEDULE)
        history = await customers_with_history(container, clock, 2, 2)
        with pytest.raises(ConnectionResetError):
            await relay_to_broker(crashing, broker, clock, SCHEDULE)
        assert await relay_to_broker(outbox, broker, clock, SCHEDULE) == RelayTick()  # the dead relay's lease
        clock.advance(seconds=61)
        assert (await relay_to_broker(outbox, broker, clock, SCHEDULE)).published == 6
    finally:
        await broker.aclose()
    messages = await received(setup.everything)
    assert len(messages) == 12  # each event published twice ...
    assert per_aggregate(dedupe(messages), history) == history  # ... acted on once, in order

"""The relay's rules with fakes at its ports: in order per aggregate and per webhook, a failure holds
back only its own aggregate, retries follow the schedule, the last failure parks the event and the
aggregate goes on; the broker keeps its cursor until the broker confirms, and retries with backoff."""
from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest

from application.outbox_relay import Relay, RelayTick, relay_to_broker, relay_webhooks, run_relay
from application.ports import WebhookDelivery
from domain.organisation import Role, Staff
from domain.webhook import RetrySchedule, Webhook
from tests.application.fakes import FakeClock
from tests.application.relay_fakes import FakeBroker, FakeBrokerOutbox, FakeSender, FakeWebhookOutbox, event

SCHEDULE = RetrySchedule((timedelta(seconds=10), timedelta(seconds=20)))  # three attempts
ADMIN = Staff(id=uuid.uuid4(), name="A", email="a@example.com", department_id=uuid.uuid4(), role=Role.ADMIN)


def hook(clock: FakeClock, events: tuple[str, ...] = ("*",)) -> Webhook:
    return Webhook.register("https://example.com/h", list(events), by=ADMIN, at=clock.now())


def two_aggregates() -> tuple[uuid.UUID, uuid.UUID, list]:
    a, b = uuid.uuid4(), uuid.uuid4()
    return a, b, [event(a, 1), event(b, 2), event(a, 3), event(b, 4), event(a, 5)]


def order_of(sent: list[WebhookDelivery], aggregate: uuid.UUID) -> list[int]:
    return [d.event.position for d in sent if d.event.aggregate_id == aggregate]


async def test_everything_goes_out_in_order_per_aggregate(clock: FakeClock) -> None:
    a, b, events = two_aggregates()
    outbox = FakeWebhookOutbox([hook(clock)], events)
    sender = FakeSender()
    tick = await relay_webhooks(outbox, sender, clock, SCHEDULE)
    assert tick == RelayTick(queued=5, delivered=5)
    assert order_of(sender.sent, a) == [1, 3, 5] and order_of(sender.sent, b) == [2, 4]
    assert outbox.rows == []


async def test_a_webhook_gets_only_the_types_it_asked_for(clock: FakeClock) -> None:
    a = uuid.uuid4()
    outbox = FakeWebhookOutbox([hook(clock, ("complaint.filed",))],
                               [event(a, 1, "complaint.filed"), event(a, 2, "complaint.assigned")])
    sender = FakeSender()
    await relay_webhooks(outbox, sender, clock, SCHEDULE)
    assert [d.event.type for d in sender.sent] == ["complaint.filed"]


async def test_a_failure_holds_back_its_aggregate_only_and_is_retried_on_schedule(clock: FakeClock) -> None:
    a, b, events = two_aggregates()
    outbox = FakeWebhookOutbox([hook(clock)], events)
    sender = FakeSender(failing={events[0].id})  # a's first event
    tick = await relay_webhooks(outbox, sender, clock, SCHEDULE)
    assert tick.delivered == 2 and tick.retrying == 1  # b went on, a waits behind its first event
    assert order_of(sender.sent, a) == [1]
    assert [d.event.position for d in outbox.delivered_log] == [2, 4]

    clock.advance(seconds=9)
    assert (await relay_webhooks(outbox, sender, clock, SCHEDULE)) == RelayTick()  # not due yet
    sender.failing.clear()
    clock.advance(seconds=1)
    tick = await relay_webhooks(outbox, sender, clock, SCHEDULE)
    assert tick.delivered == 3
    assert order_of(sender.sent, a) == [1, 1, 3, 5]
    assert [d.attempts for d in sender.sent if d.event.position == 1] == [0, 1]


async def test_after_the_last_try_the_event_is_parked_and_its_aggregate_goes_on(clock: FakeClock) -> None:
    a, _, events = two_aggregates()
    outbox = FakeWebhookOutbox([hook(clock)], events)
    sender = FakeSender(failing={events[0].id})
    ticks = [await relay_webhooks(outbox, sender, clock, SCHEDULE)]
    for seconds in (10, 20):
        clock.advance(seconds=seconds)
        ticks.append(await relay_webhooks(outbox, sender, clock, SCHEDULE))
    assert [t.retrying for t in ticks] == [1, 1, 0] and ticks[-1].parked == 1
    assert order_of(sender.sent, a) == [1, 1, 1, 3, 5]  # 3 and 5 only once 1 was parked
    [parked] = outbox.parked()
    assert parked.delivery.event.position == 1 and parked.delivery.attempts == 3
    assert parked.last_error == "HTTP 503 Service Unavailable"
    clock.advance(hours=1)
    assert (await relay_webhooks(outbox, sender, clock, SCHEDULE)) == RelayTick()  # parked: never again


async def test_a_fault_is_raised_after_the_other_chains_finished(clock: FakeClock) -> None:
    a, b, events = two_aggregates()
    outbox = FakeWebhookOutbox([hook(clock)], events)

    class Crashing(FakeSender):
        async def send(self, delivery: WebhookDelivery) -> None:
            await super().send(delivery)
            if delivery.event.aggregate_id == a:
                raise RuntimeError("database went away")

    sender = Crashing()
    with pytest.raises(RuntimeError, match="went away"):
        await relay_webhooks(outbox, sender, clock, SCHEDULE)
    assert order_of(outbox.delivered_log, b) == [2, 4]


async def test_chains_are_claimed_a_round_at_a_time(clock: FakeClock) -> None:
    aggregates = [uuid.uuid4() for _ in range(5)]
    outbox = FakeWebhookOutbox([hook(clock)], [event(a, n) for n, a in enumerate(aggregates, start=1)])
    claims: list[int] = []
    claim = outbox.claim

    async def counted(now, limit):  # type: ignore[no-untyped-def]
        chains = await claim(now, limit)
        claims.append(len(chains))
        return chains

    outbox.claim = counted  # type: ignore[method-assign]
    tick = await relay_webhooks(outbox, FakeSender(), clock, SCHEDULE, concurrency=2)
    assert tick.delivered == 5 and claims == [2, 2, 1]


async def test_a_long_chain_gives_back_what_it_could_not_send_in_its_budget(clock: FakeClock) -> None:
    aggregate = uuid.uuid4()
    outbox = FakeWebhookOutbox([hook(clock)], [event(aggregate, n) for n in (1, 2, 3)])

    class Slow(FakeSender):
        async def send(self, delivery: WebhookDelivery) -> None:
            await super().send(delivery)
            clock.advance(seconds=15)

    sender = Slow()
    tick = await relay_webhooks(outbox, sender, clock, SCHEDULE, chain_budget=timedelta(seconds=20))
    assert tick.delivered == 2 and [r.leased for r in outbox.rows] == [False]  # the third was given back
    assert (await relay_webhooks(outbox, sender, clock, SCHEDULE)).delivered == 1
    assert order_of(sender.sent, aggregate) == [1, 2, 3]


async def test_the_broker_cursor_waits_for_the_broker(clock: FakeClock) -> None:
    a, b, events = two_aggregates()
    outbox, broker = FakeBrokerOutbox(events), FakeBroker(down=True)
    schedule = RetrySchedule((timedelta(seconds=5), timedelta(seconds=30)))
    assert (await relay_to_broker(outbox, broker, clock, schedule)) == RelayTick(broker_failures=1)
    assert outbox.position == 0 and outbox.retry_at == clock.now() + timedelta(seconds=5)
    assert outbox.last_error == "broker: connection refused"
    clock.advance(seconds=5)
    await relay_to_broker(outbox, broker, clock, schedule)
    assert outbox.retry_at == clock.now() + timedelta(seconds=30) and outbox.failures == 2
    clock.advance(seconds=30)
    await relay_to_broker(outbox, broker, clock, schedule)
    assert outbox.retry_at == clock.now() + timedelta(seconds=30)  # the last delay, for as long as it takes
    broker.down = False
    clock.advance(seconds=30)
    assert (await relay_to_broker(outbox, broker, clock, schedule)).published == 5
    assert [e.position for e in broker.published] == [1, 2, 3, 4, 5] and outbox.position == 5
    assert outbox.failures == 0


async def test_the_broker_goes_in_batches(clock: FakeClock) -> None:
    aggregate = uuid.uuid4()
    outbox, broker = FakeBrokerOutbox([event(aggregate, n) for n in range(1, 8)]), FakeBroker()
    assert (await relay_to_broker(outbox, broker, clock, RetrySchedule(), batch_size=3)).published == 7
    assert [e.position for e in broker.published] == list(range(1, 8))


async def test_run_relay_once_does_both(clock: FakeClock) -> None:
    a, _, events = two_aggregates()
    relay = Relay(clock=clock, webhook_outbox=FakeWebhookOutbox([hook(clock)], events), sender=FakeSender(),
                  schedule=SCHEDULE, broker_outbox=FakeBrokerOutbox(events), broker=FakeBroker())
    total = await run_relay(relay, once=True)
    assert total.delivered == 5 and total.published == 5


async def test_run_relay_logs_faults_and_carries_on_until_stopped(clock: FakeClock) -> None:
    import asyncio

    class Flaky(FakeWebhookOutbox):
        calls = 0

        async def fan_out(self, now, limit):  # type: ignore[no-untyped-def]
            self.calls += 1
            if self.calls == 1:
                raise RuntimeError("boom")
            return await super().fan_out(now, limit)

    outbox = Flaky([hook(clock)], [event(uuid.uuid4(), 1)])
    stop = asyncio.Event()
    ticks: list[RelayTick] = []

    def seen(tick: RelayTick) -> None:
        ticks.append(tick)
        if tick.delivered:
            stop.set()

    total = await asyncio.wait_for(run_relay(Relay(clock=clock, webhook_outbox=outbox, sender=FakeSender()),
                                             interval=0.01, stop=stop, on_tick=seen), timeout=5)
    assert total.delivered == 1 and ticks[0] == RelayTick()
    with pytest.raises(RuntimeError):
        await run_relay(Relay(clock=clock, webhook_outbox=Flaky(), sender=FakeSender()), once=True)


async def test_run_relay_once_drains_a_backlog_larger_than_one_tick(clock: FakeClock) -> None:
    aggregates = [uuid.uuid4() for _ in range(30)]
    events = [event(aggregates[n % 30], n) for n in range(1, 301)]
    outbox = FakeWebhookOutbox([hook(clock)], events)
    broker_outbox, broker = FakeBrokerOutbox(events), FakeBroker()
    ticks: list[RelayTick] = []
    relay = Relay(clock=clock, webhook_outbox=outbox, sender=FakeSender(), schedule=SCHEDULE,
                  broker_outbox=broker_outbox, broker=broker, batch_size=20, concurrency=4)
    total = await run_relay(relay, once=True, on_tick=ticks.append)
    assert len(ticks) > 2 and not ticks[-1].busy
    assert total.delivered == 300 and total.published == 300 and broker_outbox.position == 300
    assert outbox.rows == [] and len(outbox.delivered_log) == 300


async def test_run_relay_once_does_not_spin_on_retries_that_are_not_due(clock: FakeClock) -> None:
    failing = event(uuid.uuid4(), 1)
    outbox = FakeWebhookOutbox([hook(clock)], [failing, event(uuid.uuid4(), 2)])
    ticks: list[RelayTick] = []
    total = await run_relay(Relay(clock=clock, webhook_outbox=outbox, sender=FakeSender(failing={failing.id}),
                                  schedule=SCHEDULE), once=True, on_tick=ticks.append)
    assert total.delivered == 1 and total.retrying == 1 and len(ticks) == 2


async def test_the_heartbeat_renews_the_leases_while_a_tick_runs_and_stops_with_it(clock: FakeClock) -> None:
    """A slow receiver keeps a chain busy for longer than a lease: the relay's heartbeat renews what it holds
    meanwhile (so a live relay keeps its claims), and stops when the tick is over (so a dead relay's claims run
    out: nothing renews them)."""
    a, _, events = two_aggregates()
    outbox = FakeWebhookOutbox([hook(clock)], events)
    broker_outbox = FakeBrokerOutbox(events)

    class SlowSender(FakeSender):
        async def send(self, delivery: WebhookDelivery) -> None:
            await asyncio.sleep(0.03)
            await super().send(delivery)

    relay = Relay(clock=clock, webhook_outbox=outbox, sender=SlowSender(), schedule=SCHEDULE,
                  broker_outbox=broker_outbox, broker=FakeBroker(), heartbeat=timedelta(seconds=0.01))
    tick = await relay.tick()
    assert tick.delivered == 5
    assert outbox.renewals and max(held for _, held in outbox.renewals) > 0  # renewed while chains were out
    assert broker_outbox.renewals > 0
    beats = len(outbox.renewals)
    await asyncio.sleep(0.05)
    assert len(outbox.renewals) == beats  # no tick, no heartbeat

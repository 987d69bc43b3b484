"""The outbox relay: every committed domain event goes out at least once, in order per aggregate, to
each webhook that wants it and to the message broker.

Why at least once and not exactly once: the relay sends, then records that it sent. A crash (or a
lost connection) between the two makes the next relay send again. So every message carries the
event id (webhooks: the X-Event-Id header; the broker: message_id) and receivers deduplicate on it.

Webhooks. A tick first fans the newest outbox events out into per-webhook deliveries (in outbox
order, never past an event whose transaction is still running), then claims due deliveries as
chains, one per (webhook, aggregate), each starting at the aggregate's oldest pending event for that
webhook. A chain is sent in order; the first failure stops it and schedules a retry after the next
delay of the `RetrySchedule`, so event N+1 of an aggregate never reaches a webhook before event N
succeeded. After the last retry the delivery is parked (kept, visible in `integrations`, never tried
again) and the chain goes on. Chains run concurrently (a slow receiver or aggregate holds up only
its own chain). Claims are leases, renewed by a heartbeat while the relay ticks: a relay that dies gives
its deliveries back when its last lease ends (seconds, CRM_RELAY_LEASE), however long a live one's chains take.

Broker. One cursor: the events after it are published (persistent, publisher confirms) and the
cursor moves once the broker confirmed them all. While the broker is unreachable the cursor stays
put, the events wait in the outbox, and the relay retries after the schedule's delays (never
parking: nothing is lost, they all go once it is back).

Several relays may run (`crm worker` on more than one machine): leases keep them off each other's
work. Clocks and schedules are injected, so tests run retries without waiting.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Awaitable, Callable

from application.ports import (
    BrokerOutbox,
    Clock,
    DeliveryFailed,
    MessageBroker,
    WebhookDelivery,
    WebhookOutbox,
    WebhookSender,
)
from domain.webhook import RetrySchedule

log = logging.getLogger("crm.outbox_relay")

DEFAULT_BATCH_SIZE = 200
DEFAULT_CONCURRENCY = 8
DEFAULT_CHAIN_BUDGET = timedelta(seconds=20)  # a chain gives the rest back after this, so others get a turn
MAX_BATCHES_PER_TICK = 50


@dataclass(frozen=True)
class RelayTick:
    queued: int = 0  # outbox events fanned out to webhooks
    delivered: int = 0  # webhook deliveries that succeeded
    retrying: int = 0  # failed, tried again later
    parked: int = 0  # failed for the last time
    published: int = 0  # events the broker confirmed
    broker_failures: int = 0

    def __add__(self, other: "RelayTick") -> "RelayTick":
        return RelayTick(*(a + b for a, b in zip(self._values(), other._values())))

    def _values(self) -> tuple[int, ...]:
        return (self.queued, self.delivered, self.retrying, self.parked, self.published, self.broker_failures)

    @property
    def busy(self) -> bool:
        return any(self._values())


async def relay_webhooks(outbox: WebhookOutbox, sender: WebhookSender, clock: Clock, schedule: RetrySchedule, *,
                         batch_size: int = DEFAULT_BATCH_SIZE, concurrency: int = DEFAULT_CONCURRENCY,
                         chain_budget: timedelta = DEFAULT_CHAIN_BUDGET) -> RelayTick:
    """Fan out what is new, then send due chains in rounds of `concurrency` (a round claims only what
    it sends at once, so no claimed delivery waits for a free slot while its lease runs down; a chain
    that has been sending for longer than `chain_budget` gives the rest back). A fault other than
    DeliveryFailed (the database went away ...) propagates after the round's other chains finished;
    the deliveries of the failed chain come back when their lease ends."""
    tick = RelayTick()
    for _ in range(MAX_BATCHES_PER_TICK):
        moved = await outbox.fan_out(clock.now(), batch_size)
        tick += RelayTick(queued=moved)
        if moved < batch_size:
            break
    width = max(1, concurrency)
    for _ in range(max(1, batch_size // width)):
        chains = await outbox.claim(clock.now(), width)
        results = await asyncio.gather(*(_send_chain(outbox, sender, clock, schedule, chain, chain_budget)
                                         for chain in chains), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
            tick += result
        if len(chains) < width:
            break
    return tick


async def _send_chain(outbox: WebhookOutbox, sender: WebhookSender, clock: Clock, schedule: RetrySchedule,
                      chain: list[WebhookDelivery], budget: timedelta) -> RelayTick:
    """Send a chain in order. Successes are recorded together when the chain stops (one short
    transaction instead of one per event; a crash before that resends them, which receivers dedupe)."""
    tick = RelayTick()
    sent: list[WebhookDelivery] = []
    started = clock.now()
    try:
        for i, delivery in enumerate(chain):
            if i and clock.now() - started > budget:
                await outbox.release(chain[i:])  # the next claim picks them up, in order, under a fresh lease
                break
            try:
                await sender.send(delivery)
            except DeliveryFailed as err:
                now = clock.now()
                retry_at = schedule.next_attempt(delivery.attempts + 1, now)
                await outbox.failed(delivery, now, str(err) or type(err).__name__, retry_at)
                if retry_at is not None:
                    await outbox.release(chain[i + 1:])  # the rest wait behind this one
                    tick += RelayTick(retrying=1)
                    break
                log.warning("webhook %s: event %s parked after %d attempts: %s", delivery.url, delivery.event.id,
                            delivery.attempts + 1, err)
                tick += RelayTick(parked=1)
                continue
            sent.append(delivery)
    finally:
        await outbox.delivered(sent, clock.now())
    return tick + RelayTick(delivered=len(sent))


async def relay_to_broker(outbox: BrokerOutbox, broker: MessageBroker, clock: Clock, schedule: RetrySchedule, *,
                          batch_size: int = DEFAULT_BATCH_SIZE) -> RelayTick:
    """Publish everything after the broker's cursor, a batch at a time; stop at the first failure
    (the cursor stays, the batch is published again on the next due try)."""
    tick = RelayTick()
    for _ in range(MAX_BATCHES_PER_TICK):
        batch = await outbox.claim(clock.now(), batch_size)
        if batch is None:
            break
        try:
            await broker.publish(batch.events)
        except DeliveryFailed as err:
            now = clock.now()
            await outbox.failed(now, str(err) or type(err).__name__, now + schedule.backoff(batch.failures + 1))
            log.warning("broker: %d events wait in the outbox: %s", len(batch.events), err)
            return tick + RelayTick(broker_failures=1)
        await outbox.delivered(batch.events[-1].position if batch.events else None, clock.now())
        tick += RelayTick(published=len(batch.events))
        if len(batch.events) < batch_size:
            break
    return tick


@dataclass
class Relay:
    """What one `crm worker` relays to: webhooks always, the broker when one is configured."""

    clock: Clock
    webhook_outbox: WebhookOutbox
    sender: WebhookSender
    schedule: RetrySchedule = field(default_factory=RetrySchedule)
    broker_outbox: BrokerOutbox | None = None
    broker: MessageBroker | None = None
    # the broker never parks: retry soon, at most a minute apart, for as long as it is down
    broker_schedule: RetrySchedule = field(default_factory=lambda: RetrySchedule.exponential(
        first=timedelta(seconds=1), cap=timedelta(minutes=1), max_attempts=8))
    batch_size: int = DEFAULT_BATCH_SIZE
    concurrency: int = DEFAULT_CONCURRENCY
    heartbeat: timedelta = timedelta(seconds=3)  # a third of the stores' lease: renewed well before it ends

    async def tick(self) -> RelayTick:
        """One pass over both kinds of destination; a fault in one does not keep the other from running.
        Meanwhile the heartbeat renews this relay's leases."""
        beating = asyncio.ensure_future(self._renew_leases())
        try:
            return await self._tick()
        finally:
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating

    async def _renew_leases(self) -> None:
        outboxes: list[WebhookOutbox | BrokerOutbox] = [self.webhook_outbox]
        if self.broker_outbox is not None:
            outboxes.append(self.broker_outbox)
        while True:
            await asyncio.sleep(self.heartbeat.total_seconds())
            for outbox in outboxes:
                try:
                    await outbox.renew(self.clock.now())
                except Exception:  # noqa: BLE001 - a missed beat costs nothing while the lease lasts
                    log.warning("outbox relay: could not renew leases", exc_info=True)

    async def _tick(self) -> RelayTick:
        jobs: list[Awaitable[RelayTick]] = [relay_webhooks(
            self.webhook_outbox, self.sender, self.clock, self.schedule, batch_size=self.batch_size,
            concurrency=self.concurrency)]
        if self.broker_outbox is not None and self.broker is not None:
            jobs.append(relay_to_broker(self.broker_outbox, self.broker, self.clock, self.broker_schedule,
                                        batch_size=self.batch_size))
        results = await asyncio.gather(*jobs, return_exceptions=True)
        tick = RelayTick()
        for result in results:
            if isinstance(result, BaseException):
                raise result
            tick += result
        return tick


async def run_relay(
    relay: Relay,
    *,
    interval: float = 1.0,
    once: bool = False,
    stop: asyncio.Event | None = None,
    on_tick: Callable[[RelayTick], Awaitable[None] | None] | None = None,
) -> RelayTick:
    """Tick until `stop` is set (or, with `once`, until a tick finds nothing more to deliver,
    publish, fan out or park). After a busy tick the next one starts at once, so a
    backlog drains at full speed; an idle one waits `interval` seconds. With `once` faults
    propagate, otherwise they are logged and the relay carries on."""
    stop = stop or asyncio.Event()
    total = RelayTick()
    while True:
        tick = RelayTick()
        try:
            tick = await relay.tick()
        except Exception:
            if once:
                raise
            log.exception("outbox relay tick failed; carrying on")
        total += tick
        if on_tick is not None:
            result = on_tick(tick)
            if result is not None:
                await result
        if once:
            # `crm worker --once` drains what is due: tick again while a tick made progress
            # (not merely `retrying`, whose retries are not due yet and would spin)
            if tick.delivered or tick.published or tick.queued or tick.parked:
                await asyncio.sleep(0)
                continue
            return total
        if stop.is_set():
            return total
        if tick.delivered or tick.published or tick.queued:
            await asyncio.sleep(0)
            continue
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except TimeoutError:
            pass

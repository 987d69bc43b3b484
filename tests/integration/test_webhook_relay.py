"""The webhook relay against a real database (each backend) and a real HTTP receiver on 127.0.0.1:
signed deliveries, retries on the injected schedule and clock, order per aggregate, parking after the
last try, health for `integrations`, a crash between sending and recording (the receiver dedupes on
X-Event-Id), two relays sharing the work, and -- on PostgreSQL -- never passing an event whose
transaction is still running.
"""
from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import AsyncIterator, Awaitable, Callable

import pytest
from sqlalchemy import insert, select, update

from application.customers import (
    CreateCustomer,
    LogInteraction,
    UpdateCustomer,
    create_customer,
    log_interaction,
    update_customer,
)
from application.organisation import find_active_staff_by_email
from application.outbox_relay import relay_webhooks
from application.ports import WebhookDelivery
from application.queries.integrations import HealthState, IntegrationHealthView
from application.webhooks import RegisteredWebhook, RegisterWebhook, register_webhook
from domain.customer import CustomerKind, InteractionKind
from domain.webhook import RetrySchedule
from infrastructure.container import Container, build_container, dispose
from infrastructure.db import tables as t
from infrastructure.db.relay_tables import webhook_deliveries, webhooks
from infrastructure.outbox.health import WebhookHealthReporter, display_url
from infrastructure.outbox.store import OutboxHorizon, SqlWebhookOutbox
from infrastructure.outbox.webhooks import HttpWebhookSender, PublicAddressesOnly, RefusedAddress
from tests.application.fakes import FakeClock
from tests.conftest import Database, settings_for, unique
from tests.webhook_receiver import WebhookReceiver

START = datetime(2031, 5, 5, 9, 0, tzinfo=UTC)  # a fake time no other test uses
SCHEDULE = RetrySchedule((timedelta(seconds=1), timedelta(seconds=2), timedelta(seconds=4)))  # four attempts

Register = Callable[..., Awaitable[RegisteredWebhook]]


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    server = WebhookReceiver()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
async def register(container: Container, clock: FakeClock) -> AsyncIterator[Register]:
    """Register webhooks as the admin; afterwards they are deactivated, so later tests' relays leave them be."""
    ids: list[uuid.UUID] = []
    admin = await find_active_staff_by_email(container.services.uow(), "admin@example.com")

    async def run(url: str, events: tuple[str, ...] = ("*",)) -> RegisteredWebhook:
        registered = await register_webhook(container.services.webhook_registry(), clock, admin,
                                            RegisterWebhook(url, events), allow_private=True)  # a loopback receiver
        ids.append(registered.webhook.id)
        return registered

    yield run
    async with container.core.engine().connect() as conn:
        await conn.execute(update(webhooks).where(webhooks.c.id.in_(ids)).values(active=False))
        await conn.commit()


def outbox_for(container: Container) -> SqlWebhookOutbox:
    return SqlWebhookOutbox(container.core.engine(), container.core.read_engine(), container.services.secret_box())


async def customers_with_history(container: Container, clock: FakeClock, count: int, updates: int
                                 ) -> dict[uuid.UUID, list[str]]:
    """`count` customers, each created and then renamed `updates` times: {customer id: event ids in order}."""
    uow = container.services.uow
    owner = await find_active_staff_by_email(uow(), "sales.key@example.com")
    ids = []
    for _ in range(count):
        customer = await create_customer(uow(), clock, owner, CreateCustomer(name=unique("Relay customer"),
                                                                             kind=CustomerKind.COMPANY))
        ids.append(customer.id)
    for n in range(updates):
        for customer_id in ids:  # interleaved, so aggregates' events alternate in the outbox
            await update_customer(uow(), clock, owner, UpdateCustomer(customer_id=customer_id, name=unique(f"r{n}")))
    async with container.core.engine().connect() as conn:
        rows = (await conn.execute(select(t.outbox.c.aggregate_id, t.outbox.c.id).where(
            t.outbox.c.aggregate_id.in_(ids)).order_by(t.outbox.c.position))).all()
    history: dict[uuid.UUID, list[str]] = {i: [] for i in ids}
    for aggregate_id, event_id in rows:
        history[aggregate_id].append(str(event_id))
    return history


async def drain(container: Container, clock: FakeClock, sender: HttpWebhookSender, webhook_id: uuid.UUID, *,
                outbox: SqlWebhookOutbox | None = None, rounds: int = 30, step: float = 5) -> None:
    """Relay, moving the clock on, until nothing is pending for the webhook."""
    outbox = outbox or outbox_for(container)
    for _ in range(rounds):
        await relay_webhooks(outbox, sender, clock, SCHEDULE)
        if not await pending(container, webhook_id):
            return
        clock.advance(seconds=step)
    raise AssertionError("deliveries still pending")


async def pending(container: Container, webhook_id: uuid.UUID) -> int:
    d = webhook_deliveries
    async with container.core.read_engine().connect() as conn:
        return len((await conn.execute(select(d.c.position).where(d.c.webhook_id == webhook_id,
                                                                   d.c.state == "PENDING"))).all())


async def health_of(container: Container, url: str) -> IntegrationHealthView:
    views = await WebhookHealthReporter(container.core.read_engine()).health()
    [view] = [v for v in views if v.name == f"webhook {display_url(url)}"]
    return view


async def test_a_name_resolving_to_a_private_address_is_refused_when_delivering(
        container: Container, clock: FakeClock, receiver: WebhookReceiver, register: Register) -> None:
    """Registered where private receivers were allowed, delivered by a relay where they are not: the check at
    connect time resolves the name and refuses it, and the receiver hears nothing."""
    name = unique("resolved")
    url = f"http://localhost:{receiver.port}/hooks/{name}"
    hook = await register(url, ("customer.created",))
    endpoint = receiver.endpoint(name)
    await customers_with_history(container, clock, 1, 0)
    async with HttpWebhookSenderContext(clock, allow_private=False) as sender:
        await relay_webhooks(outbox_for(container), sender, clock, SCHEDULE)
    assert endpoint.requests == [] and await pending(container, hook.webhook.id) == 1
    view = await health_of(container, url)
    assert view.state is HealthState.DEGRADED and view.last_error is not None
    assert view.last_error.startswith("refused: localhost resolves to ") and "(loopback)" in view.last_error


async def test_a_redirect_is_a_failure_and_is_not_followed(
        container: Container, clock: FakeClock, receiver: WebhookReceiver, register: Register) -> None:
    name = unique("redirecting")
    url = receiver.url(name)
    await register(url, ("customer.created",))
    target = receiver.endpoint(name + "-target")
    endpoint = receiver.endpoint(name, redirect_to=receiver.url(name + "-target"))
    await customers_with_history(container, clock, 1, 0)
    async with HttpWebhookSenderContext(clock) as sender:
        await relay_webhooks(outbox_for(container), sender, clock, SCHEDULE)
    assert [r.status for r in endpoint.requests] == [307] and target.requests == []
    assert (await health_of(container, url)).last_error == "HTTP 307 Temporary Redirect"


@pytest.mark.parametrize("answers", [["10.0.0.7"], ["93.184.215.14", "10.0.0.7"], ["2606:4700::1111", "::1"],
                                     ["93.184.215.14", "::ffff:169.254.169.254"], ["fe80::1%eth0"]])
async def test_every_address_a_name_resolves_to_is_checked_before_connecting(answers: list[str]) -> None:
    asked: list[tuple[str, int]] = []

    async def resolver(host: str, port: int) -> list[str]:
        asked.append((host, port))
        return answers

    with pytest.raises(RefusedAddress, match="refused: hooks.example.com resolves to"):
        await PublicAddressesOnly(resolver).connect_tcp("hooks.example.com", 443, timeout=1)
    assert asked == [("hooks.example.com", 443)]


async def test_signed_deliveries_retried_and_in_order_per_aggregate(
        container: Container, clock: FakeClock, receiver: WebhookReceiver, register: Register) -> None:
    history_before = await customers_with_history(container, clock, 1, 0)  # before the webhook: not sent
    url = receiver.url(unique("ordered"))
    hook = await register(url, ("customer.created", "customer.updated"))
    endpoint = receiver.endpoint(url.rsplit("/", 1)[1], secret=hook.secret, fail_first=4,
                                 now=lambda: clock.now().timestamp())
    history = await customers_with_history(container, clock, 3, 3)
    owner = await find_active_staff_by_email(container.services.uow(), "sales.key@example.com")
    await log_interaction(container.services.uow(), clock, owner, LogInteraction(  # interaction.logged: not asked for
        customer_id=next(iter(history)), kind=InteractionKind.CALL, summary="not for this webhook"))
    async with HttpWebhookSenderContext(clock) as sender:
        await drain(container, clock, sender, hook.webhook.id)

    assert endpoint.bad_signatures == 0
    assert [r.status for r in endpoint.requests[:4]] == [500] * 4  # failed, then retried
    assert max(r.attempt for r in endpoint.requests) >= 2
    assert endpoint.ids_per_aggregate() == {str(k): v for k, v in history.items()}  # all, once, in order
    assert set(endpoint.deliveries_per_event().values()) == {1}
    assert not set(history_before[next(iter(history_before))]) & endpoint.seen
    assert {r.event_type for r in endpoint.accepted} == {"customer.created", "customer.updated"}
    first = endpoint.accepted[0]
    assert first.json["id"] == first.event_id and first.json["aggregateType"] == "customer"
    assert re.fullmatch(r"t=\d{10},v1=[0-9a-f]{64}", first.signature)

    view = await health_of(container, url)
    assert view.state is HealthState.UP and view.pending_events == 0
    # healthy again: the old error is history (when it last failed), not what is wrong now
    assert view.last_success_at == clock.now() and view.last_error is None
    assert view.last_error_at is not None and view.last_error_at < view.last_success_at


async def test_the_last_failure_parks_the_event_and_its_aggregate_goes_on(
        container: Container, clock: FakeClock, receiver: WebhookReceiver, register: Register) -> None:
    url = receiver.url(unique("poison"))
    hook = await register(url)
    endpoint = receiver.endpoint(url.rsplit("/", 1)[1], always_fail=True)
    history = await customers_with_history(container, clock, 1, 2)
    [events] = history.values()
    outbox = outbox_for(container)
    async with HttpWebhookSenderContext(clock) as sender:
        for _ in range(3):  # three of four attempts fail: still retrying
            await relay_webhooks(outbox, sender, clock, SCHEDULE)
            await relay_webhooks(outbox, sender, clock, SCHEDULE)  # not due again yet: nothing is sent
            clock.advance(seconds=4)
        view = await health_of(container, url)
        assert view.state is HealthState.DEGRADED and view.pending_events == 3
        assert view.last_error == "HTTP 500 Internal Server Error"
        assert [r.event_id for r in endpoint.requests] == [events[0]] * 3  # the others wait behind it

        endpoint.always_fail = False
        endpoint.fail_first = 4  # the fourth attempt at the first event fails too: parked; the rest go
        await relay_webhooks(outbox, sender, clock, SCHEDULE)
    assert [r.event_id for r in endpoint.requests] == [events[0]] * 4 + events[1:]
    assert endpoint.effects == events[1:]
    view = await health_of(container, url)
    assert view.state is HealthState.DEGRADED  # delivering again, one event parked
    assert view.pending_events == 1 and view.last_error == "HTTP 500 Internal Server Error (1 parked event)"
    d = webhook_deliveries
    async with container.core.read_engine().connect() as conn:
        parked = (await conn.execute(select(d).where(d.c.webhook_id == hook.webhook.id))).one()
    assert (parked.state, parked.attempts, str(parked.event_id)) == ("PARKED", 4, events[0])
    clock.advance(hours=2)
    async with HttpWebhookSenderContext(clock) as sender2:
        await relay_webhooks(outbox, sender2, clock, SCHEDULE)
    assert len(endpoint.requests) == 6  # a parked event is never tried again


async def test_a_receiver_that_stays_down_is_down_with_its_events_pending(
        container: Container, clock: FakeClock, receiver: WebhookReceiver, register: Register) -> None:
    url = receiver.url(unique("down"))
    await register(url, ("customer.created",))
    receiver.endpoint(url.rsplit("/", 1)[1], always_fail=True)
    await customers_with_history(container, clock, 2, 1)
    outbox = outbox_for(container)
    async with HttpWebhookSenderContext(clock) as sender:
        view = await health_of(container, url)
        assert view.state is HealthState.UP and view.pending_events == 2  # not even queued yet
        for _ in range(4):
            await relay_webhooks(outbox, sender, clock, SCHEDULE)
            clock.advance(seconds=5)
    view = await health_of(container, url)
    assert view.state is HealthState.DOWN and view.pending_events == 2 and view.last_success_at is None
    assert view.last_error == "HTTP 500 Internal Server Error (2 parked events)"


async def test_a_crash_between_sending_and_recording_resends_and_the_receiver_dedupes(
        container: Container, clock: FakeClock, receiver: WebhookReceiver, register: Register) -> None:
    url = receiver.url(unique("crash"))
    hook = await register(url)
    endpoint = receiver.endpoint(url.rsplit("/", 1)[1], secret=hook.secret, now=lambda: clock.now().timestamp())
    history = await customers_with_history(container, clock, 2, 2)

    first, second = history.values()

    class CrashAfterSending(SqlWebhookOutbox):
        """The process dies after the receiver took the first customer's events, before the relay recorded it."""

        async def delivered(self, deliveries: list[WebhookDelivery], now: datetime) -> None:
            if any(str(x.event.id) == first[0] for x in deliveries):
                raise ConnectionResetError("the relay died")
            await super().delivered(deliveries, now)
    crashing = CrashAfterSending(container.core.engine(), container.core.read_engine(),
                                 container.services.secret_box())
    async with HttpWebhookSenderContext(clock) as sender:
        with pytest.raises(ConnectionResetError):
            await relay_webhooks(crashing, sender, clock, SCHEDULE)
        clock.advance(seconds=5)
        await relay_webhooks(outbox_for(container), sender, clock, SCHEDULE)  # lease still held: nothing
        assert await pending(container, hook.webhook.id)
        clock.advance(seconds=10)  # the dead relay's lease (10 s) ran out: a restarted relay sends again
        await drain(container, clock, sender, hook.webhook.id)

    counts = endpoint.deliveries_per_event()
    assert {event_id for event_id, n in counts.items() if n > 1} == set(first)  # sent twice ...
    assert all(counts[e] == 1 for e in second)
    assert sorted(endpoint.effects) == sorted(e for events in history.values() for e in events)  # ... acted on once
    for aggregate_id, events in history.items():  # and the effects kept each aggregate's order
        assert [e for e in endpoint.effects if e in events] == events


async def test_two_relays_share_the_work_without_reordering(
        container: Container, clock: FakeClock, receiver: WebhookReceiver, register: Register,
        database: Database) -> None:
    url = receiver.url(unique("shared"))
    hook = await register(url)
    endpoint = receiver.endpoint(url.rsplit("/", 1)[1])
    history = await customers_with_history(container, clock, 6, 3)
    other = build_container(settings_for(database.url))
    try:
        async with HttpWebhookSenderContext(clock) as first, HttpWebhookSenderContext(clock) as second:
            await asyncio.gather(
                drain(container, clock, first, hook.webhook.id, step=0),
                drain(other, clock, second, hook.webhook.id, outbox=outbox_for(other), step=0))
    finally:
        await dispose(other)
    assert set(endpoint.deliveries_per_event().values()) == {1}
    assert endpoint.ids_per_aggregate() == {str(k): v for k, v in history.items()}


async def test_no_event_of_a_running_transaction_is_passed(
        container: Container, clock: FakeClock, receiver: WebhookReceiver, register: Register,
        database: Database) -> None:
    """PostgreSQL: a transaction takes an outbox position and stays open while a later one commits; the
    relay delivers neither until the first has ended (committed: both go, in order; rolled back: the
    hole is passed)."""
    if database.backend != "postgresql":
        pytest.skip("SQLite has one writer at a time: positions are taken in commit order")
    url = receiver.url(unique("late"))
    await register(url)
    endpoint = receiver.endpoint(url.rsplit("/", 1)[1])
    outbox = outbox_for(container)
    engine = container.core.engine()

    def row(aggregate: uuid.UUID) -> dict:
        return {"id": uuid.uuid4(), "type": "customer.updated", "aggregate_type": "customer",
                "aggregate_id": aggregate, "occurred_at": clock.now(), "payload": {}}

    async with HttpWebhookSenderContext(clock) as sender:
        for outcome in ("commit", "rollback"):
            aggregate = uuid.uuid4()
            early, late = row(aggregate), row(aggregate)
            async with engine.connect() as slow:
                await slow.execute(insert(t.outbox).values(**early))  # takes position p, stays open
                async with engine.connect() as quick:
                    await quick.execute(insert(t.outbox).values(**late))  # p + 1, committed
                    await quick.commit()
                await relay_webhooks(outbox, sender, clock, SCHEDULE)
                assert str(late["id"]) not in endpoint.seen and str(early["id"]) not in endpoint.seen
                await (slow.commit() if outcome == "commit" else slow.rollback())
            await relay_webhooks(outbox, sender, clock, SCHEDULE)
            expected = [str(early["id"]), str(late["id"])] if outcome == "commit" else [str(late["id"])]
            assert [e for e in endpoint.effects if e in (str(early["id"]), str(late["id"]))] == expected


async def test_a_hole_left_by_a_transaction_is_waited_for_only_while_it_runs(
        container: Container, database: Database) -> None:
    """The horizon itself: while a writer holds a hole it stops below it; once every writer it saw has
    ended (even though others are now writing) it passes the hole."""
    if database.backend != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    engine, horizon = container.core.engine(), OutboxHorizon()

    def row() -> dict:
        return {"id": uuid.uuid4(), "type": "customer.updated", "aggregate_type": "customer",
                "aggregate_id": uuid.uuid4(), "occurred_at": START, "payload": {}}

    async with engine.connect() as conn:
        start = (await conn.execute(select(t.outbox.c.position).order_by(t.outbox.c.position.desc()).limit(1))
                 ).scalar_one()
        await conn.rollback()
    holder, newcomer = await engine.connect(), await engine.connect()
    try:
        await holder.execute(insert(t.outbox).values(**row()))  # the hole, start + 1 (or so)
        async with engine.connect() as quick:
            await quick.execute(insert(t.outbox).values(**row()))
            await quick.commit()
        async with engine.connect() as conn:
            upto, count = await horizon.settled_upto(conn, "test", start, 100)
            assert (upto, count) == (start, 0)
        await holder.rollback()  # the hole is permanent now ...
        await newcomer.execute(insert(t.outbox).values(**row()))  # ... while someone else writes
        async with engine.connect() as conn:
            upto, count = await horizon.settled_upto(conn, "test", start, 100)
        assert count == 1 and upto > start + 1  # passed the hole, not the newcomer's
    finally:
        await holder.close()
        await newcomer.rollback()
        await newcomer.close()


class HttpWebhookSenderContext:
    def __init__(self, clock: FakeClock, *, allow_private: bool = True) -> None:  # the receiver is on loopback
        self.sender = HttpWebhookSender(clock, timeout=5, allow_private=allow_private)

    async def __aenter__(self) -> HttpWebhookSender:
        return self.sender

    async def __aexit__(self, *exc: object) -> None:
        await self.sender.aclose()


async def test_a_renewed_lease_holds_and_a_dead_relays_runs_out_within_one_lease(
        container: Container, clock: FakeClock, register: Register, receiver: WebhookReceiver) -> None:
    """Leases are short (CRM_RELAY_LEASE): the relay that claimed keeps its chain while it renews, and once it
    stops (it died) another relay takes the chain over within one lease, not a minute later."""
    url = receiver.url(unique("lease"))
    hook = await register(url)
    lease = timedelta(seconds=2)
    engine, read_engine, box = container.core.engine(), container.core.read_engine(), container.services.secret_box()
    alive, other = (SqlWebhookOutbox(engine, read_engine, box, lease=lease) for _ in range(2))
    history = await customers_with_history(container, clock, 1, 1)
    await alive.fan_out(clock.now(), 100)
    [chain] = [c for c in await alive.claim(clock.now(), 8) if c[0].webhook_id == hook.webhook.id]
    assert [str(x.event.id) for x in chain] == next(iter(history.values()))

    def ours(chains: list[list[WebhookDelivery]]) -> list[list[WebhookDelivery]]:
        return [c for c in chains if c[0].webhook_id == hook.webhook.id]

    clock.advance(seconds=1.5)
    await alive.renew(clock.now())  # the heartbeat, before the lease ended
    clock.advance(seconds=1.5)  # past the first lease, within the renewed one
    assert ours(await other.claim(clock.now(), 8)) == []
    clock.advance(seconds=0.6)  # it stopped renewing (it died): its lease is over
    [taken] = ours(await other.claim(clock.now(), 8))
    assert [x.event.id for x in taken] == [x.event.id for x in chain]
    await other.delivered(taken, clock.now())
    await alive.renew(clock.now())  # a late beat of the dead relay renews nothing it no longer holds
    assert await pending(container, hook.webhook.id) == 0

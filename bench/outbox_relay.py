"""Benchmark: how fast the outbox relay drains a backlog to webhooks and to RabbitMQ.

    .venv/bin/python bench/outbox_relay.py [--events 20000] [--aggregates 2000] [--webhooks 2]
                                           [--database-url URL] [--broker-url amqp://guest:guest@127.0.0.1:5672/]

Builds a fresh database (SQLite in a temporary folder unless --database-url names an empty one), migrates it,
registers `--webhooks` webhooks for every event at a receiver on 127.0.0.1 (bench/webhook_sink.py under
uvicorn in a process of its own, answering 204), bulk-inserts `--events` outbox events spread over `--aggregates` aggregates, and runs the
relay until everything is delivered. Reports events per second for the webhooks (all of them together) and,
with --broker-url, for the broker (a fresh exchange and queue, deleted afterwards), and checks that every
webhook received every event once, in order per aggregate. Targets on the 2-core machine: see the numbers
this prints; the relay is network-bound, so they mostly measure round trips.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, select

from application.organisation import find_active_staff_by_email
from application.outbox_relay import relay_to_broker, relay_webhooks
from application.webhooks import RegisterWebhook, register_webhook
from domain.webhook import RetrySchedule
from infrastructure.clock import SystemClock
from infrastructure.container import Container, build_container, dispose
from infrastructure.db import tables as t
from infrastructure.db.migrate import upgrade
from infrastructure.db.relay_tables import webhook_deliveries
from infrastructure.outbox.broker import RabbitMqBroker
from infrastructure.outbox.store import SqlBrokerOutbox, SqlWebhookOutbox
from infrastructure.outbox.webhooks import HttpWebhookSender
from infrastructure.settings import Settings


async def load(container: Container, events: int, aggregates: int) -> None:
    ids = [uuid.uuid4() for _ in range(aggregates)]
    now = datetime.now(UTC)
    rows = [{"id": uuid.uuid4(), "type": "customer.updated", "aggregate_type": "customer",
             "aggregate_id": ids[n % aggregates], "occurred_at": now, "payload": {"n": n}} for n in range(events)]
    async with container.core.engine().connect() as conn:
        for start in range(0, events, 1000):
            await conn.execute(insert(t.outbox), rows[start:start + 1000])
        await conn.commit()


class Sink:
    """bench/webhook_sink.py in a uvicorn process on a free port."""

    def __init__(self, folder: Path) -> None:
        self.file = folder / "sink.txt"
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "bench.webhook_sink:app", "--port", str(self.port), "--log-level",
             "warning"], cwd=Path(__file__).resolve().parents[1], env={**os.environ, "WEBHOOK_SINK_FILE": str(self.file)})

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    async def wait(self) -> None:
        for _ in range(200):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return
            except OSError:
                await asyncio.sleep(0.05)
        raise RuntimeError("the sink did not start")

    def received(self) -> dict[str, dict[str, list[str]]]:
        """{path: {aggregate id: event ids in arrival order}}"""
        found: dict[str, dict[str, list[str]]] = {}
        for line in self.file.read_text().splitlines():
            path, event_id, aggregate_id = line.split()
            found.setdefault(path, {}).setdefault(aggregate_id, []).append(event_id)
        return found

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


async def register_all(container: Container, sink: Sink, hooks: int) -> None:
    clock = SystemClock()
    admin = await find_active_staff_by_email(container.services.uow(), "admin@example.com")
    for n in range(hooks):
        await register_webhook(container.services.webhook_registry(), clock, admin,
                               RegisterWebhook(sink.url(f"bench-{n}"), ("*",)), allow_private=True)


async def drain_webhooks(container: Container, sink: Sink, events: int) -> dict:
    clock = SystemClock()
    outbox = SqlWebhookOutbox(container.core.engine(), container.core.read_engine(), container.services.secret_box())
    sender = HttpWebhookSender(clock, allow_private=True)  # the sink is on loopback
    started = time.perf_counter()
    try:
        while True:
            tick = await relay_webhooks(outbox, sender, clock, RetrySchedule(), batch_size=500, concurrency=16)
            async with container.core.read_engine().connect() as conn:
                left = (await conn.execute(select(webhook_deliveries.c.position).limit(1))).first()
            if left is None and not tick.queued:
                break
    finally:
        await sender.aclose()
    elapsed = time.perf_counter() - started
    received = sink.received()
    deliveries = sum(len(ids) for per_aggregate in received.values() for ids in per_aggregate.values())
    for per_aggregate in received.values():
        assert sum(len(set(ids)) for ids in per_aggregate.values()) == events, "an event is missing"
    return {"deliveries": deliveries, "seconds": round(elapsed, 2), "deliveries_per_s": round(deliveries / elapsed)}


async def drain_broker(container: Container, broker_url: str, events: int, aggregates: int) -> dict:
    import aio_pika

    exchange = f"crm.events.bench-{uuid.uuid4().hex[:8]}"
    clock = SystemClock()
    outbox = SqlBrokerOutbox(container.core.engine(), container.core.read_engine(), exchange)
    broker = RabbitMqBroker(broker_url, exchange)
    connection = await aio_pika.connect(broker_url)
    channel = await connection.channel()
    queue = await channel.declare_queue(exchange, durable=True)
    await queue.bind(await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True), "#")
    try:
        await relay_to_broker(outbox, broker, clock, RetrySchedule())  # the cursor starts at the head ...
        await load(container, events, aggregates)  # ... so load after it
        started = time.perf_counter()
        published = 0
        while published < events:
            published += (await relay_to_broker(outbox, broker, clock, RetrySchedule(), batch_size=1000)).published
        elapsed = time.perf_counter() - started
        return {"published": published, "seconds": round(elapsed, 2), "events_per_s": round(published / elapsed)}
    finally:
        await broker.aclose()
        await channel.queue_delete(exchange)
        await channel.exchange_delete(exchange)
        await connection.close()


async def main(args: argparse.Namespace) -> dict:
    folder = None
    url = args.database_url
    if url is None:
        folder = tempfile.mkdtemp(prefix="crm-bench-relay-")
        url = f"sqlite+aiosqlite:///{Path(folder) / 'crm.db'}"
    container = build_container(Settings(database_url=url, env="test"))
    sink = Sink(Path(folder or tempfile.mkdtemp(prefix="crm-bench-relay-")))
    report: dict = {"database": url.split(":", 1)[0], "events": args.events, "aggregates": args.aggregates,
                    "webhooks": args.webhooks}
    try:
        await sink.wait()
        await upgrade(container.core.engine())
        from application.demo import seed_demo

        await seed_demo(container.services.uow, container.gateways.clock())
        await register_all(container, sink, args.webhooks)
        await load(container, args.events, args.aggregates)
        report["webhooks_drain"] = await drain_webhooks(container, sink, args.events)
        if args.broker_url:
            report["broker_drain"] = await drain_broker(container, args.broker_url, args.events, args.aggregates)
    finally:
        sink.stop()
        await dispose(container)
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--aggregates", type=int, default=2000)
    parser.add_argument("--webhooks", type=int, default=2)
    parser.add_argument("--database-url")
    parser.add_argument("--broker-url")
    print(json.dumps(asyncio.run(main(parser.parse_args())), indent=2))

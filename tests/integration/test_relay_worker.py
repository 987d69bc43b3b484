"""`crm worker` runs the outbox relay beside the SLA worker: a real process with a webhook receiver on
127.0.0.1 and the local RabbitMQ (CRM_BROKER_URL), on an SQLite file of its own."""
from __future__ import annotations

import asyncio
import os
import sys
import uuid
from pathlib import Path

import aio_pika

from application.customers import CreateCustomer, create_customer
from application.organisation import find_active_staff_by_email
from application.webhooks import RegisterWebhook, register_webhook
from domain.customer import CustomerKind
from infrastructure.clock import SystemClock
from infrastructure.container import build_container, dispose
from tests.conftest import settings_for
from tests.integration.servers import TEST_MODE
from tests.integration.test_broker_relay import AMQP_URL, received
from tests.webhook_receiver import WebhookReceiver

ROOT = Path(__file__).resolve().parents[2]


async def crm(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "api.cli", *args, cwd=ROOT, env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout=300)
    return process.returncode or 0, out.decode(), err.decode()


async def test_crm_worker_relays_to_webhooks_and_the_broker(tmp_path: Path) -> None:
    exchange = f"crm.events.test-{uuid.uuid4().hex[:8]}"
    url = f"sqlite+aiosqlite:///{tmp_path / 'crm.db'}"
    env = {**os.environ, "CRM_DATABASE_URL": url, "CRM_BROKER_URL": AMQP_URL, "CRM_BROKER_EXCHANGE": exchange,
           "CRM_WEBHOOK_ALLOW_PRIVATE": "true", **TEST_MODE}  # the receiver is on loopback; our key seals secrets
    receiver = WebhookReceiver()
    await receiver.start()
    connection = await aio_pika.connect(AMQP_URL, timeout=10)
    container = build_container(settings_for(url))
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(f"{exchange}.all", durable=True)
        await queue.bind(await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True), "#")
        # the demo's due SLA events fire first (without the relay): otherwise they race the relay's first run, which
        # starts the broker's cursor at the head of the outbox, and may land after it
        for args in (("migrate",), ("seed-demo",), ("worker", "--once", "--no-relay"), ("worker", "--once")):
            code, out, err = await crm(env, *args)
            assert code == 0, err

        clock = SystemClock()
        admin = await find_active_staff_by_email(container.services.uow(), "admin@example.com")
        hook = await register_webhook(container.services.webhook_registry(), clock, admin,
                                      RegisterWebhook(receiver.url("worker"), ("customer.created",)),
                                      allow_private=True)
        endpoint = receiver.endpoint("worker", secret=hook.secret, now=lambda: clock.now().timestamp())
        customer = await create_customer(container.services.uow(), clock, admin, CreateCustomer(
            name="Relayed by the worker", kind=CustomerKind.COMPANY))

        code, out, err = await crm(env, "worker", "--once")
        assert code == 0, err
        assert "relay: 1 webhook deliveries" in out and "outbox relay stopped: 2 events handed on" in out
        assert [r.json["aggregateId"] for r in endpoint.accepted] == [str(customer.id)]
        assert endpoint.bad_signatures == 0
        messages = await received(queue.name)
        assert [m.routing_key for m in messages] == ["customer.created"]

        code, out, err = await crm(env, "worker", "--once", "--no-relay")
        assert code == 0 and "outbox relay stopped" not in out
    finally:
        await channel.queue_delete(f"{exchange}.all")
        await channel.exchange_delete(exchange)
        await connection.close()
        await dispose(container)
        await receiver.stop()

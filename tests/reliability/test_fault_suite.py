"""The fault suite (`make test-reliability`): real `crm serve` and `crm worker` processes on PostgreSQL, each
behind fault proxies this test owns (to PostgreSQL, RabbitMQ and the webhook receiver; the shared services are
never touched), a mixed write load from concurrent clients that record what was acknowledged, and faults
meanwhile: kill -9 of a server and of workers, connection resets, a database pause, broker and receiver cuts.
Afterwards, Jepsen-style, from what the clients were told and what the database, the broker, the webhook
receiver and a live subscriber hold:

- lost: an acknowledged write without its event in the outbox (must be 0);
- unexpected: an event for a write nobody attempted, or a second customer for one idempotency key (0);
- missing at the broker / at the webhook: outbox events written during the run that never arrived (0);
- order violations: an aggregate's events arriving out of outbox order at the broker or the webhook (0);
- subscription: orders acknowledged during the run that the live subscriber (on a server whose LISTEN
  connection was reset) never saw (0), and one written after the last fault arrives.
- SLA and workflows: the first-response warning and breach of complaints filed as the load starts (due at
  30 s and 60 s, with workers killed around both), and the escalation of workflow steps due at 60 s, each
  fire exactly once.

It prints the figures as a table and fails on any of them. Bounded: about two minutes.
"""
from __future__ import annotations

import asyncio
import base64
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator

import aio_pika
import httpx
import pytest
import websockets
from sqlalchemy import func, select

from infrastructure.db import tables as t
from infrastructure.db.engine import create_engine
from infrastructure.db.relay_tables import relay_cursors, webhook_deliveries
from infrastructure.outbox.store import FAN_OUT_CURSOR, broker_cursor_name
from tests.conftest import BACKENDS
from tests.faults import FaultProxy
from tests.integration.servers import TEST_MODE, free_port, seeded_postgres, wait_ready
from tests.integration.test_broker_relay import AMQP_URL, received
from tests.webhook_receiver import WebhookReceiver

ROOT = Path(__file__).resolve().parents[2]
LOAD_SECONDS = float(os.environ.get("CRM_RELIABILITY_SECONDS", "40"))
CLIENTS = 4
pytestmark = pytest.mark.skipif("postgresql" not in BACKENDS, reason="the fault suite runs on PostgreSQL")

CREATE_CUSTOMER = ("mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { id } "
                   "userErrors { code } } }")
UPDATE_CUSTOMER = ("mutation($input: UpdateCustomerInput!) { updateCustomer(input: $input) { customer { version } "
                   "userErrors { code } } }")
CREATE_ORDER = ("mutation($input: CreateOrderInput!) { createOrder(input: $input) { order { id number } "
                "userErrors { code } } }")
REGISTER = ("mutation($input: RegisterWebhookInput!) { registerWebhook(input: $input) { secret "
            "userErrors { code } } }")
ORDER_EVENTS = "subscription { orderEvents { kind order { id number } } }"
DEFINE_CALENDAR = ("mutation($input: DefineCalendarInput!) { defineCalendar(input: $input) { calendar { id } "
                   "userErrors { code } } }")
DEFINE_CATEGORY = ("mutation($input: DefineCategoryInput!) { defineCategory(input: $input) { category { id } "
                   "userErrors { code } } }")
DEFINE_POLICY = ("mutation($input: DefineSlaPolicyInput!) { defineSlaPolicy(input: $input) { policy { id } "
                 "userErrors { code } } }")
FILE_COMPLAINT = ("mutation($input: FileComplaintInput!) { fileComplaint(input: $input) { complaint { id } "
                  "userErrors { code } } }")
SET_CALENDAR = ("mutation($input: SetDepartmentCalendarInput!) { setDepartmentCalendar(input: $input) { "
                "userErrors { code } } }")
DEFINE_WORKFLOW = ("mutation($input: DefineWorkflowInput!) { defineWorkflow(input: $input) { userErrors { code } } }")
START_WORKFLOW = ("mutation($input: StartWorkflowInput!) { startWorkflow(input: $input) { instance { id } "
                  "userErrors { code } } }")
INSTANCES = 6  # workflows whose one step is due a minute after it starts: escalated at 60 s
COMPLAINTS = 8  # filed as the load starts: their first response is warned about at 30 s and breached at 60 s


@dataclass
class Ledger:
    """What the clients attempted and what they were told succeeded."""

    attempted_names: set[str] = field(default_factory=set)
    acknowledged: dict[str, str] = field(default_factory=dict)  # update name -> customer id
    customer_keys: dict[str, str] = field(default_factory=dict)  # idempotency key -> customer id (acknowledged)
    order_keys_attempted: set[str] = field(default_factory=set)
    orders_acknowledged: dict[str, str] = field(default_factory=dict)  # order id -> number
    failures: Counter[str] = field(default_factory=Counter)  # what the clients were told instead of OK


class Cluster:
    """The processes and the proxies between them and the shared services."""

    def __init__(self, db_url: str, token: str, exchange: str) -> None:
        self.db_url, self.token, self.exchange = db_url, token, exchange
        self.to_db_from_servers = FaultProxy.for_url(db_url)
        self.to_db_from_workers = FaultProxy.for_url(db_url)
        self.to_broker = FaultProxy.for_url(AMQP_URL)
        self.receiver = WebhookReceiver()
        self.to_receiver: FaultProxy | None = None
        self.ports = {"A": free_port(), "B": free_port()}
        self.servers: dict[str, subprocess.Popen[bytes]] = {}
        self.workers: dict[int, subprocess.Popen[bytes]] = {}
        self.kills = Counter[str]()
        self.logs = Path(tempfile.mkdtemp(prefix="crm-reliability-"))
        self._started = 0

    def _log(self, what: str) -> Any:
        self._started += 1
        return open(self.logs / f"{self._started:02d}-{what}.log", "wb")

    def crashed(self) -> list[str]:
        """The current processes that exited by themselves (what they wrote is in `logs`)."""
        running = [*self.servers.items(), *((f"worker {n}", w) for n, w in self.workers.items())]
        return [f"{name} (exit {p.returncode})" for name, p in running if p.poll() is not None]

    async def start(self) -> None:
        for proxy in (self.to_db_from_servers, self.to_db_from_workers, self.to_broker):
            await proxy.start()
        await self.receiver.start()
        self.to_receiver = await FaultProxy.for_url(self.receiver.url("x")).start()
        for name in self.ports:
            await self.start_server(name)
        for n in (1, 2):
            self.start_worker(n)

    def _env(self, proxy: FaultProxy) -> dict[str, str]:
        return {**os.environ, **TEST_MODE, "CRM_DATABASE_URL": proxy.url(self.db_url),
                "CRM_DB_POOL_SIZE": "3", "CRM_DB_MAX_OVERFLOW": "1", "CRM_DB_CONNECT_TIMEOUT": "2",
                "CRM_DB_STATEMENT_TIMEOUT": "5", "CRM_DB_POOL_TIMEOUT": "5", "CRM_RELAY_LEASE": "2",
                "CRM_RELAY_INTERVAL": "0.2", "CRM_WEBHOOK_FIRST_RETRY": "0.5", "CRM_WEBHOOK_MAX_ATTEMPTS": "50",
                "CRM_WEBHOOK_TIMEOUT": "3", "CRM_BROKER_URL": self.to_broker.url(AMQP_URL),
                "CRM_BROKER_EXCHANGE": self.exchange, "CRM_SHUTDOWN_GRACE": "2",
                "CRM_WEBHOOK_ALLOW_PRIVATE": "true"}  # the receiver is on loopback

    async def start_server(self, name: str) -> None:
        self.servers[name] = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--port", str(self.ports[name]), "--no-access-log"],
            cwd=ROOT, env=self._env(self.to_db_from_servers), stdout=subprocess.DEVNULL, stderr=self._log(f"server-{name}"))
        await wait_ready(self.url(name), self.servers[name], attempts=600)

    def start_worker(self, n: int) -> None:
        self.workers[n] = subprocess.Popen([sys.executable, "-m", "api.cli", "worker", "--interval", "1"], cwd=ROOT,
                                           env=self._env(self.to_db_from_workers), stdout=subprocess.DEVNULL,
                                           stderr=self._log(f"worker-{n}"))

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def kill9(self, process: subprocess.Popen[bytes], what: str) -> None:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        self.kills[what] += 1

    async def stop(self) -> None:
        for process in [*self.servers.values(), *self.workers.values()]:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)
        for proxy in (self.to_db_from_servers, self.to_db_from_workers, self.to_broker, self.to_receiver):
            if proxy is not None:
                await proxy.close()
        await self.receiver.stop()


async def graphql(client: httpx.AsyncClient, url: str, token: str, query: str,
                  variables: dict[str, Any]) -> dict[str, Any] | str:
    """The data of a fully successful answer, else what went wrong (a code, an HTTP status, a transport error)."""
    try:
        response = await client.post(f"{url}/graphql", json={"query": query, "variables": variables},
                                     headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as err:
        return type(err).__name__
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code} (not JSON)"  # must never happen: counted, and fails the run
    if body.get("errors"):
        return body["errors"][0].get("extensions", {}).get("code", "NO_CODE")
    payload = next(iter(body["data"].values()))
    if payload.get("userErrors"):
        return payload["userErrors"][0]["code"]
    return payload


class Load:
    def __init__(self, cluster: Cluster, ledger: Ledger, until: float) -> None:
        self.cluster, self.ledger, self.until = cluster, ledger, until

    def _server(self) -> str:
        return random.choice(list(self.cluster.ports))

    async def _retrying(self, client: httpx.AsyncClient, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """Until acknowledged: a mutation with an idempotency key is safe to repeat."""
        while True:
            result = await graphql(client, self.cluster.url(self._server()), self.cluster.token, query, variables)
            if isinstance(result, dict):
                return result
            self.ledger.failures[result] += 1
            await asyncio.sleep(0.2)

    async def customer_writer(self, n: int) -> None:
        async with httpx.AsyncClient(timeout=15) as client:
            key = f"rel-customer-{n}-{uuid.uuid4().hex[:6]}"
            created = await self._retrying(client, CREATE_CUSTOMER, {"input": {
                "name": f"{key}-0", "kind": "COMPANY", "idempotencyKey": key}})
            customer_id = created["customer"]["id"]
            self.ledger.customer_keys[key] = customer_id
            self.ledger.attempted_names.add(f"{key}-0")
            step = 0
            while time.monotonic() < self.until:
                step += 1
                name = f"{key}-{step}"
                self.ledger.attempted_names.add(name)
                result = await graphql(client, self.cluster.url(self._server()), self.cluster.token, UPDATE_CUSTOMER,
                                       {"input": {"id": customer_id, "name": name}})
                if isinstance(result, dict):
                    self.ledger.acknowledged[name] = customer_id
                else:
                    self.ledger.failures[result] += 1
                await asyncio.sleep(0.05)

    async def order_writer(self, customer_id: str) -> None:
        async with httpx.AsyncClient(timeout=15) as client:
            while time.monotonic() < self.until:
                key = f"rel-order-{uuid.uuid4().hex[:8]}"
                self.ledger.order_keys_attempted.add(key)
                order = (await self._retrying(client, CREATE_ORDER, {"input": {
                    "customerId": customer_id, "currency": "EUR", "idempotencyKey": key,
                    "lines": [{"sku": "REL-1", "quantity": "1", "unitPrice": "10"}]}}))["order"]
                self.ledger.orders_acknowledged[order["id"]] = order["number"]
                await asyncio.sleep(0.3)


class Subscriber:
    """orderEvents on one server, for the whole run; `broken` says how it ended if it did."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url.replace("http://", "ws://") + "/graphql", token
        self.created: set[str] = set()
        self.broken: str | None = None
        self._ws: Any = None

    async def open(self) -> None:
        self._ws = await websockets.connect(self.url, subprotocols=["graphql-transport-ws"])
        await self._ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {self.token}"}}))
        assert json.loads(await asyncio.wait_for(self._ws.recv(), 10))["type"] == "connection_ack"
        await self._ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": ORDER_EVENTS}}))

    async def listen(self) -> None:
        try:
            async for raw in self._ws:
                message = json.loads(raw)
                if message["type"] != "next" or message["payload"].get("errors"):
                    self.broken = json.dumps(message)[:300]
                    return
                event = message["payload"]["data"]["orderEvents"]
                if event["kind"] == "CREATED":
                    self.created.add(event["order"]["id"])
        except websockets.ConnectionClosed as err:
            self.broken = f"closed: {err}"

    async def close(self) -> None:
        await self._ws.close()


async def faults(cluster: Cluster, log: list[str]) -> None:
    """The schedule, spread over the load; everything is restored before the load ends."""
    beat = LOAD_SECONDS / 10

    async def at(step: float, what: str) -> None:
        await asyncio.sleep(beat * step - (time.monotonic() - started))
        log.append(f"{time.monotonic() - started:5.1f} s  {what}")

    started = time.monotonic()
    await at(1, "kill -9 worker 1 (restarted at once)")
    cluster.kill9(cluster.workers[1], "worker")
    cluster.start_worker(1)
    await at(2, "reset every server connection to PostgreSQL (LISTEN included)")
    cluster.to_db_from_servers.reset()
    await at(3, "cut the broker")
    cluster.to_broker.cut()
    await at(4, "kill -9 server B")
    cluster.kill9(cluster.servers["B"], "server")
    await at(4.5, "broker back; server B restarted")
    cluster.to_broker.restore()
    await cluster.start_server("B")
    await at(5.5, "cut the webhook receiver")
    assert cluster.to_receiver is not None
    cluster.to_receiver.cut()
    await at(6, "pause PostgreSQL for the servers (2 s)")
    cluster.to_db_from_servers.pause()
    await asyncio.sleep(2)
    cluster.to_db_from_servers.restore()
    await at(7, "webhook receiver back; kill -9 worker 2 (restarted); reset the workers' connections")
    cluster.to_receiver.restore()
    cluster.kill9(cluster.workers[2], "worker")
    cluster.start_worker(2)
    cluster.to_db_from_workers.reset()
    await at(8, "kill -9 worker 1 (restarted)")
    cluster.kill9(cluster.workers[1], "worker")
    cluster.start_worker(1)


async def outbox_since(engine: Any, position: int) -> list[Any]:
    ob = t.outbox
    async with engine.connect() as conn:
        return list((await conn.execute(select(ob.c.position, ob.c.id, ob.c.type, ob.c.aggregate_id, ob.c.payload)
                                        .where(ob.c.position > position).order_by(ob.c.position))).all())


async def drained(engine: Any, exchange: str, within: float) -> bool:
    """Until the broker's cursor and the webhook fan-out are at the outbox's head and nothing is pending."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        async with engine.connect() as conn:
            head = (await conn.execute(select(func.coalesce(func.max(t.outbox.c.position), 0)))).scalar_one()
            cursors = {r.name: r.position for r in await conn.execute(select(relay_cursors))}
            pending = (await conn.execute(select(func.count()).select_from(webhook_deliveries)
                                          .where(webhook_deliveries.c.state == "PENDING"))).scalar_one()
        if cursors.get(broker_cursor_name(exchange), -1) >= head and cursors.get(FAN_OUT_CURSOR, -1) >= head \
                and pending == 0:
            return True
        await asyncio.sleep(0.5)
    return False


def first_arrivals(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def order_violations(outbox: list[Any], arrived: list[str]) -> int:
    """Aggregates whose events arrived (first arrival of each id) in another order than the outbox's."""
    expected: dict[Any, list[str]] = defaultdict(list)
    aggregate_of = {}
    for row in outbox:
        expected[row.aggregate_id].append(str(row.id))
        aggregate_of[str(row.id)] = row.aggregate_id
    got: dict[Any, list[str]] = defaultdict(list)
    for event_id in first_arrivals(arrived):
        if event_id in aggregate_of:
            got[aggregate_of[event_id]].append(event_id)
    return sum(1 for aggregate, events in got.items() if events != [e for e in expected[aggregate] if e in events])


async def always_open(client: httpx.AsyncClient, cluster: Cluster) -> tuple[str, str]:
    """An around-the-clock calendar (so minutes of business time are minutes); SALES counts on it."""
    url, token = cluster.url("A"), cluster.token
    hours = [{"weekday": d, "start": "00:00", "end": "23:59"} for d in range(1, 8)]
    calendar = await graphql(client, url, token, DEFINE_CALENDAR, {"input": {
        "name": f"Always {uuid.uuid4().hex[:6]}", "timezone": "UTC", "workingHours": hours}})
    assert isinstance(calendar, dict), calendar
    response = await client.post(f"{url}/graphql", json={"query": "{ departments { id code } }"},
                                 headers={"Authorization": f"Bearer {token}"})
    sales = next(d["id"] for d in response.json()["data"]["departments"] if d["code"] == "SALES")
    chosen = await graphql(client, url, token, SET_CALENDAR, {"input": {
        "departmentId": sales, "calendarId": calendar["calendar"]["id"]}})
    assert isinstance(chosen, dict), chosen
    return sales, calendar["calendar"]["id"]


async def overdue_workflows(client: httpx.AsyncClient, cluster: Cluster, customer_id: str, sales: str) -> list[str]:
    """Instances of a one-step workflow (SALES approves within a minute), on orders of `customer_id`."""
    url, token = cluster.url("A"), cluster.token
    key = f"rel-{uuid.uuid4().hex[:6]}"
    defined = await graphql(client, url, token, DEFINE_WORKFLOW, {"input": {
        "key": key, "name": "Reliability", "subject": "ORDER", "steps": [{
            "key": "check", "name": "Check", "departmentId": sales, "kind": "APPROVAL", "stage": 1,
            "dueWithinMinutes": 1}]}})
    assert isinstance(defined, dict), defined
    started = []
    for _ in range(INSTANCES):
        order = await graphql(client, url, token, CREATE_ORDER, {"input": {
            "customerId": customer_id, "currency": "EUR", "lines": [{"sku": "REL-2", "quantity": "1",
                                                                      "unitPrice": "5"}]}})
        assert isinstance(order, dict), order
        instance = await graphql(client, url, token, START_WORKFLOW, {"input": {
            "definitionKey": key, "subjectId": order["order"]["id"]}})
        assert isinstance(instance, dict), instance
        started.append(_raw(instance["instance"]["id"]))
    return started


async def escalations(engine: Any, instances: list[str]) -> Counter[str]:
    """instance -> workflow.step_overdue events in the outbox."""
    ob = t.outbox
    async with engine.connect() as conn:
        rows = await conn.execute(select(ob.c.aggregate_id).where(
            ob.c.type == "workflow.step_overdue", ob.c.aggregate_id.in_([uuid.UUID(i) for i in instances])))
        return Counter(str(r.aggregate_id) for r in rows)


async def sla_complaints(client: httpx.AsyncClient, cluster: Cluster, customer_id: str, calendar_id: str,
                         ) -> list[str]:
    """Complaints under a policy on the around-the-clock calendar: first response in 1 minute, warned at half."""
    url, token = cluster.url("A"), cluster.token
    category = await graphql(client, url, token, DEFINE_CATEGORY, {"input": {
        "code": f"rel-{uuid.uuid4().hex[:6]}", "name": "Reliability"}})
    assert isinstance(category, dict), category
    policy = await graphql(client, url, token, DEFINE_POLICY, {"input": {
        "name": f"Fast {uuid.uuid4().hex[:6]}", "categoryId": category["category"]["id"],
        "calendarId": calendar_id, "firstResponseMinutes": 1, "resolutionMinutes": 480,
        "warnAt": 0.5}})
    assert isinstance(policy, dict), policy
    filed = []
    for n in range(COMPLAINTS):
        complaint = await graphql(client, url, token, FILE_COMPLAINT, {"input": {
            "customerId": customer_id, "categoryId": category["category"]["id"], "priority": "HIGH",
            "channel": "SALES_REP", "subject": f"Late {n}", "description": "Reliability run"}})
        assert isinstance(complaint, dict), complaint
        filed.append(_raw(complaint["complaint"]["id"]))
    return filed


async def sla_entries(engine: Any, complaints: list[str]) -> Counter[tuple[str, str]]:
    """(complaint, SLA_WARNING or SLA_BREACH) -> timeline entries."""
    tl = t.complaint_timeline
    async with engine.connect() as conn:
        rows = await conn.execute(select(tl.c.complaint_id, tl.c.kind).where(
            tl.c.complaint_id.in_([uuid.UUID(c) for c in complaints]), tl.c.kind.in_(["SLA_WARNING", "SLA_BREACH"])))
        return Counter((str(r.complaint_id), r.kind) for r in rows)


@pytest.fixture
async def cluster() -> AsyncIterator[Cluster]:
    db, cleanup, token = await seeded_postgres()
    exchange = f"crm.events.reliability-{uuid.uuid4().hex[:6]}"
    found = Cluster(db.url, token, exchange)
    connection = await aio_pika.connect(AMQP_URL, timeout=10)
    async with connection:
        channel = await connection.channel()
        ex = await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(f"{exchange}.all", durable=True)
        await queue.bind(ex, "#")
    try:
        await found.start()
        yield found
    finally:
        await found.stop()
        connection = await aio_pika.connect(AMQP_URL, timeout=10)
        async with connection:
            channel = await connection.channel()
            await channel.queue_delete(f"{exchange}.all")
            await channel.exchange_delete(exchange)
        await cleanup()


async def test_no_acknowledged_write_or_event_is_lost_under_kills_cuts_and_pauses(cluster: Cluster) -> None:
    engine = create_engine(cluster.db_url, pool_size=2, max_overflow=0)
    ledger, fault_log = Ledger(), []
    try:
        # the broker's cursor exists (it starts at the head), the webhook is registered: both get what follows
        for _ in range(200):
            async with engine.connect() as conn:
                if (await conn.execute(select(relay_cursors.c.name).where(
                        relay_cursors.c.name == broker_cursor_name(cluster.exchange)))).first():
                    break
            await asyncio.sleep(0.1)
        assert cluster.to_receiver is not None
        hook_url = cluster.to_receiver.url(cluster.receiver.url("reliability"))
        async with httpx.AsyncClient(timeout=15) as client:
            registered = await graphql(client, cluster.url("A"), cluster.token, REGISTER,
                                       {"input": {"url": hook_url, "events": ["*"]}})
            assert isinstance(registered, dict), registered
            customer = await graphql(client, cluster.url("A"), cluster.token, CREATE_CUSTOMER,
                                     {"input": {"name": "Reliability orders", "kind": "COMPANY"}})
            assert isinstance(customer, dict), customer
            sales, calendar_id = await always_open(client, cluster)
            filed_at = time.monotonic()
            complaints = await sla_complaints(client, cluster, customer["customer"]["id"], calendar_id)
            instances = await overdue_workflows(client, cluster, customer["customer"]["id"], sales)
        endpoint = cluster.receiver.endpoint("reliability", secret=registered["secret"], now=time.time)
        async with engine.connect() as conn:
            start = (await conn.execute(select(func.coalesce(func.max(t.outbox.c.position), 0)))).scalar_one()

        subscriber = Subscriber(cluster.url("A"), cluster.token)  # server A is never killed; its LISTEN is reset
        await subscriber.open()
        listening = asyncio.ensure_future(subscriber.listen())
        await asyncio.sleep(1)

        load = Load(cluster, ledger, until=time.monotonic() + LOAD_SECONDS)
        await asyncio.gather(*(load.customer_writer(n) for n in range(CLIENTS)),
                             load.order_writer(customer["customer"]["id"]), faults(cluster, fault_log))

        # after the last fault: one more order must reach the subscriber (live updates resumed)
        last = Load(cluster, ledger, until=time.monotonic() + 0.1)
        await last.order_writer(customer["customer"]["id"])
        all_drained = await drained(engine, cluster.exchange, within=90)
        await asyncio.sleep(1)
        listening.cancel()
        await subscriber.close()

        # the breaches fall due at 60 s: a worker is killed just before, and each fires once all the same
        await asyncio.sleep(max(0.0, filed_at + 57 - time.monotonic()))
        fault_log.append(f"{time.monotonic() - filed_at:5.1f} s  kill -9 worker 2 (restarted), as SLA breaches and "
                         "step escalations fall due")
        cluster.kill9(cluster.workers[2], "worker")
        cluster.start_worker(2)
        expected = {(c, kind) for c in complaints for kind in ("SLA_WARNING", "SLA_BREACH")}
        while time.monotonic() < filed_at + 100:
            fired, escalated = await sla_entries(engine, complaints), await escalations(engine, instances)
            if set(fired) >= expected and set(escalated) >= set(instances):
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(3)  # a second firing would show by now
        fired, escalated = await sla_entries(engine, complaints), await escalations(engine, instances)

        crashed = cluster.crashed()
        outbox = await outbox_since(engine, start)
        updates = {row.payload.get("name"): row for row in outbox if row.type == "customer.updated"}
        created_names = Counter(row.payload.get("name") for row in outbox if row.type == "customer.created")
        ours = outbox
        lost = [name for name in ledger.acknowledged if name not in updates]
        unexpected = [name for name in [*updates, *created_names] if name not in ledger.attempted_names
                      and name != "Reliability orders"]
        duplicate_customers = sum(n - 1 for name, n in created_names.items() if n > 1)
        orders_created = {str(row.aggregate_id) for row in outbox if row.type == "order.created"}
        lost_orders = [o for o in ledger.orders_acknowledged if _raw(o) not in orders_created]
        extra_orders = max(0, len(orders_created) - len(ledger.order_keys_attempted))

        broker = [m.message_id or "" for m in await received(f"{cluster.exchange}.all")]
        webhook = list(endpoint.effects)
        outbox_ids = [str(row.id) for row in ours]
        missing_broker = set(outbox_ids) - set(broker)
        missing_webhook = set(outbox_ids) - set(webhook)
        missed_live = [o for o in ledger.orders_acknowledged if o not in subscriber.created]
        bare_failures = {k: v for k, v in ledger.failures.items() if k not in (
            "SERVICE_UNAVAILABLE", "TRANSIENT", "ConnectError", "ReadError", "RemoteProtocolError", "ReadTimeout",
            "ConnectTimeout", "WriteError")}

        facts = [  # (what, how many, must it be 0)
            ("customer updates attempted", len(ledger.attempted_names) - len(ledger.customer_keys), False),
            ("customer updates acknowledged", len(ledger.acknowledged), False),
            ("orders acknowledged", len(ledger.orders_acknowledged), False),
            ("outbox events written during the run", len(ours), False),
            ("processes killed (kill -9)", sum(cluster.kills.values()), False),
            ("answers SERVICE_UNAVAILABLE/TRANSIENT or a cut connection",
             sum(ledger.failures.values()) - sum(bare_failures.values()), False),
            ("lost: acknowledged writes without their event", len(lost) + len(lost_orders), True),
            ("unexpected: never attempted, or duplicated", len(unexpected) + duplicate_customers + extra_orders, True),
            ("events missing at the broker", len(missing_broker), True),
            ("events missing at the webhook", len(missing_webhook), True),
            ("per-aggregate order violations (broker)", order_violations(ours, broker), True),
            ("per-aggregate order violations (webhook)", order_violations(ours, webhook), True),
            ("orders the live subscription missed", len(missed_live), True),
            ("SLA warnings and breaches due", len(expected), False),
            ("SLA warnings and breaches that never fired", len(expected - set(fired)), True),
            ("SLA warnings and breaches fired more than once", sum(n - 1 for n in fired.values() if n > 1), True),
            ("overdue workflow steps due for escalation", len(instances), False),
            ("overdue steps never escalated", len(set(instances) - set(escalated)), True),
            ("overdue steps escalated more than once", sum(n - 1 for n in escalated.values() if n > 1), True),
            ("answers without a code (bare 500, text)", sum(bare_failures.values()), True),
            ("processes that died by themselves (logs: " + str(cluster.logs) + ")", len(crashed), True),
        ]
        width = max(len(label) for label, _, _ in facts)
        report = "\n".join([" fault schedule:", *[f"   {line}" for line in fault_log], "",
                            *[f" {label:<{width}}  {value:>6}{'  <-- must be 0' if zero and value else ''}"
                              for label, value, zero in facts],
                            f" {'subscription':<{width}}  {'ended: ' + subscriber.broken if subscriber.broken else 'live'}",
                            f" {'drained':<{width}}  {all_drained}"])
        print("\n" + report)
        failed = [label for label, value, zero in facts if zero and value] + \
            (["subscription ended"] if subscriber.broken else [])
        assert all_drained and not failed, f"{failed}: {bare_failures} {crashed}\n{report}"
    finally:
        await engine.dispose()


def _raw(global_id: str) -> str:
    """The uuid inside a global ID."""
    padded = global_id + "=" * (-len(global_id) % 4)
    return base64.b64decode(padded).decode().split(":", 1)[1]

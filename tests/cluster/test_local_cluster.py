"""The local cluster (`make test-cluster`; deploy/local-cluster/cluster.py, docs/deployment.md): nginx in front of
two `crm serve` processes, two `crm worker`s, PgBouncer in transaction pooling in front of the machine's PostgreSQL,
the machine's RabbitMQ. Started and stopped with the script, as an operator would, then driven through nginx:

- requests are balanced over both API processes (their X-Served-By);
- a subscription held by one process sees an order created through the other (LISTEN/NOTIFY across processes);
- with both workers relaying, each outbox event reaches a webhook receiver exactly once, and each complaint's SLA
  warning (due 30 s after it is filed) fires once;
- kill -9 of one API process and one worker under a write load loses no acknowledged createCustomer (nginx sends
  new requests to the survivor; a request in flight on the dead one gets 502 and the client repeats it with the
  same idempotencyKey), makes no duplicate, and `start` brings the dead ones back;
- every application connection goes through PgBouncer, apart from each API process's one LISTEN connection.

Fails (does not skip) when nginx or PgBouncer is missing: `make system-packages` installs them.
"""
from __future__ import annotations

import asyncio
import csv
import io
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from sqlalchemy import func, select

from infrastructure.db import tables as t
from infrastructure.db.engine import create_engine
from tests.reliability.test_fault_suite import (CREATE_CUSTOMER, CREATE_ORDER, REGISTER, Subscriber, always_open,
                                                drained, graphql, outbox_since, sla_complaints, sla_entries)
from tests.webhook_receiver import WebhookReceiver

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "local-cluster" / "cluster.py"
LOAD_SECONDS = 12.0
WRITERS = 4
HOSTNAME = os.uname().nodename


class LocalCluster:
    """The running cluster as the script left it: its state file, and its processes' settings."""

    def __init__(self, folder: Path) -> None:
        self.dir = folder
        self.token = ""

    def script(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, str(SCRIPT), *args, "--dir", str(self.dir)], cwd=ROOT,
                              capture_output=True, text=True, timeout=240)

    @property
    def state(self) -> dict[str, Any]:
        import json

        return json.loads((self.dir / "state.json").read_text())

    @property
    def env(self) -> dict[str, str]:
        return dict(line.split("=", 1) for line in (self.dir / "cluster.env").read_text().splitlines() if line)

    def url(self, _server: str = "nginx") -> str:
        """Every request goes through nginx (the fault suite's helpers name a server: nginx picks one)."""
        return f"http://127.0.0.1:{self.state['ports']['nginx']}"

    def served_by(self, member: str) -> str:
        return f"{HOSTNAME}:{self.state['pids'][member]}"

    def direct_db(self) -> Any:
        return create_engine(self.env["CRM_DATABASE_LISTEN_URL"], pool_size=1, max_overflow=0)


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    for package in ("nginx", "pgbouncer"):
        if not any(os.access(f"{d}/{package}", os.X_OK) for d in ("/usr/sbin", "/usr/bin")):
            pytest.fail(f"{package} is required for the local cluster: `make system-packages` installs it")
    running = LocalCluster(Path(tempfile.mkdtemp(prefix="crm-cluster-")))
    started = running.script("start", "--demo", "--worker-interval", "1", "--set", "CRM_WEBHOOK_ALLOW_PRIVATE=true",
                             "--set", "CRM_RELAY_INTERVAL=0.2", "--set", "CRM_RELAY_LEASE=2",
                             "--set", "CRM_WEBHOOK_FIRST_RETRY=0.5", "--set", "CRM_SHUTDOWN_GRACE=2")
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        token = subprocess.run([sys.executable, "-m", "api.cli", "token", "admin@example.com"], cwd=ROOT,
                               env={**os.environ, **running.env}, capture_output=True, text=True, check=True)
        running.token = token.stdout.strip().splitlines()[-1]
        yield running
    finally:
        state = running.state if (running.dir / "state.json").exists() else None
        stopped = running.script("stop")
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    # stopped cleanly: no process left, the database dropped
    assert state is not None
    for pid in state["pids"].values():
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2], pid
    assert not (running.dir / "state.json").exists()
    check = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-Atc",
                            f"SELECT count(*) FROM pg_database WHERE datname = '{state['database']}'"],
                           capture_output=True, text=True, check=True)
    assert check.stdout.strip() == "0"


async def post(client: httpx.AsyncClient, cluster: LocalCluster, query: str,
               variables: dict[str, Any] | None = None) -> httpx.Response:
    return await client.post(f"{cluster.url()}/graphql", json={"query": query, "variables": variables or {}},
                             headers={"Authorization": f"Bearer {cluster.token}"})


async def test_requests_are_balanced_over_both_api_processes(cluster: LocalCluster) -> None:
    await balanced(cluster)


async def balanced(cluster: LocalCluster) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        answers = [await post(client, cluster, "{ me { id } }") for _ in range(20)]
    assert all(a.status_code == 200 and "errors" not in a.json() for a in answers), answers[0].text
    served = Counter(a.headers["x-served-by"] for a in answers)
    assert set(served) == {cluster.served_by("api-1"), cluster.served_by("api-2")}, served
    assert min(served.values()) >= 8, served  # round-robin: about half each


async def test_a_subscription_on_one_process_sees_an_order_created_through_the_other(cluster: LocalCluster) -> None:
    subscriber = Subscriber(cluster.url(), cluster.token)  # graphql-transport-ws, through nginx's upgrade
    await subscriber.open()
    listening = asyncio.ensure_future(subscriber.listen())
    try:
        held_by = subscriber._ws.response.headers["x-served-by"]
        assert held_by in {cluster.served_by("api-1"), cluster.served_by("api-2")}
        async with httpx.AsyncClient(timeout=10) as client:
            customer = (await post(client, cluster, CREATE_CUSTOMER, {"input": {"name": "Watched", "kind": "COMPANY"}})
                        ).json()["data"]["createCustomer"]["customer"]["id"]
            await asyncio.sleep(0.5)  # the subscription is registered
            for _ in range(6):  # round-robin: one of the first two lands on the other process
                created = await post(client, cluster, CREATE_ORDER, {"input": {
                    "customerId": customer, "currency": "EUR",
                    "lines": [{"sku": "CLU-1", "quantity": "1", "unitPrice": "10"}]}})
                if created.headers["x-served-by"] != held_by:
                    break
            assert created.headers["x-served-by"] != held_by
        order = created.json()["data"]["createOrder"]["order"]["id"]
        for _ in range(100):
            if order in subscriber.created or subscriber.broken:
                break
            await asyncio.sleep(0.1)
        assert order in subscriber.created, subscriber.broken
    finally:
        listening.cancel()
        await subscriber.close()


async def test_each_outbox_event_reaches_the_webhook_once_with_both_workers(cluster: LocalCluster) -> None:
    assert {"worker-1", "worker-2"} <= set(running(cluster))
    receiver = WebhookReceiver()
    await receiver.start()
    engine = cluster.direct_db()
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            registered = await graphql(client, cluster.url(), cluster.token, REGISTER,
                                       {"input": {"url": receiver.url("cluster"), "events": ["*"]}})
            assert isinstance(registered, dict), registered
            endpoint = receiver.endpoint("cluster", secret=registered["secret"], now=time.time)
            async with engine.connect() as conn:
                start = (await conn.execute(select(func.coalesce(func.max(t.outbox.c.position), 0)))).scalar_one()
            for n in range(20):
                created = await graphql(client, cluster.url(), cluster.token, CREATE_CUSTOMER,
                                        {"input": {"name": f"Hooked {n}", "kind": "COMPANY"}})
                assert isinstance(created, dict), created
        assert await drained(engine, cluster.state["exchange"], within=60)
        await asyncio.sleep(2)  # a second delivery would show by now
        written = {row.id for row in await outbox_since(engine, start)}
        delivered = endpoint.deliveries_per_event()
        assert len(written) >= 20
        assert {str(event) for event in written} <= set(delivered), "events that never reached the webhook"
        assert [e for e, times in delivered.items() if times != 1] == [], "events delivered more than once"
        assert endpoint.bad_signatures == 0
    finally:
        await engine.dispose()
        await receiver.stop()


async def test_each_sla_warning_fires_once_with_both_workers(cluster: LocalCluster) -> None:
    """The fault suite's complaints (first response within a minute on an around-the-clock calendar, warned at
    half): both workers tick every second, and the row locks let one of them fire each warning."""
    async with httpx.AsyncClient(timeout=10) as client:
        created = await graphql(client, cluster.url(), cluster.token, CREATE_CUSTOMER,
                                {"input": {"name": "Complaining", "kind": "COMPANY"}})
        assert isinstance(created, dict), created
        _, calendar = await always_open(client, cluster)  # type: ignore[arg-type]
        complaints = await sla_complaints(client, cluster, created["customer"]["id"], calendar)  # type: ignore[arg-type]
    expected = {(c, "SLA_WARNING") for c in complaints}
    engine = cluster.direct_db()
    try:
        deadline = time.monotonic() + 60
        while set(await sla_entries(engine, complaints)) < expected and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        await asyncio.sleep(3)  # a second firing would show by now
        fired = await sla_entries(engine, complaints)
    finally:
        await engine.dispose()
    assert {k: n for k, n in fired.items() if k[1] == "SLA_WARNING"} == {k: 1 for k in expected}


async def test_killing_an_api_process_and_a_worker_under_load_loses_no_acknowledged_write(
        cluster: LocalCluster) -> None:
    acknowledged: dict[str, str] = {}  # idempotency key -> customer id
    failures: Counter[str] = Counter()
    until = time.monotonic() + LOAD_SECONDS
    killed: dict[str, int] = {}

    async def writer() -> None:
        async with httpx.AsyncClient(timeout=10) as client:
            while time.monotonic() < until:
                key = f"cluster-{uuid.uuid4().hex[:12]}"
                while True:  # until acknowledged: the same key, so a repeat creates nothing new
                    result = await graphql(client, cluster.url(), cluster.token, CREATE_CUSTOMER,
                                           {"input": {"name": key, "kind": "COMPANY", "idempotencyKey": key}})
                    if isinstance(result, dict):
                        acknowledged[key] = result["customer"]["id"]
                        break
                    failures[result] += 1
                    assert time.monotonic() < until + 30, f"not acknowledged for 30 s: {failures}"
                    await asyncio.sleep(0.2)

    async def kill() -> None:
        await asyncio.sleep(LOAD_SECONDS / 3)
        for member in ("api-1", "worker-1"):
            killed[member] = cluster.state["pids"][member]
            os.kill(killed[member], signal.SIGKILL)

    await asyncio.gather(*(writer() for _ in range(WRITERS)), kill())
    assert not set(killed) & set(running(cluster)), "the killed processes are gone"
    print(f"\n{len(acknowledged)} customers acknowledged; the clients were told meanwhile: {dict(failures)}")
    assert len(acknowledged) > 20
    engine = cluster.direct_db()
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(select(t.customers.c.id, t.customers.c.name)
                                       .where(t.customers.c.name.in_(list(acknowledged))))).all()
    finally:
        await engine.dispose()
    stored = Counter(row.name for row in rows)
    assert set(acknowledged) - set(stored) == set(), "acknowledged customers missing from the database"
    assert [key for key, n in stored.items() if n > 1] == [], "a key made more than one customer"
    assert {row.name: global_id(row.id) for row in rows} == acknowledged

    # `start` again brings back what died, and nginx balances over both again
    restarted = cluster.script("start")
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    assert cluster.script("status").returncode == 0
    seen: set[str] = set()
    async with httpx.AsyncClient(timeout=10) as client:
        for _ in range(60):  # nginx tries the restarted one again after fail_timeout (5 s)
            seen.add((await post(client, cluster, "{ me { id } }")).headers["x-served-by"])
            if cluster.served_by("api-1") in seen:
                break
            await asyncio.sleep(0.2)
    await balanced(cluster)


async def test_every_application_connection_goes_through_pgbouncer(cluster: LocalCluster) -> None:
    before = xacts(cluster)
    async with httpx.AsyncClient(timeout=10) as client:
        for _ in range(10):
            assert (await post(client, cluster, "{ customers(first: 3) { edges { node { id } } } }")).status_code == 200
    assert xacts(cluster) >= before + 10  # the reads ran in PgBouncer's transactions

    ports = cluster.state["ports"]
    peers = connections_by_pid()
    for member in ("api-1", "api-2", "worker-1", "worker-2"):
        mine = peers[cluster.state["pids"][member]]
        direct = [p for p in mine if p == 5432]
        assert ports["pgbouncer"] in mine, (member, mine)
        # an API process's one LISTEN connection is direct (CRM_DATABASE_LISTEN_URL); nothing else is
        assert len(direct) <= (1 if member.startswith("api") else 0), (member, mine)


def running(cluster: LocalCluster) -> set[str]:
    return {line.split()[0] for line in cluster.script("status").stdout.splitlines() if " running " in line}


def global_id(customer_id: uuid.UUID) -> str:
    import base64

    return base64.b64encode(f"Customer:{customer_id}".encode()).decode()


def xacts(cluster: LocalCluster) -> int:
    """PgBouncer's count of the transactions it pooled for the cluster's database (its admin console)."""
    shown = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(cluster.state["ports"]["pgbouncer"]), "-U",
                            "postgres", "-d", "pgbouncer", "--csv", "-c", "SHOW STATS"],
                           capture_output=True, text=True, check=True)
    rows = {r["database"]: r for r in csv.DictReader(io.StringIO(shown.stdout))}
    return int(rows[cluster.state["database"]]["total_xact_count"])


def connections_by_pid() -> dict[int, list[int]]:
    """The remote port of every established TCP connection, per process (`ss -tnp`)."""
    shown = subprocess.run(["ss", "-tnpH", "state", "established"], capture_output=True, text=True, check=True)
    found: dict[int, list[int]] = {}
    for line in shown.stdout.splitlines():
        fields = line.split()
        if len(fields) < 5 or "pid=" not in fields[-1]:
            continue
        port = int(fields[3].rsplit(":", 1)[1])
        for part in fields[-1].split("pid=")[1:]:
            found.setdefault(int(part.split(",")[0]), []).append(port)
    return found

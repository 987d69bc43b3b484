"""Live updates across processes: two `crm serve` processes on one PostgreSQL; an event committed
through one reaches a subscriber of the other (LISTEN/NOTIFY)."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, AsyncIterator

import httpx
import pytest
import websockets

from infrastructure.container import build_container, dispose
from infrastructure.db.migrate import upgrade
from tests.conftest import BACKENDS, fresh_database, settings_for
from tests.integration.servers import TEST_MODE, free_port, seeded_postgres, wait_ready

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif("postgresql" not in BACKENDS,
                                reason="cross-process delivery is PostgreSQL's (CRM_TEST_BACKENDS leaves it out)")

SUBSCRIBE = ("subscription($c: ID) { complaintEvents(customerId: $c) { kind complaint { id number } "
             "entry { kind message } } }")
PROGRESS = ("mutation($input: RecordProgressInput!) { recordProgress(input: $input) { "
            "complaint { id } userErrors { code message } } }")


@pytest.fixture(scope="module")
async def two_servers() -> AsyncIterator[tuple[list[str], str]]:
    db, cleanup, token = await seeded_postgres()

    env = {**os.environ, "CRM_DATABASE_URL": db.url, **TEST_MODE}
    ports = [free_port(), free_port()]
    processes = [subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", str(p)], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for p in ports]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    try:
        for url, process in zip(urls, processes):
            await wait_ready(url, process)
        yield urls, token
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)
        await cleanup()


async def graphql(url: str, token: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{url}/graphql", json={"query": query, "variables": variables or {}},
                                     headers={"Authorization": f"Bearer {token}"})
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


async def test_an_event_committed_through_one_process_reaches_a_subscriber_of_another(two_servers) -> None:
    (first, second), token = two_servers
    data = await graphql(second, token, "{ complaints(first: 1, filter: {statuses: [IN_PROGRESS]}) "
                                        "{ edges { node { id number customer { id } } } } }")
    complaint = data["complaints"]["edges"][0]["node"]

    ws_url = first.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
            "query": SUBSCRIBE, "variables": {"c": complaint["customer"]["id"]}}}))
        # the server registers the subscription asynchronously: write until the first event shows
        for attempt in range(20):
            await graphql(second, token, PROGRESS, {"input": {"complaintId": complaint["id"],
                                                              "message": f"warm-up {attempt}"}})
            try:
                json.loads(await asyncio.wait_for(ws.recv(), 0.5))
                break
            except asyncio.TimeoutError:
                continue
        else:
            raise AssertionError("no event reached the other process")
        while True:  # drain warm-up events that arrived late
            try:
                await asyncio.wait_for(ws.recv(), 0.5)
            except asyncio.TimeoutError:
                break

        for n in (1, 2):
            result = await graphql(second, token, PROGRESS, {"input": {
                "complaintId": complaint["id"], "message": f"Update {n} written through the other process"}})
            assert result["recordProgress"]["userErrors"] == []
            message = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert message["type"] == "next", message
            event = message["payload"]["data"]["complaintEvents"]
            assert event["kind"] == "PROGRESS_RECORDED"
            assert event["complaint"]["number"] == complaint["number"]
            assert event["entry"] == {"kind": "PROGRESS", "message": f"Update {n} written through the other process"}

        # nothing is delivered twice
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(ws.recv(), 1)


async def test_only_committed_events_are_announced() -> None:
    from datetime import UTC, datetime

    from domain.customer import Customer, CustomerKind
    from infrastructure.db.unit_of_work import SqlUnitOfWork
    from infrastructure.pubsub import InProcessPublisher
    from infrastructure.pubsub_postgres import PostgresEventRelay

    db, cleanup = await fresh_database("postgresql")
    container = build_container(settings_for(db.url))
    engine = container.core.engine()
    local = InProcessPublisher()
    relay = PostgresEventRelay(db.url, engine, local)
    try:
        await upgrade(engine)
        await relay.start()
        received = local.subscribe()
        first = asyncio.ensure_future(received.__anext__())
        await asyncio.sleep(0)

        def customer(name: str) -> Customer:
            return Customer.register(code=name, name=name, kind=CustomerKind.COMPANY, at=datetime.now(UTC), by=None)

        async with SqlUnitOfWork(engine, local, notify=True) as uow:
            await uow.customers.add(customer("ROLLED-BACK"))  # never committed
        async with SqlUnitOfWork(engine, local, notify=True) as uow:
            await uow.customers.add(customer("COMMITTED"))
            await uow.commit()

        event = await asyncio.wait_for(first, 10)
        assert (event.type, event.payload["code"]) == ("customer.created", "COMMITTED")
    finally:
        await relay.stop()
        await dispose(container)
        await cleanup()

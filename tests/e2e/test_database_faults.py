"""The database away or failing in passing, over HTTP (PostgreSQL: the app talks to it through a fault proxy
this test owns; the shared server is never touched). `/readyz` says 503 within 2 s, every request gets a
GraphQL error with SERVICE_UNAVAILABLE (or TRANSIENT), HTTP 503 and Retry-After, never a bare 500 or a hang,
and the service recovers by itself once the database is back."""
from __future__ import annotations

import asyncio
import time
from typing import Any, AsyncIterator

import httpx
import pytest
from dependency_injector import providers
from httpx_ws import WebSocketDisconnect, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport

from api.app import create_app
from infrastructure.container import build_container, dispose
from infrastructure.db.engine import autocommit, create_engine
from infrastructure.settings import Settings
from tests.conftest import Api, Database, lifespan
from tests.faults import FaultProxy

ME = "{ me { email } }"
CREATE = ("mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { code } "
          "userErrors { code } } }")
TIMEOUTS = {"db_connect_timeout": 1.0, "db_statement_timeout": 1.0, "db_pool_timeout": 1.0}


class Faulty:
    def __init__(self, api: Api, proxy: FaultProxy, app: Any) -> None:
        self.api, self.proxy, self.app = api, proxy, app

    async def create(self, code: str) -> httpx.Response:
        return await self.api.post(CREATE, {"input": {"code": code, "name": code, "kind": "COMPANY"}})


async def _faulty(database: Database, *, reads_direct: bool) -> AsyncIterator[Faulty]:
    """The app on a pool of one connection through the proxy; with `reads_direct` its reads (authentication
    among them) bypass the proxy, so a fault reaches a request after it was authenticated."""
    if database.backend != "postgresql":
        pytest.skip("faults on the wire are PostgreSQL's: SQLite is a file in the process")
    proxy = await FaultProxy.for_url(database.url).start()
    settings = Settings(database_url=proxy.url(database.url), env="test", db_pool_size=1, db_max_overflow=0,
                        **TIMEOUTS)
    container = build_container(settings)
    direct = None
    if reads_direct:
        direct = create_engine(database.url, pool_size=1, max_overflow=0)
        container.core.read_engine.override(providers.Object(autocommit(direct)))
    app = create_app(settings, container)
    try:
        async with lifespan(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
                api = Api(client, container)
                await api.token_for("admin@example.com")  # before any fault
                yield Faulty(api, proxy, app)
    finally:
        proxy.restore()
        await dispose(container)
        if direct is not None:
            await direct.dispose()
        await proxy.close()


@pytest.fixture
async def faulty(database: Database) -> AsyncIterator[Faulty]:
    async for found in _faulty(database, reads_direct=False):
        yield found


@pytest.fixture
async def faulty_writes(database: Database) -> AsyncIterator[Faulty]:
    async for found in _faulty(database, reads_direct=True):
        yield found


def assert_unavailable(response: httpx.Response, code: str = "SERVICE_UNAVAILABLE") -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) > 0
    body = response.json()
    assert [e["extensions"]["code"] for e in body["errors"]] == [code], body


async def test_readyz_answers_503_within_two_seconds_while_the_database_hangs_and_200_once_it_is_back(
        faulty: Faulty) -> None:
    client = faulty.api.client
    assert (await client.get("/readyz")).status_code == 200
    faulty.proxy.pause()
    started = time.monotonic()
    response = await client.get("/readyz")
    assert response.status_code == 503 and time.monotonic() - started < 2.0
    assert response.json()["database"] == "down"
    faulty.proxy.restore()
    faulty.proxy.reset()  # the connection the timed-out check left behind is gone; readiness comes back anyway
    assert (await client.get("/readyz")).status_code == 200


@pytest.mark.parametrize("fault", ["cut", "pause"])
async def test_a_database_outage_during_authentication_is_a_coded_503_and_the_service_recovers(
        faulty: Faulty, fault: str) -> None:
    assert (await faulty.api.post(ME)).status_code == 200
    getattr(faulty.proxy, fault)()
    started = time.monotonic()
    assert_unavailable(await faulty.api.post(ME))
    assert time.monotonic() - started < 5.0  # the timeouts, not the database, decide how long it takes
    faulty.proxy.restore()
    response = await faulty.api.post(ME)
    assert response.status_code == 200 and response.json()["data"]["me"]["email"] == "admin@example.com"


@pytest.mark.parametrize("fault", ["cut", "pause"])
async def test_a_database_outage_after_authentication_is_a_coded_503_and_nothing_is_written(
        faulty_writes: Faulty, fault: str) -> None:
    code = f"FAULT-{fault.upper()}-{time.monotonic_ns()}"
    getattr(faulty_writes.proxy, fault)()
    first = await faulty_writes.create(code)
    if fault == "cut":  # the pooled connection died under the first try (TRANSIENT); then none can be made
        assert_unavailable(first, "TRANSIENT")
        first = await faulty_writes.create(code)
    assert_unavailable(first)
    faulty_writes.proxy.restore()
    customer = await faulty_writes.api(f'{{ customers(filter: {{search: "{code}"}}) {{ totalCount }} }}')
    assert customer["customers"]["totalCount"] == 0
    created = (await faulty_writes.create(code)).json()["data"]["createCustomer"]
    assert created == {"customer": {"code": code}, "userErrors": []}


async def test_a_connection_lost_under_a_write_is_transient_and_the_retry_succeeds(faulty_writes: Faulty) -> None:
    code = f"FAULT-RESET-{time.monotonic_ns()}"
    assert (await faulty_writes.create(f"{code}-warm")).status_code == 200  # a pooled write connection
    faulty_writes.proxy.reset()  # the backend terminated while the connection idled in the pool
    assert_unavailable(await faulty_writes.create(code), "TRANSIENT")
    created = (await faulty_writes.create(code)).json()["data"]["createCustomer"]  # the retry, on a new connection
    assert created == {"customer": {"code": code}, "userErrors": []}


@pytest.mark.parametrize("fault", ["cut", "pause"])
async def test_a_database_outage_during_the_websocket_sign_in_closes_it_with_4503_and_the_next_one_succeeds(
        faulty: Faulty, fault: str) -> None:
    """graphql-transport-ws: a connection_init whose sign-in meets the database away is closed with 4503 and the
    reason SERVICE_UNAVAILABLE (a coded close the client reconnects after), not a crashed handler."""
    token = await faulty.api.token_for("admin@example.com")
    init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
    async with httpx.AsyncClient(transport=ASGIWebSocketTransport(faulty.app), base_url="http://test") as client:
        getattr(faulty.proxy, fault)()
        started = time.monotonic()
        async with aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send_json(init)
            with pytest.raises(WebSocketDisconnect) as closed:
                await asyncio.wait_for(ws.receive_json(), 10)
        assert (closed.value.code, closed.value.reason) == (4503, "SERVICE_UNAVAILABLE")
        assert time.monotonic() - started < 5.0
        faulty.proxy.restore()
        async with aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send_json(init)
            assert (await asyncio.wait_for(ws.receive_json(), 10))["type"] == "connection_ack"

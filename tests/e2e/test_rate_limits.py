"""Rate limits per principal and per client IP (token buckets, in-process): over them, HTTP 429 with Retry-After
and RATE_LIMITED, and nothing runs (3,000 mutations in 95 s went through before)."""
from __future__ import annotations

from typing import Any, AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select

from api.common.rate_limits import TokenBuckets
from application.organisation import find_active_staff_by_email
from infrastructure.db import tables as t
from infrastructure.settings import Settings
from tests.conftest import Database, app_with, unique

CREATE = "mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { customer { id } } }"


@pytest.fixture
async def limited(database: Database) -> AsyncIterator[Any]:
    settings = Settings.from_env({"CRM_ENV": "production", "CRM_SECRET_KEY": "p" * 40, "CRM_DATABASE_URL": database.url,
                                  "CRM_RATE_LIMIT": "0.01", "CRM_RATE_LIMIT_BURST": "3", "CRM_RATE_LIMIT_IP": "0.01",
                                  "CRM_RATE_LIMIT_IP_BURST": "8", "CRM_DB_POOL_SIZE": "2", "CRM_DB_MAX_OVERFLOW": "0"})
    async with app_with(settings) as (app, client):
        yield app, client


async def token(app: Any, email: str) -> str:
    staff = await find_active_staff_by_email(app.state.container.services.uow(), email)
    return app.state.container.services.tokens().issue(staff.id)


def assert_rate_limited(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert int(response.headers["retry-after"]) >= 1
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "RATE_LIMITED" and error["extensions"]["retryAfter"] >= 1


async def test_a_principal_over_their_rate_is_refused_and_nothing_is_written(limited: Any) -> None:
    app, client = limited
    sales, finance = await token(app, "sales.key@example.com"), await token(app, "finance.key@example.com")
    name = unique("Throttled")

    async def create(as_: str) -> httpx.Response:
        return await client.post("/graphql", json={"query": CREATE, "variables": {"i": {"name": name,
                                                                                           "kind": "COMPANY"}}},
                                 headers={"Authorization": f"Bearer {as_}"})

    for _ in range(3):  # the burst
        assert (await create(sales)).status_code == 200
    assert_rate_limited(await create(sales))
    assert (await create(finance)).status_code == 200  # another principal has a bucket of their own
    async with app.state.container.core.engine().connect() as conn:
        written = (await conn.execute(select(func.count()).select_from(t.customers)
                                      .where(t.customers.c.name == name))).scalar_one()
    assert written == 4


async def test_a_client_ip_is_limited_before_authentication(limited: Any) -> None:
    _, client = limited
    answers = [await client.post("/graphql", json={"query": "{ me { id } }"},
                                 headers={"Authorization": "Bearer forged"}) for _ in range(9)]
    assert [a.status_code for a in answers[:8]] == [401] * 8
    assert_rate_limited(answers[8])


async def test_websocket_handshakes_take_from_the_ip_bucket(limited: Any) -> None:
    """Through the app's ASGI interface, as uvicorn would call it: the ninth handshake is refused."""
    app, _ = limited
    outcomes = []
    for _ in range(9):
        sent: list[dict[str, Any]] = []
        incoming = [{"type": "websocket.connect"}, {"type": "websocket.disconnect", "code": 1000}]

        async def receive() -> dict[str, Any]:
            return incoming.pop(0) if incoming else {"type": "websocket.disconnect", "code": 1000}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {"type": "websocket", "path": "/graphql", "raw_path": b"/graphql", "query_string": b"",
                 "headers": [(b"sec-websocket-protocol", b"graphql-transport-ws")], "client": ("10.9.8.7", 5000),
                 "server": ("test", 80), "scheme": "ws", "subprotocols": ["graphql-transport-ws"],
                 "asgi": {"version": "3.0"}, "state": {}}
        await app(scope, receive, send)
        outcomes.append(sent[0]["type"] if sent else None)
    assert outcomes[:8] == ["websocket.accept"] * 8 and outcomes[8] == "websocket.close"


def test_a_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    buckets = TokenBuckets(rate=2, burst=3, clock=lambda: now[0], kept=2)
    assert [buckets.take("a") for _ in range(3)] == [0, 0, 0]
    assert buckets.take("a") == pytest.approx(0.5)
    now[0] += 0.5
    assert buckets.take("a") == 0 and buckets.take("a") > 0
    now[0] += 10
    assert [buckets.take("a") for _ in range(3)] == [0, 0, 0]  # never more than the burst
    assert buckets.take("a") > 0
    buckets.take("b"), buckets.take("c")  # only the most recent keys are kept: "a" starts afresh
    assert buckets.take("a") == 0


def test_limits_are_on_by_default_except_in_the_test_suites_mode() -> None:
    assert Settings.from_env({"CRM_SECRET_KEY": "s" * 40}).rate_limit("principal") == (20.0, 200.0)
    assert Settings.from_env({"CRM_SECRET_KEY": "s" * 40}).rate_limit("ip") == (100.0, 1000.0)
    assert Settings(env="test").rate_limit("principal") is None
    assert Settings.from_env({"CRM_SECRET_KEY": "s" * 40, "CRM_RATE_LIMIT": "0"}).rate_limit("principal") is None
    assert Settings.from_env({"CRM_SECRET_KEY": "s" * 40, "CRM_RATE_LIMIT": "5"}).rate_limit("principal") == (5, 50)

"""The hot reads' kept connections (infrastructure/db/reads.py KeptConnections): a hot read's one statement runs on a
connection kept checked out of the pool between requests, so hot reads in a row check nothing out; at most
CRM_DB_POOL_KEPT are kept, an idle one goes back to the pool, and one from a pool the engine has replaced is closed,
never used. A kept connection the server dropped: test_compiled_reads.py (the read is answered on a fresh one)."""
from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator

import httpx
import pytest
from sqlalchemy import event

from infrastructure.settings import Settings
from tests.conftest import Database, app_with
from tests.e2e.test_hot_lane import HOT, a_customer, lane_of, member


def served_with(database: Database, **env: str) -> Any:
    return app_with(Settings.from_env({"CRM_ENV": "production", "CRM_SECRET_KEY": "k" * 40,
                                       "CRM_DATABASE_URL": database.url, "CRM_RATE_LIMIT": "0",
                                       "CRM_RATE_LIMIT_IP": "0", "CRM_DB_POOL_SIZE": "4", "CRM_DB_MAX_OVERFLOW": "0",
                                       **env}))


@pytest.fixture
async def served(database: Database) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    if database.backend != "postgresql":
        pytest.skip("the driver path (and its kept connections) is PostgreSQL's")
    async with served_with(database) as (app, client):
        yield app, client


class Checkouts:
    """Connections checked out of `app`'s read pool while counting."""

    def __init__(self, app: Any) -> None:
        self.pool = app.state.container.core.read_engine().sync_engine.pool
        self.count = 0

    def __enter__(self) -> "Checkouts":
        event.listen(self.pool, "checkout", self._seen)
        return self

    def __exit__(self, *_: object) -> None:
        event.remove(self.pool, "checkout", self._seen)

    def _seen(self, *_: object) -> None:
        self.count += 1


async def hot_body(app: Any, client: httpx.AsyncClient) -> tuple[dict[str, Any], dict[str, str]]:
    auth = await member(app, "admin@example.com")
    body = {"query": HOT, "variables": {"id": await a_customer(client, auth)}}
    assert (await client.post("/graphql", json=body, headers=auth)).status_code == 200  # learnt
    return body, auth


async def test_hot_reads_in_a_row_check_no_connection_out(served: tuple[Any, httpx.AsyncClient]) -> None:
    app, client = served
    body, auth = await hot_body(app, client)
    expected = (await client.post("/graphql", json=body, headers=auth)).json()
    answered = lane_of(app).answered
    with Checkouts(app) as checkouts:
        answers = [(await client.post("/graphql", json=body, headers=auth)).json() for _ in range(5)]
    assert answers == [expected] * 5 and "errors" not in expected
    assert lane_of(app).answered == answered + 5
    assert checkouts.count == 0


async def test_an_idle_kept_connection_goes_back_to_the_pool(served: tuple[Any, httpx.AsyncClient]) -> None:
    app, client = served
    body, auth = await hot_body(app, client)
    await client.post("/graphql", json=body, headers=auth)
    pool = app.state.container.core.read_engine().sync_engine.pool
    kept = app.state.container.core.kept_connections()
    assert pool.checkedout() == 1
    for _ in range(60):  # kept.idle (a second) and the sweep after it
        if pool.checkedout() == 0:
            break
        await asyncio.sleep(kept.idle / 10)
    assert pool.checkedout() == 0


async def test_no_more_than_the_kept_number_stay_checked_out(database: Database) -> None:
    if database.backend != "postgresql":
        pytest.skip("the driver path (and its kept connections) is PostgreSQL's")
    for kept in ("0", "1"):
        async with served_with(database, CRM_DB_POOL_KEPT=kept) as (app, client):
            body, auth = await hot_body(app, client)
            answers = await asyncio.gather(*(client.post("/graphql", json=body, headers=auth) for _ in range(8)))
            assert {r.status_code for r in answers} == {200} and all("errors" not in r.json() for r in answers)
            assert app.state.container.core.read_engine().sync_engine.pool.checkedout() <= int(kept)


async def test_a_connection_kept_from_a_replaced_pool_is_not_used(served: tuple[Any, httpx.AsyncClient]) -> None:
    app, client = served
    body, auth = await hot_body(app, client)
    expected = (await client.post("/graphql", json=body, headers=auth)).json()
    engine = app.state.container.core.read_engine()
    old_pool = engine.sync_engine.pool
    closed: list[object] = []
    event.listen(old_pool, "invalidate", lambda *_: closed.append(_))
    await engine.dispose()  # a new pool; the kept connection is still checked out of the old one
    assert engine.sync_engine.pool is not old_pool
    for _ in range(3):
        assert (await client.post("/graphql", json=body, headers=auth)).json() == expected
    assert len(closed) == 1  # the one kept: closed, not used nor returned to a pool nobody empties

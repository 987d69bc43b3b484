"""The suite fits PostgreSQL's max_connections (100, shared by every suite on the machine): however many requests
run at once, one app holds at most its pool (the suite's small one) and its LISTEN connection; the others wait.
Over the budget the server refused connections ("too many clients") and a mutation that had committed answered
with its nested read failed."""
from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import text

from api.app import create_app
from infrastructure.container import build_container
from infrastructure.db.engine import create_engine
from tests.conftest import Api, Database, MAX_OVERFLOW, POOL_SIZE, POSTGRES_ADMIN_URL, lifespan, settings_for

LISTENER = 1  # the LISTEN/NOTIFY relay's own connection
DOCUMENT = "{ customers(first: 20) { totalCount edges { node { name complaints(first: 5) { totalCount } } } } }"


async def test_a_burst_of_requests_stays_within_the_suites_pool(api: Api, database: Database) -> None:
    """A fresh app of its own, so what other apps of the session hold (a federation server, the session's app
    with its idle pool) is the baseline, not counted."""
    if database.backend != "postgresql":
        pytest.skip("SQLite has no connection limit")
    name = database.url.rsplit("/", 1)[1]
    watcher = create_engine(POSTGRES_ADMIN_URL, pool_size=1, max_overflow=0)
    token = await api.token_for("admin@example.com")
    peak, done = 0, asyncio.Event()

    async def connections(conn) -> int:  # type: ignore[no-untyped-def]
        return (await conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = :d"),
                                   {"d": name})).scalar_one()

    async def watch(conn) -> None:  # type: ignore[no-untyped-def]
        nonlocal peak
        while not done.is_set():
            peak = max(peak, await connections(conn))
            await asyncio.sleep(0.005)

    container = build_container(settings_for(database.url))
    app = create_app(container.core.settings(), container)
    async with watcher.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")  # pg_stat_activity is one snapshot per transaction
        baseline = await connections(conn)
        watching = asyncio.create_task(watch(conn))
        try:
            async with lifespan(app), httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                                               base_url="http://test") as client:
                answers = await asyncio.gather(*(client.post("/graphql", json={"query": DOCUMENT},
                                                             headers={"Authorization": f"Bearer {token}"})
                                                 for _ in range(40)))
        finally:
            done.set()
            await watching
    await watcher.dispose()
    assert {r.status_code for r in answers} == {200} and all("errors" not in r.json() for r in answers)
    assert 0 < peak - baseline <= POOL_SIZE + MAX_OVERFLOW + LISTENER, (baseline, peak)

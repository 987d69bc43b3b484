"""Rate limits shared across processes (CRM_RATE_LIMIT_STORE=redis://...): two apps, each with a container of its
own as two `crm serve` workers have, share one Redis key space (a prefix of the test's own; the machine's Redis is
shared, nothing else is touched) and let through what one bucket allows, not twice that; with Redis away each
limits by itself (logged, never an error), and takes up the shared buckets again once Redis is back."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import AsyncIterator

import httpx
import pytest
from redis.asyncio import Redis

from api.common.rate_limits import STORE_RETRY, LeasedBuckets
from infrastructure.settings import Settings
from tests.conftest import Database, app_with, unique
from tests.e2e.test_rate_limits import token
from tests.faults import FaultProxy

REDIS = ("127.0.0.1", 6379)
BURST = 20  # a lease is a tenth of it: 2 tokens
ME = "{ me { email } }"


def settings(database: Database, store: str, prefix: str) -> Settings:
    return Settings.from_env({"CRM_ENV": "production", "CRM_SECRET_KEY": "p" * 40, "CRM_DATABASE_URL": database.url,
                              "CRM_RATE_LIMIT": "0.01", "CRM_RATE_LIMIT_BURST": str(BURST),
                              "CRM_RATE_LIMIT_IP": "1000", "CRM_RATE_LIMIT_STORE": store,
                              "CRM_RATE_LIMIT_PREFIX": prefix, "CRM_DB_POOL_SIZE": "1", "CRM_DB_MAX_OVERFLOW": "0"})


@contextlib.asynccontextmanager
async def redis_keys(prefix: str) -> AsyncIterator[Redis]:
    """A client of the machine's Redis that deletes the keys under `prefix` afterwards (never anything else)."""
    client = Redis(host=REDIS[0], port=REDIS[1])
    try:
        yield client
    finally:
        async for key in client.scan_iter(match=f"{prefix}*"):
            await client.delete(key)
        await client.aclose()


async def me(client: httpx.AsyncClient, bearer: str) -> int:
    response = await client.post("/graphql", json={"query": ME}, headers={"Authorization": f"Bearer {bearer}"})
    assert response.status_code in (200, 429), response.text
    return response.status_code


async def test_two_processes_sharing_the_store_let_one_principal_through_once_not_twice(database: Database) -> None:
    prefix = unique("crm-test-rate") + ":"
    shared = settings(database, f"redis://{REDIS[0]}:{REDIS[1]}/0", prefix)
    async with redis_keys(prefix) as redis, app_with(shared) as (a, client_a), app_with(shared) as (_, client_b):
        bearer = await token(a, "sales.key@example.com")
        answers = [await me(client, bearer) for _ in range(BURST) for client in (client_a, client_b)]
        admitted = answers.count(200)
        # at most the one bucket's burst (its refill is 0.01/s); early refusals: at most a lease minus one per app
        assert BURST - 2 * (2 - 1) <= admitted <= BURST, answers
        assert answers[-4:] == [429] * 4
        assert [key async for key in redis.scan_iter(match=f"{prefix}principal:*")]  # the bucket lives in Redis


@pytest.mark.parametrize("fault", ["cut", "pause"])
async def test_with_the_store_away_each_process_limits_by_itself_and_returns_to_the_store(
        database: Database, fault: str, caplog: pytest.LogCaptureFixture) -> None:
    prefix = unique("crm-test-rate") + ":"
    async with FaultProxy(*REDIS) as proxy, redis_keys(prefix) as redis:
        async with app_with(settings(database, f"redis://127.0.0.1:{proxy.port}/0", prefix)) as (app, client):
            bearer = await token(app, "sales.key@example.com")
            getattr(proxy, fault)()
            with caplog.at_level(logging.WARNING, logger="crm.api"):
                answers = [await me(client, bearer) for _ in range(BURST + 2)]
            assert answers == [200] * BURST + [429] * 2  # the local bucket's limit, not none and not an error
            assert "rate limit store unreachable" in caplog.text
            assert not [key async for key in redis.scan_iter(match=f"{prefix}*")]

            proxy.restore()
            await asyncio.sleep(STORE_RETRY + 0.1)
            other = await token(app, "finance.key@example.com")
            assert await me(client, other) == 200
            assert [key async for key in redis.scan_iter(match=f"{prefix}principal:*")]  # shared again


def test_the_store_is_a_redis_url() -> None:
    from infrastructure.settings import SettingsError

    assert Settings().rate_limit_store is None  # in-process by default: `make run` needs nothing
    with pytest.raises(SettingsError):
        Settings.from_env({"CRM_SECRET_KEY": "s" * 40, "CRM_RATE_LIMIT_STORE": "memcached://x"})


class CountingStore:
    """The shared store port, in memory: one bucket per key on the test's clock; counts the round trips."""

    def __init__(self, clock: list[float]) -> None:
        self.clock, self.calls, self.buckets = clock, [], {}

    async def lease(self, key: str, want: int, given_back: int, rate: float, burst: float) -> tuple[int, float]:
        self.calls.append((key, want, given_back))
        tokens, at = self.buckets.get(key, (burst, self.clock[0]))
        tokens = min(burst, tokens + (self.clock[0] - at) * rate + given_back)
        granted = min(want, int(tokens))
        self.buckets[key] = (tokens - granted, self.clock[0])
        return granted, 0.0 if granted else (1 - (tokens - granted)) / rate


async def test_a_process_asks_the_store_once_per_lease_and_not_at_all_while_refused() -> None:
    now = [0.0]
    store = CountingStore(now)
    leased = LeasedBuckets(rate=1, burst=200, store=store, name="principal", clock=lambda: now[0])
    assert leased.batch == 20
    assert [await leased.admit("a") for _ in range(100)] == [0.0] * 100
    assert len(store.calls) == 5  # one round trip per 20 requests
    for _ in range(100):
        await leased.admit("a")
    assert await leased.admit("a") > 0  # the burst is spent
    calls = len(store.calls)
    assert all([await leased.admit("a") > 0 for _ in range(50)]) and len(store.calls) == calls  # refusals: local

    now[0] += 30  # 30 tokens refilled; a lease of 20 taken, 1 spent, then it runs out unspent
    assert await leased.admit("a") == 0.0
    now[0] += 2
    assert await leased.admit("a") == 0.0
    assert store.calls[-1] == ("principal:a", 20, 19)  # the unspent 19 went back with the next lease


async def test_concurrent_requests_of_one_key_share_one_lease() -> None:
    store = CountingStore([0.0])
    leased = LeasedBuckets(rate=1, burst=200, store=store, name="ip", clock=lambda: 0.0)
    assert await asyncio.gather(*[leased.admit("b") for _ in range(20)]) == [0.0] * 20
    assert len(store.calls) == 1

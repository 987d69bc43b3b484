"""SIGTERM: `crm serve` finishes the requests in flight within CRM_SHUTDOWN_GRACE and then exits; one that takes
longer does not keep it up past the grace period. `crm worker` stops between batches. Real processes on
PostgreSQL, the database behind a fault proxy this test owns (paused to hold a request in flight)."""
from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import AsyncIterator

import httpx
import pytest

from tests.conftest import BACKENDS
from tests.faults import FaultProxy
from tests.integration.servers import TEST_MODE, free_port, seeded_postgres, wait_ready

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif("postgresql" not in BACKENDS,
                                reason="the fault proxy sits on PostgreSQL's wire (CRM_TEST_BACKENDS leaves it out)")
ME = {"query": "{ me { email } }"}


class Server:
    def __init__(self, process: subprocess.Popen[bytes], url: str, token: str, proxy: FaultProxy) -> None:
        self.process, self.url, self.token, self.proxy = process, url, token, proxy

    async def me(self) -> httpx.Response:
        async with httpx.AsyncClient(timeout=30) as client:
            return await client.post(f"{self.url}/graphql", json=ME, headers={"Authorization": f"Bearer {self.token}"})

    async def exited(self, within: float) -> int:
        deadline = time.monotonic() + within
        while self.process.poll() is None:
            assert time.monotonic() < deadline, f"still running {within} s after SIGTERM"
            await asyncio.sleep(0.05)
        return self.process.returncode


@contextlib.asynccontextmanager
async def behind_proxy(command: list[str], grace: float, **env: str,
                       ) -> AsyncIterator[tuple[subprocess.Popen[bytes], FaultProxy, str]]:
    """`crm <command>` on a fresh PostgreSQL database reached through a fault proxy; the process, the proxy
    and an admin's token. The process is killed afterwards if it is still running."""
    db, cleanup, token = await seeded_postgres()
    proxy = await FaultProxy.for_url(db.url).start()
    env = {**os.environ, **TEST_MODE, "CRM_DATABASE_URL": proxy.url(db.url), "CRM_DB_POOL_SIZE": "2",
           "CRM_DB_MAX_OVERFLOW": "0", "CRM_SHUTDOWN_GRACE": str(grace), **env}
    process = subprocess.Popen([sys.executable, "-m", "api.cli", *command], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        yield process, proxy, token
    finally:
        proxy.restore()
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        await proxy.close()
        await cleanup()


async def _server(grace: float) -> AsyncIterator[Server]:
    port = free_port()
    async with behind_proxy(["serve", "--port", str(port), "--no-access-log"], grace) as (process, proxy, token):
        await wait_ready(f"http://127.0.0.1:{port}", process)
        yield Server(process, f"http://127.0.0.1:{port}", token, proxy)


@pytest.fixture
async def patient() -> AsyncIterator[Server]:
    async for server in _server(grace=10):
        yield server


@pytest.fixture
async def hasty() -> AsyncIterator[Server]:
    async for server in _server(grace=1):
        yield server


async def test_a_request_in_flight_at_sigterm_is_answered_before_the_server_exits(patient: Server) -> None:
    assert (await patient.me()).status_code == 200
    patient.proxy.pause()  # the next request waits on the database
    in_flight = asyncio.ensure_future(patient.me())
    await asyncio.sleep(0.5)
    patient.process.send_signal(signal.SIGTERM)
    await asyncio.sleep(1.0)
    assert patient.process.poll() is None and not in_flight.done()  # waiting for the request, not gone
    patient.proxy.restore()
    response = await asyncio.wait_for(in_flight, 10)
    assert response.status_code == 200 and response.json()["data"]["me"]["email"] == "admin@example.com"
    assert await patient.exited(within=10) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once done


async def test_a_request_longer_than_the_grace_period_does_not_keep_the_server_up(hasty: Server) -> None:
    assert (await hasty.me()).status_code == 200
    hasty.proxy.pause()  # and never restored while it shuts down
    in_flight = asyncio.ensure_future(hasty.me())
    await asyncio.sleep(0.5)
    started = time.monotonic()
    hasty.process.send_signal(signal.SIGTERM)
    await hasty.exited(within=8)
    assert time.monotonic() - started < 8
    with pytest.raises(httpx.HTTPError):  # cut off, never a hang (the grace period is up)
        response = await asyncio.wait_for(in_flight, 10)
        if response.status_code != 200:
            raise httpx.HTTPError(f"HTTP {response.status_code}")


async def _worker(grace: float) -> AsyncIterator[tuple[subprocess.Popen[bytes], FaultProxy]]:
    async with behind_proxy(["worker", "--interval", "0.2"], grace, CRM_RELAY_INTERVAL="0.2") as (process, proxy, _):
        for _ in range(200):  # until it has connected and ticked
            if proxy.accepted:
                break
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        yield process, proxy


@pytest.mark.parametrize("stuck", [False, True])
async def test_a_worker_stops_on_sigterm_between_batches_or_after_the_grace_period(stuck: bool) -> None:
    async for process, proxy in _worker(grace=1.5):
        if stuck:
            proxy.pause()  # its next statement never returns
            await asyncio.sleep(0.6)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        deadline = started + 8
        while process.poll() is None:
            assert time.monotonic() < deadline, "the worker outlived its grace period"
            await asyncio.sleep(0.05)
        out = process.stdout.read().decode() if process.stdout else ""
        if stuck:  # cut off after the grace period; what it was doing rolls back
            assert process.returncode == 1 and time.monotonic() - started >= 1.0
        else:
            assert process.returncode == 0, out
            assert "sla worker stopped" in out and "outbox relay stopped" in out

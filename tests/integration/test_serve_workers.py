"""`crm serve --workers N`: N API processes on one port (PostgreSQL), each with its own pool; SQLite is served
by one process; a nonsense count is refused before anything starts."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import BACKENDS
from tests.integration.servers import free_port, seeded_postgres, wait_ready

ROOT = Path(__file__).resolve().parents[2]


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="several processes serve PostgreSQL only")
async def test_two_workers_share_the_port() -> None:
    db, cleanup, token = await seeded_postgres()
    port = free_port()
    env = {**os.environ, "CRM_DATABASE_URL": db.url, "CRM_ENV": "test", "CRM_DB_POOL_SIZE": "2",
           "CRM_DB_MAX_OVERFLOW": "1"}
    process = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--workers", "2",
                                "--no-access-log"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        await wait_ready(url, process)
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as client:
            answers = await asyncio.gather(*(client.post(f"{url}/graphql", json={"query": "{ me { email } }"})
                                             for _ in range(20)))
        assert {r.json()["data"]["me"]["email"] for r in answers} == {"admin@example.com"}
        assert len(children(process.pid)) >= 2  # uvicorn's workers (and its multiprocessing helper)
    finally:
        process.terminate()
        process.wait(timeout=20)
        await cleanup()


async def test_sqlite_is_served_by_one_process(tmp_path: Path) -> None:
    env = {**os.environ, "CRM_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'crm.db'}", "CRM_ENV": "test"}
    subprocess.run([sys.executable, "-m", "api.cli", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--workers", "3"],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        await wait_ready(f"http://127.0.0.1:{port}", process)
        assert children(process.pid) == []
    finally:
        process.terminate()
        process.wait(timeout=20)
    assert process.stderr is not None and "SQLite is served by one process" in process.stderr.read().decode()


def test_a_bad_worker_count_is_refused() -> None:
    env = {**os.environ, "CRM_DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1:1/none"}
    refused = subprocess.run([sys.executable, "-m", "api.cli", "serve", "--workers", "0"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "--workers must be at least 1" in refused.stderr

"""`crm serve --workers N`: N API processes on one port (PostgreSQL), each with its own pool; SQLite is served
by one process; a nonsense count is refused before anything starts."""
from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import BACKENDS
from tests.integration.servers import TEST_MODE, free_port, seeded_postgres, wait_ready

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


def two_workers(database_url: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CRM_DATABASE_URL": database_url, **TEST_MODE, "CRM_DB_POOL_SIZE": "2",
           "CRM_DB_MAX_OVERFLOW": "1"}
    return subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--workers", "2",
                             "--no-access-log"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def connections_by_process(port: int, pids: list[int]) -> dict[int, int]:
    """How many established TCP connections to `port` each process holds (from /proc: the kernel's table of
    sockets, and each process's open files)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "01" and int(local.rsplit(":", 1)[1], 16) == port:  # 01: ESTABLISHED
                inodes.add(inode)
    held = {}
    for pid in pids:
        sockets = set()
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    sockets.add(target[8:-1])
        held[pid] = len(sockets & inodes)
    return held


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="several processes serve PostgreSQL only")
async def test_two_workers_share_the_port_and_the_connections_opened_at_once() -> None:
    """A load balancer's (or a benchmark's) keep-alive connections all arrive together: the workers get as many
    each (with uvicorn's shared socket the first to wake took all of them; with a socket each, SO_REUSEPORT's hash
    split them unevenly, 13/7 for 20). 12/12 on a quiet machine; on a busy one (the whole suite beside it) a process
    that leaves a connection to a slower one for BalancedAcceptor.MAX_YIELD takes it anyway: 11/13 at worst seen."""
    db, cleanup, token = await seeded_postgres()
    port = free_port()
    process = two_workers(db.url, port)
    url = f"http://127.0.0.1:{port}"
    try:
        await wait_ready(url, process)
        clients = [httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) for _ in range(24)]
        try:
            answers = await asyncio.gather(*(c.post(f"{url}/graphql", json={"query": "{ me { email } }"})
                                             for c in clients))
            assert {r.json()["data"]["me"]["email"] for r in answers} == {"admin@example.com"}
            workers = [pid for pid in children(process.pid)
                       if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")]
            held = connections_by_process(port, workers)
        finally:
            await asyncio.gather(*(c.aclose() for c in clients))
        assert len(held) == 2 and sum(held.values()) == 24 and max(held.values()) - min(held.values()) <= 2, held
    finally:
        process.terminate()
        process.wait(timeout=30)
        await cleanup()
    assert process.returncode == 0


async def test_sqlite_is_served_by_one_process(tmp_path: Path) -> None:
    env = {**os.environ, "CRM_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'crm.db'}", **TEST_MODE}
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


def test_workers_that_cannot_start_stop_the_service_instead_of_restarting_forever() -> None:
    """No database to listen on: every worker's start-up fails, and `crm serve` ends with a failure code."""
    port = free_port()
    env = {**os.environ, "CRM_DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1:1/none", "CRM_ENV": "test"}
    ended = subprocess.run([sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--workers", "2",
                            "--no-access-log"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=90)
    assert ended.returncode != 0, ended.stderr[-2000:]

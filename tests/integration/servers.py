"""Helpers for tests that run `crm serve` as a real process."""
from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Awaitable, Callable

import httpx

from application.demo import seed_demo
from application.organisation import find_active_staff_by_email
from infrastructure.container import build_container, dispose
from infrastructure.db.migrate import upgrade
from infrastructure.settings import TEST_SECRET
from tests.conftest import Database, fresh_database, settings_for

# for a `crm` process that must accept the tokens (and read the webhook secrets) of the test's own
# Settings(env="test"): the same mode and key
TEST_MODE = {"CRM_ENV": "test", "CRM_SECRET_KEY": TEST_SECRET}


ROOT = Path(__file__).resolve().parents[2]


def crm_on_sqlite(*args: str, db: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`crm ARGS` as a user runs it, on the SQLite database `db` (its signing key in a file beside it)."""
    environ = {**os.environ, "CRM_DATABASE_URL": f"sqlite+aiosqlite:///{db}",
               "CRM_SECRET_KEY_FILE": str(db.parent / "secret_key"), **env}
    return subprocess.run([sys.executable, "-m", "api.cli", *args], cwd=ROOT, env=environ, capture_output=True,
                          text=True, timeout=300)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_ready(url: str, process: subprocess.Popen[bytes], attempts: int = 300) -> None:
    """Until `url`/readyz answers 200; fails at once with the server's stderr if it exits."""
    async with httpx.AsyncClient() as client:
        for _ in range(attempts):
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            try:
                if (await client.get(f"{url}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError(f"{url} did not become ready")


async def seeded_postgres() -> tuple[Database, Callable[[], Awaitable[None]], str]:
    """A fresh, migrated PostgreSQL database with the demo data, its cleanup, and an admin's bearer token."""
    db, cleanup = await fresh_database("postgresql")
    container = build_container(settings_for(db.url))
    try:
        await upgrade(container.core.engine())
        await seed_demo(container.services.uow, container.gateways.clock(), container.services.due_dates())
        admin = await find_active_staff_by_email(container.services.uow(), "admin@example.com")
        assert admin is not None
        token = container.services.tokens().issue(admin.id)
    finally:
        await dispose(container)
    return db, cleanup, token

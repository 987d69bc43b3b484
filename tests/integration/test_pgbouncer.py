"""Behind PgBouncer in transaction pooling (docs/deployment.md): with CRM_DB_PGBOUNCER the service reads and writes
through it under concurrency, and live updates still arrive through CRM_DATABASE_LISTEN_URL's direct connection
(LISTEN cannot go through transaction pooling); without the setting, reads fail on prepared statements, which is
why it exists. The test starts a PgBouncer of its own (Debian's package; `make test` installs it) in front of the
suite's PostgreSQL database."""
from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Any, AsyncIterator, Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from api.app import create_app
from application.organisation import find_active_staff_by_email
from infrastructure.settings import Settings
from tests.conftest import Database, lifespan, unique

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
PAGE = "{ customers(first: 5) { edges { node { id name complaints(first: 3) { edges { node { number } } } } } } }"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def pgbouncer() -> Iterator[int]:
    if not Path(PGBOUNCER).exists():
        pytest.fail("PgBouncer is required for this test (`make test` installs Debian's pgbouncer package)")
    folder = Path(tempfile.mkdtemp(prefix="crm-pgbouncer-"))
    port = free_port()
    (folder / "users.txt").write_text('"postgres" ""\n')
    (folder / "pgbouncer.ini").write_text(f"""[databases]
* = host=127.0.0.1 port=5432
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder / 'users.txt'}
pool_mode = transaction
default_pool_size = 4
max_client_conn = 100
ignore_startup_parameters = extra_float_digits,options
""")
    os.chmod(folder, 0o755)
    command = [PGBOUNCER, str(folder / "pgbouncer.ini")]
    if os.geteuid() == 0:  # it will not run as root
        command[1:1] = ["-u", "nobody"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        for _ in range(50):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None:
                pytest.fail(f"pgbouncer did not start: {process.stdout.read().decode() if process.stdout else ''}")
            import time

            time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


def through_direct(app: Any) -> str:
    return app.state.container.core.settings().database_listen_url


def through(database: Database, port: int) -> str:
    parsed = urlsplit(database.url)
    return database.url.replace(f"{parsed.hostname}:{parsed.port}", f"127.0.0.1:{port}")


@pytest.fixture
async def served(database: Database, pgbouncer: int) -> AsyncIterator[tuple[Any, httpx.AsyncClient, dict[str, str]]]:
    if database.backend != "postgresql":
        pytest.skip("PgBouncer is PostgreSQL's")
    settings = Settings.from_env({"CRM_ENV": "test", "CRM_DATABASE_URL": through(database, pgbouncer),
                                  "CRM_DB_PGBOUNCER": "true", "CRM_DATABASE_LISTEN_URL": database.url,
                                  "CRM_DB_POOL_SIZE": "3", "CRM_DB_MAX_OVERFLOW": "0"})
    app = create_app(settings)
    async with lifespan(app):
        staff = await find_active_staff_by_email(app.state.container.services.uow(), "admin@example.com")
        auth = {"Authorization": f"Bearer {app.state.container.services.tokens().issue(staff.id)}"}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            yield app, client, auth


async def test_reads_and_writes_go_through_pgbouncer(served: tuple[Any, httpx.AsyncClient, dict[str, str]]) -> None:
    _, client, auth = served

    async def read() -> Any:
        return (await client.post("/graphql", json={"query": PAGE}, headers=auth)).json()

    answers = await asyncio.gather(*[read() for _ in range(30)])
    assert all("errors" not in a and a["data"]["customers"]["edges"] for a in answers), answers[0]
    codes = [unique("PGB").upper() for _ in range(10)]
    created = await asyncio.gather(*[client.post("/graphql", headers=auth, json={
        "query": "mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { customer { code } userErrors { code } } }",
        "variables": {"i": {"code": code, "name": "Through PgBouncer", "kind": "COMPANY"}}}) for code in codes])
    assert sorted(r.json()["data"]["createCustomer"]["customer"]["code"] for r in created) == sorted(codes)


async def test_live_updates_arrive_through_the_direct_listen_connection(
        served: tuple[Any, httpx.AsyncClient, dict[str, str]]) -> None:
    app, client, auth = served
    relay = app.state.container.services.event_relay()
    assert relay is not None and f":{urlsplit(through_direct(app)).port}/" in relay._dsn  # not PgBouncer's port
    publisher = app.state.container.gateways.publisher()
    received: list[Any] = []

    async def listen() -> None:
        async for event in publisher.subscribe():
            received.append(event)
            return

    listening = asyncio.create_task(listen())
    await asyncio.sleep(0.2)
    code = unique("PGB").upper()
    await client.post("/graphql", headers=auth, json={
        "query": "mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { customer { code } } }",
        "variables": {"i": {"code": code, "name": "Heard", "kind": "COMPANY"}}})
    await asyncio.wait_for(listening, 10)
    assert received


async def test_without_the_setting_pgbouncer_breaks_prepared_statements(database: Database, pgbouncer: int) -> None:
    if database.backend != "postgresql":
        pytest.skip("PgBouncer is PostgreSQL's")
    settings = Settings.from_env({"CRM_ENV": "test", "CRM_DATABASE_URL": through(database, pgbouncer),
                                  "CRM_DB_POOL_SIZE": "3", "CRM_DB_MAX_OVERFLOW": "0"})
    app = create_app(settings)
    try:
        with pytest.raises(Exception, match="prepared statement"):
            for _ in range(5):  # a server connection sees statements prepared on another one, or misses them
                await asyncio.gather(*[find_active_staff_by_email(app.state.container.services.uow(),
                                                                  "admin@example.com") for _ in range(8)])
    finally:
        from infrastructure.container import dispose

        await dispose(app.state.container)

"""Shared fixtures: a migrated, demo-seeded database per backend, the real app over HTTP, tokens.

Every test that touches the database runs once per backend in CRM_TEST_BACKENDS
(default: sqlite,postgresql). PostgreSQL is required unless that variable leaves it out:
an unreachable server fails the run, it is never skipped.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from hypothesis import settings as hypothesis_settings
from sqlalchemy import event, text

from api.app import create_app
from application.demo import seed_demo
from infrastructure.container import Container, build_container, dispose
from infrastructure.db.engine import create_engine
from infrastructure.db.migrate import upgrade
from infrastructure.db.reads import current_request
from infrastructure.settings import Settings

BACKENDS = [b.strip() for b in os.environ.get("CRM_TEST_BACKENDS", "sqlite,postgresql").split(",") if b.strip()]
POSTGRES_ADMIN_URL = os.environ.get("CRM_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")

# PostgreSQL's max_connections (100) is shared by every suite running on the machine. Each container a test
# builds (settings_for) holds at most POOL_SIZE + MAX_OVERFLOW connections, and so does each process a test
# starts (`crm serve`, `crm worker` inherit these variables); a request needs one at a time, more only wait.
POOL_SIZE, MAX_OVERFLOW = 3, 2
os.environ.setdefault("CRM_DB_POOL_SIZE", str(POOL_SIZE))
os.environ.setdefault("CRM_DB_MAX_OVERFLOW", str(MAX_OVERFLOW))


# `--hypothesis-profile=quick` (make test-fast): a tenth of the examples, for the edit loop.
hypothesis_settings.register_profile("quick", max_examples=10)


def examples(at_default: int) -> int:
    """A property test's example count, given for the default profile (100 examples), scaled with the one loaded."""
    return max(1, at_default * hypothesis_settings.default.max_examples // 100)


def settings_for(url: str, **overrides: Any) -> Settings:
    """Test settings for a database: env test, the suite's small pool."""
    return Settings(**{"database_url": url, "env": "test", "db_pool_size": POOL_SIZE,
                       "db_max_overflow": MAX_OVERFLOW, **overrides})


@dataclass
class Database:
    backend: str
    url: str


async def _create_postgres_database() -> tuple[str, str]:
    name = f"crm_test_{uuid.uuid4().hex[:10]}"
    engine = create_engine(POSTGRES_ADMIN_URL)
    try:
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as err:  # noqa: BLE001
        pytest.fail(f"PostgreSQL is required for these tests but unreachable at {POSTGRES_ADMIN_URL}: {err}. "
                    "Set CRM_TEST_BACKENDS=sqlite to run without it.")
    finally:
        await engine.dispose()
    return name, POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


async def _drop_postgres_database(name: str) -> None:
    engine = create_engine(POSTGRES_ADMIN_URL)
    try:
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await engine.dispose()


async def fresh_database(backend: str) -> tuple[Database, Any]:
    """An empty database; returns it and an async cleanup callable."""
    if backend == "sqlite":
        folder = tempfile.mkdtemp(prefix="crm-test-")
        url = f"sqlite+aiosqlite:///{Path(folder) / 'crm.db'}"

        async def cleanup() -> None:
            for p in Path(folder).glob("*"):
                p.unlink()
            Path(folder).rmdir()

        return Database(backend, url), cleanup
    if backend == "postgresql":
        name, url = await _create_postgres_database()
        return Database(backend, url), lambda: _drop_postgres_database(name)
    raise ValueError(f"unknown backend {backend}")


@pytest.fixture(scope="session", params=BACKENDS)
async def database(request: pytest.FixtureRequest) -> AsyncIterator[Database]:
    """A migrated database with the demo data, shared by the session's tests on one backend.

    Tests add their own data with unique names rather than relying on a clean slate.
    """
    db, cleanup = await fresh_database(request.param)
    container = build_container(settings_for(db.url))
    try:
        await upgrade(container.core.engine())
        await seed_demo(container.services.uow, container.gateways.clock())
    finally:
        await dispose(container)
    yield db
    await cleanup()


@pytest.fixture(scope="session")
async def container(database: Database) -> AsyncIterator[Container]:
    container = build_container(settings_for(database.url))
    yield container
    await dispose(container)


@pytest.fixture(scope="session")
async def app(container: Container) -> AsyncIterator[Any]:
    """The app with its lifespan running (on PostgreSQL that starts the LISTEN/NOTIFY relay)."""
    application = create_app(container.core.settings(), container)
    async with lifespan(application):
        yield application


def lifespan(application: Any) -> LifespanManager:
    """The app's start-up and shutdown, each given 30 s: asgi-lifespan's 5 s default was passed on a busy CI machine
    while the shutdown closed the pools and the LISTEN connection (nothing hung: it was slow)."""
    return LifespanManager(application, startup_timeout=30, shutdown_timeout=30)


class Api:
    """GraphQL over HTTP against the real app, as a given staff member."""

    def __init__(self, client: httpx.AsyncClient, container: Container) -> None:
        self.client = client
        self.container = container
        self._tokens: dict[str, str] = {}

    async def token_for(self, email: str) -> str:
        if email not in self._tokens:
            from application.organisation import find_active_staff_by_email

            staff = await find_active_staff_by_email(self.container.services.uow(), email)
            assert staff is not None, f"no active staff {email}"
            self._tokens[email] = self.container.services.tokens().issue(staff.id)
        return self._tokens[email]

    def forget_token(self, email: str) -> None:
        """The next request as `email` gets a newly issued token."""
        self._tokens.pop(email, None)

    async def post(self, query: str, variables: dict[str, Any] | None = None, *, as_: str | None = "admin@example.com",
                   token: str | None = None) -> httpx.Response:
        headers = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        elif as_ is not None:
            headers["Authorization"] = f"Bearer {await self.token_for(as_)}"
        return await self.client.post("/graphql", json={"query": query, "variables": variables or {}},
                                      headers=headers)

    async def __call__(self, query: str, variables: dict[str, Any] | None = None, *,
                       as_: str = "admin@example.com") -> dict[str, Any]:
        """Run an operation that must not fail at the GraphQL level; returns `data`."""
        response = await self.post(query, variables, as_=as_)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    async def errors(self, query: str, variables: dict[str, Any] | None = None, *,
                     as_: str = "admin@example.com") -> list[dict[str, Any]]:
        """Run an operation that must fail at the GraphQL level; returns its errors."""
        response = await self.post(query, variables, as_=as_)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body.get("errors"), body
        return body["errors"]


@pytest.fixture(scope="session")
async def api(app: Any, container: Container) -> AsyncIterator[Api]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield Api(client, container)


@contextlib.asynccontextmanager
async def app_with(settings: Settings) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    """Another app, with a container of its own, for settings the session's app does not have (production mode,
    small limits ...): the app and a client of it. Its lifespan does not run."""
    application = create_app(settings)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://test") as client:
            yield application, client
    finally:
        await dispose(application.state.container)


@contextlib.contextmanager
def statements(api: Api) -> Iterator[list[str]]:
    """The SQL that HTTP requests run on the read engine, where every query goes, while the block runs (not what
    background tasks run meanwhile, such as the LISTEN relay reading notified events back)."""
    seen: list[str] = []
    engine = api.container.core.read_engine().sync_engine

    def record(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if current_request() is not None:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def subscribers_settled(api: Api) -> int:
    """How many subscriptions the publisher has once the count stops changing (those of earlier tests may still
    be closing, and would otherwise hide as many new ones from `wait_for_subscribers`)."""
    publisher = api.container.gateways.publisher()
    count, steady = publisher.subscribers, 0
    for _ in range(500):
        await asyncio.sleep(0.01)
        steady = steady + 1 if publisher.subscribers == count else 0
        count = publisher.subscribers
        if steady >= 10:
            break
    return count


async def wait_for_subscribers(api: Api, count: int) -> None:
    publisher = api.container.gateways.publisher()
    for _ in range(1000):
        if publisher.subscribers >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the subscriptions did not start")

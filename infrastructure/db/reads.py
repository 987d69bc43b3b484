"""Where the read models run their statements: on the one connection of the current request.

A GraphQL request used to check a connection out of the pool for every statement, each with a pre-ping,
a BEGIN and a ROLLBACK. Now the HTTP request opens a `request_connection(engine)` scope (api/app.py); the
first read inside it checks one connection out, every later read of the request (authentication, every
DataLoader batch) reuses it, one statement at a time (an `asyncio.Lock`: an asyncpg or aiosqlite connection
runs one statement at once), and it goes back to the pool when the request ends. Reads run in autocommit, so
there is no BEGIN/ROLLBACK round trip, and each statement sees everything committed before it (a mutation's
payload reads what the mutation just committed).

Outside such a scope (WebSocket subscriptions, the worker, the CLI) each read checks a connection out for
itself, as before. The scope travels in a `ContextVar`, so DataLoader batches, which run in tasks of their
own, find it too.

A unit of work (a write transaction) in progress in the same task lends its connection to the reads it makes
(`in_transaction`): a use case that looks something up mid-transaction (a department's calendar) reads what
the transaction sees, and one request never holds two connections at once. The request's idle read
connection goes back to the pool when a unit of work starts (`release_request_connection`), so a page of
mutations cannot deadlock a full pool with every request holding a read connection while it waits for a
write one.

With no pre-ping, a connection the server dropped while it idled in the pool surfaces as a disconnect error
on its first statement; a read is safe to repeat, so it is retried once on a fresh connection.
"""
from __future__ import annotations

import asyncio
import contextlib
from contextvars import ContextVar
from typing import Any, AsyncIterator, Awaitable, Callable, Iterator, TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

T = TypeVar("T")


class RequestConnection:
    """One request's connection, checked out on first use and used by one statement at a time."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.closed = False  # the request has ended: a task it left behind reads on a connection of its own
        self._connection: AsyncConnection | None = None
        self._lock = asyncio.Lock()

    async def run(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        async with self._lock:
            if self._connection is None:
                self._connection = await self.engine.connect()
            try:
                return await work(self._connection)
            except DBAPIError as err:
                if not err.connection_invalidated:
                    raise
                await self._discard()
                self._connection = await self.engine.connect()
                return await work(self._connection)

    async def _discard(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()

    async def close(self) -> None:
        async with self._lock:
            await self._discard()

    async def release(self) -> None:
        """Back to the pool, unless a read is using it right now; the next read checks one out again."""
        if not self._lock.locked():
            await self.close()


_current: ContextVar[RequestConnection | None] = ContextVar("crm_request_connection", default=None)
_transaction: ContextVar[tuple[str, AsyncConnection] | None] = ContextVar("crm_transaction", default=None)


async def release_request_connection() -> None:
    """Give the current request's read connection back while it is idle (a unit of work is starting)."""
    shared = _current.get()
    if shared is not None:
        await shared.release()


@contextlib.contextmanager
def in_transaction(engine: AsyncEngine, connection: AsyncConnection) -> Iterator[None]:
    """Reads of `engine`'s database in this block run on `connection` (a unit of work's)."""
    token = _transaction.set((_database(engine), connection))
    try:
        yield
    finally:
        _transaction.reset(token)


def _database(engine: AsyncEngine) -> str:
    return engine.url.render_as_string(hide_password=True)


@contextlib.asynccontextmanager
async def request_connection(engine: AsyncEngine) -> AsyncIterator[RequestConnection]:
    """Reads on `engine` inside this block share one connection (taken only if a read happens)."""
    shared = RequestConnection(engine)
    token = _current.set(shared)
    try:
        yield shared
    finally:
        _current.reset(token)
        shared.closed = True
        await shared.close()


def current_request() -> RequestConnection | None:
    """The request whose reads the current task makes (None outside one, or once it has ended)."""
    shared = _current.get()
    return shared if shared is not None and not shared.closed else None


async def _on_own_connection(engine: AsyncEngine, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    for attempt in (1, 2):
        try:
            async with engine.connect() as conn:
                return await work(conn)
        except DBAPIError as err:
            if not err.connection_invalidated or attempt == 2:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


class Reads:
    """A read model's door to the database: the request's connection when there is one, else its own."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def run(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """`work` on a connection; it may run several statements (they are not one transaction)."""
        lent = _transaction.get()
        if lent is not None and lent[0] == _database(self.engine):
            return await work(lent[1])
        shared = current_request()
        if shared is not None and shared.engine is self.engine:
            return await shared.run(work)
        return await _on_own_connection(self.engine, work)

    async def all(self, stmt: Any, params: dict[str, Any] | None = None) -> list[Any]:
        async def rows(conn: AsyncConnection) -> list[Any]:
            return list((await conn.execute(stmt, params)).all())

        return await self.run(rows)

    async def scalar(self, stmt: Any, params: dict[str, Any] | None = None) -> Any:
        """The one value of `stmt`; `params` give its named parameters other values than it was built with."""
        async def value(conn: AsyncConnection) -> Any:
            return (await conn.execute(stmt, params)).scalar_one()

        return await self.run(value)


class SqlReadModel:
    """Base of the SQL read models (infrastructure/db/queries/): their statements go through `Reads`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._reads = Reads(engine)

    async def _all(self, stmt: Any) -> list[Any]:
        return await self._reads.all(stmt)

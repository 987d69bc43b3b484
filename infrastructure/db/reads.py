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

The hot read paths' one statement per request (queries/documents.py) runs straight on the driver where that
is asyncpg (`Reads.driver_rows`): for a one-row answer SQLAlchemy's per-execution work (an execution context,
the cursor adapted through a greenlet, result objects) costs five times what asyncpg's own does. It is
compiled by SQLAlchemy once, observers of the engine's cursor events (statement counts, tracing) see it as
any other, and on any error it runs again through SQLAlchemy, which then reports, invalidates and retries as
everywhere else.

The connection such a statement runs on is kept between requests (`KeptConnections`): checking a pooled
connection out of SQLAlchemy's pool and back in (greenlet switches, the pool's queue, its events and reset)
cost about a quarter of a hot read's Python. Kept connections stay checked out of the same pool, so the process's
connection budget (CRM_DB_POOL_SIZE + CRM_DB_MAX_OVERFLOW) is unchanged; at most CRM_DB_POOL_KEPT of them (half
the pool by default) are kept, the rest of the pool circulates as before, and one idle for a second goes back.
"""
from __future__ import annotations

import asyncio
import contextlib
import time
from contextvars import ContextVar
from types import SimpleNamespace
from typing import Any, Awaitable, Callable, Iterator, TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.util import greenlet_spawn

T = TypeVar("T")


KEPT_SINCE, KEPT_FROM = "crm_kept_since", "crm_kept_from"  # in a pooled connection's info: since when the driver
# path keeps it, and the engine's pool it was checked out of


class KeptConnections:
    """Pooled connections of `engine` that the driver path keeps checked out between requests, at most `keep`
    idle ones (see the module's docstring). A kept connection goes back to the pool when it has idled for `idle`
    seconds, when it is older than `recycle` seconds (the pool's own recycling never sees it) and on `close`; one
    from a pool the engine has since replaced (`AsyncEngine.dispose`) is closed instead, never used again."""

    def __init__(self, engine: AsyncEngine, keep: int, *, idle: float = 1.0, recycle: float = 1800.0) -> None:
        self.engine = engine
        self.keep = keep
        self.idle = idle
        self.recycle = recycle
        self._idle: list[tuple[Any, float]] = []  # (pooled connection, idle since), the last used last
        self._sweep: asyncio.TimerHandle | None = None
        self._returning: set[asyncio.Task[None]] = set()

    async def take(self) -> Any:
        """A pooled connection: the last kept one, else one checked out of the pool."""
        pool = self.engine.sync_engine.pool
        while self._idle:
            pooled, _ = self._idle.pop()
            if pooled.info.get(KEPT_FROM) is pool:
                return pooled
            await self._return([pooled])
        pooled = await self.engine.raw_connection()
        # from the pool it was asked of, unless the engine replaced it meanwhile (then it is closed when given back)
        pooled.info[KEPT_FROM] = pool if self.engine.sync_engine.pool is pool else None
        return pooled

    async def give_back(self, pooled: Any) -> None:
        """Keep `pooled` (a connection `take` gave, whose last statement succeeded), or return it to the pool."""
        now = time.monotonic()
        if len(self._idle) < self.keep and pooled.info.get(KEPT_FROM) is self.engine.sync_engine.pool \
                and now - pooled.info.setdefault(KEPT_SINCE, now) < self.recycle:
            self._idle.append((pooled, now))
            if self._sweep is None:
                self._sweep = asyncio.get_running_loop().call_later(self.idle, self._swept)
            return
        await self._return([pooled])

    async def close(self) -> None:
        """Every kept connection back to the pool (before the engine is disposed)."""
        if self._sweep is not None:
            self._sweep.cancel()
            self._sweep = None
        kept, self._idle = [pooled for pooled, _ in self._idle], []
        await self._return(kept)
        if self._returning:
            await asyncio.gather(*self._returning, return_exceptions=True)

    def _swept(self) -> None:
        """The connections idle for `idle` seconds go back to the pool (a task: that takes SQLAlchemy's greenlet)."""
        self._sweep = None
        cutoff = time.monotonic() - self.idle
        idle = [pooled for pooled, since in self._idle if since <= cutoff]
        if idle:
            self._idle = [(pooled, since) for pooled, since in self._idle if since > cutoff]
            task = asyncio.get_running_loop().create_task(self._return(idle))
            self._returning.add(task)
            task.add_done_callback(self._returning.discard)
        if self._idle:
            self._sweep = asyncio.get_running_loop().call_later(self.idle, self._swept)

    async def _return(self, connections: list[Any]) -> None:
        """Back to their pool, or closed if that is no longer the engine's."""
        for pooled in connections:
            pooled.info.pop(KEPT_SINCE, None)
            stale = pooled.info.pop(KEPT_FROM, None) is not self.engine.sync_engine.pool
            with contextlib.suppress(Exception):
                await greenlet_spawn(pooled.invalidate if stale else pooled.close)


class RequestConnection:
    """One request's connection, checked out on first use and used by one statement at a time."""

    def __init__(self, engine: AsyncEngine, kept: KeptConnections | None = None) -> None:
        self.engine = engine
        self.kept = kept  # where the driver path's connection comes from and goes back to (else the pool)
        self.closed = False  # the request has ended: a task it left behind reads on a connection of its own
        self._connection: AsyncConnection | None = None
        self._pooled: Any = None  # a pooled connection checked out for the driver alone (see `driver`)
        self._lock = asyncio.Lock()

    async def run(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        async with self._lock:
            if self._connection is None:
                await self._give_back_pooled()  # one connection per request: SQLAlchemy's from here on
                self._connection = await self.engine.connect()
            try:
                return await work(self._connection)
            except DBAPIError as err:
                if not err.connection_invalidated:
                    raise
                await self._discard()
                self._connection = await self.engine.connect()
                return await work(self._connection)

    async def driver(self, work: Callable[[Any], Awaitable[T]]) -> T:
        """`work` on the driver's own connection: the request's SQLAlchemy connection's, or else a pooled one
        checked out without a SQLAlchemy connection around it (half the cost of a checkout, for a request that
        runs one statement on the driver and nothing else). A failure drops that connection, never back to the
        pool in whatever state it was left."""
        async with self._lock:
            if self._connection is not None:
                return await work((await self._connection.get_raw_connection()).driver_connection)
            if self._pooled is None:
                self._pooled = await (self.kept.take() if self.kept is not None else self.engine.raw_connection())
            try:
                return await work(self._pooled.driver_connection)
            except BaseException:
                pooled, self._pooled = self._pooled, None
                with contextlib.suppress(Exception):
                    await greenlet_spawn(pooled.invalidate)
                raise

    async def _give_back_pooled(self) -> None:
        pooled, self._pooled = self._pooled, None
        if pooled is not None:
            with contextlib.suppress(Exception):
                await (self.kept.give_back(pooled) if self.kept is not None else greenlet_spawn(pooled.close))

    async def _discard(self) -> None:
        await self._give_back_pooled()
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()

    async def close(self) -> None:
        if self._connection is None and self._pooled is None and not self._lock.locked():
            return  # nothing was read (or it went back already)
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


class request_connection:  # noqa: N801 - used as the context manager it is, like contextlib's
    """Reads on `engine` inside this block share one connection (taken only if a read happens); the driver
    path's comes from `kept` when given. (A class, not a generator: it is entered by every request.)"""

    __slots__ = ("_shared", "_token")

    def __init__(self, engine: AsyncEngine, kept: KeptConnections | None = None) -> None:
        self._shared = RequestConnection(engine, kept)

    async def __aenter__(self) -> RequestConnection:
        self._token = _current.set(self._shared)
        return self._shared

    async def __aexit__(self, *_: object) -> None:
        _current.reset(self._token)
        self._shared.closed = True
        await self._shared.close()


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


DRIVER_SQL_KEPT = 1024
_DRIVER_SQL: dict[int, tuple[Any, str | None, Callable[[dict[str, Any]], list[Any]] | None]] = {}  # by id(statement)


class Reads:
    """A read model's door to the database: the request's connection when there is one, else its own."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._observed_as = SimpleNamespace(engine=engine.sync_engine)  # the driver path's connection, to observers

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

    async def driver_rows(self, stmt: Any, params: dict[str, Any]) -> list[Any]:
        """`stmt`'s rows (attributes by column name) as `all` gives them, run on the driver itself where that
        is asyncpg (see the module's docstring); `stmt` should be one built once and run many times."""
        sql, arguments_of = self._driver_sql(stmt) if self.dialect == "postgresql" else (None, None)
        if sql is None or arguments_of is None:
            return await self.all(stmt, params)

        arguments = arguments_of(params)
        dispatch = self.engine.sync_engine.dispatch
        before = dispatch.before_cursor_execute if dispatch.before_cursor_execute else None
        after = dispatch.after_cursor_execute if dispatch.after_cursor_execute else None

        async def fetch(driver: Any) -> list[Any]:
            # observers get a stand-in for the SQLAlchemy connection, naming its engine (tracing reads the URL):
            # the statement ran on the driver's own
            context = SimpleNamespace()  # what observers may note on the execution, as on SQLAlchemy's
            if before is not None:
                before(self._observed_as, None, sql, tuple(arguments), context, False)
            records = await driver.fetch(sql, *arguments)
            if after is not None:
                after(self._observed_as, None, sql, tuple(arguments), context, False)
            return [SimpleNamespace(**record) for record in records]

        try:
            lent = _transaction.get()
            if lent is not None and lent[0] == _database(self.engine):
                return await fetch((await lent[1].get_raw_connection()).driver_connection)
            shared = current_request()
            if shared is not None and shared.engine is self.engine:
                return await shared.driver(fetch)
            pooled = await self.engine.raw_connection()
            try:
                return await fetch(pooled.driver_connection)
            finally:
                await greenlet_spawn(pooled.close)
        except Exception:  # noqa: BLE001 - SQLAlchemy runs it again, and reports, invalidates and retries as it does
            return await self.all(stmt, params)

    def _driver_sql(self, stmt: Any) -> tuple[str | None, Callable[[dict[str, Any]], list[Any]] | None]:
        """`stmt` compiled for the driver: its SQL, and what turns named parameters into the driver's
        positional ones (the values it was built with where not given, through their types' bind processors);
        (None, None) for a statement only SQLAlchemy can run (an IN list it expands per execution)."""
        known = _DRIVER_SQL.get(id(stmt))
        if known is None or known[0] is not stmt:
            compiled = stmt.compile(dialect=self.engine.dialect)
            if compiled.post_compile_params:
                known = _DRIVER_SQL[id(stmt)] = (stmt, None, None)
                return None, None
            names = tuple(compiled.positiontup or ())
            processors = compiled._bind_processors  # noqa: SLF001 - what SQLAlchemy's execution applies
            defaults = compiled.params  # the values it was built with (None for those always given)

            def arguments(params: dict[str, Any]) -> list[Any]:
                values = []
                for name in names:
                    value = params[name] if name in params else defaults[name]
                    processor = processors.get(name)
                    values.append(processor(value) if processor is not None and value is not None else value)
                return values

            if len(_DRIVER_SQL) >= DRIVER_SQL_KEPT:
                _DRIVER_SQL.clear()
            known = _DRIVER_SQL[id(stmt)] = (stmt, compiled.string, arguments)
        return known[1], known[2]

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

"""Engines for the two supported stores.

SQLite (embedded default) gets WAL, foreign keys and a busy timeout; its write engine
starts transactions with BEGIN IMMEDIATE, so two writers queue instead of failing
with "database is locked" when a read transaction tries to upgrade. Reads go through a
separate engine that never takes the write lock.

Reads run in autocommit on both stores (`read_engine`): a read model's statement needs no
transaction, and a GraphQL request shares one connection for all of them
(infrastructure/db/reads.py), so BEGIN/ROLLBACK around each would only add round trips.

PostgreSQL's pool is sized to fit several processes on one server (`max_connections` is often
100): a request holds at most one read connection, a mutation one more. Connections are not
pinged on every checkout; they are recycled after half an hour, and a read that meets a dropped
connection is retried once on a fresh one (reads.py).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


POOL_SIZE, MAX_OVERFLOW = 10, 5


def create_engine(url: str, *, for_writes: bool = True, echo: bool = False, pool_size: int = POOL_SIZE,
                  max_overflow: int = MAX_OVERFLOW) -> AsyncEngine:
    if url.startswith("sqlite"):
        if not for_writes:
            engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30},
                                         isolation_level="AUTOCOMMIT", skip_autocommit_rollback=True)
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
            return engine
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine
    return create_async_engine(url, echo=echo, pool_size=pool_size, max_overflow=max_overflow, pool_recycle=1800,
                               pool_timeout=30)


def autocommit(engine: AsyncEngine) -> AsyncEngine:
    """The same pool, each statement committed on its own (no BEGIN, no ROLLBACK on return)."""
    return engine.execution_options(isolation_level="AUTOCOMMIT")

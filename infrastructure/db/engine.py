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

import base64
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from domain.money import Money


def _base64url(text: str | None) -> str | None:
    return None if text is None else base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _uuid_text(stored: str | None) -> str | None:
    return None if stored is None else str(uuid.UUID(stored))


def _global_id(type_name: str, stored: str | None) -> str | None:
    """As api/common/relay.py's to_global_id: standard, padded base64 of `Type:uuid`."""
    return None if stored is None else base64.b64encode(f"{type_name}:{uuid.UUID(stored)}".encode()).decode()


def _isoformat(stored: str | None) -> str | None:
    return None if stored is None else datetime.fromisoformat(stored).replace(tzinfo=UTC).isoformat()


def _money(stored: str | None, currency: str | None) -> str | None:
    if stored is None or currency is None:
        return None
    return f"{Money(Decimal(stored), currency).amount:f}"


# What PostgreSQL writes in SQL and SQLite lacks, for JSON built in the database (queries/documents.py):
# base64url (cursors), a stored UUID's text, a global ID (padded base64), a stored instant as isoformat() in
# UTC, a Money amount.
SQLITE_FUNCTIONS = {"crm_b64": (1, _base64url), "crm_uuid": (1, _uuid_text), "crm_gid": (2, _global_id),
                    "crm_iso": (1, _isoformat), "crm_money": (2, _money)}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
    for name, (arity, function) in SQLITE_FUNCTIONS.items():
        dbapi_connection.create_function(name, arity, function, deterministic=True)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


POOL_SIZE, MAX_OVERFLOW = 10, 5


def create_engine(url: str, *, for_writes: bool = True, echo: bool = False, pool_size: int = POOL_SIZE,
                  max_overflow: int = MAX_OVERFLOW, connect_timeout: float = 10.0,
                  statement_timeout: float | None = None, pool_timeout: float = 30.0,
                  pgbouncer: bool = False) -> AsyncEngine:
    """PostgreSQL: a connection not made within `connect_timeout`, a pool with none free within `pool_timeout`
    and a statement unanswered after `statement_timeout` (None: no limit, for migrations) fail instead of
    hanging as long as the server does (infrastructure/db/faults.py says what such a failure means).
    `pgbouncer`: the URL is PgBouncer's in transaction pooling, where a server connection serves whichever
    client's transaction comes next: no prepared statements kept on a connection (asyncpg's cache and
    SQLAlchemy's off, each statement unnamed), as SQLAlchemy's asyncpg documentation says."""
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
    # asyncpg keeps a connection's prepared statements only up to 15 kB of SQL by default; a compiled document
    # (queries/documents.py) is larger and would be parsed and planned again on every request
    connect_args: dict[str, object] = {"max_cacheable_statement_size": 1024 * 1024, "timeout": connect_timeout,
                                       "command_timeout": statement_timeout}
    if pgbouncer:
        url = make_url(url).update_query_dict({"prepared_statement_cache_size": "0"}).render_as_string(
            hide_password=False)
        connect_args.update(statement_cache_size=0, prepared_statement_name_func=lambda: "")
    return create_async_engine(url, echo=echo, pool_size=pool_size, max_overflow=max_overflow, pool_recycle=1800,
                               pool_timeout=pool_timeout, connect_args=connect_args)


def autocommit(engine: AsyncEngine) -> AsyncEngine:
    """The same pool, each statement committed on its own (no BEGIN, no ROLLBACK on return)."""
    return engine.execution_options(isolation_level="AUTOCOMMIT")

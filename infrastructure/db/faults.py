"""Which database failures are the database being away, and which are passing: one place that knows the drivers.

- **Unavailable** (`ServiceUnavailable`, HTTP 503 with Retry-After): no connection could be made in time
  (refused, unreachable, CRM_DB_CONNECT_TIMEOUT), none was free in the pool in time (CRM_DB_POOL_TIMEOUT),
  the server refuses connections (starting up, shutting down, too many clients), or a statement outlived
  CRM_DB_STATEMENT_TIMEOUT (the server hangs).
- **Transient** (`TransientFailure`, code TRANSIENT): the connection was lost mid-statement (a terminated
  backend, a reset), asyncpg's "another operation is in progress" on a connection a cancelled statement
  left busy, a serialisation failure or a deadlock. The transaction was rolled back: repeating is safe.

Anything else (a constraint, a bug) is neither and stays an internal error.
"""
from __future__ import annotations

import asyncio
from collections import deque
from typing import Iterator

import asyncpg
from sqlalchemy import exc as sa

from application.ports import ServiceUnavailable, TransientFailure

_UNAVAILABLE = (asyncpg.CannotConnectNowError, asyncpg.TooManyConnectionsError, asyncpg.AdminShutdownError,
                asyncpg.ConnectionFailureError, asyncpg.QueryCanceledError, asyncpg.InvalidCatalogNameError)
_TRANSIENT = (asyncpg.ConnectionDoesNotExistError, asyncpg.SerializationError, asyncpg.DeadlockDetectedError)


def _chain(err: BaseException) -> Iterator[BaseException]:
    """`err`, then what it wraps (the driver's error), then what it was raised from or during, outermost first."""
    seen: set[int] = set()
    todo: deque[BaseException | None] = deque([err])
    while todo:
        current = todo.popleft()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend([getattr(current, "orig", None), current.__cause__, current.__context__])


def _meaning(cause: BaseException) -> ServiceUnavailable | TransientFailure | None:
    if isinstance(cause, _TRANSIENT) or (isinstance(cause, asyncpg.InterfaceError)
                                          and "another operation is in progress" in str(cause)) \
            or (isinstance(cause, sa.DBAPIError) and cause.connection_invalidated):
        return TransientFailure("The database connection was lost mid-way; nothing was written. Retry.")
    if isinstance(cause, (sa.TimeoutError, TimeoutError, asyncio.TimeoutError, OSError, *_UNAVAILABLE)):
        return ServiceUnavailable("The database is not answering; nothing was written. Retry later.")
    return None


def database_fault(err: BaseException | None) -> ServiceUnavailable | TransientFailure | None:
    """What `err` (raised by a statement, a checkout or a connect) means to a client, or None for a fault: the
    outermost failure that says decides (a retry that could not connect is unavailable, whatever came before)."""
    if err is None or isinstance(err, asyncio.CancelledError):
        return None
    if isinstance(err, (ServiceUnavailable, TransientFailure)):
        return err
    for cause in _chain(err):
        meaning = _meaning(cause)
        if meaning is not None:
            return meaning
    return None

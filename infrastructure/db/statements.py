"""How many SQL statements the current request ran: every engine's statements counted into the counter the
request sets (api/common/request_log.py sets one per request and logs it)."""
from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

STATEMENTS: ContextVar[list[int] | None] = ContextVar("crm_request_statements", default=None)


def _count_statement(*_: Any) -> None:
    counter = STATEMENTS.get()
    if counter is not None:
        counter[0] += 1


def count_statements(engine: AsyncEngine) -> None:
    """Count `engine`'s statements for the request running them (once per engine)."""
    if not event.contains(engine.sync_engine, "before_cursor_execute", _count_statement):
        event.listen(engine.sync_engine, "before_cursor_execute", _count_statement)

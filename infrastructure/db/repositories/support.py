"""Idempotency keys and business-number sequences."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from infrastructure.db import tables as t


class SqlIdempotencyStore:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def lookup(self, scope: str, key: str) -> tuple[str, uuid.UUID] | None:
        row = (
            await self._conn.execute(
                select(t.idempotency_keys.c.fingerprint, t.idempotency_keys.c.result_id).where(
                    t.idempotency_keys.c.scope == scope, t.idempotency_keys.c.key == key
                )
            )
        ).first()
        return (row.fingerprint, row.result_id) if row else None

    async def remember(self, scope: str, key: str, fingerprint: str, result_id: uuid.UUID) -> None:
        await self._conn.execute(
            insert(t.idempotency_keys).values(
                scope=scope, key=key, fingerprint=fingerprint, result_id=result_id, created_at=datetime.now(UTC)
            )
        )


class SqlSequences:
    """PostgreSQL: native sequences (never block, gaps allowed). SQLite: a counter row,
    which is safe because SQLite runs one writer at a time."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def advance_past(self, name: str, value: int) -> None:
        if self._conn.dialect.name == "postgresql":
            seq = _seq(name)
            await self._conn.execute(text(
                f"SELECT setval('{seq}', GREATEST(:value, (SELECT last_value FROM {seq})), true)"), {"value": value})
            return
        result = await self._conn.execute(update(t.sequences).where(t.sequences.c.name == name, t.sequences.c.value < value)
                                          .values(value=value))
        if result.rowcount == 0 and (await self._conn.execute(
                select(t.sequences.c.value).where(t.sequences.c.name == name))).first() is None:
            await self._conn.execute(insert(t.sequences).values(name=name, value=value))

    async def next_value(self, name: str) -> int:
        if self._conn.dialect.name == "postgresql":
            return int((await self._conn.execute(text(f"SELECT nextval('{_seq(name)}')"))).scalar_one())
        result = await self._conn.execute(
            update(t.sequences).where(t.sequences.c.name == name).values(value=t.sequences.c.value + 1)
            .returning(t.sequences.c.value)
        )
        value = result.scalar_one_or_none()
        if value is None:
            await self._conn.execute(insert(t.sequences).values(name=name, value=1))
            return 1
        return int(value)


def _seq(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"bad sequence name {name!r}")
    return f"{name}_seq"

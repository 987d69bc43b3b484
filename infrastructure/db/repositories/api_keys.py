"""ApiKeyRegistry on SQL (table api_keys): each call its own short transaction."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from application.audit import audit_record, audit_state, jsonable
from domain.api_key import ApiKey
from infrastructure.db.security_tables import api_keys as k
from infrastructure.db.security_tables import audit_log, audit_row


def api_key_from_row(row: Any) -> ApiKey:
    return ApiKey(id=row.id, name=row.name, scopes=tuple(row.scopes), acts_as=row.acts_as, created_at=row.created_at,
                  created_by=row.created_by, revoked_at=row.revoked_at, last_used_at=row.last_used_at)


class SqlApiKeyRegistry:
    def __init__(self, engine: AsyncEngine, read_engine: AsyncEngine) -> None:
        self._engine = engine
        self._read_engine = read_engine

    async def add(self, key: ApiKey, secret_hash: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(insert(k).values(id=key.id, name=key.name, scopes=list(key.scopes),
                                                secret_hash=secret_hash, acts_as=key.acts_as,
                                                created_by=key.created_by, created_at=key.created_at))
            await conn.execute(insert(audit_log).values(audit_row(audit_record(
                "api_key", key.id, None, audit_state(key), [], key.created_at))))

    async def get(self, key_id: uuid.UUID) -> ApiKey | None:
        [found] = await self.by_ids([key_id])
        return found

    async def all(self) -> list[ApiKey]:
        async with self._read_engine.connect() as conn:
            rows = await conn.execute(select(k).order_by(k.c.created_at, k.c.id))
            return [api_key_from_row(row) for row in rows]

    async def by_ids(self, ids: list[uuid.UUID]) -> list[ApiKey | None]:
        async with self._read_engine.connect() as conn:
            found = {row.id: api_key_from_row(row) for row in await conn.execute(select(k).where(k.c.id.in_(ids)))}
        return [found.get(i) for i in ids]

    async def used(self, key_id: uuid.UUID, at: datetime) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(update(k).where(k.c.id == key_id).values(last_used_at=at))

    async def revoke(self, key: ApiKey) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(update(k).where(k.c.id == key.id, k.c.revoked_at.is_(None))
                               .values(revoked_at=key.revoked_at))
            assert key.revoked_at is not None
            await conn.execute(insert(audit_log).values(audit_row(audit_record(
                "api_key", key.id, {"revoked_at": None}, {"revoked_at": jsonable(key.revoked_at)}, [],
                key.revoked_at))))

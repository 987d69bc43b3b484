"""Read model of webhooks (never their secrets)."""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from application.queries.webhooks import WebhookView
from infrastructure.db.relay_tables import webhooks as w

COLUMNS = (w.c.id, w.c.url, w.c.events, w.c.active, w.c.created_at)


def webhook_view(row: Any) -> WebhookView:
    return WebhookView(row.id, row.url, tuple(row.events), row.active, row.created_at)


class SqlWebhookQueries:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def all(self) -> list[WebhookView]:
        async with self._engine.connect() as conn:
            return [webhook_view(r) for r in await conn.execute(select(*COLUMNS).order_by(w.c.created_at, w.c.id))]

    async def by_ids(self, ids: list[uuid.UUID]) -> list[WebhookView | None]:
        async with self._engine.connect() as conn:
            found = {r.id: webhook_view(r) for r in await conn.execute(select(*COLUMNS).where(w.c.id.in_(ids)))}
        return [found.get(i) for i in ids]

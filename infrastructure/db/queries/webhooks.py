"""Read model of webhooks (never their secrets)."""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from application.queries.webhooks import WebhookView
from infrastructure.db.relay_tables import webhooks as w
from infrastructure.db.reads import SqlReadModel

COLUMNS = (w.c.id, w.c.url, w.c.events, w.c.active, w.c.created_at)


def webhook_view(row: Any) -> WebhookView:
    return WebhookView(id=row.id, url=row.url, events=tuple(row.events), active=row.active, created_at=row.created_at)


class SqlWebhookQueries(SqlReadModel):
    async def all(self) -> list[WebhookView]:
        return [webhook_view(r) for r in await self._all(select(*COLUMNS).order_by(w.c.created_at, w.c.id))]

    async def by_ids(self, ids: list[uuid.UUID]) -> list[WebhookView | None]:
        found = {r.id: webhook_view(r) for r in await self._all(select(*COLUMNS).where(w.c.id.in_(ids)))}
        return [found.get(i) for i in ids]

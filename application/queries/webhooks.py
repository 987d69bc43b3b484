"""Read model of the registered webhooks (never their secrets)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, kw_only=True)
class WebhookView:
    id: uuid.UUID
    url: str
    events: tuple[str, ...]
    active: bool
    created_at: datetime


class WebhookQueries(Protocol):
    async def all(self) -> list[WebhookView]:
        """Every webhook, oldest first."""

    async def by_ids(self, ids: list[uuid.UUID]) -> list[WebhookView | None]: ...

"""Read model of the audit log (application/audit.py writes it): for ADMINs, newest first."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from application.queries.pagination import Page, PageRequest


@dataclass(frozen=True)
class AuditView:
    id: uuid.UUID
    at: datetime
    actor_id: uuid.UUID | None
    api_key_id: uuid.UUID | None
    aggregate_type: str
    aggregate_id: uuid.UUID
    operation: str
    kind: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str | None


@dataclass(frozen=True)
class AuditFilter:
    aggregate_id: uuid.UUID | None = None
    aggregate_type: str | None = None
    actor_id: uuid.UUID | None = None
    from_: datetime | None = None
    to: datetime | None = None


class AuditQueries(Protocol):
    async def log(self, filter: AuditFilter, page: PageRequest) -> Page[AuditView]:
        """The entries that match, newest first."""

"""Read model of the audit log (application/audit.py writes it): for ADMINs, newest first."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from application.audit import AuditRecord
from application.queries.pagination import Page, PageRequest

AuditView = AuditRecord  # an entry reads back as it was written


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

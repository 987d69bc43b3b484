"""The audit log, newest first, keyset-paginated on (at, id)."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select

from application.queries.audit import AuditFilter, AuditView
from application.queries.pagination import Page, PageRequest
from infrastructure.db.queries.keyset import SortKey, paginate
from infrastructure.db.reads import SqlReadModel
from infrastructure.db.security_tables import audit_log as a

ORDER = [SortKey(a.c.at, datetime), SortKey(a.c.id, uuid.UUID)]


def audit_view(r: Any) -> AuditView:
    return AuditView(r.id, r.at, r.actor_id, r.api_key_id, r.aggregate_type, r.aggregate_id, r.operation, r.kind,
                     r.before, r.after, r.request_id)


class SqlAuditQueries(SqlReadModel):
    async def log(self, filter: AuditFilter, page: PageRequest) -> Page[AuditView]:
        query = select(a)
        for column, value in ((a.c.aggregate_id, filter.aggregate_id), (a.c.aggregate_type, filter.aggregate_type),
                              (a.c.actor_id, filter.actor_id)):
            if value is not None:
                query = query.where(column == value)
        if filter.from_ is not None:
            query = query.where(a.c.at >= filter.from_)
        if filter.to is not None:
            query = query.where(a.c.at < filter.to)
        return await paginate(self._reads, query, ORDER, descending=True, page=page, to_item=audit_view)

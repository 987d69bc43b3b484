"""FieldAccessPolicy on SQL (table field_access): the rules and the default's FINANCE department in one
statement, on the request's connection; a change is one transaction with its audit record."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, insert, literal, select, true
from sqlalchemy.ext.asyncio import AsyncEngine

from application.audit import audit_record, jsonable
from domain.field_access import DEFAULT_DEPARTMENT, FieldAccessRule, GuardedField
from domain.organisation import Role, Staff
from infrastructure.db import tables as t
from infrastructure.db.reads import Reads
from infrastructure.db.security_tables import audit_log, audit_row
from infrastructure.db.security_tables import field_access as fa

AUDIT_NAMESPACE = uuid.UUID("5d7c8c4e-2f4b-4c77-9d1e-6a3f0b1e2c10")  # field names as audit aggregate ids
_one = select(literal(1).label("one")).subquery()
RULES = (select(t.departments.c.id.label("finance_id"), fa.c.field, fa.c.roles, fa.c.department_ids, fa.c.owner)
         .select_from(_one.outerjoin(t.departments, t.departments.c.code == DEFAULT_DEPARTMENT)
                      .outerjoin(fa, true())))


class SqlFieldAccess:
    def __init__(self, engine: AsyncEngine, read_engine: AsyncEngine) -> None:
        self._engine = engine
        self._reads = Reads(read_engine)

    async def rules(self) -> dict[GuardedField, FieldAccessRule]:
        rows = await self._reads.all(RULES)
        finance = rows[0].finance_id if rows else None
        found = {field: FieldAccessRule.default(field, finance) for field in GuardedField}
        for row in rows:
            if row.field is not None and row.field in GuardedField.__members__:
                field = GuardedField(row.field)
                found[field] = FieldAccessRule(field, frozenset(Role(r) for r in row.roles),
                                               frozenset(uuid.UUID(str(d)) for d in row.department_ids), row.owner)
        return found

    async def save(self, rule: FieldAccessRule, by: Staff, at: datetime) -> None:
        before = (await self.rules())[rule.field]
        values = {"roles": sorted(r.value for r in rule.roles), "department_ids": sorted(map(str, rule.department_ids)),
                  "owner": rule.owner}
        async with self._engine.begin() as conn:
            await conn.execute(delete(fa).where(fa.c.field == rule.field.value))
            await conn.execute(insert(fa).values(field=rule.field.value, updated_at=at, updated_by=by.id, **values))
            old = {"roles": sorted(r.value for r in before.roles),
                   "department_ids": sorted(map(str, before.department_ids)), "owner": before.owner}
            await conn.execute(insert(audit_log).values(audit_row(audit_record(
                "field_access", uuid.uuid5(AUDIT_NAMESPACE, rule.field.value), jsonable(old), values, [], at))))

"""SQL read model of the maturity figures (domain/maturity.py defines them): three statements for any number of
departments and records, each grouped by department: the staff's, the creations', the customers' data quality."""
from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import case, exists, func, or_, select

from domain.maturity import RECORD_MODULES, DepartmentalCounts
from domain.organisation import Role
from infrastructure.db import tables as t
from infrastructure.db.reads import SqlReadModel

s, a, c, cc, tr = t.staff, t.audit_log, t.customers, t.customer_contacts, t.staff_trainings
GENERATED_CODE = "C-______"  # application/customers.py next_customer_code: C-000123


def _ones(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _staff(ids: list[uuid.UUID], start: datetime, end: datetime) -> Any:
    wrote = exists().where(a.c.actor_id == s.c.id, a.c.at >= start, a.c.at < end)
    trained = exists().where(tr.c.staff_id == s.c.id, tr.c.trained_at < end)
    return (select(s.c.department_id, func.count().label("active"),
                   _ones(s.c.role == Role.KEY_USER.value).label("key_users"),
                   _ones(trained).label("trained"), _ones(wrote).label("recording"))
            .where(s.c.department_id.in_(ids), s.c.active.is_(True)).group_by(s.c.department_id))


def _created(ids: list[uuid.UUID], start: datetime, end: datetime) -> Any:
    return (select(s.c.department_id, a.c.aggregate_type, func.count().label("n"))
            .select_from(a.join(s, s.c.id == a.c.actor_id))
            .where(a.c.kind == "CREATE", a.c.aggregate_type.in_(RECORD_MODULES), a.c.at >= start, a.c.at < end,
                   s.c.department_id.in_(ids))
            .group_by(s.c.department_id, a.c.aggregate_type))


def _quality(ids: list[uuid.UUID], end: datetime) -> Any:
    creators = (select(a.c.aggregate_id, s.c.department_id)
                .select_from(a.join(s, s.c.id == a.c.actor_id))
                .where(a.c.aggregate_type == "customer", a.c.kind == "CREATE").subquery("creators"))
    owner = s.alias("owner")
    department = func.coalesce(creators.c.department_id, owner.c.department_id)
    name_of = func.lower(func.trim(c.c.name))
    other = c.alias("other")
    other_name = func.lower(func.trim(other.c.name))
    names_twice = select(other_name).group_by(other_name).having(func.count() > 1)  # one pass, hashed
    mine, any_contact = cc.alias("mine"), cc.alias("any_contact")
    email_of = func.lower(any_contact.c.email)
    emails_twice = (select(email_of).where(any_contact.c.email.is_not(None)).group_by(email_of)
                    .having(func.count(func.distinct(any_contact.c.customer_id)) > 1))
    mailed_twice = exists().where(mine.c.customer_id == c.c.id, func.lower(mine.c.email).in_(emails_twice))
    named_twice = name_of.in_(names_twice)
    primary = exists().where(cc.c.customer_id == c.c.id, cc.c.is_primary.is_(True))
    return (select(department.label("department_id"), func.count().label("customers"),
                   _ones(c.c.owner_id.is_(None)).label("without_owner"),
                   _ones(~primary).label("without_primary_contact"),
                   _ones(c.c.code.like(GENERATED_CODE)).label("without_code"),
                   _ones(or_(named_twice, mailed_twice)).label("likely_duplicates"))
            .select_from(c.outerjoin(creators, creators.c.aggregate_id == c.c.id)
                         .outerjoin(owner, owner.c.id == c.c.owner_id))
            .where(c.c.created_at < end, department.in_(ids)).group_by(department))


class SqlMaturityQueries(SqlReadModel):
    async def departmental(self, department_ids: list[uuid.UUID], start: datetime,
                           end: datetime) -> list[DepartmentalCounts]:
        if not department_ids:
            return []
        staff = {r.department_id: r for r in await self._all(_staff(department_ids, start, end))}
        created: dict[uuid.UUID, dict[str, int]] = defaultdict(dict)
        for r in await self._all(_created(department_ids, start, end)):
            created[r.department_id][r.aggregate_type] = int(r.n)
        quality = {r.department_id: r for r in await self._all(_quality(department_ids, end))}

        def counts(i: uuid.UUID) -> DepartmentalCounts:
            st, q = staff.get(i), quality.get(i)
            return DepartmentalCounts(
                active_staff=int(st.active) if st else 0, key_users=int(st.key_users) if st else 0,
                trained_staff=int(st.trained) if st else 0, recording_staff=int(st.recording) if st else 0,
                created=created.get(i, {}), customers=int(q.customers) if q else 0,
                without_owner=int(q.without_owner) if q else 0,
                without_primary_contact=int(q.without_primary_contact) if q else 0,
                without_code=int(q.without_code) if q else 0, likely_duplicates=int(q.likely_duplicates) if q else 0)

        return [counts(i) for i in department_ids]

"""SQL read models for departments and staff."""
from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import select

from application.queries.pagination import Page, PageRequest
from application.queries.views import DepartmentView, StaffView
from infrastructure.db import tables as t
from infrastructure.db.queries.rows import in_order
from infrastructure.db.queries.keyset import SortKey, paginate, paginate_each
from infrastructure.db.reads import SqlReadModel

s = t.staff
STAFF_COLUMNS = [s.c.id, s.c.name, s.c.email, s.c.role, s.c.active, s.c.department_id, s.c.version]


def department_view(r: Any) -> DepartmentView:
    return DepartmentView(id=r.id, code=r.code, name=r.name, calendar_id=r.calendar_id)


def staff_view(r: Any) -> StaffView:
    return StaffView(id=r.id, name=r.name, email=r.email, role=r.role, active=r.active, department_id=r.department_id,
                     version=r.version)


class SqlOrganisationQueries(SqlReadModel):
    async def departments(self) -> list[DepartmentView]:
        d = t.departments
        return [department_view(r) for r in await self._all(select(d).order_by(d.c.code))]

    async def departments_by_ids(self, ids: list[uuid.UUID]) -> list[DepartmentView | None]:
        d = t.departments
        rows = await self._all(select(d).where(d.c.id.in_(ids)))
        return in_order(ids, {r.id: department_view(r) for r in rows})

    async def staff_by_ids(self, ids: list[uuid.UUID]) -> list[StaffView | None]:
        rows = await self._all(select(*STAFF_COLUMNS).where(s.c.id.in_(ids)))
        return in_order(ids, {r.id: staff_view(r) for r in rows})

    async def staff(self, department_id: uuid.UUID | None, page: PageRequest) -> Page[StaffView]:
        query = select(*STAFF_COLUMNS)
        if department_id is not None:
            query = query.where(s.c.department_id == department_id)
        keys = [SortKey(s.c.email, str), SortKey(s.c.id, uuid.UUID)]
        return await paginate(self._reads, query, keys, descending=False, page=page, to_item=staff_view)

    async def staff_of_departments(self, department_ids: list[uuid.UUID],
                                   page: PageRequest) -> list[Page[StaffView]]:
        keys = [SortKey(s.c.email, str), SortKey(s.c.id, uuid.UUID)]
        return await paginate_each(self._reads, select(*STAFF_COLUMNS), s.c.department_id, department_ids, keys,
                                   descending=False, page=page, to_item=staff_view)

    async def key_users(self, department_ids: list[uuid.UUID]) -> list[list[StaffView]]:
        rows = await self._all(select(*STAFF_COLUMNS).where(
            s.c.department_id.in_(department_ids), s.c.role == "KEY_USER", s.c.active.is_(True)).order_by(s.c.name))
        found: dict[uuid.UUID, list[StaffView]] = defaultdict(list)
        for r in rows:
            found[r.department_id].append(staff_view(r))
        return [found.get(i, []) for i in department_ids]

"""SQL read model of the rollout by department. Every method is one statement for any number of departments
(the checklist's counts two: one over the tables, one over the active workflow definitions' steps)."""
from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import Integer, case, cast, distinct, func, literal, null, select, union_all

from application.queries.rollout import (
    ChecklistTargetView,
    DepartmentRolloutView,
    PhaseChangeView,
    RolloutView,
    StaffCountsView,
)
from domain.rollout import (
    CALENDAR,
    CALENDARS,
    CATEGORIES,
    CONTACTS,
    CUSTOMERS,
    ORDERING,
    PRODUCTS,
    REACHABLE,
    SLA_POLICIES,
    TAGGED,
    WORKFLOWS,
    RolloutPhase,
)
from infrastructure.db import tables as t
from infrastructure.db.queries.organisation import department_view
from infrastructure.db.queries.rows import in_order
from infrastructure.db.reads import SqlReadModel

d, r, s = t.departments, t.department_rollouts, t.staff


def rollout_view(row: Any) -> RolloutView:
    return RolloutView(id=row.id, department_code=row.code, phase=row.phase or RolloutPhase.SURVEY.value,
                       version=row.version or 0, checklist={
                           key: ChecklistTargetView(target=value.get("target"), done=bool(value.get("done")))
                           for key, value in (row.checklist or {}).items()})


def _rollouts() -> Any:
    return (select(d, r.c.phase, r.c.checklist, r.c.version)
            .select_from(d.outerjoin(r, r.c.department_id == d.c.id)))


def _counts(department_ids: list[uuid.UUID]) -> Any:
    """(department_id or NULL for company-wide figures, key, count) of every checklist item the tables answer."""
    owned = t.customers.join(s, t.customers.c.owner_id == s.c.id)

    def per_department(key: str, source: Any, count: Any) -> Any:
        return (select(s.c.department_id.label("department_id"), literal(key).label("key"), count.label("n"))
                .select_from(source).where(s.c.department_id.in_(department_ids)).group_by(s.c.department_id))

    def company(key: str, source: Any, count: Any, *where: Any) -> Any:
        return select(cast(null(), t.departments.c.id.type).label("department_id"), literal(key).label("key"),
                      count.label("n")).select_from(source).where(*where)

    return union_all(
        per_department(CUSTOMERS.key, owned, func.count()),
        per_department(CONTACTS.key, owned.join(t.customer_contacts,
                                                t.customer_contacts.c.customer_id == t.customers.c.id), func.count()),
        select(d.c.id, literal(CALENDAR.key), case((d.c.calendar_id.is_(None), 0), else_=1).cast(Integer))
        .where(d.c.id.in_(department_ids)),
        company(PRODUCTS.key, t.order_lines, func.count(distinct(t.order_lines.c.sku))),
        company(CATEGORIES.key, t.complaint_categories, func.count(), t.complaint_categories.c.active.is_(True)),
        company(SLA_POLICIES.key, t.sla_policies, func.count(), t.sla_policies.c.active.is_(True)),
        company(CALENDARS.key, t.business_calendars, func.count()),
        company(TAGGED.key, t.customer_tags, func.count(distinct(t.customer_tags.c.customer_id))),
        company(REACHABLE.key, t.customer_contacts, func.count(), t.customer_contacts.c.email.is_not(None)),
        company(ORDERING.key, t.orders, func.count(distinct(t.orders.c.customer_id))),
    )


class SqlRolloutQueries(SqlReadModel):
    async def rollouts(self) -> list[DepartmentRolloutView]:
        rows = await self._all(_rollouts().order_by(d.c.code))
        return [DepartmentRolloutView(department=department_view(row), rollout=rollout_view(row)) for row in rows]

    async def rollouts_by_department(self, ids: list[uuid.UUID]) -> list[RolloutView | None]:
        rows = await self._all(_rollouts().where(d.c.id.in_(ids)))
        return in_order(ids, {row.id: rollout_view(row) for row in rows})

    async def history(self, department_ids: list[uuid.UUID]) -> list[list[PhaseChangeView]]:
        h = t.rollout_phase_changes
        found: dict[uuid.UUID, list[PhaseChangeView]] = defaultdict(list)
        for row in await self._all(select(h).where(h.c.department_id.in_(department_ids)).order_by(h.c.at, h.c.id)):
            found[row.department_id].append(PhaseChangeView(from_phase=row.from_phase, to_phase=row.to_phase,
                                                            at=row.at, by_id=row.by_id, note=row.note))
        return [found.get(i, []) for i in department_ids]

    async def checklist_counts(self, department_ids: list[uuid.UUID]) -> list[dict[str, int]]:
        company: dict[str, int] = {}
        found: dict[uuid.UUID, dict[str, int]] = defaultdict(dict)
        for row in await self._all(_counts(department_ids)):
            if row.department_id is None:
                company[row.key] = int(row.n)
            else:
                found[row.department_id][row.key] = int(row.n)
        w = t.workflow_definitions
        involved: dict[uuid.UUID, int] = defaultdict(int)
        for row in await self._all(select(w.c.steps).where(w.c.active.is_(True))):
            for department in {step.get("departmentId") for step in row.steps or []}:
                if department:
                    involved[uuid.UUID(department)] += 1
        return [{**company, WORKFLOWS.key: involved.get(i, 0), **found.get(i, {})} for i in department_ids]

    async def staff_counts(self, department_ids: list[uuid.UUID]) -> list[StaffCountsView]:
        tr = t.staff_trainings
        rows = await self._all(
            select(s.c.department_id, func.count().label("active"), func.count(tr.c.staff_id).label("trained"))
            .select_from(s.outerjoin(tr, tr.c.staff_id == s.c.id))
            .where(s.c.department_id.in_(department_ids), s.c.active.is_(True)).group_by(s.c.department_id))
        found = {row.department_id: StaffCountsView(active=int(row.active), trained=int(row.trained)) for row in rows}
        return [found.get(i, StaffCountsView(active=0, trained=0)) for i in department_ids]

"""SQL read models for complaints, timelines, SLA history, configuration and the SLA report."""
from __future__ import annotations

import uuid
from collections import OrderedDict, defaultdict
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, any_, bindparam, case, func, literal_column, or_, select, true
from sqlalchemy.dialects.postgresql import ARRAY

from application.queries.complaints import (
    CategoryView,
    ComplaintFilter,
    ComplaintParent,
    ComplaintScope,
    ComplaintView,
    SlaHistoryView,
    SlaReportRowView,
    TimelineEntryView,
)
from application.queries.pagination import Page, PageRequest
from domain.calendar import BusinessCalendar
from domain.sla import SlaPolicy
from infrastructure.db import tables as t
from infrastructure.db.queries.rows import contains_text, in_order
from infrastructure.db.queries.keyset import SortKey, paginate, paginate_each
from infrastructure.db.repositories.complaints import calendar_from_row, policy_from_row, policy_from_snapshot
from infrastructure.db.reads import SqlReadModel

c = t.complaints
tl = t.complaint_timeline
# the view's fields from the columns of their names; `terms` from the SLA terms snapshot stored at filing
VIEW_COLUMNS = [f.name for f in fields(ComplaintView) if f.name != "terms"]
COMPLAINT_COLUMNS = [*(c.c[name] for name in VIEW_COLUMNS), c.c.sla_terms]


NEWEST_FIRST = [SortKey(c.c.created_at, datetime), SortKey(c.c.id, uuid.UUID)]


def complaint_view(r: Any) -> ComplaintView:
    row = r._mapping
    return ComplaintView(**{name: row[name] for name in VIEW_COLUMNS},
                         terms=policy_from_snapshot(r.sla_terms) if r.sla_terms else None)


def entry_view(r: Any) -> TimelineEntryView:
    return TimelineEntryView(id=r.id, complaint_id=r.complaint_id, position=r.position, at=r.at, kind=r.kind,
                             author_id=r.author_id, department_id=r.department_id, visibility=r.visibility,
                             message=r.message, from_status=r.from_status, to_status=r.to_status)


def category_view(r: Any) -> CategoryView:
    return CategoryView(id=r.id, code=r.code, name=r.name, parent_id=r.parent_id, active=r.active)


def visible_to(scope: ComplaintScope) -> ColumnElement[bool]:
    """The visibility rule of domain/complaint.py as a WHERE clause."""
    if scope.sees_all:
        return true()
    # named, so a cached statement (queries/documents.py) runs again for another reader with new values
    staff = bindparam("scope_staff", scope.staff_id, type_=c.c.filed_by.type)
    department = bindparam("scope_department", scope.department_id, type_=c.c.department_id.type)
    # never correlated: inside a statement that also reads customers it must still mean "customers they own"
    owned = select(t.customers.c.id).where(t.customers.c.owner_id == staff).correlate(None)
    return or_(c.c.department_id == department, c.c.filed_by == staff, c.c.assignee_id == staff,
               c.c.customer_id.in_(owned))


def complaint_criteria(filter: ComplaintFilter, now: Any) -> list[ColumnElement[bool]]:
    """The filter as criteria on `complaints` (visibility apart: `visible_to`); `now` is the request's clock, a
    datetime or a parameter (queries/documents.py keeps statements for later requests)."""
    criteria: list[ColumnElement[bool]] = [
        column.in_(values) for column, values in ((c.c.status, filter.statuses), (c.c.priority, filter.priorities),
                                                  (c.c.category_id, filter.category_ids)) if values]
    criteria += [column == value for column, value in (
        (c.c.assignee_id, filter.assignee_id), (c.c.department_id, filter.department_id),
        (c.c.customer_id, filter.customer_id), (c.c.order_id, filter.order_id)) if value is not None]
    if filter.sla_at_risk is True:
        criteria.append(c.c.sla_at_risk_at <= now)
    elif filter.sla_at_risk is False:
        criteria.append(or_(c.c.sla_at_risk_at.is_(None), c.c.sla_at_risk_at > now))
    if filter.search:
        term = filter.search.strip()
        cu = t.customers
        criteria.append(or_(contains_text(term, c.c.number, c.c.subject),
                            c.c.customer_id.in_(select(cu.c.id).where(contains_text(term, cu.c.name, cu.c.code)))))
    return criteria


SLA_HISTORY_KINDS = ("STATUS_CHANGE", "PROGRESS")  # the timeline entries that SLA clocks read


def _history(ids: ColumnElement[bool]) -> Any:
    """The status changes and progress entries of some complaints, in order: built once (the resolvers' SLA clocks
    read it on every request), the ids a parameter: an array on PostgreSQL, so the driver runs it as it is."""
    kinds = [literal_column(f"'{kind}'") for kind in SLA_HISTORY_KINDS]
    return select(tl.c.complaint_id, tl.c.at, tl.c.kind, tl.c.from_status, tl.c.to_status) \
        .where(ids, tl.c.kind.in_(kinds)).order_by(tl.c.complaint_id, tl.c.position)


_HISTORY_BY_ARRAY = _history(tl.c.complaint_id == any_(bindparam("ids", type_=ARRAY(tl.c.complaint_id.type))))
_HISTORY_BY_LIST = _history(tl.c.complaint_id.in_(bindparam("ids", expanding=True)))


def _calendars(ids: ColumnElement[bool]) -> Any:
    """Business calendars by id, built once like the history: every page with SLA clocks reads its calendars."""
    bc = t.business_calendars
    return select(bc.c.id, bc.c.name, bc.c.timezone, bc.c.working_hours, bc.c.holidays).where(ids)


_CALENDARS_BY_ARRAY = _calendars(
    t.business_calendars.c.id == any_(bindparam("ids", type_=ARRAY(t.business_calendars.c.id.type))))
_CALENDARS_BY_LIST = _calendars(t.business_calendars.c.id.in_(bindparam("ids", expanding=True)))


CALENDARS_KEPT = 256
_CALENDARS: OrderedDict[tuple[Any, ...], BusinessCalendar] = OrderedDict()


def _kept_calendar(row: Any) -> BusinessCalendar:
    """The calendar a row describes, the same object for as long as the row says the same: what it worked out
    (its days' openings in UTC, its running totals of business time; domain/calendar.py) is worked out once
    per process, not on every request that computes SLA clocks. An edited calendar is a different key."""
    key = (row.id, row.name, row.timezone, repr(row.working_hours), repr(row.holidays))
    calendar = _CALENDARS.get(key)
    if calendar is None:
        calendar = _CALENDARS[key] = calendar_from_row(row)
        if len(_CALENDARS) > CALENDARS_KEPT:
            _CALENDARS.popitem(last=False)
    return calendar


class SqlComplaintQueries(SqlReadModel):
    # ------------------------------------------------------------------------------ complaints

    async def list(self, scope: ComplaintScope, filter: ComplaintFilter, page: PageRequest,
                   now: datetime) -> Page[ComplaintView]:
        return await paginate(self._reads, self._filtered(scope, filter, now), NEWEST_FIRST, descending=True,
                              page=page, to_item=complaint_view)

    async def list_per(self, scope: ComplaintScope, filter: ComplaintFilter, parent: ComplaintParent,
                       parent_ids: list[uuid.UUID], page: PageRequest, now: datetime) -> list[Page[ComplaintView]]:
        column = c.c.customer_id if parent == "customer" else c.c.order_id
        return await paginate_each(self._reads, self._filtered(scope, filter, now), column, parent_ids, NEWEST_FIRST,
                                   descending=True, page=page, to_item=complaint_view)

    @staticmethod
    def _filtered(scope: ComplaintScope, filter: ComplaintFilter, now: datetime) -> Any:
        return select(*COMPLAINT_COLUMNS).where(visible_to(scope), *complaint_criteria(filter, now))

    async def by_ids(self, ids: list[uuid.UUID], scope: ComplaintScope) -> list[ComplaintView | None]:
        rows = await self._all(select(*COMPLAINT_COLUMNS).where(c.c.id.in_(ids), visible_to(scope)))
        return in_order(ids, {r.id: complaint_view(r) for r in rows})

    async def by_number(self, number: str, scope: ComplaintScope) -> ComplaintView | None:
        rows = await self._all(select(*COMPLAINT_COLUMNS).where(c.c.number == number.strip().upper(),
                                                                visible_to(scope)))
        return complaint_view(rows[0]) if rows else None

    async def timeline(self, complaint_ids: list[uuid.UUID], page: PageRequest) -> list[Page[TimelineEntryView]]:
        return await paginate_each(self._reads, select(tl), tl.c.complaint_id, complaint_ids,
                                   [SortKey(tl.c.position, int)], descending=True, page=page, to_item=entry_view)

    async def entries_by_ids(self, ids: list[uuid.UUID]) -> list[TimelineEntryView | None]:
        rows = await self._all(select(tl).where(tl.c.id.in_(ids)))
        return in_order(ids, {r.id: entry_view(r) for r in rows})

    async def sla_history(self, complaint_ids: list[uuid.UUID]) -> list[SlaHistoryView]:
        statement = _HISTORY_BY_ARRAY if self._reads.dialect == "postgresql" else _HISTORY_BY_LIST
        rows = await self._reads.driver_rows(statement, {"ids": complaint_ids})
        changes: dict[uuid.UUID, list[tuple[datetime, str | None, str]]] = defaultdict(list)
        progress: dict[uuid.UUID, list[datetime]] = defaultdict(list)
        for r in rows:
            if r.kind == "STATUS_CHANGE":
                changes[r.complaint_id].append((r.at, r.from_status, r.to_status))
            else:
                progress[r.complaint_id].append(r.at)
        return [SlaHistoryView(status_changes=tuple(changes[i]), progress=tuple(progress[i])) for i in complaint_ids]

    # -------------------------------------------------------------------------- configuration

    async def categories(self) -> list[CategoryView]:
        cc = t.complaint_categories
        return [category_view(r) for r in await self._all(select(cc).order_by(cc.c.code))]

    async def categories_by_ids(self, ids: list[uuid.UUID]) -> list[CategoryView | None]:
        cc = t.complaint_categories
        return in_order(ids, {r.id: category_view(r) for r in await self._all(select(cc).where(cc.c.id.in_(ids)))})

    async def policies(self) -> list[SlaPolicy]:
        p = t.sla_policies
        return [policy_from_row(r) for r in await self._all(
            select(p).order_by(p.c.active.desc(), p.c.name, p.c.created_at))]

    async def policies_by_ids(self, ids: list[uuid.UUID]) -> list[SlaPolicy | None]:
        p = t.sla_policies
        return in_order(ids, {r.id: policy_from_row(r) for r in await self._all(select(p).where(p.c.id.in_(ids)))})

    async def calendars(self) -> list[BusinessCalendar]:
        bc = t.business_calendars
        return [calendar_from_row(r) for r in await self._all(select(bc).order_by(bc.c.name))]

    async def calendars_by_ids(self, ids: list[uuid.UUID]) -> list[BusinessCalendar | None]:
        statement = _CALENDARS_BY_ARRAY if self._reads.dialect == "postgresql" else _CALENDARS_BY_LIST
        rows = await self._reads.driver_rows(statement, {"ids": ids})
        return in_order(ids, {r.id: _kept_calendar(r) for r in rows})

    # --------------------------------------------------------------------------------- report

    async def sla_report(self, start: datetime, end: datetime,
                         department_id: uuid.UUID | None) -> list[SlaReportRowView]:
        cohort = and_(c.c.created_at >= start, c.c.created_at < end,
                      c.c.department_id == department_id if department_id is not None else true())
        counts = (
            select(c.c.category_id, func.count().label("filed"), func.count(c.c.resolved_at).label("resolved"),
                   func.sum(case((c.c.first_response_breached, 1), else_=0)).label("fr_breached"),
                   func.sum(case((c.c.resolution_breached, 1), else_=0)).label("res_breached"))
            .where(cohort).group_by(c.c.category_id))
        postgres = self._reads.dialect == "postgresql"
        if postgres:
            counts = counts.add_columns(
                func.percentile_cont(0.5).within_group(c.c.resolution_minutes).label("median"))
        rows = await self._all(counts)
        medians: dict[uuid.UUID, float | None] = {r.category_id: r.median for r in rows} if postgres else {}
        if not postgres:
            # The portable median: the middle row (odd count) or the mean of the two middle rows.
            ranked = (
                select(c.c.category_id, c.c.resolution_minutes.label("minutes"),
                       func.row_number().over(partition_by=c.c.category_id,
                                              order_by=c.c.resolution_minutes).label("rn"),
                       func.count().over(partition_by=c.c.category_id).label("cnt"))
                .where(cohort, c.c.resolution_minutes.is_not(None)).subquery())
            middle = (select(ranked.c.category_id, func.avg(ranked.c.minutes).label("median"))
                      .where(ranked.c.rn.in_([(ranked.c.cnt + 1) // 2, (ranked.c.cnt + 2) // 2]))
                      .group_by(ranked.c.category_id))
            medians = {r.category_id: r.median for r in await self._all(middle)}
        return [SlaReportRowView(
            category_id=r.category_id, filed=r.filed, resolved=r.resolved,
            first_response_breached=int(r.fr_breached or 0), resolution_breached=int(r.res_breached or 0),
            median_resolution_minutes=None if medians.get(r.category_id) is None
            else round(float(medians[r.category_id])))
            for r in rows]

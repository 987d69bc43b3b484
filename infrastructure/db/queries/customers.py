"""SQL read models for customers, their contacts, history, interactions and activity."""
from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, or_, select

from application.queries.pagination import Page, PageRequest
from application.queries.views import (
    ActivityView,
    ContactView,
    CustomerFilter,
    CustomerSort,
    CustomerSortField,
    CustomerView,
    InteractionView,
    StageChangeView,
)
from infrastructure.db import tables as t
from infrastructure.db.queries.complaints import visible_to
from infrastructure.db.queries.keyset import SortKey, paginate, paginate_each
from infrastructure.db.queries.rows import contains_text, in_order
from infrastructure.db.reads import SqlReadModel

c = t.customers
CUSTOMER_COLUMNS = [c.c.id, c.c.code, c.c.name, c.c.kind, c.c.tier, c.c.stage, c.c.owner_id, c.c.attributes,
                    c.c.version, c.c.created_at, c.c.updated_at]
SORTS = {
    CustomerSortField.NAME: SortKey(c.c.name, str),
    CustomerSortField.CREATED_AT: SortKey(c.c.created_at, datetime),
    CustomerSortField.UPDATED_AT: SortKey(c.c.updated_at, datetime),
}


def customer_view(r: Any) -> CustomerView:
    return CustomerView(id=r.id, code=r.code, name=r.name, kind=r.kind, tier=r.tier, stage=r.stage,
                        owner_id=r.owner_id, attributes=r.attributes or {}, version=r.version,
                        created_at=r.created_at, updated_at=r.updated_at)


def interaction_view(r: Any) -> InteractionView:
    return InteractionView(id=r.id, customer_id=r.customer_id, kind=r.kind, occurred_at=r.occurred_at,
                           author_id=r.author_id, department_id=r.department_id, summary=r.summary, rating=r.rating)


def customer_filter(filter: CustomerFilter) -> list[ColumnElement[bool]]:
    """The CustomerFilter as WHERE criteria on `customers`."""
    criteria: list[ColumnElement[bool]] = []
    if filter.search:
        term = filter.search.strip()
        cc = t.customer_contacts
        criteria.append(or_(contains_text(term, c.c.name, c.c.code),
                            exists().where(cc.c.customer_id == c.c.id, contains_text(term, cc.c.email))))
    if filter.stages:
        criteria.append(c.c.stage.in_(filter.stages))
    if filter.tiers:
        criteria.append(c.c.tier.in_(filter.tiers))
    if filter.owner_id:
        criteria.append(c.c.owner_id == filter.owner_id)
    if filter.tag:
        tg = t.customer_tags
        criteria.append(exists().where(tg.c.customer_id == c.c.id, tg.c.tag == filter.tag.strip().lower()))
    return criteria


class SqlCustomerQueries(SqlReadModel):
    async def list(self, filter: CustomerFilter, sort: CustomerSort, page: PageRequest) -> Page[CustomerView]:
        query = select(*CUSTOMER_COLUMNS).where(*customer_filter(filter))
        keys = [SORTS[sort.field], SortKey(c.c.id, uuid.UUID)]
        return await paginate(self._reads, query, keys, descending=sort.descending, page=page, to_item=customer_view)

    async def by_ids(self, ids: list[uuid.UUID]) -> list[CustomerView | None]:
        rows = await self._all(select(*CUSTOMER_COLUMNS).where(c.c.id.in_(ids)))
        return in_order(ids, {r.id: customer_view(r) for r in rows})

    async def by_code(self, code: str) -> CustomerView | None:
        rows = await self._all(select(*CUSTOMER_COLUMNS).where(c.c.code == code.strip().upper()))
        return customer_view(rows[0]) if rows else None

    async def contacts(self, customer_ids: list[uuid.UUID]) -> list[list[ContactView]]:
        cc = t.customer_contacts
        found: dict[uuid.UUID, list[ContactView]] = defaultdict(list)
        for r in await self._all(select(cc).where(cc.c.customer_id.in_(customer_ids)).order_by(cc.c.customer_id, cc.c.position)):
            found[r.customer_id].append(contact_view(r))
        return [found.get(i, []) for i in customer_ids]

    async def contacts_by_ids(self, ids: list[uuid.UUID]) -> list[ContactView | None]:
        cc = t.customer_contacts
        rows = await self._all(select(cc).where(cc.c.id.in_(ids)))
        return in_order(ids, {r.id: contact_view(r) for r in rows})

    async def tags(self, customer_ids: list[uuid.UUID]) -> list[list[str]]:
        tg = t.customer_tags
        found: dict[uuid.UUID, list[str]] = defaultdict(list)
        for r in await self._all(select(tg).where(tg.c.customer_id.in_(customer_ids)).order_by(tg.c.tag)):
            found[r.customer_id].append(r.tag)
        return [found.get(i, []) for i in customer_ids]

    async def stage_history(self, customer_ids: list[uuid.UUID]) -> list[list[StageChangeView]]:
        sc = t.customer_stage_changes
        found: dict[uuid.UUID, list[StageChangeView]] = defaultdict(list)
        for r in await self._all(select(sc).where(sc.c.customer_id.in_(customer_ids)).order_by(sc.c.at, sc.c.id)):
            found[r.customer_id].append(StageChangeView(from_stage=r.from_stage, to_stage=r.to_stage, at=r.at,
                                                        by_id=r.by_id, reason=r.reason))
        return [found.get(i, []) for i in customer_ids]

    async def interactions(self, customer_ids: list[uuid.UUID], page: PageRequest) -> list[Page[InteractionView]]:
        i = t.interactions
        keys = [SortKey(i.c.occurred_at, datetime), SortKey(i.c.id, uuid.UUID)]
        return await paginate_each(self._reads, select(i), i.c.customer_id, customer_ids, keys, descending=True,
                                   page=page, to_item=interaction_view)

    async def interactions_by_ids(self, ids: list[uuid.UUID]) -> list[InteractionView | None]:
        i = t.interactions
        rows = await self._all(select(i).where(i.c.id.in_(ids)))
        return in_order(ids, {r.id: interaction_view(r) for r in rows})

    async def activity(self, customer_ids: list[uuid.UUID], page: PageRequest,
                       complaint_scope: Any = None) -> list[Page[ActivityView]]:
        a = t.customer_activity
        query = _visible_activity(select(a), complaint_scope, t.complaints.c.customer_id.in_(customer_ids))
        keys = [SortKey(a.c.at, datetime), SortKey(a.c.id, uuid.UUID)]
        return await paginate_each(
            self._reads, query, a.c.customer_id, customer_ids, keys, descending=True, page=page,
            to_item=activity_view)

    async def activity_by_ids(self, ids: list[uuid.UUID], complaint_scope: Any = None) -> list[ActivityView | None]:
        a = t.customer_activity
        rows = await self._all(_visible_activity(select(a).where(a.c.id.in_(ids)), complaint_scope))
        return in_order(ids, {r.id: activity_view(r) for r in rows})


def contact_view(r: Any) -> ContactView:
    return ContactView(id=r.id, name=r.name, email=r.email, phone=r.phone, title=r.title, primary=r.is_primary)


def activity_view(r: Any) -> ActivityView:
    return ActivityView(at=r.at, kind=r.kind, department_id=r.department_id, actor_id=r.actor_id, summary=r.summary,
                        subject_type=r.subject_type, subject_id=r.subject_id, id=r.id)


def _visible_activity(query: Any, complaint_scope: Any, *narrow: ColumnElement[bool]) -> Any:
    """Complaint entries only of complaints the ComplaintScope may see (`narrow`: the complaints worth looking
    at, e.g. the customers' of the page)."""
    if complaint_scope is None or complaint_scope.sees_all:
        return query
    a, cm = t.customer_activity, t.complaints
    return query.where(or_(a.c.subject_type.is_(None), a.c.subject_type != "Complaint",
                           a.c.subject_id.in_(select(cm.c.id).where(*narrow, visible_to(complaint_scope)))))

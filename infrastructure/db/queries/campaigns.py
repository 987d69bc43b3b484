"""SQL read models of campaigns and their members."""
from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from application.queries.campaigns import CampaignMemberView, CampaignView, MembersRequest
from application.queries.pagination import Page, PageRequest
from infrastructure.db.campaign_tables import campaign_members, campaigns
from infrastructure.db.queries.keyset import SortKey, paginate, paginate_each
from infrastructure.db.queries.rows import in_order
from infrastructure.db.reads import SqlReadModel

c, m = campaigns, campaign_members
CAMPAIGN_COLUMNS = [c.c.id, c.c.name, c.c.channel, c.c.status, c.c.starts_on, c.c.ends_on, c.c.budget_amount,
                    c.c.budget_currency, c.c.owner_id, c.c.created_at, c.c.version]
MEMBER_COLUMNS = [m.c.campaign_id, m.c.customer_id, m.c.contact_id, m.c.status, m.c.responded_at, m.c.added_at]
NEWEST_FIRST = [SortKey(c.c.created_at, datetime), SortKey(c.c.id, uuid.UUID)]
OLDEST_MEMBERS_FIRST = [SortKey(m.c.added_at, datetime), SortKey(m.c.customer_id, uuid.UUID)]


def campaign_view(r: Any) -> CampaignView:
    return CampaignView(id=r.id, name=r.name, channel=r.channel, status=r.status, starts_on=r.starts_on,
                        ends_on=r.ends_on, budget_amount=r.budget_amount, budget_currency=r.budget_currency,
                        owner_id=r.owner_id, created_at=r.created_at, version=r.version)


def member_view(r: Any) -> CampaignMemberView:
    return CampaignMemberView(campaign_id=r.campaign_id, customer_id=r.customer_id, contact_id=r.contact_id,
                              status=r.status, responded_at=r.responded_at, added_at=r.added_at)


class SqlCampaignQueries(SqlReadModel):
    async def list(self, status: str | None, page: PageRequest) -> Page[CampaignView]:
        query = select(*CAMPAIGN_COLUMNS)
        if status is not None:
            query = query.where(c.c.status == status)
        return await paginate(self._reads, query, NEWEST_FIRST, descending=True, page=page, to_item=campaign_view)

    async def by_ids(self, ids: list[uuid.UUID]) -> list[CampaignView | None]:
        rows = await self._all(select(*CAMPAIGN_COLUMNS).where(c.c.id.in_(ids)))
        return in_order(ids, {r.id: campaign_view(r) for r in rows})

    async def members(self, request: MembersRequest, campaign_ids: list[uuid.UUID]) -> list[Page[CampaignMemberView]]:
        query = select(*MEMBER_COLUMNS)
        if request.status is not None:
            query = query.where(m.c.status == request.status)
        return await paginate_each(self._reads, query, m.c.campaign_id, campaign_ids, OLDEST_MEMBERS_FIRST,
                                   descending=False, page=request.page, to_item=member_view)

    async def members_by_keys(self, keys: list[tuple[uuid.UUID, uuid.UUID]]) -> list[CampaignMemberView | None]:
        rows = await self._all(select(*MEMBER_COLUMNS).where(m.c.campaign_id.in_({k[0] for k in keys}),
                                                             m.c.customer_id.in_({k[1] for k in keys})))
        found = {(r.campaign_id, r.customer_id): member_view(r) for r in rows}
        return [found.get(key) for key in keys]

    async def funnels(self, campaign_ids: list[uuid.UUID]) -> list[dict[str, int]]:
        rows = await self._all(select(m.c.campaign_id, m.c.status, func.count().label("n"))
                               .where(m.c.campaign_id.in_(campaign_ids)).group_by(m.c.campaign_id, m.c.status))
        found: dict[uuid.UUID, dict[str, int]] = defaultdict(dict)
        for r in rows:
            found[r.campaign_id][r.status] = int(r.n)
        return [found.get(i, {}) for i in campaign_ids]

    async def for_customers(self, customer_ids: list[uuid.UUID]) -> list[list[CampaignView]]:
        rows = await self._all(select(*CAMPAIGN_COLUMNS, m.c.customer_id.label("member"))
                               .join(m, m.c.campaign_id == c.c.id).where(m.c.customer_id.in_(customer_ids))
                               .order_by(c.c.created_at.desc(), c.c.id.desc()))
        found: dict[uuid.UUID, list[CampaignView]] = defaultdict(list)
        for r in rows:
            found[r.member].append(campaign_view(r))
        return [found.get(i, []) for i in customer_ids]

"""Campaigns, and their members as rows: a segment becomes members in one INSERT ... SELECT."""
from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, false, func, insert, literal, or_, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from application.ports import ImportTarget
from domain.campaign import Campaign, CampaignMember, CampaignMemberStatus, CampaignStatus, Segment
from domain.money import Money
from domain.shared import Conflict
from infrastructure.db import tables as t
from infrastructure.db.campaign_tables import campaign_members, campaigns
from infrastructure.db.repositories.organisation import Tracker, locked, save_versioned

m = campaign_members
OPTED_OUT = CampaignMemberStatus.OPTED_OUT.value
MEMBER_COLUMNS = ("contact_id", "status", "responded_at", "updated_at")


def opted_out(customer_id: Any) -> Any:
    """The customer opted out of some campaign (the opt-out every segment respects)."""
    other = m.alias("opted_out")
    return exists().where(other.c.customer_id == customer_id, other.c.status == OPTED_OUT)


def segment_criteria(segment: Segment) -> list[Any]:
    """Every condition of the segment as WHERE criteria on `customers` (they must all hold)."""
    c = t.customers
    criteria: list[Any] = []
    if segment.tiers:
        criteria.append(c.c.tier.in_([tier.value for tier in segment.tiers]))
    if segment.stages:
        criteria.append(c.c.stage.in_([stage.value for stage in segment.stages]))
    if segment.tags:
        criteria.append(exists().where(t.customer_tags.c.customer_id == c.c.id,
                                       t.customer_tags.c.tag.in_(segment.tags)))
    if segment.owner_ids:
        criteria.append(c.c.owner_id.in_(segment.owner_ids))
    if segment.inactive_since is not None:
        i = t.interactions
        criteria.append(~exists().where(i.c.customer_id == c.c.id, i.c.occurred_at >= segment.inactive_since))
    return criteria


def _member_row(member: CampaignMember) -> dict[str, Any]:
    return {"campaign_id": member.campaign_id, "customer_id": member.customer_id, "contact_id": member.contact_id,
            "status": member.status.value, "responded_at": member.responded_at, "added_at": member.added_at,
            "updated_at": member.updated_at}


class SqlCampaignRepository:
    def __init__(self, conn: AsyncConnection, tracker: Tracker) -> None:
        self._conn = conn
        self._tracker = tracker
        self._read: dict[tuple[uuid.UUID, uuid.UUID], str] = {}  # a member's status as read, for its save

    async def get(self, campaign_id: uuid.UUID) -> Campaign | None:
        row = (await self._conn.execute(select(campaigns).where(campaigns.c.id == campaign_id))).first()
        if row is None:
            return None
        campaign = Campaign(
            id=row.id, version=row.version, name=row.name, channel=row.channel, status=CampaignStatus(row.status),
            starts_on=row.starts_on, ends_on=row.ends_on,
            budget=Money(row.budget_amount, row.budget_currency) if row.budget_currency else None,
            owner_id=row.owner_id, created_at=row.created_at, updated_at=row.updated_at)
        self._tracker.track(campaign)
        return campaign

    async def add(self, campaign: Campaign) -> None:
        campaign.version = 1
        await self._conn.execute(insert(campaigns).values(
            id=campaign.id, name=campaign.name, channel=campaign.channel, status=campaign.status.value,
            starts_on=campaign.starts_on, ends_on=campaign.ends_on, owner_id=campaign.owner_id,
            budget_amount=campaign.budget.amount if campaign.budget else None,
            budget_currency=campaign.budget.currency if campaign.budget else None, version=1,
            created_at=campaign.created_at, updated_at=campaign.updated_at))
        self._tracker.track(campaign)

    async def save(self, campaign: Campaign) -> None:
        await save_versioned(self._conn, campaigns, campaign, {"status": campaign.status.value,
                                                               "updated_at": campaign.updated_at})
        self._tracker.track(campaign)

    async def named_customers(self, customer_ids: list[uuid.UUID]) -> dict[uuid.UUID, bool]:
        c = t.customers
        rows = await self._conn.execute(select(c.c.id, opted_out(c.c.id).label("opted_out"))
                                        .where(c.c.id.in_(customer_ids)))
        return {row.id: bool(row.opted_out) for row in rows}

    def _matching(self, campaign_id: uuid.UUID, segment: Segment | None, customer_ids: list[uuid.UUID]) -> Any:
        """The customers to add: the segment's (all its conditions) or the named ones, neither opted out of any
        campaign nor a member of this one already."""
        c = t.customers
        picked = [and_(true(), *segment_criteria(segment))] if segment is not None else []
        if customer_ids:
            picked.append(c.c.id.in_(customer_ids))
        already = exists().where(m.c.campaign_id == campaign_id, m.c.customer_id == c.c.id)
        return select(c.c.id).where(or_(false(), *picked), ~opted_out(c.c.id), ~already)

    async def add_matching(self, campaign_id: uuid.UUID, segment: Segment | None, customer_ids: list[uuid.UUID],
                           at: datetime, *, dry_run: bool = False) -> int:
        matching = self._matching(campaign_id, segment, customer_ids)
        if dry_run:
            return int((await self._conn.execute(select(func.count()).select_from(matching.subquery()))).scalar_one())
        rows = matching.with_only_columns(
            literal(campaign_id, m.c.campaign_id.type).label("campaign_id"), t.customers.c.id,
            literal(CampaignMemberStatus.TARGETED.value, m.c.status.type).label("status"),
            literal(at, m.c.added_at.type).label("added_at"), literal(at, m.c.updated_at.type).label("updated_at"))
        # a concurrent add of the same customers: theirs stand, this one adds the rest (not a Conflict)
        dialect_insert = postgresql.insert if self._conn.dialect.name == "postgresql" else sqlite.insert
        result = await self._conn.execute(dialect_insert(m).from_select(
            ["campaign_id", "customer_id", "status", "added_at", "updated_at"], rows).on_conflict_do_nothing())
        return int(result.rowcount)

    async def members(self, campaign_id: uuid.UUID, customer_ids: list[uuid.UUID]) -> dict[uuid.UUID, CampaignMember]:
        if not customer_ids:
            return {}
        rows = await self._conn.execute(locked(self._conn, select(m).where(
            m.c.campaign_id == campaign_id, m.c.customer_id.in_(customer_ids))))
        found = {}
        for row in rows:
            found[row.customer_id] = CampaignMember(
                campaign_id=row.campaign_id, customer_id=row.customer_id, contact_id=row.contact_id,
                status=CampaignMemberStatus(row.status), responded_at=row.responded_at, added_at=row.added_at,
                updated_at=row.updated_at)
            self._read[(row.campaign_id, row.customer_id)] = row.status
        return found

    async def add_members(self, members: list[CampaignMember]) -> None:
        if members:
            await self._conn.execute(insert(m), [_member_row(member) for member in members])
            for member in members:
                self._read[(member.campaign_id, member.customer_id)] = member.status.value

    async def save_member(self, member: CampaignMember) -> None:
        """Guarded by the status read: a concurrent move of the same member is a Conflict, not a lost update."""
        key = (member.campaign_id, member.customer_id)
        row = _member_row(member)
        result = await self._conn.execute(
            update(m).where(m.c.campaign_id == member.campaign_id, m.c.customer_id == member.customer_id,
                            m.c.status == self._read[key]).values({k: row[k] for k in MEMBER_COLUMNS}))
        if result.rowcount != 1:
            raise Conflict("This member was changed by someone else; reload and retry.", field=("customerId",))
        self._read[key] = member.status.value

    async def import_targets(self, codes: list[str], ids: list[uuid.UUID]) -> list[ImportTarget]:
        c = t.customers
        wanted = [criterion for criterion, given in ((c.c.code.in_(codes), codes), (c.c.id.in_(ids), ids)) if given]
        if not wanted:
            return []
        rows = (await self._conn.execute(select(c.c.id, c.c.code, opted_out(c.c.id).label("opted_out"))
                                         .where(or_(*wanted)))).all()
        contacts: dict[uuid.UUID, dict[str, uuid.UUID]] = defaultdict(dict)
        if rows:
            cc = t.customer_contacts
            for contact in await self._conn.execute(
                    select(cc.c.customer_id, cc.c.email, cc.c.id)
                    .where(cc.c.customer_id.in_([r.id for r in rows]), cc.c.email.is_not(None))):
                contacts[contact.customer_id][contact.email.lower()] = contact.id
        return [ImportTarget(customer_id=r.id, code=r.code, contacts=contacts[r.id], opted_out=bool(r.opted_out))
                for r in rows]


"""Use cases of marketing campaigns. Who may run one, and how a member's status moves, is decided in
domain/campaign.py; which customers a segment picks is the repository's one INSERT ... SELECT."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from application.complaints import department_code
from application.idempotency import replay_or_create
from application.ports import Clock, UnitOfWork
from domain.campaign import (
    MAX_NAMED_CUSTOMERS,
    Campaign,
    CampaignMemberStatus,
    CampaignStatus,
    OptedOut,
    Segment,
)
from domain.organisation import Staff
from domain.shared import InvalidInput, LimitExceeded, NotFound


@dataclass(frozen=True)
class CreateCampaign:
    name: str
    channel: str
    starts_on: date | None = None
    ends_on: date | None = None
    budget_amount: object | None = None  # Decimal, int or numeric text; the domain checks it
    budget_currency: str | None = None
    idempotency_key: str | None = None


async def create_campaign(uow: UnitOfWork, clock: Clock, actor: Staff, cmd: CreateCampaign) -> Campaign:
    """A PLANNED campaign owned by whoever creates it. Raises NotAuthorized (not MARKETING, not an ADMIN),
    InvalidInput (name, channel, dates, budget, idempotencyKey)."""

    async def create() -> uuid.UUID:
        campaign = Campaign.plan(by=actor, department_code=await department_code(uow, actor), name=cmd.name,
                                 channel=cmd.channel, starts_on=cmd.starts_on, ends_on=cmd.ends_on,
                                 budget_amount=cmd.budget_amount, budget_currency=cmd.budget_currency, at=clock.now())
        await uow.campaigns.add(campaign)
        return campaign.id

    async with uow:
        campaign_id, _ = await replay_or_create(uow, scope=f"createCampaign:{actor.id}", key=cmd.idempotency_key,
                                                command=cmd, create=create)
        campaign = await uow.campaigns.get(campaign_id)  # as written (or first written), before the commit
        await uow.commit()
    assert campaign is not None
    return campaign


async def runnable_campaign(uow: UnitOfWork, actor: Staff, campaign_id: uuid.UUID) -> Campaign:
    """The campaign for a change by `actor`: NotFound, or NotAuthorized unless they run it."""
    campaign = await uow.campaigns.get(campaign_id)
    if campaign is None:
        raise NotFound("No such campaign.", field=("campaignId",))
    campaign.require_runner(actor, await department_code(uow, actor))
    return campaign


@dataclass(frozen=True)
class SegmentData:
    tiers: tuple[str, ...] | None = None
    lifecycle_stages: tuple[str, ...] | None = None
    tags: tuple[str, ...] | None = None
    owner_ids: tuple[uuid.UUID, ...] | None = None
    inactive_since: datetime | None = None

    def to_segment(self) -> Segment:
        return Segment.of(tiers=list(self.tiers) if self.tiers is not None else None,
                          stages=list(self.lifecycle_stages) if self.lifecycle_stages is not None else None,
                          tags=list(self.tags) if self.tags is not None else None,
                          owner_ids=list(self.owner_ids) if self.owner_ids is not None else None,
                          inactive_since=self.inactive_since)


@dataclass(frozen=True)
class AddCampaignMembers:
    campaign_id: uuid.UUID
    segment: SegmentData | None = None
    customer_ids: tuple[uuid.UUID, ...] = ()
    dry_run: bool = False


@dataclass(frozen=True)
class MembersAdded:
    campaign: Campaign
    added: int

    @property
    def id(self) -> uuid.UUID:
        return self.campaign.id


async def add_campaign_members(uow: UnitOfWork, clock: Clock, actor: Staff, cmd: AddCampaignMembers) -> MembersAdded:
    """Target the segment's customers and the named ones (both, when both are given) as TARGETED members, in one
    statement; customers who are members already are not added again (`added` counts the new ones only), those
    who opted out of any campaign are left out of the segment. With `dry_run`, how many would be added, nothing
    written.

    Raises NotFound (campaign; a named customer, field ("customerIds", "<i>")), NotAuthorized (not its runner),
    OptedOut (a named customer opted out of a campaign: refused rather than skipped, so nobody believes they were
    added), InvalidInput (no segment and no ids; an empty segment; the campaign is COMPLETED or CANCELLED),
    LimitExceeded (more than 1,000 ids)."""
    async with uow:
        campaign = await runnable_campaign(uow, actor, cmd.campaign_id)
        campaign.require_open_for_members()
        segment = cmd.segment.to_segment() if cmd.segment is not None else None
        named = list(dict.fromkeys(cmd.customer_ids))
        if segment is None and not named:
            raise InvalidInput("Give a segment, customerIds or both.", field=("segment",))
        if len(named) > MAX_NAMED_CUSTOMERS:
            raise LimitExceeded(f"At most {MAX_NAMED_CUSTOMERS} customerIds at once.", field=("customerIds",))
        await _check_named(uow, cmd.customer_ids)
        at = clock.now()
        added = await uow.campaigns.add_matching(campaign.id, segment, named, at, dry_run=cmd.dry_run)
        if not cmd.dry_run:
            campaign.members_added(added, segment=segment, customer_ids=tuple(named), at=at, by=actor.id)
            await uow.commit()
    return MembersAdded(campaign, added)


async def _check_named(uow: UnitOfWork, customer_ids: tuple[uuid.UUID, ...]) -> None:
    """Every named customer exists and has not opted out (one statement); the first that fails is reported."""
    if not customer_ids:
        return
    known = await uow.campaigns.named_customers(list(set(customer_ids)))
    for i, customer_id in enumerate(customer_ids):
        if customer_id not in known:
            raise NotFound("No such customer.", field=("customerIds", str(i)))
    for i, customer_id in enumerate(customer_ids):
        if known[customer_id]:
            opted_out = sum(1 for c in set(customer_ids) if known[c])
            more = f" ({opted_out} of the named customers did)" if opted_out > 1 else ""
            raise OptedOut(f"This customer opted out of a campaign and is not targeted again{more}; leave them "
                           "out.", field=("customerIds", str(i)))


@dataclass(frozen=True)
class SetCampaignStatus:
    campaign_id: uuid.UUID
    status: CampaignStatus
    expected_version: int | None = None


async def set_campaign_status(uow: UnitOfWork, clock: Clock, actor: Staff, cmd: SetCampaignStatus) -> Campaign:
    """Start, complete or cancel a campaign (PLANNED -> ACTIVE -> COMPLETED; CANCELLED from PLANNED or ACTIVE); the
    status it has already changes nothing. Raises NotFound (campaign), NotAuthorized (not its runner), Conflict
    (expectedVersion), ForbiddenTransition (field ("status",))."""
    async with uow:
        campaign = await runnable_campaign(uow, actor, cmd.campaign_id)
        campaign.check_version(cmd.expected_version)
        if campaign.status is not cmd.status:
            campaign.transition(cmd.status, at=clock.now(), by=actor.id)
            await uow.campaigns.save(campaign)
        await uow.commit()
    return campaign


@dataclass(frozen=True)
class RecordCampaignResponse:
    campaign_id: uuid.UUID
    customer_id: uuid.UUID
    status: CampaignMemberStatus
    note: str | None = None


async def record_campaign_response(uow: UnitOfWork, clock: Clock, actor: Staff,
                                   cmd: RecordCampaignResponse) -> Campaign:
    """Move the customer's membership forward (or to OPTED_OUT); the same status again changes nothing.
    Raises NotFound (campaign; the customer is no member, field ("customerId",)), NotAuthorized (not its runner),
    ForbiddenTransition (a move back, or out of OPTED_OUT; field ("status",)), InvalidInput (a CANCELLED
    campaign, the note), Conflict (the member changed meanwhile)."""
    async with uow:
        campaign = await runnable_campaign(uow, actor, cmd.campaign_id)
        member = (await uow.campaigns.members(campaign.id, [cmd.customer_id])).get(cmd.customer_id)
        if member is None:
            raise NotFound("This customer is no member of the campaign.", field=("customerId",))
        if campaign.record_response(member, CampaignMemberStatus(cmd.status), at=clock.now(), by=actor.id,
                                    note=cmd.note):
            await uow.campaigns.save_member(member)
        await uow.commit()
    return campaign

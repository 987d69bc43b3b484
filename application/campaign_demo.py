"""Demo campaigns (part of `crm seed-demo`, application/demo.py): two of MARKETING's campaigns, each with members at
every status, made through the use cases (so they obey the rules and emit the events real work does). Running it
again adds nothing: the campaigns come from idempotency keys, a segment adds nobody twice and recording a status a
member has already changes nothing. Opportunities sourced by them come with the pipeline half (issue 16)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from application import campaigns as ca
from application.ports import Clock, UnitOfWorkFactory
from domain.campaign import OPEN_FOR_MEMBERS, CampaignMemberStatus, CampaignStatus
from domain.organisation import Staff

M = CampaignMemberStatus
# the members' statuses, in customer-code order: every status at least once
SCRIPT = (M.TARGETED, M.SENT, M.RESPONDED, M.CONVERTED, M.OPTED_OUT, M.SENT, M.RESPONDED, M.TARGETED)


@dataclass(frozen=True)
class DemoCampaign:
    key: str
    name: str
    channel: str
    starts_on: date
    ends_on: date
    budget: tuple[str, str]
    segment: ca.SegmentData
    reaches: tuple[CampaignStatus, ...]  # the campaign's own moves once its members are in


CAMPAIGN_OWNER = "marketing.manager@example.com"  # who creates the demo's campaigns
DEMO_CAMPAIGNS = (
    DemoCampaign("demo-campaign-spring", "Spring catalogue mailing", "EMAIL", date(2026, 3, 2), date(2026, 4, 30),
                 ("5000.00", "EUR"), ca.SegmentData(tags=("newsletter",)), (CampaignStatus.ACTIVE,)),
    DemoCampaign("demo-campaign-fair", "Trade fair Hanover", "EVENT", date(2026, 4, 20), date(2026, 4, 24),
                 ("12500.50", "USD"), ca.SegmentData(tiers=("GOLD", "STRATEGIC")),
                 (CampaignStatus.ACTIVE, CampaignStatus.COMPLETED)),
)


async def seed_campaigns(uow_factory: UnitOfWorkFactory, clock: Clock, staff: dict[str, Staff]) -> int:
    """Returns how many campaigns it added."""
    owner = staff.get(CAMPAIGN_OWNER)
    if owner is None:
        return 0
    added = 0
    for demo in DEMO_CAMPAIGNS:
        async with uow_factory() as uow:
            known = await uow.idempotency.lookup(f"createCampaign:{owner.id}", demo.key)
        campaign = await ca.create_campaign(uow_factory(), clock, owner, ca.CreateCampaign(
            name=demo.name, channel=demo.channel, starts_on=demo.starts_on, ends_on=demo.ends_on,
            budget_amount=demo.budget[0], budget_currency=demo.budget[1], idempotency_key=demo.key))
        added += known is None
        if campaign.status in OPEN_FOR_MEMBERS:
            await ca.add_campaign_members(uow_factory(), clock, owner, ca.AddCampaignMembers(
                campaign_id=campaign.id, segment=demo.segment))
        async with uow_factory() as uow:
            customers = [c for c in [await uow.customers.get_by_code(f"DEMO-{n:04d}") for n in range(1, 37)] if c]
            members = await uow.campaigns.members(campaign.id, [c.id for c in customers])
        ordered = [c for c in customers if c.id in members]
        for customer, status in zip(ordered, SCRIPT):
            if members[customer.id].status is not M.OPTED_OUT and status is not M.TARGETED:
                await ca.record_campaign_response(uow_factory(), clock, owner, ca.RecordCampaignResponse(
                    campaign_id=campaign.id, customer_id=customer.id, status=status,
                    note="Replied to the demo" if status is M.RESPONDED else None))
        await _reach(uow_factory, clock, owner, campaign.id, demo.reaches)
    return added


async def _reach(uow_factory: UnitOfWorkFactory, clock: Clock, owner: Staff, campaign_id: object,
                 path: tuple[CampaignStatus, ...]) -> None:
    async with uow_factory() as uow:
        campaign = await uow.campaigns.get(campaign_id)  # type: ignore[arg-type]
        if campaign is None:
            return
        moves = path[path.index(campaign.status) + 1 if campaign.status in path else 0:]
        for to in moves:
            campaign.transition(to, at=clock.now(), by=owner.id)
        if moves:
            await uow.campaigns.save(campaign)
            await uow.commit()

"""The demo's sales pipeline: the stages (Qualification 10 %, Proposal 40 %, Negotiation 70 %, Won, Lost) and deals
in every stage across the sales team's owners and four currencies; one won deal, whose DRAFT order is on the
orders Kanban; four deals sourced by the demo's two campaigns (application/campaign_demo.py), one of them won.
Through the use cases, idempotent: running it again adds and moves nothing."""
from __future__ import annotations

from datetime import timedelta

from application import opportunities as opp
from application.campaign_demo import CAMPAIGN_OWNER, DEMO_CAMPAIGNS
from application.ports import Clock, UnitOfWorkFactory
from domain.opportunity import Opportunity, OpportunityStageKind
from domain.organisation import Staff

STAGES = (("Qualification", 10, 10, OpportunityStageKind.OPEN), ("Proposal", 20, 40, OpportunityStageKind.OPEN),
          ("Negotiation", 30, 70, OpportunityStageKind.OPEN), ("Won", 40, 100, OpportunityStageKind.WON),
          ("Lost", 50, 0, OpportunityStageKind.LOST))
SPRING, FAIR = (c.key for c in DEMO_CAMPAIGNS)
# (customer code, owner, name, amount, currency, target stage, days to the expected close, sourcing campaign)
DEALS = (
    ("DEMO-0008", "sales.member", "Fleet telematics pilot", "12000.00", "EUR", "Qualification", 60, SPRING),
    ("DEMO-0009", "sales.key", "Cold-chain sensors", "48500.00", "USD", "Qualification", 75, FAIR),
    ("DEMO-0010", "sales.manager", "Warehouse lighting retrofit", "23990.50", "EUR", "Proposal", 40, None),
    ("DEMO-0011", "sales.member", "Showroom displays", "3100000", "JPY", "Proposal", 45, None),
    ("DEMO-0012", "sales.key", "Robotic packing line", "185000.00", "EUR", "Negotiation", 20, FAIR),
    ("DEMO-0013", "sales.manager", "Optics service contract", "64000.00", "GBP", "Negotiation", 25, None),
    ("DEMO-0014", "sales.member", "Textile dye batch", "8750.00", "EUR", "Won", 0, SPRING),
    ("DEMO-0015", "sales.key", "Solar farm inverters", "97000.00", "USD", "Lost", -10, None),
)


async def seed_pipeline(uow_factory: UnitOfWorkFactory, clock: Clock, staff: dict[str, Staff],
                        admin: Staff) -> int:
    """Returns how many opportunities it added."""
    stages = {}
    async with uow_factory() as uow:
        for stage in await uow.opportunity_stages.all():
            stages[stage.name] = stage
    for name, position, probability, kind in STAGES:
        if name not in stages:
            stages[name] = await opp.define_opportunity_stage(uow_factory(), clock, admin, opp.DefineOpportunityStage(
                name=name, position=position, probability=probability, kind=kind))
    added = 0
    today = clock.now().date()
    marketer = staff.get(CAMPAIGN_OWNER)
    for n, (code, owner_key, name, amount, currency, target, days, source) in enumerate(DEALS, start=1):
        owner = staff.get(f"{owner_key}@example.com")
        async with uow_factory() as uow:
            customer = await uow.customers.get_by_code(code)
            known = await uow.idempotency.lookup(f"createOpportunity:{owner.id}", f"demo-opportunity-{n}") \
                if owner else None
            campaign = await uow.idempotency.lookup(f"createCampaign:{marketer.id}", source) \
                if marketer and source else None
        if owner is None or customer is None:
            continue
        deal: Opportunity = await opp.create_opportunity(uow_factory(), clock, owner, opp.CreateOpportunity(
            customer_id=customer.id, name=name, amount=amount, currency=currency, stage_id=stages["Qualification"].id,
            expected_close_date=today + timedelta(days=days), idempotency_key=f"demo-opportunity-{n}",
            campaign_id=campaign[1] if campaign else None))
        added += known is None
        if deal.stage.name == "Qualification" and target != "Qualification":
            await opp.move_opportunity(uow_factory(), clock, owner, opp.MoveOpportunity(
                opportunity_id=deal.id, stage_id=stages[target].id,
                lost_reason="Went with a cheaper competitor" if target == "Lost" else None))
    return added

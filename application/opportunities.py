"""Use cases of the sales pipeline. Who may do what, and the rules of moves and probabilities, are in
domain/opportunity.py; winning a deal makes its order here (`won_deal_becomes_an_order`, a message-bus handler
in the move's transaction)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from application.complaints import department_code
from application.idempotency import replay_or_create
from application.orders import ORDER_NUMBER_SEQUENCE, OrderLineData
from application.ports import Clock, UnitOfWork
from domain.opportunity import (
    Opportunity,
    OpportunityStage,
    OpportunityStageKind,
    OpportunityWon,
    opportunity_number,
)
from domain.order import Order, order_number
from domain.organisation import Staff
from domain.shared import Duplicate, InvalidInput, NotFound

OPPORTUNITY_NUMBER_SEQUENCE = "opportunity_number"


@dataclass(frozen=True)
class DefineOpportunityStage:
    name: str
    position: int
    probability: int
    kind: OpportunityStageKind


async def define_opportunity_stage(uow: UnitOfWork, clock: Clock, actor: Staff,
                                   cmd: DefineOpportunityStage) -> OpportunityStage:
    """Add a stage to the pipeline. Raises NotAuthorized, Duplicate (name), InvalidInput."""
    async with uow:
        stage = OpportunityStage.define(name=cmd.name, position=cmd.position, probability=cmd.probability,
                                        kind=cmd.kind, by=actor, department_code=await department_code(uow, actor))
        if await uow.opportunity_stages.get_by_name(stage.name) is not None:
            raise Duplicate(f"A stage named {stage.name!r} exists already.", field=("name",))
        await uow.opportunity_stages.add(stage, at=clock.now())
        await uow.commit()
    return stage


async def first_open_stage(uow: UnitOfWork) -> OpportunityStage:
    """Where a new deal starts unless told: the OPEN stage with the lowest position."""
    stage = next((s for s in await uow.opportunity_stages.all() if s.kind is OpportunityStageKind.OPEN), None)
    if stage is None:
        raise NotFound("The pipeline has no OPEN stage yet; define one first.", field=("stageId",))
    return stage


async def stage_of(uow: UnitOfWork, stage_id: uuid.UUID | None) -> OpportunityStage:
    if stage_id is None:
        return await first_open_stage(uow)
    stage = await uow.opportunity_stages.get(stage_id)
    if stage is None:
        raise NotFound("No such stage.", field=("stageId",))
    return stage


async def active_staff(uow: UnitOfWork, staff_id: uuid.UUID, field_name: str = "ownerId") -> Staff:
    staff = await uow.staff.get(staff_id)
    if staff is None or not staff.active:
        raise NotFound("The owner must be an active staff member.", field=(field_name,))
    return staff


@dataclass(frozen=True)
class CreateOpportunity:
    customer_id: uuid.UUID
    name: str
    amount: object
    currency: str
    stage_id: uuid.UUID | None = None
    probability: int | None = None
    expected_close_date: date | None = None
    campaign_id: uuid.UUID | None = None  # the campaign that sourced it
    owner_id: uuid.UUID | None = None
    idempotency_key: str | None = None


async def create_opportunity(uow: UnitOfWork, clock: Clock, actor: Staff, cmd: CreateOpportunity) -> Opportunity:
    """Open a deal for a customer, numbered OPP-000042, in the given stage (default: the first OPEN one); its owner
    is the given staff member, else whoever opens it. Raises NotAuthorized (not SALES), NotFound (customer, stage,
    owner, campaign), InvalidInput, Conflict."""

    async def create() -> uuid.UUID:
        code = await department_code(uow, actor)
        if await uow.customers.get(cmd.customer_id) is None:
            raise NotFound("No such customer.", field=("customerId",))
        owner = actor if cmd.owner_id is None or cmd.owner_id == actor.id else await active_staff(uow, cmd.owner_id)
        stage = await stage_of(uow, cmd.stage_id)
        if cmd.campaign_id is not None and await uow.campaigns.get(cmd.campaign_id) is None:
            raise NotFound("No such campaign.", field=("campaignId",))

        def opened(number: str) -> Opportunity:
            return Opportunity.open(number=number, name=cmd.name, customer_id=cmd.customer_id, owner=owner,
                                    stage=stage, amount=cmd.amount, currency=cmd.currency,
                                    probability=cmd.probability, expected_close_date=cmd.expected_close_date,
                                    campaign_id=cmd.campaign_id, by=actor, department_code=code, at=clock.now())

        opened("OPP-000000")  # check everything before a number is drawn
        opportunity = opened(opportunity_number(await uow.sequences.next_value(OPPORTUNITY_NUMBER_SEQUENCE)))
        await uow.opportunities.add(opportunity)
        return opportunity.id

    async with uow:
        opportunity_id, _ = await replay_or_create(uow, scope=f"createOpportunity:{actor.id}",
                                                   key=cmd.idempotency_key, command=cmd, create=create)
        opportunity = await uow.opportunities.get(opportunity_id)
        await uow.commit()
    assert opportunity is not None
    return opportunity


async def _load(uow: UnitOfWork, opportunity_id: uuid.UUID) -> Opportunity:
    opportunity = await uow.opportunities.get(opportunity_id)
    if opportunity is None:
        raise NotFound("No such opportunity.", field=("opportunityId",))
    return opportunity


@dataclass(frozen=True)
class UpdateOpportunity:
    opportunity_id: uuid.UUID
    name: str | None = None
    amount: tuple[object, str] | None = None  # (amount, currency)
    probability: int | None = None
    expected_close_date: date | None = None
    owner_id: uuid.UUID | None = None
    expected_version: int | None = None


async def update_opportunity(uow: UnitOfWork, clock: Clock, actor: Staff, cmd: UpdateOpportunity) -> Opportunity:
    """Change a deal's details. Raises NotFound, NotAuthorized (neither owner nor SALES key user or manager),
    Conflict, ForbiddenTransition (a closed deal's amount or probability), InvalidInput."""
    async with uow:
        opportunity = await _load(uow, cmd.opportunity_id)
        owner = await active_staff(uow, cmd.owner_id) if cmd.owner_id is not None else None
        if opportunity.update(by=actor, department_code=await department_code(uow, actor), at=clock.now(),
                              expected_version=cmd.expected_version, name=cmd.name, amount=cmd.amount,
                              probability=cmd.probability, expected_close_date=cmd.expected_close_date, owner=owner):
            await uow.opportunities.save(opportunity)
            await uow.commit()
    return opportunity


@dataclass(frozen=True)
class MoveOpportunity:
    opportunity_id: uuid.UUID
    stage_id: uuid.UUID
    lost_reason: str | None = None
    order_lines: tuple[OrderLineData, ...] | None = None
    expected_version: int | None = None


async def move_opportunity(uow: UnitOfWork, clock: Clock, actor: Staff, cmd: MoveOpportunity) -> Opportunity:
    """Move a deal to another stage; to a WON one, its DRAFT order is created in the same transaction.
    Raises NotFound (opportunity, stage), NotAuthorized, Conflict (stale expectedVersion, or a concurrent move),
    ForbiddenTransition (the stage it is in; out of WON), InvalidInput (lostReason, orderLines)."""
    async with uow:
        opportunity = await _load(uow, cmd.opportunity_id)
        stage = await uow.opportunity_stages.get(cmd.stage_id)
        if stage is None:
            raise NotFound("No such stage.", field=("stageId",))
        lines = None if cmd.order_lines is None else [
            {"sku": line.sku, "description": line.description, "quantity": line.quantity,
             "unit_price": line.unit_price, "discount_percent": line.discount_percent} for line in cmd.order_lines]
        opportunity.move(stage, by=actor, department_code=await department_code(uow, actor), at=clock.now(),
                         expected_version=cmd.expected_version, lost_reason=cmd.lost_reason, order_lines=lines)
        await uow.opportunities.save(opportunity)
        await uow.commit()
    return opportunity


async def won_deal_becomes_an_order(uow: UnitOfWork, event: OpportunityWon) -> None:
    """Rule AWonDealBecomesAnOrder: the DRAFT order the move fixed the id of, for the deal's customer and owner,
    in the deal's currency, with the move's lines (checked by the move already). Same transaction: both or
    neither."""
    assert event.order_id is not None
    if not event.order_lines:
        raise InvalidInput("A won deal's order needs at least one line.", field=("orderLines",))
    number = order_number(await uow.sequences.next_value(ORDER_NUMBER_SEQUENCE))
    order = Order.create(id=event.order_id, number=number, customer_id=event.customer_id, owner_id=event.owner_id,
                         currency=event.currency, lines=event.order_lines, at=event.occurred_at, by=event.actor_id)
    await uow.orders.add(order)


OPPORTUNITY_HANDLERS = {OpportunityWon: [won_deal_becomes_an_order]}

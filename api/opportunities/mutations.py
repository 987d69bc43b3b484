from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.common.errors import UserError
from api.common.payloads import Payload, written
from api.common.relay import decode_id, decode_optional_id
from api.context import Context
from api.opportunities.inputs import (
    CreateOpportunityInput,
    DefineOpportunityStageInput,
    MoveOpportunityInput,
    UpdateOpportunityInput,
    campaign_id,
)
from api.opportunities.types import Opportunity, OpportunityStage
from application import opportunities as use_cases
from domain.opportunity import OpportunityStageKind


@strawberry.type
class OpportunityPayload(Payload):
    opportunity: Opportunity | None = written(Opportunity)
    user_errors: list[UserError]


@strawberry.type
class OpportunityStagePayload(Payload):
    stage: OpportunityStage | None = written(OpportunityStage)
    user_errors: list[UserError]


@strawberry.type
class OpportunityMutation:
    @strawberry.mutation(description="Add a pipeline stage (SALES key users and managers, ADMINs)")
    async def define_opportunity_stage(self, info: Info[Context, None],
                                       input: DefineOpportunityStageInput) -> OpportunityStagePayload:
        return await OpportunityStagePayload.write(info, lambda ctx: use_cases.define_opportunity_stage(
            ctx.uow(), ctx.clock, ctx.actor, use_cases.DefineOpportunityStage(
                name=input.name, position=input.position, probability=input.probability,
                kind=OpportunityStageKind(input.kind.value))))

    @strawberry.mutation(description="Open a deal (SALES staff, ADMINs), numbered OPP-000042")
    async def create_opportunity(self, info: Info[Context, None], input: CreateOpportunityInput) -> OpportunityPayload:
        return await OpportunityPayload.write(info, lambda ctx: use_cases.create_opportunity(
            ctx.uow(), ctx.clock, ctx.actor, use_cases.CreateOpportunity(
                customer_id=decode_id(input.customer_id, "Customer", "customerId"), name=input.name,
                amount=input.amount.amount, currency=input.amount.currency,
                stage_id=decode_optional_id(input.stage_id, "OpportunityStage", "stageId"),
                probability=input.probability, expected_close_date=input.expected_close_date,
                campaign_id=campaign_id(input.campaign_id),
                owner_id=decode_optional_id(input.owner_id, "Staff", "ownerId"),
                idempotency_key=input.idempotency_key)))

    @strawberry.mutation(description="Change a deal's details (its owner, SALES key users and managers, ADMINs)")
    async def update_opportunity(self, info: Info[Context, None], input: UpdateOpportunityInput) -> OpportunityPayload:
        return await OpportunityPayload.write(info, lambda ctx: use_cases.update_opportunity(
            ctx.uow(), ctx.clock, ctx.actor, use_cases.UpdateOpportunity(
                opportunity_id=decode_id(input.opportunity_id, "Opportunity", "opportunityId"), name=input.name,
                amount=(input.amount.amount, input.amount.currency) if input.amount is not None else None,
                probability=input.probability, expected_close_date=input.expected_close_date,
                owner_id=decode_optional_id(input.owner_id, "Staff", "ownerId"),
                expected_version=input.expected_version)))

    @strawberry.mutation(description="Move a deal to another stage (its owner, SALES key users and managers, "
                                     "ADMINs). The probability becomes the new stage's default; a LOST stage needs "
                                     "a lostReason; a WON stage creates the DRAFT order in the same transaction, and "
                                     "a won deal is final")
    async def move_opportunity(self, info: Info[Context, None], input: MoveOpportunityInput) -> OpportunityPayload:
        return await OpportunityPayload.write(info, lambda ctx: use_cases.move_opportunity(
            ctx.uow(), ctx.clock, ctx.actor, use_cases.MoveOpportunity(
                opportunity_id=decode_id(input.opportunity_id, "Opportunity", "opportunityId"),
                stage_id=decode_id(input.stage_id, "OpportunityStage", "stageId"), lost_reason=input.lost_reason,
                order_lines=tuple(line.to_data() for line in input.order_lines)
                if input.order_lines is not None else None,
                expected_version=input.expected_version)))

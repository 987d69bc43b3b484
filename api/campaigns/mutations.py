from __future__ import annotations

from typing import Any, Awaitable, Callable

import strawberry
from strawberry.types import Info

from api.campaigns.inputs import (AddCampaignMembersInput, CreateCampaignInput, RecordCampaignResponseInput,
                                  SetCampaignStatusInput)
from api.campaigns.types import Campaign
from api.common.errors import UserError
from api.common.payloads import Payload, write, written
from api.common.relay import decode_id, ids
from api.context import Context
from application import campaigns as use_cases
from domain.campaign import CampaignMemberStatus, CampaignStatus


@strawberry.type
class CampaignPayload(Payload):
    campaign: Campaign | None = written(Campaign)
    added: int | None = strawberry.field(default=None, description="Members added (or that would be, with dryRun)")
    user_errors: list[UserError]

    @classmethod
    async def adding(cls, info: Info[Context, None],
                     use_case: Callable[[Context], Awaitable[use_cases.MembersAdded]]) -> "CampaignPayload":
        """As `write`, with how many members were (or would be) added."""
        result, errors = await write(info, use_case)
        if result is None:
            return cls(user_errors=errors)
        Campaign.prime(info.context.loaders, result.campaign)
        return cls(user_errors=errors, written_id=result.campaign.id, added=result.added)


def _segment(input: AddCampaignMembersInput) -> Any:
    return input.segment.to_data() if input.segment is not None else None


@strawberry.type
class CampaignMutation:
    @strawberry.mutation(description="Plan a campaign (PLANNED, owned by whoever creates it); MARKETING staff and "
                                     "ADMINs, others get FORBIDDEN")
    async def create_campaign(self, info: Info[Context, None], input: CreateCampaignInput) -> CampaignPayload:
        budget = input.budget
        return await CampaignPayload.write(info, lambda ctx: use_cases.create_campaign(
            ctx.uow(), ctx.clock, ctx.actor, use_cases.CreateCampaign(
                name=input.name, channel=input.channel, starts_on=input.starts_on, ends_on=input.ends_on,
                budget_amount=budget.amount if budget else None, budget_currency=budget.currency if budget else None,
                idempotency_key=input.idempotency_key)))

    @strawberry.mutation(description="Target a segment's customers and/or named ones as TARGETED members in one "
                                     "statement; members already there are not added again and `added` counts the "
                                     "new ones; customers who opted out of any campaign are left out of segments and "
                                     "refused by id. The campaign's owner, MARKETING key users and managers, ADMINs")
    async def add_campaign_members(self, info: Info[Context, None], input: AddCampaignMembersInput) -> CampaignPayload:
        return await CampaignPayload.adding(info, lambda ctx: use_cases.add_campaign_members(
            ctx.uow(), ctx.clock, ctx.actor, use_cases.AddCampaignMembers(
                campaign_id=decode_id(input.campaign_id, "Campaign", "campaignId"), segment=_segment(input),
                customer_ids=tuple(ids(input.customer_ids or [], "Customer", "customerIds")),
                dry_run=bool(input.dry_run))))

    @strawberry.mutation(description="Start, complete or cancel a campaign: PLANNED -> ACTIVE -> COMPLETED, "
                                     "CANCELLED from PLANNED or ACTIVE (members join PLANNED or ACTIVE campaigns "
                                     "only); the status it has changes nothing. Its runners, as for members")
    async def set_campaign_status(self, info: Info[Context, None], input: SetCampaignStatusInput) -> CampaignPayload:
        return await CampaignPayload.write(info, lambda ctx: use_cases.set_campaign_status(
            ctx.uow(), ctx.clock, ctx.actor, use_cases.SetCampaignStatus(
                campaign_id=decode_id(input.campaign_id, "Campaign", "campaignId"),
                status=CampaignStatus(input.status.value), expected_version=input.expected_version)))

    @strawberry.mutation(description="Move a member TARGETED -> SENT -> RESPONDED -> CONVERTED (forward jumps "
                                     "allowed, never back) or to OPTED_OUT (final); the same status again changes "
                                     "nothing")
    async def record_campaign_response(self, info: Info[Context, None],
                                       input: RecordCampaignResponseInput) -> CampaignPayload:
        return await CampaignPayload.write(info, lambda ctx: use_cases.record_campaign_response(
            ctx.uow(), ctx.clock, ctx.actor, use_cases.RecordCampaignResponse(
                campaign_id=decode_id(input.campaign_id, "Campaign", "campaignId"),
                customer_id=decode_id(input.customer_id, "Customer", "customerId"),
                status=CampaignMemberStatus(input.status.value), note=input.note)))

"""Campaign, its members and its funnel as the API shows them."""
from __future__ import annotations

import uuid
from datetime import date, datetime

import strawberry
from strawberry.types import Info

from api.campaigns.enums import CampaignMemberStatusEnum, CampaignStatusEnum
from api.common.money import Money
from api.common.pages import nested_page
from api.common.relay import Connection, Node, to_global_id
from api.context import Context
from api.customers.types import Contact, Customer, load_customer
from api.nodes import Loaded, load_node, register_part
from api.organisation.types import Staff, load_staff
from application.queries.campaigns import CampaignMemberView, CampaignView, MembersRequest
from application.queries.written import campaign_view
from domain.campaign import CampaignMemberStatus, CampaignStatus

__all__ = ["Campaign", "CampaignFunnelStep", "CampaignMember", "CampaignMemberStatusEnum", "CampaignStatusEnum"]


@strawberry.type
class CampaignMember(Node):
    id: strawberry.ID = strawberry.field(description="The campaign's ID and the customer's: one member per pair")
    status: CampaignMemberStatusEnum  # type: ignore[valid-type]
    responded_at: datetime | None = strawberry.field(description="When the member first responded (RESPONDED or "
                                                                 "CONVERTED)")
    _view: strawberry.Private[CampaignMemberView]

    @classmethod
    def from_view(cls, v: CampaignMemberView) -> "CampaignMember":
        return cls(id=to_global_id("CampaignMember", v.campaign_id, str(v.customer_id)),
                   status=CampaignMemberStatus(v.status), responded_at=v.responded_at, _view=v)

    @strawberry.field
    async def customer(self, info: Info[Context, None]) -> Customer:
        return await load_customer(info, self._view.customer_id)

    @strawberry.field
    async def contact(self, info: Info[Context, None]) -> Contact | None:
        return await load_node(info.context.loaders.contact_by_id.load, self._view.contact_id,  # type: ignore[no-any-return]
                               Contact.from_view)


@strawberry.type
class CampaignFunnelStep:
    status: CampaignMemberStatusEnum  # type: ignore[valid-type]
    count: int


@strawberry.type
class Campaign(Node, Loaded, loader="campaign_by_id", view_of=campaign_view):
    id: strawberry.ID
    name: str
    channel: str
    status: CampaignStatusEnum  # type: ignore[valid-type]
    starts_on: date | None
    ends_on: date | None
    budget: Money | None
    version: int
    _view: strawberry.Private[CampaignView]

    @classmethod
    def from_view(cls, v: CampaignView) -> "Campaign":
        budget = Money.of(v.budget_amount, v.budget_currency) if v.budget_currency and v.budget_amount is not None \
            else None
        return cls(id=to_global_id("Campaign", v.id), name=v.name, channel=v.channel,
                   status=CampaignStatus(v.status), starts_on=v.starts_on, ends_on=v.ends_on, budget=budget,
                   version=v.version, _view=v)

    @strawberry.field
    async def owner(self, info: Info[Context, None]) -> Staff | None:
        return await load_staff(info, self._view.owner_id)

    @strawberry.field(description="Its members, oldest first (of one status when given); every campaign on a page "
                                  "is answered by one statement")
    async def members(self, info: Info[Context, None], first: int | None = None, after: str | None = None,
                      status: CampaignMemberStatusEnum | None = None,  # type: ignore[valid-type]
                      ) -> Connection[CampaignMember]:
        ctx = info.context
        wanted = status.value if status is not None else None

        def fetch(request):  # type: ignore[no-untyped-def]
            return lambda ids: ctx.campaigns.members(MembersRequest(wanted, request), ids)

        return await nested_page(info, ("Campaign.members", wanted), self._view.id, CampaignMember.from_view, fetch,
                                 first, after)

    @strawberry.field(description="Counts by member status, every status in funnel order (OPTED_OUT last), zeros "
                                  "included; one grouped statement for every campaign asked")
    async def funnel(self, info: Info[Context, None]) -> list[CampaignFunnelStep]:
        counts = await info.context.loaders.funnel_by_campaign.load(self._view.id)
        return [CampaignFunnelStep(status=s, count=counts.get(s.value, 0)) for s in CampaignMemberStatus]

    @strawberry.field(description="Opportunities it sourced (in any stage); with `pipelineAmounts` and "
                                  "`wonAmounts` one grouped statement for every campaign asked")
    async def sourced_opportunities(self, info: Info[Context, None]) -> int:
        return (await info.context.loaders.sourced_by_campaign.load(self._view.id)).count

    @strawberry.field(description="Amounts of the open opportunities it sourced, per currency (never added across "
                                  "currencies)")
    async def pipeline_amounts(self, info: Info[Context, None]) -> list[Money]:
        sourced = await info.context.loaders.sourced_by_campaign.load(self._view.id)
        return [Money.of(amount, currency) for currency, amount in sorted(sourced.pipeline.items())]

    @strawberry.field(description="Amounts of the won opportunities it sourced, per currency (against its budget)")
    async def won_amounts(self, info: Info[Context, None]) -> list[Money]:
        sourced = await info.context.loaders.sourced_by_campaign.load(self._view.id)
        return [Money.of(amount, currency) for currency, amount in sorted(sourced.won.items())]


async def _member(info: Info[Context, None], campaign_id: uuid.UUID, part: str) -> CampaignMember | None:
    try:
        customer_id = uuid.UUID(part)
    except ValueError:
        return None
    return await load_node(info.context.loaders.member_by_key.load, (campaign_id, customer_id),
                           CampaignMember.from_view)


register_part("CampaignMember", _member)

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.campaigns.enums import CampaignStatusEnum
from api.campaigns.types import Campaign
from api.common.errors import read
from api.common.relay import Connection, decode_id, page_request
from api.context import Context
from api.nodes import Children, register_children


async def campaigns_of(info: Info[Context, None], of: Children) -> list[Campaign]:
    """A customer's campaigns (Customer.campaigns: every customer of a page in one batch), newest first."""
    views = await info.context.loaders.campaigns_by_customer.load(of.parent_id)
    return [Campaign.from_view(v) for v in views]


register_children("Campaign", campaigns_of)


@strawberry.type
class CampaignQuery:
    @strawberry.field
    async def campaign(self, info: Info[Context, None], id: strawberry.ID) -> Campaign | None:
        async def run():  # type: ignore[no-untyped-def]
            return await info.context.loaders.campaign_by_id.load(decode_id(id, "Campaign", "id"))

        view = await read(run)
        return Campaign.from_view(view) if view else None

    @strawberry.field(description="Newest first; of one status when given")
    async def campaigns(self, info: Info[Context, None], first: int | None = None, after: str | None = None,
                        status: CampaignStatusEnum | None = None,  # type: ignore[valid-type]
                        ) -> Connection[Campaign]:
        ctx = info.context

        async def run():  # type: ignore[no-untyped-def]
            return await ctx.campaigns.list(status.value if status is not None else None, page_request(first, after))

        return Connection.from_page(await read(run), Campaign.from_view)

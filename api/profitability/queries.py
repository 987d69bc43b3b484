from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from api.common.errors import read
from api.context import Context
from api.profitability.guard import require
from api.profitability.types import ProfitabilityGroupEnum, ProfitabilityRow
from application.profitability import profitability_report
from application.queries.profitability import ProfitabilityGroup
from domain.field_access import GuardedField


@strawberry.type
class ProfitabilityQuery:
    @strawberry.field(description="Revenue, cost and margin per customer, product or owner, one row per key and "
                                  "currency, ordered by key then currency. Revenue: the lines of orders placed in "
                                  "[from, to) that are not DRAFT or CANCELLED. For key users, managers and admins. "
                                  "Null (with an error) when it cannot be made, e.g. the ERP is unavailable: the "
                                  "rest of the document stands")
    async def profitability(self, info: Info[Context, None],
                            from_: Annotated[datetime, strawberry.argument(name="from")], to: datetime,
                            group_by: ProfitabilityGroupEnum,  # type: ignore[valid-type]
                            ) -> list[ProfitabilityRow] | None:
        ctx = info.context
        await require(info, GuardedField.PROFITABILITY_REPORT)
        rows = await read(lambda: profitability_report(
            ctx.profitability, ctx.product_costs, ctx.actor,
            placed_from=from_, placed_to=to, group_by=ProfitabilityGroup(group_by.value)))
        return [ProfitabilityRow.from_view(row) for row in rows]

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Awaitable

import strawberry
from strawberry.types import Info

from api.common.errors import forbidden, read
from api.common.payloads import write
from api.context import Context
from api.maturity.types import (
    DepartmentMaturity,
    Maturity,
    MaturityGap,
    MaturityThreshold,
    MaturityThresholdPayload,
    SetMaturityThresholdInput,
)
from application.maturity import measure, set_maturity_threshold
from domain.maturity import limits_with, maturity_scope


@strawberry.type
class MaturityQuery:
    @strawberry.field(description="Each department's maturity figures over [from, to): ADMINs every department's, "
                                  "MANAGERs their own department's; others FORBIDDEN")
    async def maturity(self, info: Info[Context, None], from_: Annotated[datetime, strawberry.argument(name="from")],
                       to: datetime) -> Maturity:
        ctx = info.context

        async def run() -> Maturity:
            only = maturity_scope(ctx.actor)
            departments = [d for d in await ctx.organisation.departments() if only is None or d.id == only]
            for department in departments:  # what DepartmentMaturity.department loads: read already
                ctx.loaders.department_by_id.prime(department.id, department)
            report = await measure(ctx.maturity, ctx.maturity_thresholds, ctx.health_reporters, ctx.clock,
                                   departments, from_, to)
            return Maturity(from_=from_, to=to, company=report.company,
                            company_gaps=[MaturityGap.of(g) for g in report.company_gaps],
                            departments=[DepartmentMaturity.of(r.department.id, r.period, r.weeks)
                                         for r in report.departments])

        return await read(run)

    @strawberry.field(description="What each level needs of each figure, as an ADMIN set it or by default: for "
                                  "those who read the maturity figures (ADMINs, MANAGERs)")
    async def maturity_thresholds(self, info: Info[Context, None]) -> list[MaturityThreshold]:
        ctx = info.context

        async def run() -> list[MaturityThreshold]:
            maturity_scope(ctx.actor)
            return MaturityThreshold.all(limits_with(await ctx.maturity_thresholds.stored()))

        return await read(run)


@strawberry.type
class MaturityMutation:
    @strawberry.mutation(description="Adjust what a level needs of one figure (ADMINs); value null: the default. "
                                     "A key without a threshold or a value below 0 (a share above 1) is INVALID")
    async def set_maturity_threshold(self, info: Info[Context, None],
                                     input: SetMaturityThresholdInput) -> MaturityThresholdPayload:
        def run(ctx: Context) -> Awaitable[dict[str, float]]:
            if not ctx.admin:
                raise forbidden()
            return set_maturity_threshold(ctx.maturity_thresholds, ctx.clock, ctx.actor, input.key, input.value)

        limits, errors = await write(info, run)
        return MaturityThresholdPayload(thresholds=MaturityThreshold.all(limits) if limits else None,
                                        user_errors=errors)

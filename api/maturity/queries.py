from __future__ import annotations

from datetime import datetime
from typing import Annotated, Awaitable

import asyncio

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
from application.maturity import set_maturity_threshold
from application.queries.integrations import HealthState
from domain.maturity import (
    EnterpriseCounts,
    Span,
    assess,
    check_period,
    company_gaps,
    company_level,
    collaborative_figures,
    departmental_figures,
    enterprise_figures,
    limits_with,
    maturity_scope,
    spans,
)


@strawberry.type
class MaturityQuery:
    @strawberry.field(description="Each department's maturity figures over [from, to): ADMINs every department's, "
                                  "MANAGERs their own department's; others FORBIDDEN")
    async def maturity(self, info: Info[Context, None], from_: Annotated[datetime, strawberry.argument(name="from")],
                       to: datetime) -> Maturity:
        ctx = info.context

        async def run() -> Maturity:
            only = maturity_scope(ctx.actor)
            check_period(from_, to)
            departments = [d for d in await ctx.organisation.departments() if only is None or d.id == only]
            for department in departments:  # what DepartmentMaturity.department loads: read already
                ctx.loaders.department_by_id.prime(department.id, department)
            periods = spans(from_, to)  # the period, then its weeks
            ids = [d.id for d in departments]
            counts = await ctx.maturity.departmental(ids, periods)
            measured = await ctx.maturity.collaborative(ids, periods)
            company = await _enterprise(ctx, periods)
            limits = limits_with(await ctx.maturity_thresholds.stored())
            assessed = [[assess(d.name, [*departmental_figures(c), *collaborative_figures(m), *enterprise_figures(e)],
                                limits) for d, c, m in zip(departments, span_counts, span_measured)]
                        for span_counts, span_measured, e in zip(counts, measured, company)]
            period, weeks = assessed[0], assessed[1:]
            return Maturity(from_=from_, to=to, company=company_level([a.level for a in period]),
                            company_gaps=[MaturityGap.of(g) for g in company_gaps(period)], departments=[
                                DepartmentMaturity.of(d.id, a, [(sp.week_start, week[i]) for sp, week in zip(
                                    periods[1:], weeks)]) for i, (d, a) in enumerate(zip(departments, period))])

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


async def _enterprise(ctx: Context, periods: list[Span]) -> list[EnterpriseCounts]:
    """The company's, per span: the integrations' health as they report it now, the outbox and deliveries from
    SQL (the lag as it is now in every span; the parked deliveries of each)."""
    reports = await asyncio.gather(*(r.health() for r in ctx.health_reporters))
    states = [v.state for report in reports for v in report if v.state is not HealthState.DISABLED]
    oldest, destinations, parked = await ctx.maturity.enterprise(periods)
    return [EnterpriseCounts(integrations=len(states), integrations_up=states.count(HealthState.UP),
                             oldest_waiting_at=oldest, destinations=destinations, parked=n, now=ctx.clock.now())
            for n in parked]

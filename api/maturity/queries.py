from __future__ import annotations

from datetime import datetime
from typing import Annotated

import asyncio

import strawberry
from strawberry.types import Info

from api.common.errors import read
from api.context import Context
from api.maturity.types import DepartmentMaturity, Maturity
from application.queries.integrations import HealthState
from domain.maturity import (
    EnterpriseCounts,
    MaturityLevel,
    check_period,
    collaborative_figures,
    departmental_figures,
    enterprise_figures,
    maturity_scope,
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
            ids = [d.id for d in departments]
            counts = await ctx.maturity.departmental(ids, from_, to)
            measured = await ctx.maturity.collaborative(ids, from_, to)
            enterprise = enterprise_figures(await _enterprise(ctx, from_, to))
            return Maturity(from_=from_, to=to, company=MaturityLevel.DEPARTMENTAL, company_gaps=[], departments=[
                DepartmentMaturity.of(d.id, departmental_figures(c), collaborative_figures(m), enterprise)
                for d, c, m in zip(departments, counts, measured)])

        return await read(run)


async def _enterprise(ctx: Context, start: datetime, end: datetime) -> EnterpriseCounts:
    """The company's: the integrations' health as they report it now, the outbox and deliveries from SQL."""
    reports = await asyncio.gather(*(r.health() for r in ctx.health_reporters))
    states = [v.state for report in reports for v in report if v.state is not HealthState.DISABLED]
    oldest, destinations, parked = await ctx.maturity.enterprise(start, end)
    return EnterpriseCounts(integrations=len(states), integrations_up=states.count(HealthState.UP),
                            oldest_waiting_at=oldest, destinations=destinations, parked=parked, now=ctx.clock.now())

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Annotated

import strawberry
from strawberry.types import Info

from api.common.errors import api_error, read
from api.common.money import Money
from api.common.relay import Connection, decode_id, page_request, to_global_id
from api.context import Context
from api.nodes import Children, register_children
from api.opportunities.enums import ForecastGroupEnum
from api.opportunities.inputs import OpportunityFilter
from api.opportunities.types import ForecastRow, Opportunity, OpportunityStage, Pipeline, PipelineColumn
from application.queries.opportunities import ForecastGroup, ForecastScope
from application.queries.opportunities import OpportunityFilter as OpportunityFilterQuery
from domain.organisation import Role, Staff

MAX_FORECAST_DAYS = 3660  # ten years


async def opportunities_of(info: Info[Context, None], of: Children) -> Connection[Opportunity]:
    """A customer's opportunities (Customer.opportunities: every customer of a page in one statement); the
    customer's own id wins over one in the filter."""
    ctx = info.context

    async def run():  # type: ignore[no-untyped-def]
        query = dataclasses.replace(of.filter.to_query() if of.filter else OpportunityFilterQuery(), customer_id=None)
        request = page_request(of.first, of.after, of.last, of.before)
        return await ctx.loaders.page(("Customer.opportunities", query, request),
                                      lambda ids: ctx.opportunities.list_for_customers(query, ids, request)
                                      ).load(of.parent_id)

    return Connection.from_page(await read(run), Opportunity.from_view)


register_children("Opportunity", opportunities_of)


def forecast_scope(actor: Staff) -> ForecastScope:
    """Rule ForecastsAreScoped: ADMINs see everybody's, managers their department's, everybody else their own."""
    if actor.is_admin:
        return ForecastScope()
    if actor.role is Role.MANAGER:
        return ForecastScope(department_id=actor.department_id)
    return ForecastScope(owner_id=actor.id)


@strawberry.type
class OpportunityQuery:
    @strawberry.field
    async def opportunity(self, info: Info[Context, None], id: strawberry.ID | None = None,
                          number: str | None = None) -> Opportunity | None:
        if (id is None) == (number is None):
            raise api_error("Give exactly one of id or number.", "INVALID")

        async def run():  # type: ignore[no-untyped-def]
            if id is not None:
                return await info.context.loaders.opportunity_by_id.load(decode_id(id, "Opportunity", "id"))
            return await info.context.opportunities.by_number(number or "")

        view = await read(run)
        return Opportunity.from_view(view) if view else None

    @strawberry.field(description="Newest first")
    async def opportunities(self, info: Info[Context, None], first: int | None = None, after: str | None = None,
                            last: int | None = None, before: str | None = None,
                            filter: OpportunityFilter | None = None) -> Connection[Opportunity]:
        ctx = info.context

        async def run():  # type: ignore[no-untyped-def]
            return await ctx.opportunities.list(filter.to_query() if filter else OpportunityFilterQuery(),
                                                page_request(first, after, last, before))

        return Connection.from_page(await read(run), Opportunity.from_view)

    @strawberry.field(description="The pipeline's stages, by position")
    async def opportunity_stages(self, info: Info[Context, None]) -> list[OpportunityStage]:
        return [OpportunityStage.from_view(v) for v in await read(info.context.opportunities.stages)]

    @strawberry.field(description="The pipeline board: a column per stage with counts and sums per currency from one "
                                  "grouped query, each column's opportunities paginated on their own")
    async def pipeline(self, info: Info[Context, None], filter: OpportunityFilter | None = None) -> Pipeline:
        ctx = info.context

        async def run():  # type: ignore[no-untyped-def]
            query = filter.to_query() if filter else OpportunityFilterQuery()
            return query, await ctx.opportunities.stages(), await ctx.opportunities.pipeline(query)

        query, stages, cells = await read(run)
        columns = []
        for stage in stages:
            if query.stage_ids and stage.id not in query.stage_ids:
                continue
            ctx.loaders.opportunity_stage_by_id.prime(stage.id, stage)
            mine = sorted((c for c in cells if c.stage_id == stage.id), key=lambda c: c.currency)
            columns.append(PipelineColumn(
                stage=OpportunityStage.from_view(stage), count=sum(c.count for c in mine),
                amounts=[Money.of(c.amount, c.currency) for c in mine],
                weighted=[Money.of(c.weighted, c.currency) for c in mine], _stage_id=stage.id, _filter=query))
        return Pipeline(columns=columns)

    @strawberry.field(description="Open, weighted and won amounts per group and currency for the opportunities "
                                  "expected to close from `from` to `to` (both inclusive), computed in the database; "
                                  "members and key users see their own deals, managers their department's, ADMINs "
                                  "everybody's")
    async def forecast(self, info: Info[Context, None], from_: Annotated[date, strawberry.argument(name="from")],
                       to: date, group_by: ForecastGroupEnum,  # type: ignore[valid-type]
                       ) -> list[ForecastRow]:
        if to < from_:
            raise api_error("to must not be before from.", "INVALID", field=["to"])
        if (to - from_).days > MAX_FORECAST_DAYS:
            raise api_error("A forecast spans at most ten years.", "LIMIT_EXCEEDED", field=["to"])
        group = ForecastGroup(group_by.value)
        rows = await read(lambda: info.context.opportunities.forecast(from_, to, group,
                                                                      forecast_scope(info.context.actor)))
        type_name = {ForecastGroup.OWNER: "Staff", ForecastGroup.DEPARTMENT: "Department"}.get(group)
        return [ForecastRow(key=to_global_id(type_name, r.key) if type_name and r.key else r.key,
                            currency=r.currency, open=r.open, weighted=r.weighted, won=r.won, count=r.count)
                for r in rows]

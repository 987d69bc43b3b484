"""Opportunity, its stages and history, the pipeline board and the forecast as the API shows them."""
from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from api.common.pages import column_page
from api.common.federation import ENTITY_KEY
from api.common.money import Money
from api.common.relay import Connection, Node, to_global_id
from api.context import Context, Loaders
from api.customers.types import Customer, load_customer
from api.nodes import Loaded, load_node, resolve_node
from api.opportunities.enums import ForecastGroupEnum, OpportunityStageKindEnum  # noqa: F401 (re-exported)
from api.organisation.types import Department, Staff, load_department, load_staff
from application.queries.opportunities import (
    OpportunityFilter as OpportunityFilterQuery,
    OpportunityStageChangeView,
    OpportunityStageView,
    OpportunityView,
    PipelinePageRequest,
)
from application.queries.written import opportunity_history_views, opportunity_stage_view, opportunity_view
from domain.opportunity import OpportunityStageKind

if TYPE_CHECKING:
    from api.campaigns.types import Campaign
    from api.orders.types import Order

__all__ = ["ForecastGroupEnum", "ForecastRow", "Opportunity", "OpportunityStage", "OpportunityStageChange",
           "OpportunityStageKindEnum", "Pipeline", "PipelineColumn"]


@strawberry.type(description="A configurable pipeline stage; probability is the default chance of winning at this "
                             "stage")
class OpportunityStage(Node, Loaded, loader="opportunity_stage_by_id", view_of=opportunity_stage_view):
    id: strawberry.ID
    name: str
    position: int
    probability: int = strawberry.field(description="0..100")
    kind: OpportunityStageKindEnum  # type: ignore[valid-type]

    @classmethod
    def from_view(cls, v: OpportunityStageView) -> "OpportunityStage":
        return cls(id=to_global_id("OpportunityStage", v.id), name=v.name, position=v.position,
                   probability=v.probability, kind=OpportunityStageKind(v.kind))


async def load_stage(info: Info[Context, None], stage_id: uuid.UUID) -> OpportunityStage:
    stage = await OpportunityStage.load(info, stage_id)
    if stage is None:
        raise LookupError(f"opportunity stage {stage_id} is missing")
    return stage  # type: ignore[no-any-return]


@strawberry.type
class OpportunityStageChange:
    at: datetime
    _view: strawberry.Private[OpportunityStageChangeView]

    @strawberry.field(name="from")
    async def from_(self, info: Info[Context, None]) -> OpportunityStage | None:
        return await load_node(info.context.loaders.opportunity_stage_by_id.load, self._view.from_stage_id,
                               OpportunityStage.from_view)

    @strawberry.field
    async def to(self, info: Info[Context, None]) -> OpportunityStage:
        return await load_stage(info, self._view.to_stage_id)

    @strawberry.field
    async def by(self, info: Info[Context, None]) -> Staff | None:
        return await load_staff(info, self._view.by)


@strawberry.type(description="A deal sales is working on: the sales data of the departmental level. Winning it "
                             "creates a DRAFT order (`order`); an order cancelled later leaves the deal won (the "
                             "customer said yes; the cancellation is the order's story)",
                 directives=[ENTITY_KEY])
class Opportunity(Node, Loaded, loader="opportunity_by_id", view_of=opportunity_view):
    id: strawberry.ID
    number: str = strawberry.field(description="Human-readable, e.g. OPP-000042")
    name: str
    amount: Money
    probability: int = strawberry.field(description="0..100; the stage's default unless set (a move resets it to "
                                                    "the new stage's default)")
    weighted_amount: Money = strawberry.field(description="amount × probability, half-even to the currency's "
                                                          "minor unit")
    expected_close_date: date | None
    lost_reason: str | None
    created_at: datetime
    version: int
    _view: strawberry.Private[OpportunityView]

    @classmethod
    def from_view(cls, v: OpportunityView) -> "Opportunity":
        return cls(id=to_global_id("Opportunity", v.id), number=v.number, name=v.name,
                   amount=Money.of(v.amount, v.currency), probability=v.probability,
                   weighted_amount=Money.of(v.weighted_amount, v.currency), expected_close_date=v.expected_close_date,
                   lost_reason=v.lost_reason, created_at=v.created_at, version=v.version, _view=v)

    @classmethod
    def prime(cls, loaders: Loaders, written: Any) -> None:
        super().prime(loaders, written)
        loaders.stage_history_by_opportunity.prime(written.id, opportunity_history_views(written))

    @strawberry.field
    async def customer(self, info: Info[Context, None]) -> Customer:
        return await load_customer(info, self._view.customer_id)

    @strawberry.field
    async def owner(self, info: Info[Context, None]) -> Staff | None:
        return await load_staff(info, self._view.owner_id)

    @strawberry.field(description="The owner's department (when the deal was given to them)")
    async def department(self, info: Info[Context, None]) -> Department:
        department = await load_department(info, self._view.department_id)
        if department is None:
            raise LookupError(f"department {self._view.department_id} is missing")
        return department

    @strawberry.field
    async def stage(self, info: Info[Context, None]) -> OpportunityStage:
        return await load_stage(info, self._view.stage_id)

    @strawberry.field(description="The DRAFT order created when it was won (it stays linked, and the deal won, "
                                  "whatever becomes of the order)")
    async def order(self, info: Info[Context, None]
                    ) -> Annotated["Order", strawberry.lazy("api.orders.types")] | None:
        if self._view.order_id is None:
            return None
        return await resolve_node(info, "Order", self._view.order_id)  # type: ignore[return-value]

    @strawberry.field(description="Where it came from: the campaign that sourced it")
    async def campaign(self, info: Info[Context, None]
                       ) -> Annotated["Campaign", strawberry.lazy("api.campaigns.types")] | None:
        if self._view.campaign_id is None:
            return None
        return await resolve_node(info, "Campaign", self._view.campaign_id)  # type: ignore[return-value]

    @strawberry.field(description="Every stage it was in, oldest first (the first: where it was created)")
    async def stage_history(self, info: Info[Context, None]) -> list[OpportunityStageChange]:
        views = await info.context.loaders.stage_history_by_opportunity.load(self._view.id)
        return [OpportunityStageChange(at=v.at, _view=v) for v in views]


@strawberry.type(description="One column of the pipeline board: a stage with its count and sums per currency")
class PipelineColumn:
    stage: OpportunityStage
    count: int
    amounts: list[Money] = strawberry.field(description="Sum of the column's amounts per currency (by currency code; "
                                                        "never added across currencies)")
    weighted: list[Money] = strawberry.field(description="Sum of the column's weighted amounts per currency")
    _stage_id: strawberry.Private[uuid.UUID]
    _filter: strawberry.Private[OpportunityFilterQuery]

    @strawberry.field(description="The column's opportunities, newest first")
    async def opportunities(self, info: Info[Context, None], first: int | None = None,
                            after: str | None = None) -> Connection[Opportunity]:
        return await column_page(self.count, after, lambda request: info.context.loaders.pipeline_page.load(
            PipelinePageRequest(self._filter, self._stage_id, request)), Opportunity.from_view, first)


@strawberry.type
class Pipeline:
    columns: list[PipelineColumn] = strawberry.field(description="One per stage, by position; only the filter's "
                                                                 "stages when it names some")


@strawberry.type(description="Expected revenue by group and currency for opportunities closing in the period; won is "
                             "already booked. open: the open deals' amounts; weighted: their weighted amounts; won: "
                             "the won deals' amounts; count: open and won deals (lost ones do not count)")
class ForecastRow:
    key: str = strawberry.field(description="The owner's or department's ID, or the month (YYYY-MM)")
    currency: str
    open: Decimal
    weighted: Decimal
    won: Decimal
    count: int

from __future__ import annotations

import uuid
from datetime import date

import strawberry

from api.common.money import MoneyInput
from api.common.relay import decode_optional_id, ids
from api.opportunities.enums import OpportunityStageKindEnum
from api.orders.inputs import OrderLineInput
from application.queries.opportunities import OpportunityFilter as OpportunityFilterQuery


def campaign_id(value: strawberry.ID | None) -> uuid.UUID | None:
    """A campaign's id, well-formed here; one that names no campaign is NotFound in create_opportunity."""
    return decode_optional_id(value, "Campaign", "campaignId")


@strawberry.input
class OpportunityFilter:
    customer_id: strawberry.ID | None = None
    owner_id: strawberry.ID | None = None
    stage_ids: list[strawberry.ID] | None = None
    campaign_id: strawberry.ID | None = None
    closing_from: date | None = strawberry.field(default=None, description="Expected close date from (inclusive)")
    closing_to: date | None = strawberry.field(default=None, description="Expected close date to (inclusive)")
    open: bool | None = strawberry.field(default=None, description="true: in an OPEN stage; false: won or lost")

    def to_query(self) -> OpportunityFilterQuery:
        return OpportunityFilterQuery(
            customer_id=decode_optional_id(self.customer_id, "Customer", "customerId"),
            owner_id=decode_optional_id(self.owner_id, "Staff", "ownerId"),
            stage_ids=tuple(ids(self.stage_ids or (), "OpportunityStage", "stageIds")),
            campaign_id=campaign_id(self.campaign_id),
            closing_from=self.closing_from, closing_to=self.closing_to, open=self.open)


@strawberry.input
class DefineOpportunityStageInput:
    name: str
    position: int
    probability: int = strawberry.field(description="0..100: the default chance of winning at this stage "
                                                    "(WON stages 100, LOST stages 0)")
    kind: OpportunityStageKindEnum  # type: ignore[valid-type]


@strawberry.input
class CreateOpportunityInput:
    customer_id: strawberry.ID
    name: str
    amount: MoneyInput
    stage_id: strawberry.ID | None = strawberry.field(default=None, description="An OPEN stage; default: the first")
    probability: int | None = strawberry.field(default=None, description="0..100; default: the stage's")
    expected_close_date: date | None = None
    campaign_id: strawberry.ID | None = strawberry.field(default=None, description="The campaign that sourced it")
    owner_id: strawberry.ID | None = strawberry.field(default=None, description="Default: whoever creates it")
    idempotency_key: str | None = None


@strawberry.input
class UpdateOpportunityInput:
    opportunity_id: strawberry.ID
    name: str | None = None
    amount: MoneyInput | None = None
    probability: int | None = strawberry.field(default=None, description="0..100; holds until the next move, "
                                                                         "which resets it to the new stage's")
    expected_close_date: date | None = None
    owner_id: strawberry.ID | None = None
    expected_version: int | None = None


@strawberry.input
class MoveOpportunityInput:
    opportunity_id: strawberry.ID
    stage_id: strawberry.ID
    lost_reason: str | None = strawberry.field(default=None, description="Required when moving to a LOST stage")
    order_lines: list[OrderLineInput] | None = strawberry.field(
        default=None, description="Moving to a WON stage creates a DRAFT order with these lines (the opportunity's "
                                  "amount as one line when omitted)")
    expected_version: int | None = None


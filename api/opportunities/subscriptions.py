"""`opportunityEvents` over graphql-transport-ws: live pipeline changes for boards and sales views.

Opportunities are visible to every active staff member (as in the `opportunities` query), so the only filters
are the subscriber's. They match the event, not the opportunity as it is at delivery: every opportunity event
carries the deal's owner and stage right after it (`domain.opportunity.Opportunity._about`), and `opportunity`
shows that stage, probability and amounts; the rest is read at delivery.
"""
from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime
from decimal import Decimal
from typing import AsyncGenerator

import strawberry
from strawberry.types import Info

from api.common.live import committed, subscriber_arguments
from api.common.relay import decode_optional_id, ids
from api.context import Context
from api.nodes import load_node
from api.opportunities.types import Opportunity, OpportunityStage
from api.organisation.types import Staff, load_staff
from application.queries.opportunities import OpportunityView
from domain.shared import DomainEvent


@strawberry.type
class OpportunityEvent:
    kind: str = strawberry.field(description="The event type without its prefix, in capitals: CREATED, UPDATED, "
                                             "STAGE_CHANGED, WON, LOST")
    at: datetime
    opportunity: Opportunity
    _to: strawberry.Private[uuid.UUID | None]
    _by: strawberry.Private[uuid.UUID | None]

    @strawberry.field(description="The stage it moved to, for a stage change")
    async def to(self, info: Info[Context, None]) -> OpportunityStage | None:
        return await load_node(info.context.loaders.opportunity_stage_by_id.load, self._to, OpportunityStage.from_view)

    @strawberry.field
    async def by(self, info: Info[Context, None]) -> Staff | None:
        return await load_staff(info, self._by)


def as_of(view: OpportunityView, event: DomainEvent) -> OpportunityView:
    """The opportunity as `event` left it."""
    p = event.payload
    owner = p.get("ownerId")
    return dataclasses.replace(
        view, owner_id=uuid.UUID(owner) if owner else None, stage_id=uuid.UUID(p["stageId"]), name=p["name"],
        probability=p["probability"], amount=Decimal(p["amount"]), weighted_amount=Decimal(p["weightedAmount"]),
        currency=p["currency"])


@strawberry.type
class OpportunitySubscription:
    @strawberry.subscription(description="Opportunity events after their commit, optionally for one owner or set of "
                                         "stages (an event matches when it left the deal with that owner, in one of "
                                         "those stages)")
    async def opportunity_events(self, info: Info[Context, None], owner_id: strawberry.ID | None = None,
                                 stage_ids: list[strawberry.ID] | None = None,
                                 ) -> AsyncGenerator[OpportunityEvent, None]:
        owner, wanted = subscriber_arguments(info, lambda: (
            decode_optional_id(owner_id, "Staff", "ownerId"),
            set(ids(stage_ids or (), "OpportunityStage", "stageIds"))))
        async for event, _ in committed(info, "opportunity"):
            (view,) = await info.context.opportunities.by_ids([event.aggregate_id])
            if view is None:
                continue
            view = as_of(view, event)
            if (owner and view.owner_id != owner) or (wanted and view.stage_id not in wanted):
                continue
            kind = event.type.split(".", 1)[1].upper()
            yield OpportunityEvent(kind=kind, at=event.occurred_at, opportunity=Opportunity.from_view(view),
                                   _to=view.stage_id if kind in ("STAGE_CHANGED", "WON", "LOST") else None,
                                   _by=event.actor_id)

"""DomainEvent as the event feed shows it."""
from __future__ import annotations

from datetime import datetime

import strawberry

from api.common.relay import to_global_id
from api.common.scalars import JSON
from application.queries.events import EventView

# The Node type of each aggregate whose events carry its id: aggregateId is then its global ID, which
# `node(id:)` resolves. Aggregates without a Node type (none yet) keep their raw id.
NODE_TYPES = {
    "customer": "Customer",
    "interaction": "Interaction",
    "staff": "Staff",
    "order": "Order",
    "complaint": "Complaint",
    "workflow": "WorkflowInstance",
    "campaign": "Campaign",
}


def aggregate_global_id(aggregate_type: str, raw_id: object) -> strawberry.ID:
    node_type = NODE_TYPES.get(aggregate_type)
    return to_global_id(node_type, raw_id) if node_type else strawberry.ID(str(raw_id))  # type: ignore[arg-type]


@strawberry.type(description="A domain event as it left the outbox; the feed partners can replay from a cursor")
class DomainEvent:
    id: strawberry.ID = strawberry.field(description="Unique; consumers deduplicate on it")
    type: str = strawberry.field(description="e.g. complaint.filed, order.confirmed, workflow.completed")
    aggregate_type: str = strawberry.field(description="customer, order, complaint, workflow, staff, interaction")
    aggregate_id: strawberry.ID = strawberry.field(
        description="The global ID of the aggregate (resolvable with node) where it has a Node type, else its raw id")
    occurred_at: datetime
    payload: JSON  # type: ignore[valid-type]

    @classmethod
    def from_view(cls, v: EventView) -> "DomainEvent":
        return cls(id=strawberry.ID(str(v.id)), type=v.type, aggregate_type=v.aggregate_type,
                   aggregate_id=aggregate_global_id(v.aggregate_type, v.aggregate_id), occurred_at=v.occurred_at,
                   payload=v.payload)

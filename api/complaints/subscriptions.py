"""`complaintEvents` over graphql-transport-ws: committed complaint events the subscriber may see.

For each event the subscriber is re-read (api/common/live.py) and the complaint is read through their
scope, so an event about a complaint they may not see is never sent. Loaders are rebuilt per event: the
connection's context lives long, and a cached SLA history would go stale."""
from __future__ import annotations

import uuid
from typing import AsyncGenerator

import strawberry
from strawberry.types import Info

from api.common.relay import decode_optional_id
from api.common.live import committed, subscriber_arguments
from api.complaints.enums import ComplaintEventKind
from api.complaints.types import Complaint, ComplaintEvent, TimelineEntry
from api.context import Context, Loaders
from domain.organisation import Role, Staff
from domain.shared import DomainEvent


@strawberry.type
class ComplaintSubscription:
    @strawberry.subscription(description="Events on complaints the caller may see, optionally narrowed")
    async def complaint_events(self, info: Info[Context, None], customer_id: strawberry.ID | None = None,
                               department_id: strawberry.ID | None = None) -> AsyncGenerator[ComplaintEvent, None]:
        customer, department = subscriber_arguments(info, lambda: (
            decode_optional_id(customer_id, "Customer", "customerId"),
            decode_optional_id(department_id, "Department", "departmentId")))

        def wanted(event: DomainEvent) -> bool:
            payload = event.payload
            return (customer is None or payload.get("customerId") == str(customer)) and \
                (department is None or payload.get("departmentId") == str(department))

        ctx = info.context
        async for event, staff in committed(info, "complaint", wanted):
            reader = Staff(id=staff.id, name=staff.name, email=staff.email, department_id=staff.department_id,
                           role=Role(staff.role), active=staff.active, version=staff.version)
            ctx.loaders = Loaders(ctx, reader)
            view = await ctx.loaders.complaint_by_id.load(event.aggregate_id)
            if view is None:
                continue
            entry = None
            if event.payload.get("entryId"):
                entry_view = await ctx.loaders.timeline_entry_by_id.load(uuid.UUID(event.payload["entryId"]))
                entry = TimelineEntry.from_view(entry_view) if entry_view else None
            yield ComplaintEvent(kind=ComplaintEventKind(event.type.split(".", 1)[1].upper()), at=event.occurred_at,
                                 complaint=Complaint.from_view(view), entry=entry)

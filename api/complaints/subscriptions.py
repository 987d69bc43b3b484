"""`complaintEvents` over graphql-transport-ws: committed complaint events the subscriber may see.

Events come from the EventStream port (`services.events()`), i.e. only after their commit. For
each event the subscriber is re-read (a deactivated person's subscription ends at once; a move to
another department changes what they see) and the complaint is read through their scope, so an
event about a complaint they may not see is never sent. Loaders are rebuilt per event: the
connection's context lives long, and a cached SLA history would go stale."""
from __future__ import annotations

import uuid
from typing import AsyncGenerator

import strawberry
from strawberry.types import Info

from api.common.errors import api_error, forbidden
from api.common.relay import decode_optional_id
from api.complaints.loaders import ComplaintLoaders
from api.complaints.types import Complaint, ComplaintEvent, ComplaintEventKind, TimelineEntry
from api.context import Context, Loaders
from domain.organisation import Role, Staff
from domain.shared import InvalidInput


@strawberry.type
class ComplaintSubscription:
    @strawberry.subscription(description="Events on complaints the caller may see, optionally narrowed")
    async def complaint_events(self, info: Info[Context, None], customer_id: strawberry.ID | None = None,
                               department_id: strawberry.ID | None = None) -> AsyncGenerator[ComplaintEvent, None]:
        ctx = info.context
        if ctx.actor is None:
            raise forbidden()
        try:
            customer = decode_optional_id(customer_id, "Customer", "customerId")
            department = decode_optional_id(department_id, "Department", "departmentId")
        except InvalidInput as err:
            raise api_error(err.message, err.code, field=list(err.field or ())) from None
        async for event in ctx.services.events().subscribe():
            if event.aggregate_type != "complaint":
                continue
            payload = event.payload
            if customer is not None and payload.get("customerId") != str(customer):
                continue
            if department is not None and payload.get("departmentId") != str(department):
                continue
            (staff,) = await ctx.organisation.staff_by_ids([ctx.actor.id])
            if staff is None or not staff.active:
                return
            reader = Staff(id=staff.id, name=staff.name, email=staff.email, department_id=staff.department_id,
                           role=Role(staff.role), active=staff.active, version=staff.version)
            loaders = ComplaintLoaders(ctx.complaints, ctx.organisation, lambda: reader)
            view = await loaders.complaint_by_id.load(event.aggregate_id)
            if view is None:
                continue
            ctx.loaders = Loaders.build(ctx.customers, ctx.organisation)
            ctx.complaint_loaders = loaders
            entry = None
            if payload.get("entryId"):
                entry_view = await loaders.entry_by_id.load(uuid.UUID(payload["entryId"]))
                entry = TimelineEntry.from_view(entry_view) if entry_view else None
            yield ComplaintEvent(kind=ComplaintEventKind(event.type.split(".", 1)[1].upper()), at=event.occurred_at,
                                 complaint=Complaint.from_view(view), entry=entry)

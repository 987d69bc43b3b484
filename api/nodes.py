"""`node` / `nodes`: global IDs resolved per type, batched through the request's loaders and
subject to the same visibility as the type's own queries."""
from __future__ import annotations

import uuid
from typing import Any, Awaitable, Callable

from strawberry.types import Info

from api.common.relay import Node, parse_global_key
from api.context import Context
from api.complaints.types import BusinessCalendar, Complaint, ComplaintCategory, SlaPolicy, TimelineEntry
from api.customers.types import Activity, Contact, Customer, Interaction
from api.complaints.types import BusinessCalendar, Complaint, ComplaintCategory, SlaPolicy
from api.customers.types import Customer, Interaction
from api.integrations.api_keys import load_api_key
from api.integrations.webhooks import load_webhook
from api.orders.types import Order, OrderLine
from api.organisation.types import Department, Staff
from api.workflows.types import WorkflowDefinition, WorkflowInstance, WorkflowStep, WorkItem

Resolver = Callable[[Info[Context, None], uuid.UUID], Awaitable[Any]]
PartResolver = Callable[[Info[Context, None], uuid.UUID, str], Awaitable[Any]]


async def _via(loader_name: str, convert: Callable[[Any], Any], info: Info[Context, None], raw_id: uuid.UUID) -> Any:
    view = await getattr(info.context.loaders, loader_name).load(raw_id)
    return convert(view) if view is not None else None


async def _load(loader: Any, convert: Callable[[Any], Any], raw_id: uuid.UUID) -> Any:
    view = await loader.load(raw_id)
    return convert(view) if view is not None else None


RESOLVERS: dict[str, Resolver] = {
    "Customer": lambda info, i: _via("customer_by_id", Customer.from_view, info, i),
    "Staff": lambda info, i: _via("staff_by_id", Staff.from_view, info, i),
    "Department": lambda info, i: _via("department_by_id", Department.from_view, info, i),
    "Interaction": lambda info, i: _via("interaction_by_id", Interaction.from_view, info, i),
    "Order": lambda info, i: _load(info.context.order_loaders.order_by_id, Order.from_view, i),
    "WorkflowInstance": lambda info, i: _load(info.context.workflow_loaders.instance_by_id,
                                              WorkflowInstance.from_view, i),
    "WorkflowDefinition": lambda info, i: _load(info.context.workflow_loaders.definition_by_id,
                                                WorkflowDefinition.from_view, i),
    "Complaint": lambda info, i: _load(info.context.complaint_loaders.complaint_by_id, Complaint.from_view, i),
    "ComplaintCategory": lambda info, i: _load(info.context.complaint_loaders.category_by_id,
                                               ComplaintCategory.from_view, i),
    "SlaPolicy": lambda info, i: _load(info.context.complaint_loaders.policy_by_id, SlaPolicy.from_value, i),
    "BusinessCalendar": lambda info, i: _load(info.context.complaint_loaders.calendar_by_id,
                                              BusinessCalendar.from_value, i),
    "Webhook": load_webhook,
    "Contact": lambda info, i: _via("contact_by_id", Contact.from_view, info, i),
    "Activity": lambda info, i: _activity(info, i),
    "TimelineEntry": lambda info, i: _timeline_entry(info, i),
    "ApiKey": load_api_key,
}


async def _activity(info: Info[Context, None], raw_id: uuid.UUID) -> Activity | None:
    ctx = info.context

    async def fetch(ids: list[uuid.UUID]) -> list[Any]:
        return await ctx.customers.activity_by_ids(ids, complaint_scope=await ctx.complaint_loaders.scope())

    return await _load(ctx.loader_for("Activity.by_id", fetch), Activity.from_view, raw_id)


async def _timeline_entry(info: Info[Context, None], raw_id: uuid.UUID) -> TimelineEntry | None:
    """An entry of a complaint the caller may see (else null, as for the complaint)."""
    loaders = info.context.complaint_loaders
    entry = await loaders.entry_by_id.load(raw_id)
    if entry is None or await loaders.complaint_by_id.load(entry.complaint_id) is None:
        return None
    return TimelineEntry.from_view(entry)


async def _order_line(info: Info[Context, None], order_id: uuid.UUID, part: str) -> OrderLine | None:
    loaders = info.context.order_loaders
    order = await loaders.order_by_id.load(order_id) if part.isdigit() else None
    if order is None:
        return None
    lines = await loaders.lines_by_order.load(order_id)
    position = int(part)
    return OrderLine.from_view(lines[position], order_id, position, order.owner_id) if position < len(lines) else None


async def _step(info: Info[Context, None], instance_id: uuid.UUID, key: str) -> Any:
    steps = await info.context.workflow_loaders.steps_by_instance.load(instance_id)
    return next((step for step in steps if step.key == key), None)


async def _workflow_step(info: Info[Context, None], instance_id: uuid.UUID, key: str) -> WorkflowStep | None:
    step = await _step(info, instance_id, key)
    return WorkflowStep.from_view(step) if step else None


async def _work_item(info: Info[Context, None], instance_id: uuid.UUID, key: str) -> WorkItem | None:
    step = await _step(info, instance_id, key)
    return WorkItem.from_view(step) if step else None


# Parts of an aggregate without an id of their own: their global ID is the aggregate's and the part's key.
PART_RESOLVERS: dict[str, PartResolver] = {
    "OrderLine": _order_line,
    "WorkflowStep": _workflow_step,
    "WorkItem": _work_item,
}


def register(type_name: str, resolver: Resolver) -> None:
    """Later aggregates (Complaint, Order, WorkflowInstance ...) add themselves here."""
    RESOLVERS[type_name] = resolver


async def resolve_node(info: Info[Context, None], type_name: str, raw_id: uuid.UUID) -> Node | None:
    resolver = RESOLVERS.get(type_name)
    return await resolver(info, raw_id) if resolver else None


async def resolve_global_id(info: Info[Context, None], global_id: str) -> Node | None:
    """None for IDs that are well-formed but name nothing; ValueError for malformed ones."""
    type_name, raw_id, part = parse_global_key(global_id)
    if part is None:
        return await resolve_node(info, type_name, raw_id)
    resolver = PART_RESOLVERS.get(type_name)
    return await resolver(info, raw_id, part) if resolver else None

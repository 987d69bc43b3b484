"""`node` / `nodes`: global IDs resolved per type, batched through the request's loaders and
subject to the same visibility as the type's own queries."""
from __future__ import annotations

import uuid
from typing import Any, Awaitable, Callable

from strawberry.types import Info

from api.common.relay import Node, parse_global_id
from api.context import Context
from api.complaints.types import BusinessCalendar, Complaint, ComplaintCategory, SlaPolicy
from api.customers.types import Customer, Interaction
from api.integrations.webhooks import load_webhook
from api.orders.types import Order
from api.organisation.types import Department, Staff
from api.workflows.types import WorkflowDefinition, WorkflowInstance

Resolver = Callable[[Info[Context, None], uuid.UUID], Awaitable[Any]]


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
}


def register(type_name: str, resolver: Resolver) -> None:
    """Later aggregates (Complaint, Order, WorkflowInstance ...) add themselves here."""
    RESOLVERS[type_name] = resolver


async def resolve_node(info: Info[Context, None], type_name: str, raw_id: uuid.UUID) -> Node | None:
    resolver = RESOLVERS.get(type_name)
    return await resolver(info, raw_id) if resolver else None


async def resolve_global_id(info: Info[Context, None], global_id: str) -> Node | None:
    """None for IDs that are well-formed but name nothing; ValueError for malformed ones."""
    type_name, raw_id = parse_global_id(global_id)
    return await resolve_node(info, type_name, raw_id)

"""`workflowEvents` over graphql-transport-ws: committed workflow events the subscriber may see."""
from __future__ import annotations

import uuid
from typing import AsyncGenerator

import strawberry
from strawberry.types import Info

from api.common.relay import decode_optional_id
from api.common.live import committed, subscriber_arguments
from api.context import Context
from api.workflows.types import WorkflowEvent, WorkflowInstance
from application.queries.views import StaffView
from application.queries.workflows import WorkflowInstanceView, WorkflowStepView, sees_instance
from domain.shared import DomainEvent


def may_see(staff: StaffView, instance: WorkflowInstanceView, steps: list[WorkflowStepView], event: DomainEvent,
            department_id: uuid.UUID | None) -> bool:
    """ADMINs see everything; others the events of their department's steps, of steps assigned or delegated
    to them, and of instances they started. Events about a whole instance (started, completed ...) go to
    whoever sees the instance (`sees_instance`, which `WorkflowInstance.context` follows too).
    `department_id` narrows to one department's events."""
    payload = event.payload
    step_department = uuid.UUID(payload["departmentId"]) if payload.get("departmentId") else None
    departments = {step_department} if step_department else {s.department_id for s in steps}
    if department_id is not None and department_id not in departments:
        return False
    if step_department is None:
        return sees_instance(staff.id, staff.department_id, staff.role, instance, steps)
    if staff.role == "ADMIN" or instance.started_by == staff.id or staff.department_id == step_department:
        return True
    return str(staff.id) in (payload.get("assigneeId"), payload.get("toId"))


@strawberry.type
class WorkflowSubscription:
    @strawberry.subscription(description="Workflow events the caller may see: their department's steps, steps "
                                         "assigned to them, instances they started (ADMINs: all)")
    async def workflow_events(self, info: Info[Context, None],
                              department_id: strawberry.ID | None = None) -> AsyncGenerator[WorkflowEvent, None]:
        department = subscriber_arguments(info, lambda: decode_optional_id(department_id, "Department",
                                                                           "departmentId"))
        workflows = info.context.workflows
        async for event, staff in committed(info, "workflow"):
            (instance,) = await workflows.instances_by_ids([event.aggregate_id])
            if instance is None:
                continue
            (steps,) = await workflows.steps([instance.id])
            if not may_see(staff, instance, steps, event, department):
                continue
            yield WorkflowEvent(kind=event.type.split(".", 1)[1].upper(), at=event.occurred_at,
                                instance=WorkflowInstance.from_view(instance, steps),
                                step_key=event.payload.get("stepKey"))

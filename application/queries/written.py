"""The views of what a write has just left, for that write's payload: the same DTOs the read models return,
built by keyword from the aggregate the use case returned.

Why not read the payload back by id after the commit: another writer may commit in between, and the payload
would show their version, not this write's (tests/e2e/test_serialised_writes.py: twenty concurrent writers each
see the version they wrote, the one they pass as expectedVersion next). So the API primes the request's
loaders with these views (api/common/mutations.py), and the payload resolves through the same loaders and
`from_view` as a query of the same object; everything nested (customer, timeline, steps' departments ...)
is read by the loaders as for a query."""
from __future__ import annotations

from application.queries.complaints import CategoryView, ComplaintView
from application.queries.orders import OrderLineView, OrderView
from application.queries.views import CustomerView, DepartmentView, InteractionView, StaffView
from application.queries.workflows import (
    ConditionView,
    StepDefinitionView,
    WorkflowDefinitionView,
    WorkflowInstanceView,
    WorkflowStepView,
)
from domain.complaint import Complaint, ComplaintCategory
from domain.customer import Customer, Interaction
from domain.order import Order
from domain.organisation import Department, Staff
from domain.workflow import WorkflowDefinition, WorkflowInstance


def complaint_view(c: Complaint) -> ComplaintView:
    return ComplaintView(
        id=c.id, number=c.number, customer_id=c.customer_id, order_id=c.order_id, category_id=c.category_id,
        priority=c.priority.value, channel=c.channel.value, subject=c.subject, description=c.description,
        status=c.status.value, department_id=c.department_id, assignee_id=c.assignee_id, filed_by=c.filed_by,
        resolution=c.resolution, satisfaction=c.satisfaction, terms=c.terms.policy if c.terms else None,
        escalation_level=c.escalation_level, version=c.version, created_at=c.created_at, updated_at=c.updated_at)


def category_view(c: ComplaintCategory) -> CategoryView:
    return CategoryView(id=c.id, code=c.code, name=c.name, parent_id=c.parent_id, active=c.active)


def customer_view(c: Customer) -> CustomerView:
    return CustomerView(id=c.id, code=c.code, name=c.name, kind=c.kind.value, tier=c.tier.value, stage=c.stage.value,
                        owner_id=c.owner_id, attributes=c.attributes, version=c.version, created_at=c.created_at,
                        updated_at=c.updated_at)


def interaction_view(i: Interaction) -> InteractionView:
    return InteractionView(id=i.id, customer_id=i.customer_id, kind=i.kind.value, occurred_at=i.occurred_at,
                           author_id=i.author_id, department_id=i.department_id, summary=i.summary, rating=i.rating)


def staff_view(s: Staff) -> StaffView:
    return StaffView(id=s.id, name=s.name, email=s.email, role=s.role.value, active=s.active,
                     department_id=s.department_id, version=s.version)


def department_view(d: Department) -> DepartmentView:
    return DepartmentView(id=d.id, code=d.code, name=d.name, calendar_id=d.calendar_id)


def order_view(o: Order) -> OrderView:
    return OrderView(id=o.id, number=o.number, customer_id=o.customer_id, owner_id=o.owner_id, status=o.status.value,
                     currency=o.currency, total=o.total.amount, advance_payment=o.advance_payment.value,
                     placed_at=o.placed_at, created_at=o.created_at, updated_at=o.updated_at, version=o.version)


def order_line_views(o: Order) -> list[OrderLineView]:
    return [OrderLineView(sku=line.sku, description=line.description, quantity=line.quantity,
                          unit_price=line.unit_price.amount, discount_percent=line.discount_percent,
                          line_total=line.line_total.amount, currency=o.currency) for line in o.lines]


def definition_view(d: WorkflowDefinition) -> WorkflowDefinitionView:
    return WorkflowDefinitionView(id=d.id, key=d.key, name=d.name, version=d.version, active=d.active,
                                  subject=d.subject.value, steps=tuple(
        StepDefinitionView(key=s.key, name=s.name, department_id=s.department_id, kind=s.kind.value,
                           required_role=s.required_role.value, stage=s.stage, due_within_minutes=s.due_within_minutes,
                           condition=ConditionView(field=s.condition.field, op=s.condition.op.value,
                                                   value=s.condition.value) if s.condition else None)
        for s in d.steps))


def instance_view(i: WorkflowInstance) -> WorkflowInstanceView:
    return WorkflowInstanceView(id=i.id, definition_id=i.definition_id, definition_key=i.definition_key,
                                definition_version=i.definition_version, subject_type=i.subject_type.value,
                                subject_id=i.subject_id, status=i.status.value, context=i.context,
                                started_by=i.started_by, started_at=i.started_at, completed_at=i.completed_at,
                                version=i.version)


def step_views(i: WorkflowInstance) -> list[WorkflowStepView]:
    return [WorkflowStepView(instance_id=i.id, key=s.key, name=s.name, department_id=s.department_id,
                             kind=s.kind.value, required_role=s.required_role.value, status=s.status.value,
                             stage=s.stage, assignee_id=s.assignee_id, decided_by=s.decided_by,
                             decided_at=s.decided_at, comment=s.comment, activated_at=s.activated_at, due_at=s.due_at,
                             escalated_at=s.escalated_at) for s in i.steps]

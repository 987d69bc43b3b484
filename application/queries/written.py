"""The views of what a write has just left, for that write's payload: the same DTOs the read models return,
built by keyword from the aggregate the use case returned.

Why not read the payload back by id after the commit: another writer may commit in between, and the payload
would show their version, not this write's (tests/e2e/test_serialised_writes.py: twenty concurrent writers each
see the version they wrote, the one they pass as expectedVersion next). So the API primes the request's
loaders with these views (api/common/payloads.py), and the payload resolves through the same loaders and
`from_view` as a query of the same object; everything nested (customer, timeline, steps' departments ...)
is read by the loaders as for a query."""
from __future__ import annotations

from dataclasses import fields
from enum import Enum
from typing import Any, TypeVar

from application.queries.campaigns import CampaignView
from application.queries.complaints import CategoryView, ComplaintView
from application.queries.opportunities import OpportunityStageChangeView, OpportunityStageView, OpportunityView
from application.queries.orders import OrderLineView, OrderView
from application.queries.rollout import ChecklistTargetView, RolloutView
from application.queries.views import CustomerView, DepartmentView, InteractionView, StaffView
from application.queries.workflows import (
    ConditionView,
    StepDefinitionView,
    WorkflowDefinitionView,
    WorkflowInstanceView,
    WorkflowStepView,
)
from domain.campaign import Campaign
from domain.complaint import Complaint, ComplaintCategory
from domain.customer import Customer, Interaction
from domain.opportunity import Opportunity, OpportunityStage
from domain.order import Order
from domain.organisation import Department, Staff
from domain.rollout import DepartmentRollout
from domain.workflow import WorkflowDefinition, WorkflowInstance

V = TypeVar("V")


def by_name(view: type[V], source: object, **given: Any) -> V:
    """`view` with every field not `given` taken from `source`'s attribute of the same name (an enum as its
    value): a field added to a view and to its aggregate under one name needs nothing here."""
    taken = {f.name: getattr(source, f.name) for f in fields(view) if f.name not in given}  # type: ignore[arg-type]
    return view(**{name: value.value if isinstance(value, Enum) else value for name, value in taken.items()}, **given)


def complaint_view(c: Complaint) -> ComplaintView:
    return by_name(ComplaintView, c, terms=c.terms.policy if c.terms else None)


def category_view(c: ComplaintCategory) -> CategoryView:
    return by_name(CategoryView, c)


def customer_view(c: Customer) -> CustomerView:
    return by_name(CustomerView, c)


def interaction_view(i: Interaction) -> InteractionView:
    return by_name(InteractionView, i)


def staff_view(s: Staff) -> StaffView:
    return by_name(StaffView, s)


def department_view(d: Department) -> DepartmentView:
    return by_name(DepartmentView, d)


def order_view(o: Order) -> OrderView:
    return by_name(OrderView, o, total=o.total.amount)


def order_line_views(o: Order) -> list[OrderLineView]:
    return [by_name(OrderLineView, line, unit_price=line.unit_price.amount, line_total=line.line_total.amount,
                    currency=o.currency) for line in o.lines]


def campaign_view(c: Campaign) -> CampaignView:
    return by_name(CampaignView, c, budget_amount=c.budget.amount if c.budget else None,
                   budget_currency=c.budget.currency if c.budget else None)
def opportunity_view(o: Opportunity) -> OpportunityView:
    return by_name(OpportunityView, o, stage_id=o.stage.id, currency=o.amount.currency, amount=o.amount.amount,
                   weighted_amount=o.weighted_amount.amount)


def opportunity_history_views(o: Opportunity) -> list[OpportunityStageChangeView]:
    return [by_name(OpportunityStageChangeView, change) for change in o.history]


def opportunity_stage_view(s: OpportunityStage) -> OpportunityStageView:
    return by_name(OpportunityStageView, s)


def definition_view(d: WorkflowDefinition) -> WorkflowDefinitionView:
    return by_name(WorkflowDefinitionView, d, steps=tuple(
        by_name(StepDefinitionView, s, condition=by_name(ConditionView, s.condition) if s.condition else None)
        for s in d.steps))


def instance_view(i: WorkflowInstance) -> WorkflowInstanceView:
    return by_name(WorkflowInstanceView, i)


def step_views(i: WorkflowInstance) -> list[WorkflowStepView]:
    return [by_name(WorkflowStepView, s, instance_id=i.id) for s in i.steps]


def rollout_view(r: DepartmentRollout) -> RolloutView:
    return RolloutView(id=r.id, department_code=r.department_code, phase=r.phase.value, version=r.version,
                       checklist={key: ChecklistTargetView(target=c.target, done=c.done) for key, c in r.checklist.items()})

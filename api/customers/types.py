"""Customer, Contact, StageChange, Interaction and Activity as the API shows them."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from api.common.federation import ENTITY_KEY
from api.common.pages import nested_page
from api.common.relay import Connection, Node, to_global_id
from api.common.scalars import JSON
from api.context import Context
from api.customers.enums import ActivityKind, CustomerKindEnum, CustomerTierEnum, InteractionKindEnum, LifecycleStageEnum
from api.nodes import Children, Loaded, children, resolve_node
from api.organisation.types import Department, Staff, load_department, load_staff
from api.profitability import fields as external
from api.profitability.types import Receivables
from application.queries.pagination import PageRequest
from application.queries.views import ActivityView, ContactView, CustomerView, InteractionView
from application.queries.written import customer_view, interaction_view
from domain.customer import CustomerKind, CustomerTier, InteractionKind, LifecycleStage

if TYPE_CHECKING:
    from api.campaigns.types import Campaign
    from api.complaints.inputs import ComplaintFilter
    from api.complaints.types import Complaint
    from api.opportunities.inputs import OpportunityFilter
    from api.opportunities.types import Opportunity
    from api.orders.inputs import OrderFilter
    from api.orders.types import Order

__all__ = ["ActivityKind", "Customer", "CustomerKindEnum", "CustomerTierEnum", "InteractionKindEnum",
           "LifecycleStageEnum", "load_customer"]


async def load_customer(info: Info[Context, None], customer_id: uuid.UUID) -> "Customer":
    """The customer an interaction, order or complaint belongs to (they cannot exist without one)."""
    customer = await Customer.load(info, customer_id)
    if customer is None:
        raise LookupError(f"customer {customer_id} is missing")
    return customer  # type: ignore[no-any-return]


@strawberry.type
class Contact(Node, Loaded, loader="contact_by_id"):
    id: strawberry.ID
    name: str
    email: str | None
    phone: str | None
    title: str | None
    primary: bool

    @classmethod
    def from_view(cls, v: ContactView) -> "Contact":
        return cls(id=to_global_id("Contact", v.id), name=v.name, email=v.email, phone=v.phone, title=v.title,
                   primary=v.primary)


@strawberry.type
class StageChange:
    from_: LifecycleStageEnum | None = strawberry.field(name="from")  # type: ignore[valid-type]
    to: LifecycleStageEnum  # type: ignore[valid-type]
    at: datetime
    reason: str | None
    _by: strawberry.Private[object]

    @strawberry.field
    async def by(self, info: Info[Context, None]) -> Staff | None:
        return await load_staff(info, self._by)


@strawberry.type
class Interaction(Node, Loaded, loader="interaction_by_id", view_of=interaction_view):
    id: strawberry.ID
    kind: InteractionKindEnum  # type: ignore[valid-type]
    occurred_at: datetime
    summary: str
    rating: int | None = strawberry.field(description="1..5 for FEEDBACK, else null")
    _view: strawberry.Private[InteractionView]

    @classmethod
    def from_view(cls, v: InteractionView) -> "Interaction":
        return cls(id=to_global_id("Interaction", v.id), kind=InteractionKind(v.kind), occurred_at=v.occurred_at,
                   summary=v.summary, rating=v.rating, _view=v)

    @strawberry.field
    async def customer(self, info: Info[Context, None]) -> "Customer":
        return await load_customer(info, self._view.customer_id)

    @strawberry.field
    async def author(self, info: Info[Context, None]) -> Staff | None:
        return await load_staff(info, self._view.author_id)

    @strawberry.field
    async def department(self, info: Info[Context, None]) -> Department | None:
        return await load_department(info, self._view.department_id)


@strawberry.type
class Activity(Node, Loaded, loader="activity_by_id"):
    id: strawberry.ID
    at: datetime
    kind: ActivityKind
    summary: str
    _view: strawberry.Private[ActivityView]

    @classmethod
    def from_view(cls, v: ActivityView) -> "Activity":
        return cls(id=to_global_id("Activity", v.id), at=v.at, kind=ActivityKind(v.kind), summary=v.summary, _view=v)

    @strawberry.field
    async def department(self, info: Info[Context, None]) -> Department | None:
        return await load_department(info, self._view.department_id)

    @strawberry.field
    async def actor(self, info: Info[Context, None]) -> Staff | None:
        return await load_staff(info, self._view.actor_id)

    @strawberry.field(description="The Interaction, Complaint, Order or WorkflowInstance the entry is about; "
                                  "null for stage changes")
    async def subject(self, info: Info[Context, None]) -> Node | None:
        if self._view.subject_type is None or self._view.subject_id is None:
            return None
        return await resolve_node(info, self._view.subject_type, self._view.subject_id)


@strawberry.type(directives=[ENTITY_KEY])
class Customer(Node, Loaded, loader="customer_by_id", view_of=customer_view):
    id: strawberry.ID
    code: str = strawberry.field(description="Stable business key shared with ERP and finance systems")
    name: str
    kind: CustomerKindEnum  # type: ignore[valid-type]
    tier: CustomerTierEnum  # type: ignore[valid-type]
    lifecycle_stage: LifecycleStageEnum  # type: ignore[valid-type]
    attributes: JSON
    created_at: datetime
    updated_at: datetime
    version: int
    _view: strawberry.Private[CustomerView]

    @classmethod
    def from_view(cls, v: CustomerView) -> "Customer":
        return cls(id=to_global_id("Customer", v.id), code=v.code, name=v.name, kind=CustomerKind(v.kind),
                   tier=CustomerTier(v.tier), lifecycle_stage=LifecycleStage(v.stage), attributes=v.attributes,
                   created_at=v.created_at, updated_at=v.updated_at, version=v.version, _view=v)

    @strawberry.field
    async def stage_history(self, info: Info[Context, None]) -> list[StageChange]:
        history = await info.context.loaders.stage_history_by_customer.load(self._view.id)
        return [StageChange(from_=LifecycleStage(h.from_stage) if h.from_stage else None,
                            to=LifecycleStage(h.to_stage), at=h.at, reason=h.reason, _by=h.by_id)
                for h in history]

    @strawberry.field
    async def owner(self, info: Info[Context, None]) -> Staff | None:
        return await load_staff(info, self._view.owner_id)

    @strawberry.field
    async def contacts(self, info: Info[Context, None]) -> list[Contact]:
        return [Contact.from_view(v) for v in await info.context.loaders.contacts_by_customer.load(self._view.id)]

    @strawberry.field
    async def tags(self, info: Info[Context, None]) -> list[str]:
        return await info.context.loaders.tags_by_customer.load(self._view.id)

    @strawberry.field
    async def interactions(self, info: Info[Context, None], first: int | None = None, after: str | None = None,
                           last: int | None = None, before: str | None = None) -> Connection[Interaction]:
        customers = info.context.customers
        return await nested_page(info, "Customer.interactions", self._view.id, Interaction.from_view,
                                 lambda request: lambda ids: customers.interactions(ids, request),
                                 first, after, last, before)

    @strawberry.field(description="The customer's orders, newest first (a customerId in the filter is ignored)")
    async def orders(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None, last: int | None = None,
        before: str | None = None,
        filter: Annotated["OrderFilter", strawberry.lazy("api.orders.inputs")] | None = None,
    ) -> Connection[Annotated["Order", strawberry.lazy("api.orders.types")]]:
        return await children(info, "Order", Children(parent="customer", parent_id=self._view.id, filter=filter,
                                                      first=first, after=after, last=last, before=before))

    @strawberry.field(description="The customer's opportunities, newest first (a customerId in the filter is ignored)")
    async def opportunities(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None, last: int | None = None,
        before: str | None = None,
        filter: Annotated["OpportunityFilter", strawberry.lazy("api.opportunities.inputs")] | None = None,
    ) -> Connection[Annotated["Opportunity", strawberry.lazy("api.opportunities.types")]]:
        return await children(info, "Opportunity", Children(parent="customer", parent_id=self._view.id,
                                                            filter=filter, first=first, after=after, last=last,
                                                            before=before))

    @strawberry.field(description="The customer's complaints the caller may see, newest first "
                                  "(a customerId in the filter is ignored)")
    async def complaints(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None, last: int | None = None,
        before: str | None = None,
        filter: Annotated["ComplaintFilter", strawberry.lazy("api.complaints.inputs")] | None = None,
    ) -> Connection[Annotated["Complaint", strawberry.lazy("api.complaints.types")]]:
        return await children(info, "Complaint", Children(parent="customer", parent_id=self._view.id,
                                                          filter=filter, first=first, after=after, last=last,
                                                          before=before))

    @strawberry.field(description="The campaigns the customer is a member of, newest first")
    async def campaigns(self, info: Info[Context, None]) -> list[Annotated["Campaign",
                                                                       strawberry.lazy("api.campaigns.types")]]:
        return await children(info, "Campaign", Children(parent="customer", parent_id=self._view.id))

    @strawberry.field(description="From the finance system; null (with an entry in the response's errors) when it "
                                  "cannot be reached, null alone when it does not know the customer")
    async def receivables(self, info: Info[Context, None]) -> Receivables | None:
        return await external.receivables(info, self._view.code, self._view.owner_id)

    @strawberry.field(description="Everything every department did with this customer, newest first: "
                                  "interactions, complaint progress, orders, workflow decisions, stage changes, campaign responses")
    async def activity(self, info: Info[Context, None], first: int | None = None,
                       after: str | None = None) -> Connection[Activity]:
        loaders, customers = info.context.loaders, info.context.customers

        def fetch(request: PageRequest) -> Any:
            async def pages(customer_ids: list[uuid.UUID]) -> Any:
                # complaint entries only for those who may see the complaint
                return await customers.activity(customer_ids, request, complaint_scope=await loaders.complaint_scope())
            return pages

        return await nested_page(info, "Customer.activity", self._view.id, Activity.from_view, fetch, first, after)

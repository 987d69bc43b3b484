"""Customer, Contact, StageChange, Interaction and Activity as the API shows them."""
from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from api.context import Context

from api.common.errors import read
from api.common.federation import ENTITY_KEY, load_entity
from api.common.relay import Connection, Node, page_request, to_global_id
from api.common.scalars import JSON
from api.organisation.types import Department, Staff, load_department, load_staff
from api.profitability import fields as external
from api.profitability.types import Receivables
from application.queries.pagination import Page
from application.queries.views import ActivityView, ContactView, CustomerView, InteractionView, StageChangeView
from domain.customer import Customer as CustomerAggregate
from domain.customer import CustomerKind, CustomerTier, InteractionKind, LifecycleStage
from domain.customer import Interaction as InteractionAggregate

if TYPE_CHECKING:
    from api.complaints.inputs import ComplaintFilter
    from api.complaints.types import Complaint
    from api.orders.inputs import OrderFilter
    from api.orders.types import Order

CustomerKindEnum = strawberry.enum(CustomerKind, name="CustomerKind")
CustomerTierEnum = strawberry.enum(CustomerTier, name="CustomerTier")
LifecycleStageEnum = strawberry.enum(LifecycleStage, name="LifecycleStage")
InteractionKindEnum = strawberry.enum(InteractionKind, name="InteractionKind")


@strawberry.enum
class ActivityKind(Enum):
    INTERACTION = "INTERACTION"
    STAGE_CHANGE = "STAGE_CHANGE"
    COMPLAINT = "COMPLAINT"
    ORDER = "ORDER"
    WORKFLOW = "WORKFLOW"


async def load_customer(info: Info[Context, None], customer_id: uuid.UUID) -> "Customer":
    """The customer an interaction, order or complaint belongs to (they cannot exist without one)."""
    view = await info.context.loaders.customer_by_id.load(customer_id)
    if view is None:
        raise LookupError(f"customer {customer_id} is missing")
    return Customer.from_view(view)


@strawberry.type
class Contact(Node):
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
class Interaction(Node):
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

    @classmethod
    def from_aggregate(cls, i: InteractionAggregate) -> "Interaction":
        return cls.from_view(InteractionView(i.id, i.customer_id, i.kind.value, i.occurred_at, i.author_id,
                                             i.department_id, i.summary, i.rating))

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
class Activity(Node):
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
        from api.nodes import resolve_node

        if self._view.subject_type is None or self._view.subject_id is None:
            return None
        return await resolve_node(info, self._view.subject_type, self._view.subject_id)


@strawberry.type(directives=[ENTITY_KEY])
class Customer(Node):
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
    async def resolve_reference(cls, info: Info[Context, None], id: strawberry.ID) -> "Customer | None":
        """Federation: the Customer behind a representation, batched and as visible as through `node`."""
        return await load_entity("Customer", id, info.context.loaders.customer_by_id.load, cls.from_view)

    @classmethod
    def from_view(cls, v: CustomerView) -> "Customer":
        return cls(id=to_global_id("Customer", v.id), code=v.code, name=v.name, kind=CustomerKind(v.kind),
                   tier=CustomerTier(v.tier), lifecycle_stage=LifecycleStage(v.stage), attributes=v.attributes,
                   created_at=v.created_at, updated_at=v.updated_at, version=v.version, _view=v)

    @classmethod
    def from_aggregate(cls, c: CustomerAggregate) -> "Customer":
        return cls.from_view(CustomerView(c.id, c.code, c.name, c.kind.value, c.tier.value, c.stage.value,
                                          c.owner_id, c.attributes, c.version, c.created_at, c.updated_at))

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
        ctx = info.context

        async def run():  # type: ignore[no-untyped-def]
            request = page_request(first, after, last, before)
            return await ctx.loader_for(("Customer.interactions", request),
                                        lambda ids: ctx.customers.interactions(ids, request)).load(self._view.id)

        return Connection.from_page(await read(run), Interaction.from_view)

    @strawberry.field(description="The customer's orders, newest first (a customerId in the filter is ignored)")
    async def orders(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None, last: int | None = None,
        before: str | None = None,
        filter: Annotated["OrderFilter", strawberry.lazy("api.orders.inputs")] | None = None,
    ) -> Connection[Annotated["Order", strawberry.lazy("api.orders.types")]]:
        from api.orders.queries import list_orders

        return await list_orders(info, filter, first, after, last, before, customer_id=self._view.id)

    @strawberry.field(description="The customer's complaints the caller may see, newest first "
                                  "(a customerId in the filter is ignored)")
    async def complaints(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None, last: int | None = None,
        before: str | None = None,
        filter: Annotated["ComplaintFilter", strawberry.lazy("api.complaints.inputs")] | None = None,
    ) -> Connection[Annotated["Complaint", strawberry.lazy("api.complaints.types")]]:
        from api.complaints.queries import list_complaints

        return await list_complaints(info, filter, first, after, last, before, parent=("customer", self._view.id))

    @strawberry.field(description="From the finance system; null (with an entry in the response's errors) when it "
                                  "cannot be reached, null alone when it does not know the customer")
    async def receivables(self, info: Info[Context, None]) -> Receivables | None:
        return await external.receivables(info, self._view.code, self._view.owner_id)

    @strawberry.field(description="Everything every department did with this customer, newest first: "
                                  "interactions, complaint progress, orders, workflow decisions, stage changes")
    async def activity(self, info: Info[Context, None], first: int | None = None,
                       after: str | None = None) -> Connection[Activity]:
        ctx = info.context

        async def run():  # type: ignore[no-untyped-def]
            request = page_request(first, after)

            async def fetch(customer_ids: list[uuid.UUID]) -> list[Page[ActivityView]]:
                # complaint entries only for those who may see the complaint
                scope = await ctx.complaint_loaders.scope()
                return await ctx.customers.activity(customer_ids, request, complaint_scope=scope)

            return await ctx.loader_for(("Customer.activity", request), fetch).load(self._view.id)

        return Connection.from_page(await read(run), Activity.from_view)

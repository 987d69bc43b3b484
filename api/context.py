"""Per-request context: the acting staff member, the services, and DataLoaders built for this
request only (a module-level loader would cache across users)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Awaitable, Callable, Hashable, TypeVar

from strawberry.dataloader import DataLoader

from api.complaints.loaders import ComplaintLoaders
from api.orders.loaders import OrderLoaders
from api.profitability.loaders import ExternalLoaders
from api.workflows.loaders import WorkflowLoaders
from application.ports import Clock, UnitOfWork
from application.queries.complaints import ComplaintQueries
from application.queries.documents import DocumentReads
from application.queries.orders import OrderQueries
from application.queries.views import (
    ContactView,
    CustomerQueries,
    CustomerView,
    DepartmentView,
    InteractionView,
    OrganisationQueries,
    StageChangeView,
    StaffView,
)
from application.queries.workflows import WorkflowQueries
from domain.organisation import Staff
from infrastructure.settings import Settings

K = TypeVar("K")
V = TypeVar("V")


def loader(fetch: Callable[[list[K]], Awaitable[list[V]]]) -> DataLoader[K, V]:
    async def load(keys: list[K]) -> list[V]:
        return await fetch(list(keys))

    return DataLoader(load_fn=load)


@dataclass
class Loaders:
    """`<Thing>By<Key>` loaders; each batch runs on its own connection."""

    customer_by_id: DataLoader[uuid.UUID, CustomerView | None]
    staff_by_id: DataLoader[uuid.UUID, StaffView | None]
    department_by_id: DataLoader[uuid.UUID, DepartmentView | None]
    contacts_by_customer: DataLoader[uuid.UUID, list[ContactView]]
    contact_by_id: DataLoader[uuid.UUID, ContactView | None]
    tags_by_customer: DataLoader[uuid.UUID, list[str]]
    stage_history_by_customer: DataLoader[uuid.UUID, list[StageChangeView]]
    interaction_by_id: DataLoader[uuid.UUID, InteractionView | None]
    key_users_by_department: DataLoader[uuid.UUID, list[StaffView]]

    @classmethod
    def build(cls, customers: CustomerQueries, organisation: OrganisationQueries) -> "Loaders":
        return cls(
            customer_by_id=loader(customers.by_ids),
            staff_by_id=loader(organisation.staff_by_ids),
            department_by_id=loader(organisation.departments_by_ids),
            contacts_by_customer=loader(customers.contacts),
            contact_by_id=loader(customers.contacts_by_ids),
            tags_by_customer=loader(customers.tags),
            stage_history_by_customer=loader(customers.stage_history),
            interaction_by_id=loader(customers.interactions_by_ids),
            key_users_by_department=loader(organisation.key_users),
        )


@dataclass
class Context:
    request: Any
    response: Any
    actor: Staff
    settings: Settings
    clock: Clock
    uow_factory: Callable[[], UnitOfWork]
    customers: CustomerQueries
    organisation: OrganisationQueries
    services: Any
    orders: OrderQueries
    workflows: WorkflowQueries
    complaints: ComplaintQueries
    documents: DocumentReads  # whole selections answered as JSON by one statement (hot read paths)
    loaders: Loaders = field(init=False)
    order_loaders: OrderLoaders = field(init=False)
    workflow_loaders: WorkflowLoaders = field(init=False)
    complaint_loaders: ComplaintLoaders = field(init=False)
    connection_params: dict[str, Any] | None = None  # a WebSocket's connection_init payload
    _keyed_loaders: dict[Hashable, DataLoader[Any, Any]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.loaders = Loaders.build(self.customers, self.organisation)
        self.order_loaders = OrderLoaders.build(self.orders)
        self.workflow_loaders = WorkflowLoaders.build(self.workflows)
        self.complaint_loaders = ComplaintLoaders(self.complaints, self.organisation, lambda: self.actor)

    def uow(self) -> UnitOfWork:
        return self.uow_factory()

    @cached_property
    def external_loaders(self) -> ExternalLoaders:
        """The ERP's and the finance system's loaders for this request, made on first use."""
        return ExternalLoaders.build(self.services.product_costs(), self.services.receivables())

    def loader_for(self, key: Hashable, fetch: Callable[[list[Any]], Awaitable[list[Any]]]) -> DataLoader[Any, Any]:
        """This request's DataLoader for `key`, made on first use. A nested connection keys it by the relation
        and its arguments (`("Customer.complaints", filter, page)`), so every parent on a page that asks for
        the same page of its children is answered by one batch (one SQL statement); areas whose loaders have
        no field above use it too (e.g. webhooks)."""
        if key not in self._keyed_loaders:
            self._keyed_loaders[key] = loader(fetch)
        return self._keyed_loaders[key]

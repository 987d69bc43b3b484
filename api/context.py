"""The one door from a resolver into the application: a typed per-request `Context` with the read models and
ports a resolver may use, and `Loaders`, every DataLoader of the request (a module-level loader would cache
across users).

The composition root (api/app.py `get_context`) fills a Context from the dependency-injection container; no other
module of api/ sees the container (an import-linter contract in pyproject.toml keeps it so). A resolver reads a
read model as `ctx.complaints`, runs a use case with `ctx.uow()`, and loads one thing by its key as
`ctx.loaders.<thing>_by_<key>.load(key)`; a nested connection's page is `ctx.loaders.page(key, fetch)`."""
from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Generic, Hashable, Sequence, TypeVar, overload

from strawberry.dataloader import DataLoader

from api.complaints.loaders import scope_of

from application.ports import (
    ApiKeyRegistry,
    Clock,
    ComplaintReads,
    CustomerReceivables,
    DueDates,
    EventStream,
    FieldAccessPolicy,
    MaturityThresholdStore,
    ProductCosts,
    Receivables,
    UnitCost,
    UnitOfWork,
    WebhookRegistry,
)
from application.queries.audit import AuditQueries
from application.queries.campaigns import CampaignMemberView, CampaignQueries, CampaignView
from application.queries.complaints import (
    CategoryView,
    ComplaintQueries,
    ComplaintScope,
    ComplaintView,
    SlaHistoryView,
    TimelineEntryView,
)
from application.queries.documents import DocumentReads
from application.queries.events import EventQueries
from application.queries.integrations import HealthReporter
from application.queries.opportunities import (
    OpportunityQueries,
    OpportunityStageChangeView,
    OpportunityStageView,
    OpportunityView,
    PipelinePageRequest,
    SourcedView,
)
from application.queries.orders import BoardPageRequest, OrderLineView, OrderQueries, OrderView
from application.queries.maturity import MaturityQueries
from application.queries.pagination import Page
from application.queries.rollout import PhaseChangeView, RolloutQueries, RolloutView, StaffCountsView
from application.queries.profitability import ProfitabilityQueries
from application.queries.views import (
    ActivityView,
    ContactView,
    CustomerQueries,
    CustomerView,
    DepartmentView,
    InteractionView,
    OrganisationQueries,
    StageChangeView,
    StaffView,
)
from application.queries.webhooks import WebhookQueries, WebhookView
from application.queries.workflows import (
    WorkflowDefinitionView,
    WorkflowInstanceView,
    WorkflowQueries,
    WorkflowStepView,
)
from domain.api_key import ApiKey
from domain.calendar import BusinessCalendar
from domain.field_access import FieldAccessRule, GuardedField
from domain.organisation import Staff
from domain.sla import SlaPolicy
from infrastructure.settings import Settings

K = TypeVar("K")
V = TypeVar("V")
Fetch = Callable[[list[K]], Awaitable[list[V]]]


def batch(fetch: Fetch[K, V]) -> DataLoader[K, V]:
    """A DataLoader over `fetch` (one call per batch of keys, answers in the keys' order)."""
    async def load(keys: list[K]) -> list[V]:
        return await fetch(list(keys))

    return DataLoader(load_fn=load)


class _Batched(Generic[K, V]):
    """A `Loaders` attribute: the request's DataLoader over what `fetch` picks, made on first use."""

    def __init__(self, fetch: Callable[["Loaders"], Fetch[K, V]]) -> None:
        self.fetch = fetch
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, loaders: None, owner: type) -> "_Batched[K, V]": ...
    @overload
    def __get__(self, loaders: "Loaders", owner: type) -> DataLoader[K, V]: ...

    def __get__(self, loaders: "Loaders | None", owner: type) -> "DataLoader[K, V] | _Batched[K, V]":
        if loaders is None:
            return self
        made = loaders.__dict__[self.name] = batch(self.fetch(loaders))  # the instance's own from now on
        return made


def batched(fetch: Callable[["Loaders"], Fetch[K, V]]) -> Any:
    return _Batched(fetch)


class Loaders:
    """Every DataLoader of one request, named `<thing>_by_<key>`, each made when first asked for.

    Complaints (and activity entries about them) load through the reader's `ComplaintScope`, so a complaint
    the reader may not see is simply not found, wherever it is reached from (node, lookups, activity subjects);
    `complaint_as_written` is the one exception, for a mutation's payload (see there)."""

    customer_by_id: DataLoader[uuid.UUID, CustomerView | None] = batched(lambda ls: ls.ctx.customers.by_ids)
    contacts_by_customer: DataLoader[uuid.UUID, list[ContactView]] = batched(lambda ls: ls.ctx.customers.contacts)
    contact_by_id: DataLoader[uuid.UUID, ContactView | None] = batched(lambda ls: ls.ctx.customers.contacts_by_ids)
    tags_by_customer: DataLoader[uuid.UUID, list[str]] = batched(lambda ls: ls.ctx.customers.tags)
    stage_history_by_customer: DataLoader[uuid.UUID, list[StageChangeView]] = batched(
        lambda ls: ls.ctx.customers.stage_history)
    interaction_by_id: DataLoader[uuid.UUID, InteractionView | None] = batched(
        lambda ls: ls.ctx.customers.interactions_by_ids)
    activity_by_id: DataLoader[uuid.UUID, ActivityView | None] = batched(lambda ls: ls._activity)

    staff_by_id: DataLoader[uuid.UUID, StaffView | None] = batched(lambda ls: ls.ctx.organisation.staff_by_ids)
    department_by_id: DataLoader[uuid.UUID, DepartmentView | None] = batched(
        lambda ls: ls.ctx.organisation.departments_by_ids)
    key_users_by_department: DataLoader[uuid.UUID, list[StaffView]] = batched(
        lambda ls: ls.ctx.organisation.key_users)

    rollout_by_department: DataLoader[uuid.UUID, RolloutView | None] = batched(
        lambda ls: ls.ctx.rollout.rollouts_by_department)
    rollout_history_by_department: DataLoader[uuid.UUID, list[PhaseChangeView]] = batched(
        lambda ls: ls.ctx.rollout.history)
    checklist_counts_by_department: DataLoader[uuid.UUID, dict[str, int]] = batched(
        lambda ls: ls.ctx.rollout.checklist_counts)
    staff_counts_by_department: DataLoader[uuid.UUID, StaffCountsView] = batched(
        lambda ls: ls.ctx.rollout.staff_counts)

    order_by_id: DataLoader[uuid.UUID, OrderView | None] = batched(lambda ls: ls.ctx.orders.by_ids)
    lines_by_order: DataLoader[uuid.UUID, list[OrderLineView]] = batched(lambda ls: ls.ctx.orders.lines)
    # the Kanban's column pages: all columns asked for in one request are fetched in one statement
    board_page: DataLoader[BoardPageRequest, Page[OrderView]] = batched(lambda ls: ls.ctx.orders.board_pages)

    campaign_by_id: DataLoader[uuid.UUID, CampaignView | None] = batched(lambda ls: ls.ctx.campaigns.by_ids)
    member_by_key: DataLoader[tuple[uuid.UUID, uuid.UUID], CampaignMemberView | None] = batched(
        lambda ls: ls.ctx.campaigns.members_by_keys)  # (campaign, customer)
    funnel_by_campaign: DataLoader[uuid.UUID, dict[str, int]] = batched(lambda ls: ls.ctx.campaigns.funnels)
    campaigns_by_customer: DataLoader[uuid.UUID, list[CampaignView]] = batched(
        lambda ls: ls.ctx.campaigns.for_customers)
    sourced_by_campaign: DataLoader[uuid.UUID, SourcedView] = batched(lambda ls: ls.ctx.opportunities.sourced)
    opportunity_by_id: DataLoader[uuid.UUID, OpportunityView | None] = batched(lambda ls: ls.ctx.opportunities.by_ids)
    # stages are a handful of rows: the first batch reads them all, so a later one (a history's stages) costs nothing
    opportunity_stage_by_id: DataLoader[uuid.UUID, OpportunityStageView | None] = batched(
        lambda ls: ls._opportunity_stages)
    stage_history_by_opportunity: DataLoader[uuid.UUID, list[OpportunityStageChangeView]] = batched(
        lambda ls: ls.ctx.opportunities.history)
    # the pipeline board's column pages: every column asked for in one request in one statement
    pipeline_page: DataLoader[PipelinePageRequest, Page[OpportunityView]] = batched(
        lambda ls: ls.ctx.opportunities.pipeline_pages)

    workflow_definition_by_id: DataLoader[uuid.UUID, WorkflowDefinitionView | None] = batched(
        lambda ls: ls.ctx.workflows.definitions_by_ids)
    workflow_instance_by_id: DataLoader[uuid.UUID, WorkflowInstanceView | None] = batched(
        lambda ls: ls.ctx.workflows.instances_by_ids)
    steps_by_instance: DataLoader[uuid.UUID, list[WorkflowStepView]] = batched(lambda ls: ls.ctx.workflows.steps)
    workflows_by_subject: DataLoader[uuid.UUID, list[WorkflowInstanceView]] = batched(
        lambda ls: ls.ctx.workflows.instances_by_subject)

    complaint_by_id: DataLoader[uuid.UUID, ComplaintView | None] = batched(lambda ls: ls._complaints)
    complaint_as_written: DataLoader[uuid.UUID, ComplaintView | None] = batched(lambda ls: ls._written_complaints)
    timeline_entry_by_id: DataLoader[uuid.UUID, TimelineEntryView | None] = batched(
        lambda ls: ls.ctx.complaints.entries_by_ids)
    sla_history_by_complaint: DataLoader[uuid.UUID, SlaHistoryView] = batched(
        lambda ls: ls.ctx.complaints.sla_history)
    category_by_id: DataLoader[uuid.UUID, CategoryView | None] = batched(
        lambda ls: ls.ctx.complaints.categories_by_ids)
    policy_by_id: DataLoader[uuid.UUID, SlaPolicy | None] = batched(lambda ls: ls.ctx.complaints.policies_by_ids)
    calendar_by_id: DataLoader[uuid.UUID, BusinessCalendar | None] = batched(
        lambda ls: ls.ctx.complaints.calendars_by_ids)

    # the ERP's and the finance system's: the SKUs and codes one response needs reach each in one call
    unit_cost: DataLoader[tuple[str, str], UnitCost | None] = batched(lambda ls: ls._unit_costs)  # (sku, currency)
    receivables_by_code: DataLoader[str, CustomerReceivables | None] = batched(lambda ls: ls._receivables)

    api_key_by_id: DataLoader[uuid.UUID, ApiKey | None] = batched(lambda ls: ls.ctx.api_keys.by_ids)
    webhook_by_id: DataLoader[uuid.UUID, WebhookView | None] = batched(lambda ls: ls.ctx.webhook_queries.by_ids)
    field_access: DataLoader[str, dict[GuardedField, FieldAccessRule]] = batched(lambda ls: ls._field_access)

    def __init__(self, ctx: "Context", reader: Staff | None = None) -> None:
        self.ctx = ctx
        self._reader = reader  # a subscriber as re-read for one event; else the context's actor
        self._pages: dict[Hashable, DataLoader[Any, Any]] = {}
        self._scope: asyncio.Future[ComplaintScope] | None = None

    def page(self, key: Hashable, fetch: Fetch[Any, Any]) -> DataLoader[Any, Any]:
        """This request's DataLoader for a nested connection's page, keyed by the relation and its arguments
        (`("Customer.complaints", filter, page)`): every parent on a page that asks for the same page of its
        children is answered by one batch (one SQL statement)."""
        if key not in self._pages:
            self._pages[key] = batch(fetch)
        return self._pages[key]

    async def complaint_scope(self) -> ComplaintScope:
        """What the reader may see of complaints (their department read once per request, however many
        resolvers ask at the same time)."""
        if self._scope is None:
            self._scope = asyncio.ensure_future(scope_of(self.ctx.organisation, self._reader or self.ctx.actor))
        return await self._scope

    async def _complaints(self, ids: list[uuid.UUID]) -> list[ComplaintView | None]:
        return await self.ctx.complaints.by_ids(ids, await self.complaint_scope())

    async def _written_complaints(self, ids: list[uuid.UUID]) -> list[ComplaintView | None]:
        """A mutation's payload shows the complaint as the write left it, even when the write took it out of
        the writer's sight (a hand-over to another department): the use case has authorised the write."""
        scope = await self.complaint_scope()
        return await self.ctx.complaints.by_ids(ids, ComplaintScope(staff_id=scope.staff_id,
                                                                    department_id=scope.department_id,
                                                                    sees_all=True))

    async def _activity(self, ids: list[uuid.UUID]) -> list[ActivityView | None]:
        return await self.ctx.customers.activity_by_ids(ids, complaint_scope=await self.complaint_scope())

    async def _opportunity_stages(self, ids: list[uuid.UUID]) -> list[OpportunityStageView | None]:
        found = {stage.id: stage for stage in await self.ctx.opportunities.stages()}
        for stage_id, stage in found.items():
            self.opportunity_stage_by_id.prime(stage_id, stage)
        return [found.get(i) for i in ids]

    async def _unit_costs(self, keys: list[tuple[str, str]]) -> list[UnitCost | None]:
        found = await self.ctx.product_costs.unit_costs(keys)
        return [found.get(k) for k in keys]

    async def _receivables(self, codes: list[str]) -> list[CustomerReceivables | None]:
        found = await self.ctx.receivables.receivables(codes)
        return [found.get(c) for c in codes]

    async def _field_access(self, keys: list[str]) -> list[dict[GuardedField, FieldAccessRule]]:
        rules = await self.ctx.field_access.rules()  # once per request
        return [rules for _ in keys]


@dataclass(kw_only=True, eq=False)
class Context:
    """What a resolver may use of the application, typed; filled per request by api/app.py."""

    request: Any
    response: Any
    actor: Staff  # absent only while rendering the GraphiQL page, which resolves nothing
    settings: Settings
    clock: Clock
    uow: Callable[[], UnitOfWork]  # a new unit of work per call: one per use case
    customers: CustomerQueries
    organisation: OrganisationQueries
    orders: OrderQueries
    campaigns: CampaignQueries
    opportunities: OpportunityQueries
    workflows: WorkflowQueries
    complaints: ComplaintQueries
    documents: DocumentReads  # whole selections answered as JSON by one statement (hot read paths)
    events: EventStream  # committed events, for subscriptions
    event_queries: EventQueries  # the outbox as a feed
    audit: AuditQueries
    due_dates: DueDates
    field_access: FieldAccessPolicy
    api_keys: ApiKeyRegistry
    webhooks: WebhookRegistry
    webhook_queries: WebhookQueries
    profitability: ProfitabilityQueries
    rollout: RolloutQueries
    maturity: MaturityQueries
    maturity_thresholds: MaturityThresholdStore
    complaint_reads: ComplaintReads  # who read a complaint's timeline without handling it (written behind)
    product_costs: ProductCosts
    receivables: Receivables
    health_reporters: Sequence[HealthReporter]
    connection_params: dict[str, Any] | None = None  # a WebSocket's connection_init payload
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self)

    @property
    def admin(self) -> bool:
        """The caller is an active ADMIN (webhooks, API keys, field access, the audit log are theirs alone)."""
        return self.actor.active and self.actor.is_admin

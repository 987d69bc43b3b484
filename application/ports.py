"""The ports use cases talk to; infrastructure provides the adapters, tests provide fakes."""
from __future__ import annotations

import uuid
from datetime import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, AsyncIterator, Protocol, Self, Sequence

from application.activity import ActivityFeed
from application.queries.integrations import IntegrationHealthView
from domain.api_key import ApiKey
from domain.calendar import BusinessCalendar
from domain.campaign import Campaign, CampaignMember, Segment
from domain.complaint import Complaint, ComplaintCategory
from domain.customer import Customer, Interaction
from domain.field_access import FieldAccessRule, GuardedField
from domain.money import Money
from domain.opportunity import Opportunity, OpportunityStage
from domain.order import Order
from domain.organisation import Department, Role, Staff
from domain.rollout import DepartmentRollout
from domain.shared import DomainEvent
from domain.sla import SlaPolicy
from domain.webhook import Webhook
from domain.workflow import WorkflowDefinition, WorkflowInstance


class Clock(Protocol):
    def now(self) -> datetime: ...


class CustomerRepository(Protocol):
    """`for_update`: the customer is read to be changed, so concurrent writers take turns (docs/reliability.md);
    a lookup (whose customer is this, who owns them) takes no lock and holds nobody up."""

    async def get(self, customer_id: uuid.UUID, *, for_update: bool = False) -> Customer | None: ...
    async def get_by_code(self, code: str) -> Customer | None: ...
    async def get_many_by_code(self, codes: list[str], *, for_update: bool = False) -> dict[str, Customer]: ...
    async def add(self, customer: Customer) -> None: ...
    async def add_many(self, batch: list[Customer]) -> None:
        """Insert new customers in a few multi-row statements (bulk import)."""

    async def save(self, customer: Customer) -> None:
        """Persist changes; raises Conflict when the stored version moved on."""


class StaffRepository(Protocol):
    async def get(self, staff_id: uuid.UUID, *, for_update: bool = False) -> Staff | None:
        """`for_update` as CustomerRepository.get's."""
    async def get_by_email(self, email: str) -> Staff | None: ...
    async def get_many_by_email(self, emails: list[str]) -> dict[str, Staff]: ...
    async def add(self, staff: Staff) -> None: ...
    async def save(self, staff: Staff) -> None: ...
    async def active_in_department(self, department_id: uuid.UUID, role: Role | None = None) -> list[Staff]:
        """Active staff of a department (with exactly `role`, when given), e.g. whom to tell about it."""


class DepartmentRepository(Protocol):
    async def get(self, department_id: uuid.UUID) -> Department | None: ...
    async def get_by_code(self, code: str) -> Department | None: ...
    async def save(self, department: Department) -> None:
        """Store its calendar (the only thing about a department that changes)."""


class InteractionRepository(Protocol):
    async def add(self, interaction: Interaction) -> None: ...
    async def get(self, interaction_id: uuid.UUID) -> Interaction | None: ...


class IdempotencyStore(Protocol):
    async def lookup(self, scope: str, key: str) -> tuple[str, uuid.UUID] | None:
        """(request fingerprint, id of the created object) for a key seen before."""

    async def remember(self, scope: str, key: str, fingerprint: str, result_id: uuid.UUID) -> None: ...


class Sequences(Protocol):
    async def advance_past(self, name: str, value: int) -> None:
        """Values drawn later are above `value` (a number an import gave)."""

    async def next_value(self, name: str) -> int:
        """A unique, increasing number (gaps allowed) for business keys such as C-000123."""


class OrderRepository(Protocol):
    async def get(self, order_id: uuid.UUID) -> Order | None: ...
    async def add(self, order: Order) -> None: ...
    async def save(self, order: Order) -> None:
        """Persist changes; raises Conflict when the stored version moved on."""


@dataclass(frozen=True)
class ImportTarget:
    """A customer a campaign-member import names: its code, its contacts' ids by e-mail, whether it opted out of
    any campaign."""

    customer_id: uuid.UUID
    code: str
    contacts: dict[str, uuid.UUID]
    opted_out: bool


class CampaignRepository(Protocol):
    """Campaigns and their members. Members are rows, not loaded with the campaign: a segment adds thousands at
    once, set-based in the database."""

    async def get(self, campaign_id: uuid.UUID) -> Campaign | None: ...
    async def add(self, campaign: Campaign) -> None: ...
    async def save(self, campaign: Campaign) -> None:
        """Persist a status change; raises Conflict when the stored version moved on."""

    async def named_customers(self, customer_ids: list[uuid.UUID]) -> dict[uuid.UUID, bool]:
        """Of the given ids, those that are customers, each with whether it opted out of any campaign."""

    async def add_matching(self, campaign_id: uuid.UUID, segment: Segment | None, customer_ids: list[uuid.UUID],
                           at: datetime, *, dry_run: bool = False) -> int:
        """Make every customer the segment matches, or that is named, a TARGETED member, unless they are one
        already or opted out of any campaign: one INSERT ... SELECT (with `dry_run`, one count of the same
        rows, nothing written). Returns how many were (or would be) added."""

    async def members(self, campaign_id: uuid.UUID, customer_ids: list[uuid.UUID]) -> dict[uuid.UUID, CampaignMember]:
        """The campaign's members among these customers, locked for this transaction (on PostgreSQL)."""

    async def add_members(self, members: list[CampaignMember]) -> None:
        """Insert new members (an import's batch) in one multi-row statement."""

    async def save_member(self, member: CampaignMember) -> None:
        """Persist a member's move or contact; raises Conflict when it changed since it was read."""

    async def import_targets(self, codes: list[str], ids: list[uuid.UUID]) -> list[ImportTarget]:
        """The customers with these codes or ids, with their contacts and opt-out (two statements)."""


class OpportunityStageRepository(Protocol):
    async def get(self, stage_id: uuid.UUID) -> OpportunityStage | None: ...
    async def get_by_name(self, name: str) -> OpportunityStage | None: ...
    async def all(self) -> list[OpportunityStage]:
        """By position (then name)."""
    async def add(self, stage: OpportunityStage, *, at: datetime) -> None: ...


class OpportunityRepository(Protocol):
    async def get(self, opportunity_id: uuid.UUID) -> Opportunity | None:
        """Locked for the write (FOR NO KEY UPDATE on PostgreSQL), with its stage and stage history."""
    async def get_many_by_number(self, numbers: list[str]) -> dict[str, Opportunity]: ...
    async def add(self, opportunity: Opportunity) -> None: ...
    async def add_many(self, batch: list[Opportunity]) -> None: ...
    async def save(self, opportunity: Opportunity) -> None:
        """Guarded by the version read: Conflict when another writer came first."""


class WorkflowDefinitionRepository(Protocol):
    async def get(self, definition_id: uuid.UUID) -> WorkflowDefinition | None: ...
    async def latest(self, key: str) -> WorkflowDefinition | None:
        """The highest version of the key, active or retired; None for a key never defined."""

    async def add(self, definition: WorkflowDefinition, *, by: uuid.UUID | None, at: datetime) -> None:
        """Store a new version; raises Conflict when that version of the key exists already."""

    async def retire(self, definition: WorkflowDefinition) -> None:
        """Mark a version inactive; raises Conflict when it was retired already (a concurrent redefinition)."""


class WorkflowRepository(Protocol):
    async def get(self, instance_id: uuid.UUID) -> WorkflowInstance | None: ...
    async def add(self, instance: WorkflowInstance) -> None: ...
    async def save(self, instance: WorkflowInstance) -> None:
        """Persist the instance and its steps; raises Conflict when the stored version moved on."""

    async def claim_overdue(self, now: datetime, limit: int) -> list[tuple[uuid.UUID, str]]:
        """(instance id, step key) of ACTIVE steps past their due time and not escalated yet, soonest due
        first (one indexed query), their instances locked for this transaction; instances another worker
        or a person holds are skipped, not waited for."""


class RolloutRepository(Protocol):
    async def get(self, department_id: uuid.UUID, *, for_update: bool = False) -> DepartmentRollout | None:
        """The department's rollout (SURVEY at version 0 when never touched); None for no such department."""

    async def save(self, rollout: DepartmentRollout) -> None:
        """Persist the phase, checklist, new history entries and trainings; Conflict when the version moved on."""


class DueDates(Protocol):
    """When a workflow step falls due: `minutes` of the department's working time after `start`
    (its business calendar, else the default; see `domain.workflow.business_due_at`)."""

    async def due_at(self, department_id: uuid.UUID, start: datetime, minutes: int) -> datetime: ...


class ComplaintRepository(Protocol):
    async def get(self, complaint_id: uuid.UUID) -> Complaint | None:
        """Load for a change: on PostgreSQL the row stays locked until the transaction ends, so the
        SLA worker and a person never work on the same complaint at once."""

    async def add(self, complaint: Complaint) -> None: ...
    async def save(self, complaint: Complaint) -> None:
        """Persist changes, new timeline entries and fired SLA events; raises Conflict when the
        stored version moved on."""

    async def claim_due(self, now: datetime, limit: int) -> list[uuid.UUID]:
        """Ids of complaints whose next SLA deadline is at or before `now` (one indexed query),
        locked for this transaction; rows another worker holds are skipped, not waited for."""


class ComplaintCategoryRepository(Protocol):
    async def get(self, category_id: uuid.UUID) -> ComplaintCategory | None: ...
    async def get_by_code(self, code: str) -> ComplaintCategory | None: ...
    async def parents(self) -> dict[uuid.UUID, uuid.UUID | None]:
        """The whole tree as child -> parent (categories are few)."""

    async def add(self, category: ComplaintCategory, *, at: datetime) -> None:
        """Raises Conflict when the code was taken meanwhile."""


class SlaPolicyRepository(Protocol):
    async def get(self, policy_id: uuid.UUID) -> SlaPolicy | None: ...
    async def active(self) -> list[SlaPolicy]: ...
    async def add(self, policy: SlaPolicy, *, by: uuid.UUID | None, at: datetime) -> None: ...
    async def retire(self, policy: SlaPolicy) -> None:
        """Mark an active policy inactive; raises Conflict when it was retired meanwhile."""


class CalendarRepository(Protocol):
    async def get(self, calendar_id: uuid.UUID) -> BusinessCalendar | None: ...
    async def get_by_name(self, name: str) -> BusinessCalendar | None: ...
    async def add(self, calendar: BusinessCalendar, *, by: uuid.UUID | None, at: datetime) -> None:
        """Raises Conflict when the name was taken meanwhile."""


@dataclass(frozen=True)
class Notification:
    recipient_id: uuid.UUID
    kind: str  # e.g. SLA_BREACH
    message: str
    dedupe_key: str  # (dedupe_key, recipient) is told at most once
    at: datetime
    subject_type: str | None = None
    subject_id: uuid.UUID | None = None


class ComplaintReads(Protocol):
    """Who read a complaint's timeline without handling it (the maturity figures' "sales read the progress"): one
    row per reader, complaint and UTC day. `record` only notes it, at once and without I/O; the rows are written
    behind the read path, in batches (infrastructure/complaint_reads.py), so a read costs no statement."""

    def record(self, complaint_id: uuid.UUID, staff_id: uuid.UUID, at: datetime) -> None: ...

    async def flush(self) -> None:
        """Write what was noted so far (the background writer does this on its own, shortly after a read)."""


class Notifier(Protocol):
    """Tells a person something. Part of the unit of work: the notification is recorded in the same
    transaction as the decision to send it, so it is sent exactly once or not at all."""

    async def notify(self, notification: Notification) -> None: ...


class UnitOfWork(Protocol):
    """One use case, one transaction: rolls back unless `commit()` is called.

    `commit()` first hands the events recorded by the aggregates it saw to the message bus
    (application/messagebus.py), whose handlers react in the same transaction (and may record more);
    then the events are written to the outbox in the same transaction and handed to the
    EventPublisher only after the commit succeeded.
    """

    customers: CustomerRepository
    staff: StaffRepository
    departments: DepartmentRepository
    interactions: InteractionRepository
    idempotency: IdempotencyStore
    sequences: Sequences
    orders: OrderRepository
    campaigns: CampaignRepository
    opportunities: OpportunityRepository
    opportunity_stages: OpportunityStageRepository
    workflow_definitions: WorkflowDefinitionRepository
    workflows: WorkflowRepository
    complaints: ComplaintRepository
    complaint_categories: ComplaintCategoryRepository
    sla_policies: SlaPolicyRepository
    calendars: CalendarRepository
    notifier: Notifier
    activity: ActivityFeed
    rollouts: RolloutRepository

    async def __aenter__(self) -> Self: ...
    async def __aexit__(self, *exc: object) -> None: ...
    async def commit(self) -> None: ...
    async def flush(self, *, write_events: bool = True) -> None:
        """Write the pending events to the outbox (or drop them) and forget the aggregates seen
        so far: bulk work in one transaction keeps one batch in memory. Like `commit`, hands the
        events to the message bus first (unless they are dropped)."""

    def recorded_events(self) -> list[DomainEvent]:
        """The events the aggregates seen so far have recorded and not yet handed on (for the bus)."""


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...


class EventPublisher(Protocol):
    async def publish(self, events: list[DomainEvent]) -> None:
        """Deliver committed events to in-process subscribers (live updates)."""


class EventStream(Protocol):
    """Committed domain events for live subscribers. The in-process publisher is one; a
    cross-process one (PostgreSQL LISTEN/NOTIFY feeding each process's local subscribers) would be
    another, with the same contract: events arrive only after their commit, in commit order per
    aggregate, and a slow subscriber may lose the oldest ones rather than block writers."""

    def subscribe(self) -> AsyncIterator[DomainEvent]: ...


class StreamInterrupted(Exception):
    """Live events were missed (the cross-process relay was cut off longer than it can replay): the stream ends
    with this rather than carry on with a hole. Subscriptions end with extensions.code EVENTS_MISSED; a client
    resubscribes and reloads what it shows (the event feed, `events(after:)`, has every event)."""

    code = "EVENTS_MISSED"


class ServiceUnavailable(Exception):
    """The database did not answer (down, unreachable, or slower than its timeouts). Nothing was written; the
    API answers HTTP 503 with Retry-After and extensions.code SERVICE_UNAVAILABLE."""

    code = "SERVICE_UNAVAILABLE"


class TransientFailure(Exception):
    """A statement failed for a passing reason (the connection was lost mid-statement, a serialisation
    conflict). Its transaction was rolled back, so repeating the request (with the same idempotency key for a
    mutation) is safe: extensions.code TRANSIENT."""

    code = "TRANSIENT"


# ------------------------------------------------------------ systems the CRM reads from: ERP and finance
# (infrastructure/erp/ and infrastructure/finance/ implement them: Tryton over JSON-RPC, or a static file;
# infrastructure/resilience.py puts timeouts, a short-lived cache and a circuit breaker around either)


class DependencyUnavailable(Exception):
    """An external system did not answer in time, failed, or its circuit breaker is open. The API shows the
    fields that needed it as null, each with an error whose extensions.code is DEPENDENCY_UNAVAILABLE."""

    def __init__(self, system: str, reason: str) -> None:
        super().__init__(f"{system} is unavailable: {reason}")
        self.system = system
        self.reason = reason


@dataclass(frozen=True)
class UnitCost:
    """What one unit of a SKU costs, in the currency it was asked for, at the ERP's precision (not rounded)."""

    sku: str
    amount: Decimal
    currency: str
    as_of: datetime
    source: str  # which ERP answered, e.g. "tryton"


class ProductCosts(Protocol):
    source: str

    async def unit_costs(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], UnitCost | None]:
        """Unit costs for (sku, currency) pairs, converted with the ERP's exchange rates; None for a SKU the
        ERP does not know or a currency it has no rate for. One round trip to the ERP for all of them.
        Raises DependencyUnavailable."""


@dataclass(frozen=True)
class CustomerReceivables:
    outstanding: Money  # everything the customer owes, due or not
    overdue: Money  # what is due already (in Tryton: maturity date today or earlier)
    credit_limit: Money | None
    as_of: datetime
    source: str  # which finance system answered, e.g. "tryton"


class Receivables(Protocol):
    source: str

    async def receivables(self, customer_codes: Sequence[str]) -> dict[str, CustomerReceivables | None]:
        """Receivables per customer code (None for a customer the finance system does not know), in one round
        trip. Raises DependencyUnavailable."""


class IntegrationRecords(Protocol):
    """What the integration sync (application/integration_sync.py) keeps of the ERP's unit costs, finance's
    receivables and the joined systems' health (infrastructure/db/integration_records.py). Each call is its own
    transaction."""

    async def sample_health(self, views: Sequence[IntegrationHealthView], at: datetime) -> None:
        """One row per view (DISABLED ones too: the figures leave them out)."""

    async def forget_samples(self, before: datetime) -> int:
        """Deletes the health samples taken before `before`; how many."""

    async def costs_to_check(self, checked_before: datetime, limit: int) -> list[tuple[str, str]]:
        """Up to `limit` (SKU, currency) pairs of order lines never checked or last checked before
        `checked_before`."""

    async def save_costs(self, asked: Sequence[tuple[str, str]], found: dict[tuple[str, str], UnitCost | None],
                         source: str, at: datetime) -> None:
        """Upserts what the ERP answered for each pair asked (a missing or None answer: it does not know it)."""

    async def customers_to_check(self, checked_before: datetime, limit: int) -> list[tuple[uuid.UUID, str]]:
        """Up to `limit` (customer id, code) never checked or last checked before `checked_before` (or whose code
        changed since)."""

    async def save_receivables(self, asked: Sequence[tuple[uuid.UUID, str]],
                               found: dict[str, CustomerReceivables | None], source: str, at: datetime) -> None:
        """Upserts what finance answered for each customer asked (a missing or None answer: it does not know it)."""


# ------------------------------------------------------------ events out: the outbox relay's ports
# (application/outbox_relay.py drives them; infrastructure/outbox/ implements them)


@dataclass(frozen=True)
class OutboxEvent:
    """A committed domain event as the relay reads it back from the outbox; `position` is its place
    in the outbox (later events of one aggregate always have higher positions)."""

    position: int
    id: uuid.UUID
    type: str
    aggregate_type: str
    aggregate_id: uuid.UUID
    occurred_at: datetime
    payload: dict[str, Any]
    actor_id: uuid.UUID | None = None


class DeliveryFailed(Exception):
    """A destination did not take an event (connection refused, timeout, non-2xx answer, broker nack)."""


@dataclass(frozen=True)
class WebhookDelivery:
    """One event leased to this relay for one webhook; `attempts` counts the failed tries so far."""

    webhook_id: uuid.UUID
    url: str
    secret: str
    event: OutboxEvent
    attempts: int = 0


class MaturityThresholdStore(Protocol):
    async def stored(self) -> dict[str, float]:
        """The thresholds an ADMIN set, by figure key (the others have their defaults: domain/maturity.py)."""

    async def save(self, key: str, value: float | None, by: Staff, at: datetime) -> None:
        """Set one (None: back to the default), with its audit record, in one transaction."""


class FieldAccessPolicy(Protocol):
    async def rules(self) -> dict[GuardedField, FieldAccessRule]:
        """Every guarded field's rule: as stored, else the default."""

    async def save(self, rule: FieldAccessRule, by: Staff, at: datetime) -> None: ...


class ApiKeyRegistry(Protocol):
    async def add(self, key: ApiKey, secret_hash: str) -> None:
        """Store the key with the hash of its secret (the secret itself is never stored)."""

    async def get(self, key_id: uuid.UUID) -> ApiKey | None: ...

    async def all(self) -> list[ApiKey]:
        """Every key, revoked ones too, oldest first."""

    async def by_ids(self, ids: list[uuid.UUID]) -> list[ApiKey | None]: ...

    async def revoke(self, key: ApiKey) -> None:
        """Store the key's revocation."""


class WebhookRegistry(Protocol):
    async def add(self, webhook: Webhook, secret: str) -> None:
        """Store the webhook with its signing secret (never readable through the API again); it
        receives the events committed after this call."""


class WebhookOutbox(Protocol):
    """What each webhook still has to receive, kept apart from the outbox rows others read."""

    async def fan_out(self, now: datetime, limit: int) -> int:
        """Queue the next (at most `limit`) outbox events, in outbox order, for every active webhook
        that wants them; returns how many outbox events it went past (0: caught up). Never skips an
        event whose transaction is still running."""

    async def claim(self, now: datetime, limit: int) -> list[list[WebhookDelivery]]:
        """Due deliveries, leased to this relay, as chains per (webhook, aggregate) in outbox order.
        A chain starts at that aggregate's oldest pending event for that webhook, so nothing
        overtakes an event that is still being retried; parked events no longer hold the rest back."""

    async def delivered(self, deliveries: list[WebhookDelivery], now: datetime) -> None:
        """The receivers took these (recorded together: a crash before this resends them all)."""

    async def failed(self, delivery: WebhookDelivery, now: datetime, error: str, retry_at: datetime | None) -> None:
        """Record a failed try: due again at `retry_at`, or parked when it is None."""

    async def release(self, deliveries: list[WebhookDelivery]) -> None:
        """Give back leased deliveries this relay did not try (their chain stopped)."""

    async def renew(self, now: datetime) -> None:
        """Extend every lease this relay holds by a lease from `now` (its heartbeat): a live relay keeps
        its claims however long its chains take, a dead one's run out within one lease."""


class WebhookSender(Protocol):
    async def send(self, delivery: WebhookDelivery) -> None:
        """POST the event, signed; raises DeliveryFailed unless the receiver answered 2xx."""


@dataclass(frozen=True)
class BrokerBatch:
    events: list[OutboxEvent]
    failures: int  # failed attempts in a row before this one


class BrokerOutbox(Protocol):
    """The broker's cursor in the outbox: everything up to it was confirmed by the broker."""

    async def claim(self, now: datetime, limit: int) -> BrokerBatch | None:
        """Lease the cursor and return the next events after it (possibly none, when the broker
        needs a retry to show it is back); None when another relay holds the lease, a retry is not
        due yet, or there is nothing to do."""

    async def delivered(self, upto: int | None, now: datetime) -> None:
        """The broker confirmed everything up to `upto` (None: only reachable); move on, release."""

    async def failed(self, now: datetime, error: str, retry_at: datetime) -> None: ...

    async def renew(self, now: datetime) -> None:
        """Extend this relay's lease on the cursor, if it holds it (WebhookOutbox.renew)."""


class MessageBroker(Protocol):
    async def publish(self, events: list[OutboxEvent]) -> None:
        """Publish persistently with publisher confirms, in order per aggregate; returns once the
        broker confirmed all of them, raises DeliveryFailed otherwise. With no events it only checks
        that the broker is reachable."""

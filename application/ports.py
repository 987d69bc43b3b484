"""The ports use cases talk to; infrastructure provides the adapters, tests provide fakes."""
from __future__ import annotations

import uuid
from datetime import datetime
from dataclasses import dataclass
from typing import AsyncIterator, Protocol, Self

from domain.calendar import BusinessCalendar
from domain.complaint import Complaint, ComplaintCategory
from domain.customer import Customer, Interaction
from domain.order import Order
from domain.organisation import Department, Staff
from domain.shared import DomainEvent
from domain.sla import SlaPolicy
from domain.workflow import WorkflowDefinition, WorkflowInstance


class Clock(Protocol):
    def now(self) -> datetime: ...


class CustomerRepository(Protocol):
    async def get(self, customer_id: uuid.UUID) -> Customer | None: ...
    async def get_by_code(self, code: str) -> Customer | None: ...
    async def get_many_by_code(self, codes: list[str]) -> dict[str, Customer]: ...
    async def add(self, customer: Customer) -> None: ...
    async def add_many(self, batch: list[Customer]) -> None:
        """Insert new customers in a few multi-row statements (bulk import)."""

    async def save(self, customer: Customer) -> None:
        """Persist changes; raises Conflict when the stored version moved on."""


class StaffRepository(Protocol):
    async def get(self, staff_id: uuid.UUID) -> Staff | None: ...
    async def get_by_email(self, email: str) -> Staff | None: ...
    async def get_many_by_email(self, emails: list[str]) -> dict[str, Staff]: ...
    async def add(self, staff: Staff) -> None: ...
    async def save(self, staff: Staff) -> None: ...


class DepartmentRepository(Protocol):
    async def get(self, department_id: uuid.UUID) -> Department | None: ...
    async def get_by_code(self, code: str) -> Department | None: ...


class InteractionRepository(Protocol):
    async def add(self, interaction: Interaction) -> None: ...
    async def get(self, interaction_id: uuid.UUID) -> Interaction | None: ...


class IdempotencyStore(Protocol):
    async def lookup(self, scope: str, key: str) -> tuple[str, uuid.UUID] | None:
        """(request fingerprint, id of the created object) for a key seen before."""

    async def remember(self, scope: str, key: str, fingerprint: str, result_id: uuid.UUID) -> None: ...


class Sequences(Protocol):
    async def next_value(self, name: str) -> int:
        """A unique, increasing number (gaps allowed) for business keys such as C-000123."""


class OrderRepository(Protocol):
    async def get(self, order_id: uuid.UUID) -> Order | None: ...
    async def add(self, order: Order) -> None: ...
    async def save(self, order: Order) -> None:
        """Persist changes; raises Conflict when the stored version moved on."""


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


class DueDates(Protocol):
    """When a workflow step falls due: `minutes` of the department's working time after `start`."""

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


class Notifier(Protocol):
    """Tells a person something. Part of the unit of work: the notification is recorded in the same
    transaction as the decision to send it, so it is sent exactly once or not at all."""

    async def notify(self, notification: Notification) -> None: ...


class UnitOfWork(Protocol):
    """One use case, one transaction: rolls back unless `commit()` is called.

    Events recorded by the aggregates it saw are written to the outbox in the same
    transaction and handed to the EventPublisher only after the commit succeeded.
    """

    customers: CustomerRepository
    staff: StaffRepository
    departments: DepartmentRepository
    interactions: InteractionRepository
    idempotency: IdempotencyStore
    sequences: Sequences
    orders: OrderRepository
    workflow_definitions: WorkflowDefinitionRepository
    workflows: WorkflowRepository
    complaints: ComplaintRepository
    complaint_categories: ComplaintCategoryRepository
    sla_policies: SlaPolicyRepository
    calendars: CalendarRepository
    notifier: Notifier

    async def __aenter__(self) -> Self: ...
    async def __aexit__(self, *exc: object) -> None: ...
    async def commit(self) -> None: ...
    async def flush(self, *, write_events: bool = True) -> None:
        """Write the pending events to the outbox (or drop them) and forget the aggregates seen
        so far: bulk work in one transaction keeps one batch in memory."""


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

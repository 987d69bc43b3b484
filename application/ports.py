"""The ports use cases talk to; infrastructure provides the adapters, tests provide fakes."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol, Self

from domain.customer import Customer, Interaction
from domain.organisation import Department, Staff
from domain.shared import DomainEvent


class Clock(Protocol):
    def now(self) -> datetime: ...


class CustomerRepository(Protocol):
    async def get(self, customer_id: uuid.UUID) -> Customer | None: ...
    async def get_by_code(self, code: str) -> Customer | None: ...
    async def get_many_by_code(self, codes: list[str]) -> dict[str, Customer]: ...
    async def add(self, customer: Customer) -> None: ...
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

    async def __aenter__(self) -> Self: ...
    async def __aexit__(self, *exc: object) -> None: ...
    async def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...


class EventPublisher(Protocol):
    async def publish(self, events: list[DomainEvent]) -> None:
        """Deliver committed events to in-process subscribers (live updates)."""

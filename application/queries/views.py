"""DTOs the read models return: exactly what the API shows, nothing that needs an aggregate."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from application.queries.pagination import Page, PageRequest


@dataclass(frozen=True, kw_only=True)
class DepartmentView:
    id: uuid.UUID
    code: str
    name: str
    calendar_id: uuid.UUID | None = None


@dataclass(frozen=True, kw_only=True)
class StaffView:
    id: uuid.UUID
    name: str
    email: str
    role: str
    active: bool
    department_id: uuid.UUID
    version: int


@dataclass(frozen=True, kw_only=True)
class CustomerView:
    id: uuid.UUID
    code: str
    name: str
    kind: str
    tier: str
    stage: str
    owner_id: uuid.UUID | None
    attributes: dict[str, Any]
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, kw_only=True)
class ContactView:
    id: uuid.UUID
    name: str
    email: str | None
    phone: str | None
    title: str | None
    primary: bool


@dataclass(frozen=True, kw_only=True)
class StageChangeView:
    from_stage: str | None
    to_stage: str
    at: datetime
    by_id: uuid.UUID | None
    reason: str | None


@dataclass(frozen=True, kw_only=True)
class InteractionView:
    id: uuid.UUID
    customer_id: uuid.UUID
    kind: str
    occurred_at: datetime
    author_id: uuid.UUID | None
    department_id: uuid.UUID | None
    summary: str
    rating: int | None


@dataclass(frozen=True, kw_only=True)
class ActivityView:
    at: datetime
    kind: str
    department_id: uuid.UUID | None
    actor_id: uuid.UUID | None
    summary: str
    subject_type: str | None
    subject_id: uuid.UUID | None
    id: uuid.UUID  # the event's id (a replayed event adds no second entry)


class CustomerSortField(StrEnum):
    NAME = "NAME"
    CREATED_AT = "CREATED_AT"
    UPDATED_AT = "UPDATED_AT"


@dataclass(frozen=True)
class CustomerSort:
    field: CustomerSortField = CustomerSortField.CREATED_AT
    descending: bool = True


@dataclass(frozen=True)
class CustomerFilter:
    search: str | None = None
    stages: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()
    owner_id: uuid.UUID | None = None
    tag: str | None = None
    ids: tuple[uuid.UUID, ...] = field(default=())


class CustomerQueries(Protocol):
    async def list(self, filter: CustomerFilter, sort: CustomerSort, page: PageRequest) -> Page[CustomerView]: ...
    async def by_ids(self, ids: list[uuid.UUID]) -> list[CustomerView | None]: ...
    async def by_code(self, code: str) -> CustomerView | None: ...
    async def contacts(self, customer_ids: list[uuid.UUID]) -> list[list[ContactView]]: ...
    async def contacts_by_ids(self, ids: list[uuid.UUID]) -> list[ContactView | None]: ...
    async def tags(self, customer_ids: list[uuid.UUID]) -> list[list[str]]: ...
    async def stage_history(self, customer_ids: list[uuid.UUID]) -> list[list[StageChangeView]]: ...
    async def interactions(self, customer_ids: list[uuid.UUID], page: PageRequest) -> list[Page[InteractionView]]:
        """Each customer's page, newest first, in one batch (per-parent pages take a list of parents)."""

    async def interactions_by_ids(self, ids: list[uuid.UUID]) -> list[InteractionView | None]: ...
    async def activity(self, customer_ids: list[uuid.UUID], page: PageRequest,
                       complaint_scope: Any = None) -> list[Page[ActivityView]]:
        """Each customer's page, newest first; with a ComplaintScope, complaint entries only of complaints it
        may see."""

    async def activity_by_ids(self, ids: list[uuid.UUID], complaint_scope: Any = None) -> list[ActivityView | None]:
        """Entries by id, as visible as in `activity`."""


class OrganisationQueries(Protocol):
    async def departments(self) -> list[DepartmentView]: ...
    async def departments_by_ids(self, ids: list[uuid.UUID]) -> list[DepartmentView | None]: ...
    async def staff_by_ids(self, ids: list[uuid.UUID]) -> list[StaffView | None]: ...
    async def staff(self, department_id: uuid.UUID | None, page: PageRequest) -> Page[StaffView]: ...
    async def staff_of_departments(self, department_ids: list[uuid.UUID],
                                   page: PageRequest) -> list[Page[StaffView]]: ...
    async def key_users(self, department_ids: list[uuid.UUID]) -> list[list[StaffView]]: ...

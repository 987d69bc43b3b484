"""Read models of orders: what the API shows, without loading the aggregate."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from application.queries.pagination import Page, PageRequest


@dataclass(frozen=True)
class OrderView:
    id: uuid.UUID
    number: str
    customer_id: uuid.UUID
    owner_id: uuid.UUID | None
    status: str
    currency: str
    total: Decimal
    advance_payment: str
    placed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


@dataclass(frozen=True)
class OrderLineView:
    sku: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal
    line_total: Decimal
    currency: str


@dataclass(frozen=True)
class OrderFilter:
    statuses: tuple[str, ...] = ()
    customer_id: uuid.UUID | None = None
    owner_id: uuid.UUID | None = None
    placed_from: datetime | None = None
    placed_to: datetime | None = None  # exclusive


class OrderQueries(Protocol):
    async def list(self, filter: OrderFilter, page: PageRequest) -> Page[OrderView]:
        """Newest first (created_at, id), keyset-paginated both ways."""

    async def by_ids(self, ids: list[uuid.UUID]) -> list[OrderView | None]: ...
    async def by_number(self, number: str) -> OrderView | None: ...
    async def lines(self, order_ids: list[uuid.UUID]) -> list[list[OrderLineView]]: ...

"""Read models of orders: what the API shows, without loading the aggregate."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from application.queries.pagination import Page, PageRequest


@dataclass(frozen=True, kw_only=True)
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


@dataclass(frozen=True, kw_only=True)
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


@dataclass(frozen=True)
class BoardCell:
    """One (status, currency) group of the Kanban: how many orders and the sum of their totals."""

    status: str
    currency: str
    count: int
    total: Decimal


@dataclass(frozen=True)
class BoardPageRequest:
    """One column's page: the board's filter, the column's status, first/after."""

    filter: OrderFilter
    status: str
    page: PageRequest


class OrderQueries(Protocol):
    async def list(self, filter: OrderFilter, page: PageRequest) -> Page[OrderView]:
        """Newest first (created_at, id), keyset-paginated both ways."""

    async def list_for_customers(self, filter: OrderFilter, customer_ids: list[uuid.UUID],
                                 page: PageRequest) -> list[Page[OrderView]]:
        """The same page of each customer's orders, in one batch (the filter's customer_id is ignored)."""

    async def by_ids(self, ids: list[uuid.UUID]) -> list[OrderView | None]: ...
    async def by_number(self, number: str) -> OrderView | None: ...
    async def lines(self, order_ids: list[uuid.UUID]) -> list[list[OrderLineView]]: ...
    async def board(self, filter: OrderFilter) -> list[BoardCell]:
        """Counts and exact totals per (status, currency) over the filtered orders: one GROUP BY in SQL."""

    async def board_pages(self, requests: list[BoardPageRequest]) -> list[Page[OrderView]]:
        """Each column's page (newest first, keyset on created_at, id), all fetched in one statement."""

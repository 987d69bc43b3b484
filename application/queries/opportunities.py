"""Read models of the sales pipeline: opportunities, stages, the board and the forecast."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from application.queries.pagination import Page, PageRequest


@dataclass(frozen=True, kw_only=True)
class OpportunityView:
    id: uuid.UUID
    number: str
    name: str
    customer_id: uuid.UUID
    owner_id: uuid.UUID | None
    department_id: uuid.UUID
    stage_id: uuid.UUID
    currency: str
    amount: Decimal
    probability: int
    weighted_amount: Decimal
    expected_close_date: date | None
    campaign_id: uuid.UUID | None
    lost_reason: str | None
    order_id: uuid.UUID | None
    created_at: datetime
    version: int


@dataclass(frozen=True, kw_only=True)
class OpportunityStageView:
    id: uuid.UUID
    name: str
    position: int
    probability: int
    kind: str


@dataclass(frozen=True, kw_only=True)
class OpportunityStageChangeView:
    from_stage_id: uuid.UUID | None
    to_stage_id: uuid.UUID
    at: datetime
    by: uuid.UUID | None


@dataclass(frozen=True)
class OpportunityFilter:
    customer_id: uuid.UUID | None = None
    owner_id: uuid.UUID | None = None
    stage_ids: tuple[uuid.UUID, ...] = ()
    campaign_id: uuid.UUID | None = None
    closing_from: date | None = None  # inclusive
    closing_to: date | None = None  # inclusive
    open: bool | None = None  # True: in an OPEN stage; False: won or lost


@dataclass(frozen=True)
class PipelineCell:
    """One (stage, currency) group of the board: how many deals, their amounts and weighted amounts."""

    stage_id: uuid.UUID
    currency: str
    count: int
    amount: Decimal
    weighted: Decimal


@dataclass(frozen=True)
class PipelinePageRequest:
    """One column's page: the board's filter, the column's stage, first/after."""

    filter: OpportunityFilter
    stage_id: uuid.UUID
    page: PageRequest


class ForecastGroup(StrEnum):
    OWNER = "OWNER"
    DEPARTMENT = "DEPARTMENT"
    MONTH = "MONTH"


@dataclass(frozen=True)
class ForecastScope:
    """Whose deals a forecast counts: one owner's, one department's, or (neither) everybody's."""

    owner_id: uuid.UUID | None = None
    department_id: uuid.UUID | None = None


@dataclass(frozen=True, kw_only=True)
class ForecastRowView:
    key: str  # the owner's or department's id (empty: none), or the month as YYYY-MM
    currency: str
    open: Decimal
    weighted: Decimal
    won: Decimal
    count: int


@dataclass(frozen=True, kw_only=True)
class SourcedView:
    """What a campaign brought in: the opportunities it sourced, the open ones' amounts (its pipeline) and the
    won ones' amounts, per currency (never added across currencies)."""

    count: int = 0
    pipeline: dict[str, Decimal] = field(default_factory=dict)
    won: dict[str, Decimal] = field(default_factory=dict)


class OpportunityQueries(Protocol):
    async def list(self, filter: OpportunityFilter, page: PageRequest) -> Page[OpportunityView]:
        """Newest first (created_at, id), keyset-paginated both ways."""

    async def list_for_customers(self, filter: OpportunityFilter, customer_ids: list[uuid.UUID],
                                 page: PageRequest) -> list[Page[OpportunityView]]:
        """The same page of each customer's opportunities, in one statement (the filter's customer_id ignored)."""

    async def by_ids(self, ids: list[uuid.UUID]) -> list[OpportunityView | None]: ...
    async def by_number(self, number: str) -> OpportunityView | None: ...
    async def stages(self) -> list[OpportunityStageView]:
        """Every stage, by position."""
    async def history(self, ids: list[uuid.UUID]) -> list[list[OpportunityStageChangeView]]:
        """Each opportunity's stage changes, oldest first (the first is its creation, from nowhere)."""
    async def pipeline(self, filter: OpportunityFilter) -> list[PipelineCell]:
        """Counts and exact sums per (stage, currency) over the filtered deals: one GROUP BY in SQL."""
    async def pipeline_pages(self, requests: list[PipelinePageRequest]) -> list[Page[OpportunityView]]:
        """Each column's page (newest first), all in one statement."""
    async def forecast(self, closing_from: date, closing_to: date, group: ForecastGroup,
                       scope: ForecastScope) -> list[ForecastRowView]:
        """Per group and currency, over the deals in `scope` closing from `closing_from` to `closing_to`
        (inclusive): the open deals' amounts and weighted amounts, the won deals' amounts, and how many of
        both. Lost deals do not count. One GROUP BY in SQL, sums exact."""
    async def sourced(self, campaign_ids: list[uuid.UUID]) -> list[SourcedView]:
        """What each campaign sourced (every stage counts; lost deals add to neither sum): one GROUP BY in SQL."""

"""Read models of campaigns and their members: what the API shows, without loading the aggregate."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from application.queries.pagination import Page, PageRequest


@dataclass(frozen=True, kw_only=True)
class CampaignView:
    id: uuid.UUID
    name: str
    channel: str
    status: str
    starts_on: date | None
    ends_on: date | None
    budget_amount: Decimal | None
    budget_currency: str | None
    owner_id: uuid.UUID | None
    created_at: datetime
    version: int


@dataclass(frozen=True, kw_only=True)
class CampaignMemberView:
    campaign_id: uuid.UUID
    customer_id: uuid.UUID
    contact_id: uuid.UUID | None
    status: str
    responded_at: datetime | None
    added_at: datetime


@dataclass(frozen=True)
class MembersRequest:
    """One page of members (of one status, or all) asked of every campaign on a page."""

    status: str | None
    page: PageRequest


class CampaignQueries(Protocol):
    async def list(self, status: str | None, page: PageRequest) -> Page[CampaignView]:
        """Newest first (created_at, id), keyset-paginated forward."""

    async def by_ids(self, ids: list[uuid.UUID]) -> list[CampaignView | None]: ...

    async def members(self, request: MembersRequest, campaign_ids: list[uuid.UUID]) -> list[Page[CampaignMemberView]]:
        """The same page of each campaign's members, oldest first, in one statement (one grouped count for their
        totalCounts, when asked for)."""

    async def members_by_keys(self, keys: list[tuple[uuid.UUID, uuid.UUID]]) -> list[CampaignMemberView | None]:
        """Members by (campaign, customer)."""

    async def funnels(self, campaign_ids: list[uuid.UUID]) -> list[dict[str, int]]:
        """Members per status of each campaign: one GROUP BY for all of them."""

    async def for_customers(self, customer_ids: list[uuid.UUID]) -> list[list[CampaignView]]:
        """The campaigns each customer is a member of, newest first, in one statement."""

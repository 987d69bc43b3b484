from __future__ import annotations

from datetime import date, datetime

import strawberry

from api.campaigns.enums import CampaignMemberStatusEnum, CampaignStatusEnum
from api.common.money import MoneyInput
from api.common.relay import ids
from api.customers.enums import CustomerTierEnum, LifecycleStageEnum
from application.campaigns import SegmentData


@strawberry.input(description="Which customers a campaign targets: every given condition must hold")
class CustomerSegmentInput:
    tiers: list[CustomerTierEnum] | None = None  # type: ignore[valid-type]
    lifecycle_stages: list[LifecycleStageEnum] | None = None  # type: ignore[valid-type]
    tags: list[str] | None = strawberry.field(default=None, description="At least one of these tags")
    owner_ids: list[strawberry.ID] | None = None
    inactive_since: datetime | None = strawberry.field(default=None,
                                                       description="Customers with no interaction since this time")

    def to_data(self) -> SegmentData:
        return SegmentData(
            tiers=tuple(t.value for t in self.tiers) if self.tiers is not None else None,
            lifecycle_stages=tuple(s.value for s in self.lifecycle_stages)
            if self.lifecycle_stages is not None else None,
            tags=tuple(self.tags) if self.tags is not None else None,
            owner_ids=tuple(ids(self.owner_ids, "Staff", "ownerIds")) if self.owner_ids is not None else None,
            inactive_since=self.inactive_since)


@strawberry.input
class CreateCampaignInput:
    name: str
    channel: str
    starts_on: date | None = None
    ends_on: date | None = None
    budget: MoneyInput | None = None
    idempotency_key: str | None = None


@strawberry.input
class AddCampaignMembersInput:
    campaign_id: strawberry.ID
    segment: CustomerSegmentInput | None = None
    customer_ids: list[strawberry.ID] | None = None
    dry_run: bool | None = strawberry.field(default=None, description="Preview only: report how many would be added")


@strawberry.input
class SetCampaignStatusInput:
    campaign_id: strawberry.ID
    status: CampaignStatusEnum  # type: ignore[valid-type]
    expected_version: int | None = None


@strawberry.input
class RecordCampaignResponseInput:
    campaign_id: strawberry.ID
    customer_id: strawberry.ID
    status: CampaignMemberStatusEnum  # type: ignore[valid-type]
    note: str | None = None

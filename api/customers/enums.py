"""The customer area's GraphQL enums (types and inputs both use them; neither imports the other for them)."""
from __future__ import annotations

from enum import Enum

import strawberry

from api.common.enums import graphql_enums
from domain.customer import CustomerKind, CustomerTier, InteractionKind, LifecycleStage

CustomerKindEnum, CustomerTierEnum, LifecycleStageEnum, InteractionKindEnum = graphql_enums(
    CustomerKind, CustomerTier, LifecycleStage, InteractionKind)


@strawberry.enum
class ActivityKind(Enum):
    INTERACTION = "INTERACTION"
    STAGE_CHANGE = "STAGE_CHANGE"
    COMPLAINT = "COMPLAINT"
    ORDER = "ORDER"
    WORKFLOW = "WORKFLOW"
    CAMPAIGN = "CAMPAIGN"  # a response to a campaign (recordCampaignResponse, the member import)
    OPPORTUNITY = "OPPORTUNITY"

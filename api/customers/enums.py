"""The customer area's GraphQL enums (types and inputs both use them; neither imports the other for them)."""
from __future__ import annotations

from enum import Enum

import strawberry

from domain.customer import CustomerKind, CustomerTier, InteractionKind, LifecycleStage

CustomerKindEnum = strawberry.enum(CustomerKind, name="CustomerKind")
CustomerTierEnum = strawberry.enum(CustomerTier, name="CustomerTier")
LifecycleStageEnum = strawberry.enum(LifecycleStage, name="LifecycleStage")
InteractionKindEnum = strawberry.enum(InteractionKind, name="InteractionKind")


@strawberry.enum
class ActivityKind(Enum):
    INTERACTION = "INTERACTION"
    STAGE_CHANGE = "STAGE_CHANGE"
    COMPLAINT = "COMPLAINT"
    ORDER = "ORDER"
    WORKFLOW = "WORKFLOW"

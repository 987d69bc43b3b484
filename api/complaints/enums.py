"""The complaint area's GraphQL enums (types, inputs and subscriptions use them)."""
from __future__ import annotations

from enum import Enum

import strawberry

from api.common.enums import graphql_enums
from domain.complaint import Channel, ComplaintStatus, Priority, TimelineKind, Visibility
from domain.sla import SlaTargetState

PriorityEnum, ChannelEnum, ComplaintStatusEnum, TimelineKindEnum, VisibilityEnum, SlaTargetStateEnum = graphql_enums(
    Priority, Channel, ComplaintStatus, TimelineKind, Visibility, SlaTargetState)


@strawberry.enum
class ComplaintEventKind(Enum):
    FILED = "FILED"
    STATUS_CHANGED = "STATUS_CHANGED"
    PROGRESS_RECORDED = "PROGRESS_RECORDED"
    ASSIGNED = "ASSIGNED"
    SLA_WARNING = "SLA_WARNING"
    SLA_BREACHED = "SLA_BREACHED"
    ESCALATED = "ESCALATED"
    RATED = "RATED"

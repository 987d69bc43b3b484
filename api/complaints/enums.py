"""The complaint area's GraphQL enums (types, inputs and subscriptions use them)."""
from __future__ import annotations

from enum import Enum

import strawberry

from domain.complaint import Channel, ComplaintStatus, Priority, TimelineKind, Visibility
from domain.sla import SlaTargetState

PriorityEnum = strawberry.enum(Priority, name="Priority")
ChannelEnum = strawberry.enum(Channel, name="Channel")
ComplaintStatusEnum = strawberry.enum(ComplaintStatus, name="ComplaintStatus")
TimelineKindEnum = strawberry.enum(TimelineKind, name="TimelineKind")
VisibilityEnum = strawberry.enum(Visibility, name="Visibility")
SlaTargetStateEnum = strawberry.enum(SlaTargetState, name="SlaTargetState")


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

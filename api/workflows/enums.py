"""The workflow area's GraphQL enums, and how a subject type is named in global IDs."""
from __future__ import annotations

import strawberry

from domain.workflow import ComparisonOp, Decision, StepKind, StepStatus, WorkflowStatus, WorkflowSubject

WorkflowSubjectEnum = strawberry.enum(WorkflowSubject, name="WorkflowSubject")
StepKindEnum = strawberry.enum(StepKind, name="StepKind")
ComparisonOpEnum = strawberry.enum(ComparisonOp, name="ComparisonOp")
WorkflowStatusEnum = strawberry.enum(WorkflowStatus, name="WorkflowStatus")
StepStatusEnum = strawberry.enum(StepStatus, name="StepStatus")
DecisionEnum = strawberry.enum(Decision, name="Decision")

SUBJECT_NODE_TYPES: dict[WorkflowSubject, str] = {
    WorkflowSubject.ORDER: "Order",
    WorkflowSubject.CUSTOMER: "Customer",
    WorkflowSubject.COMPLAINT: "Complaint",
}

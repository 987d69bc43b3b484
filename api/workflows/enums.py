"""The workflow area's GraphQL enums, and how a subject type is named in global IDs."""
from __future__ import annotations

from api.common.enums import graphql_enums
from domain.workflow import ComparisonOp, Decision, StepKind, StepStatus, WorkflowStatus, WorkflowSubject

WorkflowSubjectEnum, StepKindEnum, ComparisonOpEnum, WorkflowStatusEnum, StepStatusEnum, DecisionEnum = graphql_enums(
    WorkflowSubject, StepKind, ComparisonOp, WorkflowStatus, StepStatus, Decision)

SUBJECT_NODE_TYPES: dict[WorkflowSubject, str] = {
    WorkflowSubject.ORDER: "Order",
    WorkflowSubject.CUSTOMER: "Customer",
    WorkflowSubject.COMPLAINT: "Complaint",
}

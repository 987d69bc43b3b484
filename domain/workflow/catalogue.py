"""Ready-made workflow definitions."""
from __future__ import annotations

import uuid

from domain.organisation import Role
from domain.workflow.conditions import ComparisonOp, StepCondition
from domain.workflow.definition import StepDefinition, StepKind, WorkflowDefinition, WorkflowSubject

ADVANCE_PAYMENT_KEY = "advance-payment"
ADVANCE_PAYMENT_MANAGER_THRESHOLD = "50000"


def advance_payment_definition(
    *,
    sales_department_id: uuid.UUID,
    finance_department_id: uuid.UUID,
    warehouse_department_id: uuid.UUID,
    previous: WorkflowDefinition | None = None,
) -> WorkflowDefinition:
    """Goods released against an advance payment: sales manager approves, then finance checks
    (a finance manager too above 50000), then the warehouse releases the goods.

    The context needs `amount`; due times (in business minutes) are one working day for approvals
    and two for the release.
    """
    return WorkflowDefinition.define(
        key=ADVANCE_PAYMENT_KEY,
        name="Advance payment",
        subject=WorkflowSubject.ORDER,
        previous=previous,
        steps=[
            StepDefinition("sales-approval", "Sales manager approves the advance payment", sales_department_id,
                           StepKind.APPROVAL, Role.MANAGER, stage=1, due_within_minutes=480),
            StepDefinition("finance-check", "Finance checks the payment", finance_department_id,
                           StepKind.APPROVAL, Role.MEMBER, stage=2, due_within_minutes=480),
            StepDefinition("finance-manager-approval", "Finance manager approves a large advance",
                           finance_department_id, StepKind.APPROVAL, Role.MANAGER, stage=2, due_within_minutes=480,
                           condition=StepCondition("amount", ComparisonOp.GT, ADVANCE_PAYMENT_MANAGER_THRESHOLD)),
            StepDefinition("release-goods", "Warehouse releases the goods", warehouse_department_id,
                           StepKind.TASK, Role.MEMBER, stage=3, due_within_minutes=960),
        ],
    )

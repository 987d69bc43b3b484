"""Cross-department workflows: versioned definitions and the instances that run them.

The package: `conditions` (the step condition language), `definition` (definitions, who may define),
`instance` (the WorkflowInstance aggregate), `catalogue` (ready-made definitions). Everything public is
imported from here (`from domain.workflow import WorkflowInstance`).

A definition is a list of steps grouped into stages: steps sharing a stage run in parallel,
stages run in ascending order. An instance snapshots its definition's steps when it starts, so
redefining a workflow (which creates a new version) never changes instances already running.

Choices worth knowing (each also stated where it is enforced):

- Departments are not looked up here. `WorkflowDefinition.define` checks step departments only
  when the caller passes `known_department_ids`; the use case should always pass them.
- A condition holds only when its field is present in the context and comparable with the
  condition's value; otherwise it does not hold and the step is SKIPPED (for NE too).
- Authority to decide is the step's department (active staff with at least the required role)
  or the step's assignee (after a delegation). ADMIN does not bypass the department: an admin
  decides only in their own department, or when delegated to.
- Cancelling is for the starter, any ADMIN, or a MANAGER of a department that owns one of the
  instance's steps.
- Stage activation computes due dates through a `DueAt` callable supplied by the caller (so each
  department's business calendar applies); `start` and `decide` therefore both take one.
  `business_due_at` is the arithmetic behind it: business minutes on the department's calendar, or
  plain clock minutes for a department without one (see `DEFAULT_CALENDAR_NAME`).
- An ACTIVE step past its due time is overdue; `escalate_overdue` records that once per activation
  (`escalated_at`, event `workflow.step_overdue`), so whoever runs it twice escalates nothing twice.
"""
from domain.workflow.catalogue import (
    ADVANCE_PAYMENT_KEY,
    ADVANCE_PAYMENT_MANAGER_THRESHOLD,
    advance_payment_definition,
)
from domain.workflow.conditions import NUMBER_PATTERN, ComparisonOp, StepCondition, as_number
from domain.workflow.definition import (
    KEY_PATTERN,
    MAX_DUE_MINUTES,
    MAX_STAGE,
    MAX_STEPS,
    StepDefinition,
    StepKind,
    WorkflowDefinition,
    WorkflowSubject,
    next_version,
)
from domain.workflow.instance import (
    DECISIONS_BY_KIND,
    DEFAULT_CALENDAR_NAME,
    MAX_CONTEXT_BYTES,
    Decision,
    Delegation,
    DueAt,
    StepNeedsItsDepartment,
    StepStatus,
    WorkflowInstance,
    WorkflowStatus,
    WorkflowStep,
    business_due_at,
    calendar_minutes,
)

__all__ = [
    "ADVANCE_PAYMENT_KEY", "ADVANCE_PAYMENT_MANAGER_THRESHOLD", "DECISIONS_BY_KIND", "DEFAULT_CALENDAR_NAME",
    "KEY_PATTERN", "MAX_CONTEXT_BYTES", "MAX_DUE_MINUTES", "MAX_STAGE", "MAX_STEPS", "NUMBER_PATTERN",
    "ComparisonOp", "Decision", "Delegation", "DueAt", "StepCondition", "StepDefinition", "StepKind",
    "StepNeedsItsDepartment", "StepStatus", "WorkflowDefinition", "WorkflowInstance", "WorkflowStatus",
    "WorkflowStep", "WorkflowSubject", "advance_payment_definition", "as_number", "business_due_at",
    "calendar_minutes", "next_version",
]

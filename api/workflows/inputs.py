from __future__ import annotations

import strawberry

from api.common.relay import decode_id, parse_global_id
from api.common.scalars import JSON
from api.organisation.enums import RoleEnum
from api.workflows.enums import SUBJECT_NODE_TYPES, ComparisonOpEnum, DecisionEnum, StepKindEnum, \
    WorkflowSubjectEnum
from application.workflows import ConditionData, StepData
from domain.shared import InvalidInput
from domain.workflow import WorkflowSubject

SUBJECTS_BY_NODE_TYPE = {node_type: subject for subject, node_type in SUBJECT_NODE_TYPES.items()}


def decode_subject(value: str, field: str = "subjectId") -> tuple[WorkflowSubject, object]:
    """(subject type, uuid) of the global ID of an Order, Customer or Complaint."""
    try:
        type_name, raw_id = parse_global_id(value)
    except ValueError:
        raise InvalidInput(f"{field} is not a valid ID.", field=(field,)) from None
    subject = SUBJECTS_BY_NODE_TYPE.get(type_name)
    if subject is None:
        raise InvalidInput(f"{field} must be the ID of an Order, Customer or Complaint.", field=(field,))
    return subject, raw_id


@strawberry.input
class StepConditionInput:
    field: str
    op: ComparisonOpEnum  # type: ignore[valid-type]
    value: str


@strawberry.input
class StepDefinitionInput:
    key: str
    name: str
    department_id: strawberry.ID
    kind: StepKindEnum  # type: ignore[valid-type]
    required_role: RoleEnum | None = None  # type: ignore[valid-type]
    stage: int
    due_within_minutes: int | None = None
    condition: StepConditionInput | None = None

    def to_data(self, index: int) -> StepData:
        try:
            department_id = decode_id(self.department_id, "Department", "departmentId")
        except InvalidInput as err:
            raise InvalidInput(err.message, field=("steps", str(index), *(err.field or ()))) from None
        condition = self.condition
        return StepData(
            key=self.key, name=self.name, department_id=department_id, kind=self.kind.value, stage=self.stage,
            required_role=self.required_role.value if self.required_role else None,
            due_within_minutes=self.due_within_minutes,
            condition=ConditionData(condition.field, condition.op.value, condition.value) if condition else None)


@strawberry.input
class DefineWorkflowInput:
    key: str
    name: str
    subject: WorkflowSubjectEnum  # type: ignore[valid-type]
    steps: list[StepDefinitionInput]


@strawberry.input
class StartWorkflowInput:
    definition_key: str
    subject_id: strawberry.ID = strawberry.field(description="An Order, Customer or Complaint, as the definition "
                                                             "says")
    context: JSON | None = strawberry.field(
        default=None, description="Added to the subject's facts (for an order: amount, currency, customerTier, "
                                  "orderNumber, customerCode), which it may not contradict")
    idempotency_key: str | None = None


@strawberry.input
class DecideStepInput:
    instance_id: strawberry.ID
    step_key: str
    decision: DecisionEnum  # type: ignore[valid-type]
    comment: str | None = None
    expected_version: int | None = None


@strawberry.input
class DelegateStepInput:
    instance_id: strawberry.ID
    step_key: str
    to_staff_id: strawberry.ID
    comment: str | None = None
    expected_version: int | None = None


@strawberry.input
class CancelWorkflowInput:
    instance_id: strawberry.ID
    reason: str
    expected_version: int | None = None

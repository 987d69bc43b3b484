from __future__ import annotations

from datetime import date

import strawberry

from api.common.relay import decode_optional_id, ids
from api.complaints.enums import ChannelEnum, ComplaintStatusEnum, PriorityEnum, VisibilityEnum
from api.customers.enums import CustomerTierEnum
from application.queries.complaints import ComplaintFilter as ComplaintFilterQuery


@strawberry.input
class ComplaintFilter:
    statuses: list[ComplaintStatusEnum] | None = None  # type: ignore[valid-type]
    priorities: list[PriorityEnum] | None = None  # type: ignore[valid-type]
    category_ids: list[strawberry.ID] | None = None
    assignee_id: strawberry.ID | None = None
    department_id: strawberry.ID | None = None
    customer_id: strawberry.ID | None = None
    sla_at_risk: bool | None = strawberry.field(
        default=None, description="Only complaints with at least one target in WARNING or BREACHED")
    search: str | None = strawberry.field(default=None,
                                          description="Case-insensitive match on number, subject and customer name or code")

    def to_query(self) -> ComplaintFilterQuery:
        return ComplaintFilterQuery(
            statuses=tuple(s.value for s in self.statuses or ()),
            priorities=tuple(p.value for p in self.priorities or ()),
            category_ids=tuple(ids(self.category_ids or (), "ComplaintCategory", "categoryIds")),
            assignee_id=decode_optional_id(self.assignee_id, "Staff", "assigneeId"),
            department_id=decode_optional_id(self.department_id, "Department", "departmentId"),
            customer_id=decode_optional_id(self.customer_id, "Customer", "customerId"),
            sla_at_risk=self.sla_at_risk,
            search=(self.search or "").strip()[:200] or None,
        )


@strawberry.input
class FileComplaintInput:
    customer_id: strawberry.ID
    order_id: strawberry.ID | None = None
    category_id: strawberry.ID
    priority: PriorityEnum  # type: ignore[valid-type]
    channel: ChannelEnum  # type: ignore[valid-type]
    subject: str
    description: str
    idempotency_key: str | None = None


@strawberry.input
class TransitionComplaintInput:
    complaint_id: strawberry.ID
    to: ComplaintStatusEnum  # type: ignore[valid-type]
    note: str | None = strawberry.field(default=None, description="Required when moving to RESOLVED")
    expected_version: int | None = None


@strawberry.input
class RecordProgressInput:
    complaint_id: strawberry.ID
    message: str
    visibility: VisibilityEnum | None = None  # type: ignore[valid-type]
    expected_version: int | None = None


@strawberry.input
class AssignComplaintInput:
    complaint_id: strawberry.ID
    assignee_id: strawberry.ID
    expected_version: int | None = None


@strawberry.input
class RateResolutionInput:
    complaint_id: strawberry.ID
    satisfaction: int
    comment: str | None = None


@strawberry.input
class WorkingHoursInput:
    weekday: int
    start: str
    end: str


@strawberry.input
class DefineCalendarInput:
    name: str
    timezone: str
    working_hours: list[WorkingHoursInput]
    holidays: list[date] | None = None


@strawberry.input
class DefineCategoryInput:
    code: str
    name: str
    parent_id: strawberry.ID | None = None


@strawberry.input
class DefineSlaPolicyInput:
    name: str
    category_id: strawberry.ID | None = None
    priority: PriorityEnum | None = None  # type: ignore[valid-type]
    customer_tier: CustomerTierEnum | None = None  # type: ignore[valid-type]
    first_response_minutes: int
    resolution_minutes: int
    update_interval_minutes: int | None = None
    warn_at: float | None = None
    calendar_id: strawberry.ID
    escalate_to_id: strawberry.ID | None = None


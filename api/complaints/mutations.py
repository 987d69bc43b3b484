"""Complaint mutations: file, transition, record progress, assign, rate; and the configuration
behind them (categories, SLA policies, business calendars). Each payload reads what its use case wrote by
its id (api/common/payloads.py)."""
from __future__ import annotations

import uuid

import strawberry
from strawberry.types import Info

from api.common.errors import UserError
from api.common.payloads import Payload, written
from api.common.relay import decode_id, decode_optional_id
from api.complaints.inputs import (
    AssignComplaintInput,
    DefineCalendarInput,
    DefineCategoryInput,
    DefineSlaPolicyInput,
    FileComplaintInput,
    RateResolutionInput,
    RecordProgressInput,
    TransitionComplaintInput,
)
from api.complaints.types import BusinessCalendar, Complaint, ComplaintCategory, SlaPolicy
from api.context import Context
from application import complaints as use_cases
from domain.complaint import Channel, ComplaintStatus, Priority, Visibility


@strawberry.type
class ComplaintPayload(Payload):
    complaint: Complaint | None = written(Complaint)
    user_errors: list[UserError]


@strawberry.type
class CategoryPayload(Payload):
    category: ComplaintCategory | None = written(ComplaintCategory)
    user_errors: list[UserError]


@strawberry.type
class SlaPolicyPayload(Payload):
    policy: SlaPolicy | None = written(SlaPolicy)
    user_errors: list[UserError]


@strawberry.type
class CalendarPayload(Payload):
    calendar: BusinessCalendar | None = written(BusinessCalendar)
    user_errors: list[UserError]


def _complaint_id(value: str) -> uuid.UUID:
    return decode_id(value, "Complaint", "complaintId")


@strawberry.type
class ComplaintMutation:
    @strawberry.mutation(description="File a complaint for a customer; any staff member may (SERVICE handles it)")
    async def file_complaint(self, info: Info[Context, None], input: FileComplaintInput) -> ComplaintPayload:
        return await ComplaintPayload.write(info, lambda ctx: use_cases.file_complaint(
            ctx.uow(), ctx.clock, ctx.actor, use_cases.FileComplaint(
                customer_id=decode_id(input.customer_id, "Customer", "customerId"),
                order_id=decode_optional_id(input.order_id, "Order", "orderId"),
                category_id=decode_id(input.category_id, "ComplaintCategory", "categoryId"),
                priority=Priority(input.priority), channel=Channel(input.channel), subject=input.subject,
                description=input.description, idempotency_key=input.idempotency_key)))

    @strawberry.mutation(description="Move a complaint along its status machine; RESOLVED needs a note")
    async def transition_complaint(self, info: Info[Context, None],
                                   input: TransitionComplaintInput) -> ComplaintPayload:
        return await ComplaintPayload.write(info, lambda ctx: use_cases.transition_complaint(
            ctx.uow(), ctx.clock, ctx.actor, use_cases.TransitionComplaint(
                complaint_id=_complaint_id(input.complaint_id), to=ComplaintStatus(input.to), note=input.note,
                expected_version=input.expected_version)))

    @strawberry.mutation(description="Add a progress note to the timeline (INTERNAL unless said otherwise)")
    async def record_progress(self, info: Info[Context, None], input: RecordProgressInput) -> ComplaintPayload:
        return await ComplaintPayload.write(info, lambda ctx: use_cases.record_progress(
            ctx.uow(), ctx.clock, ctx.actor, use_cases.RecordProgress(
                complaint_id=_complaint_id(input.complaint_id), message=input.message,
                visibility=Visibility(input.visibility) if input.visibility else None,
                expected_version=input.expected_version)))

    @strawberry.mutation(description="Give a complaint to someone; to another department's staff hands it over")
    async def assign_complaint(self, info: Info[Context, None], input: AssignComplaintInput) -> ComplaintPayload:
        return await ComplaintPayload.write(info, lambda ctx: use_cases.assign_complaint(
            ctx.uow(), ctx.clock, ctx.actor, use_cases.AssignComplaint(
                complaint_id=_complaint_id(input.complaint_id),
                assignee_id=decode_id(input.assignee_id, "Staff", "assigneeId"),
                expected_version=input.expected_version)))

    @strawberry.mutation(description="Record the customer's satisfaction (1..5) with a resolved complaint")
    async def rate_resolution(self, info: Info[Context, None], input: RateResolutionInput) -> ComplaintPayload:
        return await ComplaintPayload.write(info, lambda ctx: use_cases.rate_resolution(
            ctx.uow(), ctx.clock, ctx.actor, use_cases.RateResolution(
                complaint_id=_complaint_id(input.complaint_id), satisfaction=input.satisfaction,
                comment=input.comment)))

    @strawberry.mutation(description="Add a business calendar (service key users, managers, admins)")
    async def define_calendar(self, info: Info[Context, None], input: DefineCalendarInput) -> CalendarPayload:
        return await CalendarPayload.write(info, lambda ctx: use_cases.define_calendar(
            ctx.uow(), ctx.clock, ctx.actor, use_cases.DefineCalendar(
                name=input.name, timezone=input.timezone,
                working_hours=tuple((w.weekday, w.start, w.end) for w in input.working_hours),
                holidays=tuple(input.holidays or ()))))

    @strawberry.mutation(description="Add a complaint category (service key users, managers, admins)")
    async def define_category(self, info: Info[Context, None], input: DefineCategoryInput) -> CategoryPayload:
        return await CategoryPayload.write(info, lambda ctx: use_cases.define_category(
            ctx.uow(), ctx.clock, ctx.actor, use_cases.DefineCategory(
                code=input.code, name=input.name,
                parent_id=decode_optional_id(input.parent_id, "ComplaintCategory", "parentId"))))

    @strawberry.mutation(description="Add an SLA policy; one named like an active policy supersedes it "
                                     "(service key users, managers, admins)")
    async def define_sla_policy(self, info: Info[Context, None], input: DefineSlaPolicyInput) -> SlaPolicyPayload:
        return await SlaPolicyPayload.write(info, lambda ctx: use_cases.define_sla_policy(
            ctx.uow(), ctx.clock, ctx.actor, use_cases.DefineSlaPolicy(
                name=input.name, calendar_id=decode_id(input.calendar_id, "BusinessCalendar", "calendarId"),
                first_response_minutes=input.first_response_minutes, resolution_minutes=input.resolution_minutes,
                category_id=decode_optional_id(input.category_id, "ComplaintCategory", "categoryId"),
                priority=Priority(input.priority) if input.priority else None,
                customer_tier=input.customer_tier.value if input.customer_tier else None,
                update_interval_minutes=input.update_interval_minutes, warn_at=input.warn_at,
                escalate_to_id=decode_optional_id(input.escalate_to_id, "Staff", "escalateToId"))))

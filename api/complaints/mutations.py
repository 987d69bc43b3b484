"""Complaint mutations: file, transition, record progress, assign, rate; and the configuration
behind them (categories, SLA policies, business calendars)."""
from __future__ import annotations

from typing import Any, Awaitable, Callable

import strawberry
from strawberry.types import Info

from api.common.errors import UserError, attempt
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
from application.queries.complaints import CategoryView
from domain.complaint import Channel, ComplaintStatus, Priority, Visibility


@strawberry.type
class ComplaintPayload:
    complaint: Complaint | None
    user_errors: list[UserError]


@strawberry.type
class CategoryPayload:
    category: ComplaintCategory | None
    user_errors: list[UserError]


@strawberry.type
class SlaPolicyPayload:
    policy: SlaPolicy | None
    user_errors: list[UserError]


@strawberry.type
class CalendarPayload:
    calendar: BusinessCalendar | None
    user_errors: list[UserError]


async def _complaint(run: Callable[[], Awaitable[Any]]) -> ComplaintPayload:
    complaint, errors = await attempt(run)
    return ComplaintPayload(complaint=Complaint.from_aggregate(complaint) if complaint else None, user_errors=errors)


@strawberry.type
class ComplaintMutation:
    @strawberry.mutation(description="File a complaint for a customer; any staff member may (SERVICE handles it)")
    async def file_complaint(self, info: Info[Context, None], input: FileComplaintInput) -> ComplaintPayload:
        ctx = info.context

        async def run():  # type: ignore[no-untyped-def]
            cmd = use_cases.FileComplaint(
                customer_id=decode_id(input.customer_id, "Customer", "customerId"),
                order_id=decode_optional_id(input.order_id, "Order", "orderId"),
                category_id=decode_id(input.category_id, "ComplaintCategory", "categoryId"),
                priority=Priority(input.priority), channel=Channel(input.channel), subject=input.subject,
                description=input.description, idempotency_key=input.idempotency_key)
            return await use_cases.file_complaint(ctx.uow(), ctx.clock, ctx.actor, cmd)

        return await _complaint(run)

    @strawberry.mutation(description="Move a complaint along its status machine; RESOLVED needs a note")
    async def transition_complaint(self, info: Info[Context, None],
                                   input: TransitionComplaintInput) -> ComplaintPayload:
        ctx = info.context

        async def run():  # type: ignore[no-untyped-def]
            cmd = use_cases.TransitionComplaint(
                complaint_id=decode_id(input.complaint_id, "Complaint", "complaintId"),
                to=ComplaintStatus(input.to), note=input.note, expected_version=input.expected_version)
            return await use_cases.transition_complaint(ctx.uow(), ctx.clock, ctx.actor, cmd)

        return await _complaint(run)

    @strawberry.mutation(description="Add a progress note to the timeline (INTERNAL unless said otherwise)")
    async def record_progress(self, info: Info[Context, None], input: RecordProgressInput) -> ComplaintPayload:
        ctx = info.context

        async def run():  # type: ignore[no-untyped-def]
            cmd = use_cases.RecordProgress(
                complaint_id=decode_id(input.complaint_id, "Complaint", "complaintId"), message=input.message,
                visibility=Visibility(input.visibility) if input.visibility else None,
                expected_version=input.expected_version)
            return await use_cases.record_progress(ctx.uow(), ctx.clock, ctx.actor, cmd)

        return await _complaint(run)

    @strawberry.mutation(description="Give a complaint to someone; to another department's staff hands it over")
    async def assign_complaint(self, info: Info[Context, None], input: AssignComplaintInput) -> ComplaintPayload:
        ctx = info.context

        async def run():  # type: ignore[no-untyped-def]
            cmd = use_cases.AssignComplaint(
                complaint_id=decode_id(input.complaint_id, "Complaint", "complaintId"),
                assignee_id=decode_id(input.assignee_id, "Staff", "assigneeId"),
                expected_version=input.expected_version)
            return await use_cases.assign_complaint(ctx.uow(), ctx.clock, ctx.actor, cmd)

        return await _complaint(run)

    @strawberry.mutation(description="Record the customer's satisfaction (1..5) with a resolved complaint")
    async def rate_resolution(self, info: Info[Context, None], input: RateResolutionInput) -> ComplaintPayload:
        ctx = info.context

        async def run():  # type: ignore[no-untyped-def]
            cmd = use_cases.RateResolution(
                complaint_id=decode_id(input.complaint_id, "Complaint", "complaintId"),
                satisfaction=input.satisfaction, comment=input.comment)
            return await use_cases.rate_resolution(ctx.uow(), ctx.clock, ctx.actor, cmd)

        return await _complaint(run)

    @strawberry.mutation(description="Add a business calendar (service key users, managers, admins)")
    async def define_calendar(self, info: Info[Context, None], input: DefineCalendarInput) -> CalendarPayload:
        ctx = info.context

        async def run():  # type: ignore[no-untyped-def]
            cmd = use_cases.DefineCalendar(
                name=input.name, timezone=input.timezone,
                working_hours=tuple((w.weekday, w.start, w.end) for w in input.working_hours),
                holidays=tuple(input.holidays or ()))
            return await use_cases.define_calendar(ctx.uow(), ctx.clock, ctx.actor, cmd)

        calendar, errors = await attempt(run)
        return CalendarPayload(calendar=BusinessCalendar.from_value(calendar) if calendar else None,
                               user_errors=errors)

    @strawberry.mutation(description="Add a complaint category (service key users, managers, admins)")
    async def define_category(self, info: Info[Context, None], input: DefineCategoryInput) -> CategoryPayload:
        ctx = info.context

        async def run():  # type: ignore[no-untyped-def]
            cmd = use_cases.DefineCategory(code=input.code, name=input.name,
                                           parent_id=decode_optional_id(input.parent_id, "ComplaintCategory",
                                                                        "parentId"))
            return await use_cases.define_category(ctx.uow(), ctx.clock, ctx.actor, cmd)

        category, errors = await attempt(run)
        view = CategoryView(category.id, category.code, category.name, category.parent_id, category.active) \
            if category else None
        return CategoryPayload(category=ComplaintCategory.from_view(view) if view else None, user_errors=errors)

    @strawberry.mutation(description="Add an SLA policy; one named like an active policy supersedes it "
                                     "(service key users, managers, admins)")
    async def define_sla_policy(self, info: Info[Context, None], input: DefineSlaPolicyInput) -> SlaPolicyPayload:
        ctx = info.context

        async def run():  # type: ignore[no-untyped-def]
            cmd = use_cases.DefineSlaPolicy(
                name=input.name, calendar_id=decode_id(input.calendar_id, "BusinessCalendar", "calendarId"),
                first_response_minutes=input.first_response_minutes, resolution_minutes=input.resolution_minutes,
                category_id=decode_optional_id(input.category_id, "ComplaintCategory", "categoryId"),
                priority=Priority(input.priority) if input.priority else None,
                customer_tier=input.customer_tier.value if input.customer_tier else None,
                update_interval_minutes=input.update_interval_minutes, warn_at=input.warn_at,
                escalate_to_id=decode_optional_id(input.escalate_to_id, "Staff", "escalateToId"))
            return await use_cases.define_sla_policy(ctx.uow(), ctx.clock, ctx.actor, cmd)

        policy, errors = await attempt(run)
        return SlaPolicyPayload(policy=SlaPolicy.from_value(policy) if policy else None, user_errors=errors)

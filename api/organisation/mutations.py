from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.common.errors import UserError, attempt
from api.common.relay import decode_id, decode_optional_id
from api.context import Context
from api.organisation.types import Department, RoleEnum, Staff
from application import organisation as use_cases
from domain.organisation import Role


@strawberry.input
class CreateStaffInput:
    name: str
    email: str
    department_id: strawberry.ID
    role: RoleEnum  # type: ignore[valid-type]
    idempotency_key: str | None = None


@strawberry.input
class UpdateStaffInput:
    id: strawberry.ID
    expected_version: int | None = None
    name: str | None = None
    department_id: strawberry.ID | None = None
    role: RoleEnum | None = None  # type: ignore[valid-type]
    active: bool | None = strawberry.field(
        default=None,
        description="false deactivates: the person can no longer sign in, and their tokens stop working")


@strawberry.input
class SetDepartmentCalendarInput:
    department_id: strawberry.ID
    calendar_id: strawberry.ID | None = strawberry.field(
        description="A BusinessCalendar; null goes back to the default calendar")


@strawberry.type
class DepartmentPayload:
    department: Department | None
    user_errors: list[UserError]


@strawberry.type
class StaffPayload:
    staff: Staff | None
    user_errors: list[UserError]


@strawberry.type
class OrganisationMutation:
    @strawberry.mutation
    async def create_staff(self, info: Info[Context, None], input: CreateStaffInput) -> StaffPayload:
        ctx = info.context

        async def run():  # type: ignore[no-untyped-def]
            cmd = use_cases.CreateStaff(
                name=input.name, email=input.email, role=Role(input.role),
                department_id=decode_id(input.department_id, "Department", "departmentId"),
                idempotency_key=input.idempotency_key)
            return await use_cases.create_staff(ctx.uow(), ctx.clock, ctx.actor, cmd)

        staff, errors = await attempt(run)
        return StaffPayload(staff=Staff.from_aggregate(staff) if staff else None, user_errors=errors)

    @strawberry.mutation
    async def update_staff(self, info: Info[Context, None], input: UpdateStaffInput) -> StaffPayload:
        ctx = info.context

        async def run():  # type: ignore[no-untyped-def]
            cmd = use_cases.UpdateStaff(
                staff_id=decode_id(input.id, "Staff", "id"), expected_version=input.expected_version,
                name=input.name, department_id=decode_optional_id(input.department_id, "Department", "departmentId"),
                role=Role(input.role) if input.role else None, active=input.active)
            return await use_cases.update_staff(ctx.uow(), ctx.clock, ctx.actor, cmd)

        staff, errors = await attempt(run)
        return StaffPayload(staff=Staff.from_aggregate(staff) if staff else None, user_errors=errors)

    @strawberry.mutation(description="Choose the business calendar a department's workflow step due times count on "
                                     "(ADMINs, or the department's MANAGER); running steps keep their due times")
    async def set_department_calendar(self, info: Info[Context, None],
                                      input: SetDepartmentCalendarInput) -> DepartmentPayload:
        ctx = info.context

        async def run():  # type: ignore[no-untyped-def]
            cmd = use_cases.SetDepartmentCalendar(
                department_id=decode_id(input.department_id, "Department", "departmentId"),
                calendar_id=decode_optional_id(input.calendar_id, "BusinessCalendar", "calendarId"))
            return await use_cases.set_department_calendar(ctx.uow(), ctx.clock, ctx.actor, cmd)

        department, errors = await attempt(run)
        return DepartmentPayload(department=Department.from_aggregate(department) if department else None,
                                 user_errors=errors)

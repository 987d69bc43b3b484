from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.common.errors import UserError
from api.common.payloads import Payload, written
from api.common.relay import decode_id, decode_optional_id
from api.context import Context
from api.organisation.enums import RoleEnum
from api.organisation.types import Department, Staff
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
class DepartmentPayload(Payload):
    department: Department | None = written(Department)
    user_errors: list[UserError]


@strawberry.type
class StaffPayload(Payload):
    staff: Staff | None = written(Staff)
    user_errors: list[UserError]


@strawberry.type
class OrganisationMutation:
    @strawberry.mutation
    async def create_staff(self, info: Info[Context, None], input: CreateStaffInput) -> StaffPayload:
        return await StaffPayload.write(info, lambda ctx: use_cases.create_staff(
            ctx.uow(), ctx.clock, ctx.actor, use_cases.CreateStaff(
                name=input.name, email=input.email, role=Role(input.role),
                department_id=decode_id(input.department_id, "Department", "departmentId"),
                idempotency_key=input.idempotency_key)))

    @strawberry.mutation
    async def update_staff(self, info: Info[Context, None], input: UpdateStaffInput) -> StaffPayload:
        return await StaffPayload.write(info, lambda ctx: use_cases.update_staff(
            ctx.uow(), ctx.clock, ctx.actor, use_cases.UpdateStaff(
                staff_id=decode_id(input.id, "Staff", "id"), expected_version=input.expected_version,
                name=input.name, department_id=decode_optional_id(input.department_id, "Department", "departmentId"),
                role=Role(input.role) if input.role else None, active=input.active)))

    @strawberry.mutation(description="Choose the business calendar a department's workflow step due times count on "
                                     "(ADMINs, or the department's MANAGER); running steps keep their due times")
    async def set_department_calendar(self, info: Info[Context, None],
                                      input: SetDepartmentCalendarInput) -> DepartmentPayload:
        return await DepartmentPayload.write(info, lambda ctx: use_cases.set_department_calendar(
            ctx.uow(), ctx.clock, ctx.actor, use_cases.SetDepartmentCalendar(
                department_id=decode_id(input.department_id, "Department", "departmentId"),
                calendar_id=decode_optional_id(input.calendar_id, "BusinessCalendar", "calendarId"))))

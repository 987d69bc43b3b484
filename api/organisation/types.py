"""Department and Staff as the API shows them."""
from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from api.context import Context

from api.common.federation import ENTITY_KEY, load_entity
from api.common.relay import Connection, Node, page_request, to_global_id
from api.common.errors import read
from application.queries.views import DepartmentView, StaffView
from domain.organisation import Department as DepartmentAggregate
from domain.organisation import Role, Staff as StaffAggregate

RoleEnum = strawberry.enum(Role, name="Role", description="MEMBER < KEY_USER < MANAGER < ADMIN")


@strawberry.type(name="Department")
class Department(Node):
    id: strawberry.ID
    code: str
    name: str
    _view: strawberry.Private[DepartmentView]

    @classmethod
    def from_view(cls, view: DepartmentView) -> "Department":
        return cls(id=to_global_id("Department", view.id), code=view.code, name=view.name, _view=view)

    @strawberry.field
    async def staff(self, info: Info[Context, None], first: int | None = None,
                    after: str | None = None) -> Connection[Annotated["Staff", strawberry.lazy("api.organisation.types")]]:
        ctx = info.context

        async def run():  # type: ignore[no-untyped-def]
            request = page_request(first, after)
            return await ctx.loader_for(("Department.staff", request),
                                        lambda ids: ctx.organisation.staff_of_departments(ids, request)
                                        ).load(self._view.id)

        return Connection.from_page(await read(run), Staff.from_view)

    @strawberry.field
    async def key_users(self, info: Info[Context, None]) -> list["Staff"]:
        return [Staff.from_view(v) for v in await info.context.loaders.key_users_by_department.load(self._view.id)]

    @strawberry.field(description="The business calendar its workflow steps' due times count on (setDepartmentCalendar); "
                                  "null: the default, the calendar named \"Standard\" if there is one, else around the "
                                  "clock")
    async def calendar(self, info: Info[Context, None]
                       ) -> Annotated["BusinessCalendar", strawberry.lazy("api.complaints.types")] | None:
        from api.complaints.types import BusinessCalendar

        if self._view.calendar_id is None:
            return None
        value = await info.context.complaint_loaders.calendar_by_id.load(self._view.calendar_id)
        return BusinessCalendar.from_value(value) if value else None

    @classmethod
    def from_aggregate(cls, department: DepartmentAggregate) -> "Department":
        return cls.from_view(DepartmentView(department.id, department.code, department.name, department.calendar_id))


@strawberry.type(name="Staff", directives=[ENTITY_KEY])
class Staff(Node):
    id: strawberry.ID
    name: str
    email: str
    role: RoleEnum  # type: ignore[valid-type]
    active: bool
    version: int
    _view: strawberry.Private[StaffView]

    @classmethod
    async def resolve_reference(cls, info: Info[Context, None], id: strawberry.ID) -> "Staff | None":
        """Federation: the Staff behind a representation, batched and as visible as through `node`."""
        return await load_entity("Staff", id, info.context.loaders.staff_by_id.load, cls.from_view)

    @classmethod
    def from_view(cls, view: StaffView) -> "Staff":
        return cls(id=to_global_id("Staff", view.id), name=view.name, email=view.email, role=Role(view.role),
                   active=view.active, version=view.version, _view=view)

    @classmethod
    def from_aggregate(cls, staff: StaffAggregate) -> "Staff":
        return cls.from_view(StaffView(staff.id, staff.name, staff.email, staff.role.value, staff.active,
                                       staff.department_id, staff.version))

    @strawberry.field
    async def department(self, info: Info[Context, None]) -> Department:
        view = await info.context.loaders.department_by_id.load(self._view.department_id)
        assert view is not None
        return Department.from_view(view)


async def load_staff(info: Info[Context, None], staff_id: object) -> Staff | None:
    if staff_id is None:
        return None
    view = await info.context.loaders.staff_by_id.load(staff_id)
    return Staff.from_view(view) if view else None


async def load_department(info: Info[Context, None], department_id: object) -> Department | None:
    if department_id is None:
        return None
    view = await info.context.loaders.department_by_id.load(department_id)
    return Department.from_view(view) if view else None

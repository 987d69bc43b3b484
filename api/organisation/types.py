"""Department and Staff as the API shows them."""
from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from api.common.federation import ENTITY_KEY
from api.common.relay import Connection, Node, to_global_id
from api.context import Context
from api.nodes import Loaded, resolve_node
from api.organisation.enums import RoleEnum
from api.common.pages import nested_page
from application.queries.views import DepartmentView, StaffView
from application.queries.written import department_view, staff_view
from domain.organisation import Role

__all__ = ["Department", "RoleEnum", "Staff", "load_department", "load_staff"]


@strawberry.type(name="Department")
class Department(Node, Loaded, loader="department_by_id", view_of=department_view):
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
        organisation = info.context.organisation
        return await nested_page(info, "Department.staff", self._view.id, Staff.from_view,
                                 lambda request: lambda ids: organisation.staff_of_departments(ids, request),
                                 first, after)

    @strawberry.field
    async def key_users(self, info: Info[Context, None]) -> list["Staff"]:
        return [Staff.from_view(v) for v in await info.context.loaders.key_users_by_department.load(self._view.id)]

    @strawberry.field(description="The business calendar its workflow steps' due times count on (setDepartmentCalendar); "
                                  "null: the default, the calendar named \"Standard\" if there is one, else around the "
                                  "clock")
    async def calendar(self, info: Info[Context, None]
                       ) -> Annotated["BusinessCalendar", strawberry.lazy("api.complaints.types")] | None:
        if self._view.calendar_id is None:
            return None
        return await resolve_node(info, "BusinessCalendar", self._view.calendar_id)  # type: ignore[return-value]


@strawberry.type(name="Staff", directives=[ENTITY_KEY])
class Staff(Node, Loaded, loader="staff_by_id", view_of=staff_view):
    id: strawberry.ID
    name: str
    email: str
    role: RoleEnum  # type: ignore[valid-type]
    active: bool
    version: int
    _view: strawberry.Private[StaffView]

    @classmethod
    def from_view(cls, view: StaffView) -> "Staff":
        return cls(id=to_global_id("Staff", view.id), name=view.name, email=view.email, role=Role(view.role),
                   active=view.active, version=view.version, _view=view)

    @strawberry.field
    async def department(self, info: Info[Context, None]) -> Department:
        department = await Department.load(info, self._view.department_id)
        assert department is not None
        return department  # type: ignore[no-any-return]


load_staff = Staff.load
load_department = Department.load

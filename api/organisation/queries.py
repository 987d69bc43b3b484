from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.common.errors import read
from api.common.relay import Connection, decode_optional_id, page_request
from api.context import Context
from api.organisation.types import Department, Staff
from application.queries.views import StaffView


@strawberry.type
class OrganisationQuery:
    @strawberry.field(description="The signed-in staff member")
    async def me(self, info: Info[Context, None]) -> Staff | None:
        actor = info.context.actor  # as signed in: no read
        return Staff.from_view(StaffView(id=actor.id, name=actor.name, email=actor.email, role=actor.role.value,
                                         active=actor.active, department_id=actor.department_id,
                                         version=actor.version))

    @strawberry.field
    async def departments(self, info: Info[Context, None]) -> list[Department]:
        return [Department.from_view(v) for v in await info.context.organisation.departments()]

    @strawberry.field
    async def staff(self, info: Info[Context, None], first: int | None = None, after: str | None = None,
                    department_id: strawberry.ID | None = None) -> Connection[Staff]:
        async def run():  # type: ignore[no-untyped-def]
            department = decode_optional_id(department_id, "Department", "departmentId")
            return await info.context.organisation.staff(department, page_request(first, after))

        return Connection.from_page(await read(run), Staff.from_view)

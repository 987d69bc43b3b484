from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.common.errors import read
from api.common.relay import Connection, decode_optional_id, page_request
from api.context import Context
from api.workflows.inputs import decode_subject
from api.workflows.enums import WorkflowStatusEnum
from api.workflows.types import WorkflowDefinition, WorkflowInstance, WorkItem
from application.queries.workflows import WorkerView, overdue_department_scope


@strawberry.type
class WorkflowQuery:
    @strawberry.field(description="Every version of every workflow, by key and newest version first")
    async def workflow_definitions(self, info: Info[Context, None],
                                   active_only: bool | None = None) -> list[WorkflowDefinition]:
        return [WorkflowDefinition.from_view(v) for v in await info.context.workflows.definitions(bool(active_only))]

    @strawberry.field(description="Newest first")
    async def workflow_instances(self, info: Info[Context, None], first: int | None = None, after: str | None = None,
                                 status: WorkflowStatusEnum | None = None,  # type: ignore[valid-type]
                                 subject_id: strawberry.ID | None = None) -> Connection[WorkflowInstance]:
        async def run():  # type: ignore[no-untyped-def]
            subject = decode_subject(subject_id)[1] if subject_id is not None else None
            return await info.context.workflows.instances(status.value if status else None, subject,  # type: ignore[arg-type]
                                                          page_request(first, after))

        return Connection.from_page(await read(run), WorkflowInstance.from_view)

    @strawberry.field(description="Active steps the caller may act on: theirs, or their department's when "
                                  "unassigned")
    async def my_work(self, info: Info[Context, None], first: int | None = None,
                      after: str | None = None) -> Connection[WorkItem]:
        actor = info.context.actor
        worker = WorkerView(id=actor.id, department_id=actor.department_id, role=actor.role.value)
        page = await read(lambda: info.context.workflows.my_work(worker, page_request(first, after)))
        return Connection.from_page(page, WorkItem.from_view)

    @strawberry.field(description="ACTIVE steps past their due time, longest overdue first: a MANAGER's own "
                                  "department's; an ADMIN's of departmentId, or of every department")
    async def overdue_steps(self, info: Info[Context, None], first: int | None = None, after: str | None = None,
                            department_id: strawberry.ID | None = None) -> Connection[WorkItem]:
        actor = info.context.actor

        async def run():  # type: ignore[no-untyped-def]
            scope = overdue_department_scope(WorkerView(id=actor.id, department_id=actor.department_id,
                                                        role=actor.role.value),
                                             decode_optional_id(department_id, "Department", "departmentId"))
            return await info.context.workflows.overdue(scope, info.context.clock.now(), page_request(first, after))

        return Connection.from_page(await read(run), WorkItem.from_view)

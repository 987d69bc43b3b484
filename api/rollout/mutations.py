from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from api.common.errors import UserError
from api.common.payloads import Payload, written
from api.common.relay import decode_id
from api.context import Context
from api.rollout.enums import RolloutPhaseEnum
from api.rollout.types import DepartmentRollout
from application import rollout as use_cases
from domain.rollout import RolloutPhase


@strawberry.input
class SetRolloutPhaseInput:
    department_id: strawberry.ID
    phase: RolloutPhaseEnum  # type: ignore[valid-type]
    note: str | None = strawberry.field(default=None, description="Required for a step back")
    expected_version: int | None = None


@strawberry.input
class MarkTrainedInput:
    staff_id: strawberry.ID
    trained_at: datetime | None = strawberry.field(default=None, description="Defaults to now")


@strawberry.input
class SetChecklistTargetInput:
    department_id: strawberry.ID
    key: str
    target: int | None = strawberry.field(default=None, description="null: no target")
    done: bool | None = strawberry.field(default=None, description="true: done whatever the count; false or null: "
                                                                   "done once current reaches target")
    expected_version: int | None = None


@strawberry.type
class RolloutPayload(Payload):
    rollout: DepartmentRollout | None = written(DepartmentRollout)
    user_errors: list[UserError]


@strawberry.type
class RolloutMutation:
    @strawberry.mutation(description="Move a department's rollout one phase forward, or one back with a note "
                                     "(ADMINs, the department's MANAGERs and KEY_USERs)")
    async def set_rollout_phase(self, info: Info[Context, None], input: SetRolloutPhaseInput) -> RolloutPayload:
        return await RolloutPayload.write(info, lambda ctx: use_cases.set_rollout_phase(
            ctx.uow(), ctx.clock, ctx.actor, use_cases.SetRolloutPhase(
                department_id=decode_id(input.department_id, "Department", "departmentId"),
                phase=RolloutPhase(input.phase), note=input.note, expected_version=input.expected_version)))

    @strawberry.mutation(description="Record that a staff member was trained (ADMINs, the MANAGERs and KEY_USERs of "
                                     "the staff member's department); trainedAt defaults to now, never in the future")
    async def mark_trained(self, info: Info[Context, None], input: MarkTrainedInput) -> RolloutPayload:
        return await RolloutPayload.write(info, lambda ctx: use_cases.mark_trained(
            ctx.uow(), ctx.clock, ctx.actor, use_cases.MarkTrained(
                staff_id=decode_id(input.staff_id, "Staff", "staffId"), trained_at=input.trained_at)))

    @strawberry.mutation(description="Set the target count of an item of a department's checklist, or mark it done "
                                     "(ADMINs, the department's MANAGERs and KEY_USERs)")
    async def set_checklist_target(self, info: Info[Context, None], input: SetChecklistTargetInput) -> RolloutPayload:
        return await RolloutPayload.write(info, lambda ctx: use_cases.set_checklist_target(
            ctx.uow(), ctx.clock, ctx.actor, use_cases.SetChecklistTarget(
                department_id=decode_id(input.department_id, "Department", "departmentId"), key=input.key,
                target=input.target, done=input.done, expected_version=input.expected_version)))

from __future__ import annotations

import uuid
from typing import Awaitable

import strawberry
from strawberry.types import Info

from api.common.errors import UserError
from api.common.payloads import Payload, written
from api.common.relay import decode_id
from api.context import Context
from api.workflows.inputs import (
    CancelWorkflowInput,
    DecideStepInput,
    DefineWorkflowInput,
    DelegateStepInput,
    StartWorkflowInput,
    decode_subject,
)
from api.workflows.types import WorkflowDefinition, WorkflowInstance
from application import workflows as use_cases


@strawberry.type
class WorkflowDefinitionPayload(Payload):
    definition: WorkflowDefinition | None = written(WorkflowDefinition)
    user_errors: list[UserError]


@strawberry.type
class WorkflowInstancePayload(Payload):
    instance: WorkflowInstance | None = written(WorkflowInstance)
    user_errors: list[UserError]


@strawberry.type
class WorkflowMutation:
    @strawberry.mutation(description="Define a workflow, or the next version of a key (the previous one is retired). "
                                     "For ADMINs, and KEY_USERs or MANAGERs of a department with a step in it")
    async def define_workflow(self, info: Info[Context, None], input: DefineWorkflowInput) -> WorkflowDefinitionPayload:
        return await WorkflowDefinitionPayload.write(info, lambda ctx: use_cases.define_workflow(
            ctx.uow(), ctx.clock, ctx.actor, use_cases.DefineWorkflow(
                key=input.key, name=input.name, subject=input.subject.value,
                steps=tuple(s.to_data(i) for i, s in enumerate(input.steps)))))

    @strawberry.mutation
    async def start_workflow(self, info: Info[Context, None], input: StartWorkflowInput) -> WorkflowInstancePayload:
        def start(ctx: Context) -> Awaitable[object]:
            subject_type, subject_id = decode_subject(input.subject_id)
            return use_cases.start_workflow(ctx.uow(), ctx.clock, ctx.due_dates, ctx.actor, use_cases.StartWorkflow(
                definition_key=input.definition_key, subject_type=subject_type, subject_id=subject_id,
                context=input.context, idempotency_key=input.idempotency_key))  # type: ignore[arg-type]

        return await WorkflowInstancePayload.write(info, start)

    @strawberry.mutation
    async def decide_step(self, info: Info[Context, None], input: DecideStepInput) -> WorkflowInstancePayload:
        return await WorkflowInstancePayload.write(info, lambda ctx: use_cases.decide_step(
            ctx.uow(), ctx.clock, ctx.due_dates, ctx.actor, use_cases.DecideStep(
                instance_id=_instance_id(input.instance_id), step_key=input.step_key, decision=input.decision.value,
                comment=input.comment, expected_version=input.expected_version)))

    @strawberry.mutation
    async def delegate_step(self, info: Info[Context, None], input: DelegateStepInput) -> WorkflowInstancePayload:
        return await WorkflowInstancePayload.write(info, lambda ctx: use_cases.delegate_step(
            ctx.uow(), ctx.clock, ctx.actor, use_cases.DelegateStep(
                instance_id=_instance_id(input.instance_id), step_key=input.step_key,
                to_staff_id=decode_id(input.to_staff_id, "Staff", "toStaffId"), comment=input.comment,
                expected_version=input.expected_version)))

    @strawberry.mutation
    async def cancel_workflow(self, info: Info[Context, None], input: CancelWorkflowInput) -> WorkflowInstancePayload:
        return await WorkflowInstancePayload.write(info, lambda ctx: use_cases.cancel_workflow(
            ctx.uow(), ctx.clock, ctx.actor, use_cases.CancelWorkflow(
                instance_id=_instance_id(input.instance_id), reason=input.reason,
                expected_version=input.expected_version)))


def _instance_id(value: str) -> uuid.UUID:
    return decode_id(value, "WorkflowInstance", "instanceId")

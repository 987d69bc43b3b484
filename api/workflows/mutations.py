from __future__ import annotations

import uuid

import strawberry
from strawberry.types import Info

from api.common.errors import UserError, attempt
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
from domain.workflow import WorkflowInstance as InstanceAggregate


@strawberry.type
class WorkflowDefinitionPayload:
    definition: WorkflowDefinition | None
    user_errors: list[UserError]


@strawberry.type
class WorkflowInstancePayload:
    instance: WorkflowInstance | None
    user_errors: list[UserError]


def _instance_payload(result: tuple[InstanceAggregate | None, list[UserError]]) -> WorkflowInstancePayload:
    instance, errors = result
    return WorkflowInstancePayload(instance=WorkflowInstance.from_aggregate(instance) if instance else None,
                                   user_errors=errors)


@strawberry.type
class WorkflowMutation:
    @strawberry.mutation(description="Define a workflow, or the next version of a key (the previous one is retired). "
                                     "For ADMINs, and KEY_USERs or MANAGERs of a department with a step in it")
    async def define_workflow(self, info: Info[Context, None], input: DefineWorkflowInput) -> WorkflowDefinitionPayload:
        ctx = info.context

        async def run():  # type: ignore[no-untyped-def]
            cmd = use_cases.DefineWorkflow(key=input.key, name=input.name, subject=input.subject.value,
                                           steps=tuple(s.to_data(i) for i, s in enumerate(input.steps)))
            return await use_cases.define_workflow(ctx.uow(), ctx.clock, ctx.actor, cmd)

        definition, errors = await attempt(run)
        return WorkflowDefinitionPayload(
            definition=WorkflowDefinition.from_aggregate(definition) if definition else None, user_errors=errors)

    @strawberry.mutation
    async def start_workflow(self, info: Info[Context, None], input: StartWorkflowInput) -> WorkflowInstancePayload:
        ctx = info.context

        async def run():  # type: ignore[no-untyped-def]
            subject_type, subject_id = decode_subject(input.subject_id)
            cmd = use_cases.StartWorkflow(definition_key=input.definition_key, subject_type=subject_type,
                                          subject_id=subject_id, context=input.context,  # type: ignore[arg-type]
                                          idempotency_key=input.idempotency_key)
            return await use_cases.start_workflow(ctx.uow(), ctx.clock, ctx.services.due_dates(), ctx.actor, cmd)

        return _instance_payload(await attempt(run))

    @strawberry.mutation
    async def decide_step(self, info: Info[Context, None], input: DecideStepInput) -> WorkflowInstancePayload:
        ctx = info.context

        async def run():  # type: ignore[no-untyped-def]
            cmd = use_cases.DecideStep(
                instance_id=_instance_id(input.instance_id), step_key=input.step_key, decision=input.decision.value,
                comment=input.comment, expected_version=input.expected_version)
            return await use_cases.decide_step(ctx.uow(), ctx.clock, ctx.services.due_dates(), ctx.actor, cmd)

        return _instance_payload(await attempt(run))

    @strawberry.mutation
    async def delegate_step(self, info: Info[Context, None], input: DelegateStepInput) -> WorkflowInstancePayload:
        ctx = info.context

        async def run():  # type: ignore[no-untyped-def]
            cmd = use_cases.DelegateStep(
                instance_id=_instance_id(input.instance_id), step_key=input.step_key,
                to_staff_id=decode_id(input.to_staff_id, "Staff", "toStaffId"), comment=input.comment,
                expected_version=input.expected_version)
            return await use_cases.delegate_step(ctx.uow(), ctx.clock, ctx.actor, cmd)

        return _instance_payload(await attempt(run))

    @strawberry.mutation
    async def cancel_workflow(self, info: Info[Context, None], input: CancelWorkflowInput) -> WorkflowInstancePayload:
        ctx = info.context

        async def run():  # type: ignore[no-untyped-def]
            cmd = use_cases.CancelWorkflow(instance_id=_instance_id(input.instance_id), reason=input.reason,
                                           expected_version=input.expected_version)
            return await use_cases.cancel_workflow(ctx.uow(), ctx.clock, ctx.actor, cmd)

        return _instance_payload(await attempt(run))


def _instance_id(value: str) -> uuid.UUID:
    return decode_id(value, "WorkflowInstance", "instanceId")

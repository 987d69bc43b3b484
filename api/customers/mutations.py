from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.common.errors import UserError
from api.common.payloads import Payload, written
from api.common.relay import decode_id, decode_optional_id
from api.context import Context
from api.customers.inputs import (
    ChangeLifecycleStageInput,
    CreateCustomerInput,
    LogInteractionInput,
    UpdateCustomerInput,
)
from api.customers.types import Customer, Interaction
from application import customers as use_cases
from domain.customer import CustomerKind, CustomerTier, InteractionKind, LifecycleStage


@strawberry.type
class CustomerPayload(Payload):
    customer: Customer | None = written(Customer)
    user_errors: list[UserError]


@strawberry.type
class InteractionPayload(Payload):
    interaction: Interaction | None = written(Interaction)
    user_errors: list[UserError]


@strawberry.type
class CustomerMutation:
    @strawberry.mutation
    async def create_customer(self, info: Info[Context, None], input: CreateCustomerInput) -> CustomerPayload:
        return await CustomerPayload.write(info, lambda ctx: use_cases.create_customer(
            ctx.uow(), ctx.clock, ctx.actor, use_cases.CreateCustomer(
                code=input.code, name=input.name, kind=CustomerKind(input.kind),
                tier=CustomerTier(input.tier) if input.tier else None,
                lifecycle_stage=LifecycleStage(input.lifecycle_stage) if input.lifecycle_stage else None,
                owner_id=decode_optional_id(input.owner_id, "Staff", "ownerId"),
                contacts=tuple(c.to_data() for c in input.contacts or ()), tags=tuple(input.tags or ()),
                attributes=input.attributes, idempotency_key=input.idempotency_key)))

    @strawberry.mutation
    async def update_customer(self, info: Info[Context, None], input: UpdateCustomerInput) -> CustomerPayload:
        return await CustomerPayload.write(info, lambda ctx: use_cases.update_customer(
            ctx.uow(), ctx.clock, ctx.actor, use_cases.UpdateCustomer(
                customer_id=decode_id(input.id, "Customer", "id"), expected_version=input.expected_version,
                name=input.name, tier=CustomerTier(input.tier) if input.tier else None,
                owner_id=(use_cases.UNCHANGED if input.owner_id is strawberry.UNSET
                          else decode_optional_id(input.owner_id, "Staff", "ownerId")),
                contacts=tuple(c.to_data() for c in input.contacts) if input.contacts is not None else None,
                tags=tuple(input.tags) if input.tags is not None else None, attributes=input.attributes)))

    @strawberry.mutation
    async def change_lifecycle_stage(self, info: Info[Context, None],
                                     input: ChangeLifecycleStageInput) -> CustomerPayload:
        return await CustomerPayload.write(info, lambda ctx: use_cases.change_lifecycle_stage(
            ctx.uow(), ctx.clock, ctx.actor, use_cases.ChangeLifecycleStage(
                customer_id=decode_id(input.customer_id, "Customer", "customerId"), to=LifecycleStage(input.to),
                reason=input.reason, expected_version=input.expected_version)))

    @strawberry.mutation
    async def log_interaction(self, info: Info[Context, None], input: LogInteractionInput) -> InteractionPayload:
        return await InteractionPayload.write(info, lambda ctx: use_cases.log_interaction(
            ctx.uow(), ctx.clock, ctx.actor, use_cases.LogInteraction(
                customer_id=decode_id(input.customer_id, "Customer", "customerId"), kind=InteractionKind(input.kind),
                summary=input.summary, occurred_at=input.occurred_at, rating=input.rating,
                idempotency_key=input.idempotency_key)))

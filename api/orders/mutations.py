from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.common.errors import UserError
from api.common.payloads import Payload, written
from api.common.relay import decode_id, decode_optional_id
from api.context import Context
from api.orders.inputs import CreateOrderInput, TransitionOrderInput
from api.orders.types import Order
from application import orders as use_cases
from domain.order import OrderStatus


@strawberry.type
class OrderPayload(Payload):
    order: Order | None = written(Order)
    user_errors: list[UserError]


@strawberry.type
class OrderMutation:
    @strawberry.mutation
    async def create_order(self, info: Info[Context, None], input: CreateOrderInput) -> OrderPayload:
        return await OrderPayload.write(info, lambda ctx: use_cases.create_order(
            ctx.uow(), ctx.clock, ctx.actor, use_cases.CreateOrder(
                customer_id=decode_id(input.customer_id, "Customer", "customerId"), currency=input.currency,
                lines=tuple(line.to_data() for line in input.lines),
                owner_id=decode_optional_id(input.owner_id, "Staff", "ownerId"),
                idempotency_key=input.idempotency_key)))

    @strawberry.mutation(description="Move an order along DRAFT -> CONFIRMED -> IN_FULFILLMENT -> SHIPPED -> INVOICED "
                                     "-> PAID (or CANCELLED from DRAFT or CONFIRMED). Sales confirms and cancels, the "
                                     "warehouse fulfils and ships, finance invoices and books payment; others get "
                                     "FORBIDDEN")
    async def transition_order(self, info: Info[Context, None], input: TransitionOrderInput) -> OrderPayload:
        return await OrderPayload.write(info, lambda ctx: use_cases.transition_order(
            ctx.uow(), ctx.clock, ctx.actor, use_cases.TransitionOrder(
                order_id=decode_id(input.order_id, "Order", "orderId"), to=OrderStatus(input.to.value),
                expected_version=input.expected_version)))

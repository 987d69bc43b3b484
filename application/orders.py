"""Use cases for sales orders. Who may move an order, and where to, is decided in domain/order.py."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from application.complaints import department_code
from application.customers import require_owner
from application.idempotency import replay_or_create
from application.ports import Clock, UnitOfWork
from domain.order import Order, OrderStatus, order_number
from domain.organisation import Staff
from domain.shared import NotFound

ORDER_NUMBER_SEQUENCE = "order_number"


@dataclass(frozen=True)
class OrderLineData:
    sku: str
    quantity: object  # Decimal, int or numeric text; the domain checks it
    unit_price: object
    description: str | None = None
    discount_percent: object | None = None


@dataclass(frozen=True)
class CreateOrder:
    customer_id: uuid.UUID
    currency: str
    lines: tuple[OrderLineData, ...]
    owner_id: uuid.UUID | None = None
    idempotency_key: str | None = None


async def create_order(uow: UnitOfWork, clock: Clock, actor: Staff, cmd: CreateOrder) -> Order:
    """Take a DRAFT order for a customer, numbered SO-000042; its owner is the given staff member, else
    whoever takes it. Raises NotFound (customer, owner), InvalidInput (currency, lines), Conflict."""

    async def create() -> uuid.UUID:
        if await uow.customers.get(cmd.customer_id) is None:
            raise NotFound("No such customer.", field=("customerId",))
        owner_id = cmd.owner_id if cmd.owner_id is not None else actor.id
        await require_owner(uow, owner_id)
        lines = [{"sku": line.sku, "description": line.description, "quantity": line.quantity,
                  "unit_price": line.unit_price, "discount_percent": line.discount_percent} for line in cmd.lines]
        Order.create(number="SO-000000", customer_id=cmd.customer_id, owner_id=owner_id, currency=cmd.currency,
                     lines=lines, at=clock.now(), by=actor.id)  # validate before a number is drawn
        number = order_number(await uow.sequences.next_value(ORDER_NUMBER_SEQUENCE))
        order = Order.create(number=number, customer_id=cmd.customer_id, owner_id=owner_id, currency=cmd.currency,
                             lines=lines, at=clock.now(), by=actor.id)
        await uow.orders.add(order)
        return order.id

    async with uow:
        order_id, _ = await replay_or_create(uow, scope=f"createOrder:{actor.id}", key=cmd.idempotency_key,
                                             command=cmd, create=create)
        order = await uow.orders.get(order_id)  # as written (or as first written, for a replay), before the commit
        await uow.commit()
    assert order is not None
    return order


@dataclass(frozen=True)
class TransitionOrder:
    order_id: uuid.UUID
    to: OrderStatus
    expected_version: int | None = None


async def transition_order(uow: UnitOfWork, clock: Clock, actor: Staff, cmd: TransitionOrder) -> Order:
    """Move an order along its status machine (confirming places it). Raises NotFound, NotAuthorized
    (the target status is another department's work), Conflict (stale expectedVersion, or a concurrent
    move), ForbiddenTransition (not a move the machine allows; confirming an order without lines)."""
    async with uow:
        order = await uow.orders.get(cmd.order_id)
        if order is None:
            raise NotFound("No such order.", field=("orderId",))
        order.require_mover(actor, await department_code(uow, actor), cmd.to)
        order.check_version(cmd.expected_version)
        order.transition(cmd.to, at=clock.now(), by=actor.id)
        await uow.orders.save(order)
        await uow.commit()
    return order

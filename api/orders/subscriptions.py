"""`orderEvents` over graphql-transport-ws: live order changes for Kanban boards and sales views.

Orders are visible to every active staff member (as in the `orders` query), so the only filters
are the ones the subscriber asks for. They match the event, not the order as it is when the event is
delivered (by then it may have moved on): every order event's payload carries the order's state right
after it (`domain.order.Order._about`), and `order` shows that state (status, advance payment, placedAt,
updatedAt); the rest (lines, customer, version) is read at delivery.
"""
from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import AsyncGenerator

import strawberry
from strawberry.types import Info

from api.common.relay import decode_optional_id
from api.common.live import committed, subscriber_arguments
from api.context import Context
from api.orders.enums import OrderStatusEnum
from api.orders.types import Order
from application.queries.orders import OrderView
from domain.order import AdvancePaymentStatus, OrderStatus
from domain.shared import DomainEvent


@strawberry.type
class OrderEvent:
    kind: str = strawberry.field(description="The event type without its prefix, e.g. CONFIRMED, CREATED, "
                                             "ADVANCE_PAYMENT_CHANGED")
    at: datetime
    order: Order
    from_status: OrderStatusEnum | None  # type: ignore[valid-type]
    to_status: OrderStatusEnum | None  # type: ignore[valid-type]


def _status(value: object) -> OrderStatus | None:
    return OrderStatus(value) if isinstance(value, str) and value in OrderStatus.__members__ else None


def as_of(view: OrderView, event: DomainEvent) -> OrderView:
    """The order as `event` left it. Events recorded before payloads carried the state keep what is read now
    (a status move still knows its `to`)."""
    payload = event.payload
    status = payload.get("status") or (payload.get("to") if _status(payload.get("to")) else None)
    advance = payload.get("advancePayment")
    return dataclasses.replace(
        view, status=status or view.status, updated_at=event.occurred_at,
        advance_payment=advance if advance in AdvancePaymentStatus.__members__ else view.advance_payment,
        placed_at=datetime.fromisoformat(payload["placedAt"]) if payload.get("placedAt") else
        (None if "placedAt" in payload else view.placed_at))


@strawberry.type
class OrderSubscription:
    @strawberry.subscription(description="Order events after their commit, optionally for one customer, owner or "
                                         "set of statuses (an event matches when it left the order in one of them; "
                                         "`order` shows the order's status as of the event)")
    async def order_events(self, info: Info[Context, None], customer_id: strawberry.ID | None = None,
                           owner_id: strawberry.ID | None = None,
                           statuses: list[OrderStatusEnum] | None = None,  # type: ignore[valid-type]
                           ) -> AsyncGenerator[OrderEvent, None]:
        customer, owner = subscriber_arguments(info, lambda: (
            decode_optional_id(customer_id, "Customer", "customerId"),
            decode_optional_id(owner_id, "Staff", "ownerId")))
        wanted = {OrderStatus(s) for s in statuses or ()}
        async for event, _ in committed(info, "order"):
            (view,) = await info.context.orders.by_ids([event.aggregate_id])
            if view is None:
                continue
            view = as_of(view, event)
            if (customer and view.customer_id != customer) or (owner and view.owner_id != owner) \
                    or (wanted and OrderStatus(view.status) not in wanted):
                continue
            yield OrderEvent(kind=event.type.split(".", 1)[1].upper(), at=event.occurred_at, order=Order.from_view(view),
                             from_status=_status(event.payload.get("from")), to_status=_status(event.payload.get("to")))

"""Order and OrderLine as the API shows them."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry
from strawberry.types import Info

from api.common.money import Money
from api.common.relay import Node, to_global_id
from api.context import Context
from api.customers.types import Customer
from api.organisation.types import Staff, load_staff
from api.workflows.types import WorkflowInstance
from application.queries.orders import OrderLineView, OrderView
from domain.order import AdvancePaymentStatus, OrderStatus
from domain.order import Order as OrderAggregate

OrderStatusEnum = strawberry.enum(OrderStatus, name="OrderStatus")
AdvancePaymentStatusEnum = strawberry.enum(AdvancePaymentStatus, name="AdvancePaymentStatus")


@strawberry.type
class OrderLine:
    sku: str
    description: str
    quantity: Decimal
    unit_price: Money
    discount_percent: Decimal
    line_total: Money

    @classmethod
    def from_view(cls, v: OrderLineView) -> "OrderLine":
        return cls(sku=v.sku, description=v.description, quantity=v.quantity,
                   unit_price=Money.of(v.unit_price, v.currency), discount_percent=v.discount_percent,
                   line_total=Money.of(v.line_total, v.currency))


@strawberry.type
class Order(Node):
    id: strawberry.ID
    number: str = strawberry.field(description="Human-readable, e.g. SO-000042")
    status: OrderStatusEnum  # type: ignore[valid-type]
    currency: str
    total: Money
    advance_payment: AdvancePaymentStatusEnum  # type: ignore[valid-type]
    placed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int
    _view: strawberry.Private[OrderView]
    _lines: strawberry.Private[list[OrderLineView] | None] = None  # known already: no loader round trip

    @classmethod
    def from_view(cls, v: OrderView, lines: list[OrderLineView] | None = None) -> "Order":
        return cls(id=to_global_id("Order", v.id), number=v.number, status=OrderStatus(v.status),
                   currency=v.currency, total=Money.of(v.total, v.currency),
                   advance_payment=AdvancePaymentStatus(v.advance_payment), placed_at=v.placed_at,
                   created_at=v.created_at, updated_at=v.updated_at, version=v.version, _view=v, _lines=lines)

    @classmethod
    def from_aggregate(cls, o: OrderAggregate) -> "Order":
        view = OrderView(o.id, o.number, o.customer_id, o.owner_id, o.status.value, o.currency, o.total.amount,
                         o.advance_payment.value, o.placed_at, o.created_at, o.updated_at, o.version)
        lines = [OrderLineView(line.sku, line.description, line.quantity, line.unit_price.amount,
                               line.discount_percent, line.line_total.amount, o.currency) for line in o.lines]
        return cls.from_view(view, lines)

    @strawberry.field
    async def customer(self, info: Info[Context, None]) -> Customer:
        view = await info.context.loaders.customer_by_id.load(self._view.customer_id)
        assert view is not None
        return Customer.from_view(view)

    @strawberry.field
    async def owner(self, info: Info[Context, None]) -> Staff | None:
        return await load_staff(info, self._view.owner_id)

    @strawberry.field
    async def lines(self, info: Info[Context, None]) -> list[OrderLine]:
        lines = self._lines
        if lines is None:
            lines = await info.context.order_loaders.lines_by_order.load(self._view.id)
        return [OrderLine.from_view(line) for line in lines]

    @strawberry.field(description="Workflows run on this order, oldest first")
    async def workflows(self, info: Info[Context, None]) -> list[WorkflowInstance]:
        views = await info.context.workflow_loaders.instances_by_subject.load(self._view.id)
        return [WorkflowInstance.from_view(v) for v in views]

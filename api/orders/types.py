"""Order and OrderLine as the API shows them."""
from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from api.common.pages import column_page
from api.common.federation import ENTITY_KEY
from api.common.money import Money
from api.common.relay import Connection, Node, to_global_id
from api.context import Context, Loaders
from api.customers.types import Customer, load_customer
from api.nodes import Children, Loaded, children, register_part
from api.orders.enums import AdvancePaymentStatusEnum, OrderStatusEnum
from api.organisation.types import Staff, load_staff
from api.profitability import fields as external
from api.profitability.types import Profitability
from api.workflows.types import WorkflowInstance
from application.queries.orders import BoardPageRequest, OrderLineView, OrderView
from application.queries.orders import OrderFilter as OrderFilterQuery
from application.queries.written import order_line_views, order_view
from domain.order import AdvancePaymentStatus, OrderStatus

if TYPE_CHECKING:
    from api.complaints.types import Complaint

__all__ = ["AdvancePaymentStatusEnum", "Order", "OrderBoard", "OrderBoardColumn", "OrderLine", "OrderStatusEnum"]


@strawberry.type
class OrderLine(Node):
    id: strawberry.ID = strawberry.field(description="The order's ID and the line's position: stable, as lines "
                                                     "never change once the order is created")
    sku: str
    description: str
    quantity: Decimal
    unit_price: Money
    discount_percent: Decimal
    line_total: Money
    _currency: strawberry.Private[str]
    _owner_id: strawberry.Private[uuid.UUID | None] = None  # the order's owner (field access: api/profitability)

    @classmethod
    def from_view(cls, v: OrderLineView, order_id: uuid.UUID, position: int,
                  owner_id: uuid.UUID | None = None) -> "OrderLine":
        return cls(id=to_global_id("OrderLine", order_id, position), sku=v.sku, description=v.description, quantity=v.quantity,
                   unit_price=Money.of(v.unit_price, v.currency), discount_percent=v.discount_percent,
                   line_total=Money.of(v.line_total, v.currency), _currency=v.currency, _owner_id=owner_id)

    @strawberry.field(description="Unit cost from the ERP, in the order's currency; null when unknown or the ERP "
                                  "cannot be reached (then with an entry in errors)")
    async def unit_cost(self, info: Info[Context, None]) -> Money | None:
        return await external.unit_cost(info, self.sku, self._currency, self._owner_id)


@strawberry.type(directives=[ENTITY_KEY])
class Order(Node, Loaded, loader="order_by_id", view_of=order_view):
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
    def prime(cls, loaders: Loaders, written: Any) -> None:
        super().prime(loaders, written)
        loaders.lines_by_order.prime(written.id, order_line_views(written))

    @strawberry.field
    async def customer(self, info: Info[Context, None]) -> Customer:
        return await load_customer(info, self._view.customer_id)

    @strawberry.field
    async def owner(self, info: Info[Context, None]) -> Staff | None:
        return await load_staff(info, self._view.owner_id)

    @strawberry.field
    async def lines(self, info: Info[Context, None]) -> list[OrderLine]:
        lines = self._lines
        if lines is None:
            lines = await info.context.loaders.lines_by_order.load(self._view.id)
        return [OrderLine.from_view(line, self._view.id, i, self._view.owner_id) for i, line in enumerate(lines)]

    @strawberry.field(description="From the ERP's product costs; null (with an entry in errors) when it cannot be "
                                  "reached")
    async def profitability(self, info: Info[Context, None]) -> Profitability | None:
        lines = self._lines
        if lines is None:
            lines = await info.context.loaders.lines_by_order.load(self._view.id)
        return await external.profitability(info, self._view, lines)

    @strawberry.field(description="Workflows run on this order, oldest first")
    async def workflows(self, info: Info[Context, None]) -> list[WorkflowInstance]:
        views = await info.context.loaders.workflows_by_subject.load(self._view.id)
        return [WorkflowInstance.from_view(v) for v in views]

    @strawberry.field(description="Complaints about this order the caller may see, newest first")
    async def complaints(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None,
    ) -> Connection[Annotated["Complaint", strawberry.lazy("api.complaints.types")]]:
        return await children(info, "Complaint", Children(parent="order", parent_id=self._view.id, first=first,
                                                          after=after))


@strawberry.type(description="One status of the Kanban: its orders, how many, and their totals per currency")
class OrderBoardColumn:
    status: OrderStatusEnum  # type: ignore[valid-type]
    count: int
    totals: list[Money] = strawberry.field(description="Sum of order totals in the column, per currency "
                                                       "(ordered by currency code)")
    _filter: strawberry.Private[OrderFilterQuery]

    @strawberry.field(description="The column's orders, newest first")
    async def orders(self, info: Info[Context, None], first: int | None = None,
                     after: str | None = None) -> Connection[Order]:
        return await column_page(self.count, after, lambda request: info.context.loaders.board_page.load(
            BoardPageRequest(self._filter, self.status.value, request)), Order.from_view, first)


@strawberry.type(description="Kanban of sales orders by status, as office-automation boards show it")
class OrderBoard:
    columns: list[OrderBoardColumn] = strawberry.field(
        description="One per status, in status order (DRAFT ... PAID, CANCELLED); only the filter's statuses "
                    "when it names some")


async def _order_line(info: Info[Context, None], order_id: uuid.UUID, part: str) -> OrderLine | None:
    loaders = info.context.loaders
    order = await loaders.order_by_id.load(order_id) if part.isdigit() else None
    if order is None:
        return None
    lines = await loaders.lines_by_order.load(order_id)
    position = int(part)
    return OrderLine.from_view(lines[position], order_id, position, order.owner_id) if position < len(lines) else None


register_part("OrderLine", _order_line)

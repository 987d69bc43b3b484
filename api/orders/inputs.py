from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from api.common.relay import decode_optional_id
from api.orders.enums import OrderStatusEnum
from application.orders import OrderLineData
from application.queries.orders import OrderFilter as OrderFilterQuery
from domain.shared import InvalidInput


def _aware(value: datetime | None, field: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise InvalidInput(f"{field} needs a time-zone offset.", field=(field,))
    return value


@strawberry.input
class OrderFilter:
    statuses: list[OrderStatusEnum] | None = None  # type: ignore[valid-type]
    customer_id: strawberry.ID | None = None
    owner_id: strawberry.ID | None = None
    placed_from: datetime | None = strawberry.field(default=None, description="Inclusive")
    placed_to: datetime | None = strawberry.field(default=None, description="Exclusive")

    def to_query(self) -> OrderFilterQuery:
        return OrderFilterQuery(
            statuses=tuple(s.value for s in self.statuses or ()),
            customer_id=decode_optional_id(self.customer_id, "Customer", "customerId"),
            owner_id=decode_optional_id(self.owner_id, "Staff", "ownerId"),
            placed_from=_aware(self.placed_from, "placedFrom"),
            placed_to=_aware(self.placed_to, "placedTo"),
        )


@strawberry.input
class OrderLineInput:
    sku: str
    description: str | None = None
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal | None = None

    def to_data(self) -> OrderLineData:
        return OrderLineData(sku=self.sku, description=self.description, quantity=self.quantity,
                             unit_price=self.unit_price, discount_percent=self.discount_percent)


@strawberry.input
class CreateOrderInput:
    customer_id: strawberry.ID
    currency: str
    lines: list[OrderLineInput]
    owner_id: strawberry.ID | None = strawberry.field(default=None, description="Default: whoever creates it")
    idempotency_key: str | None = None


@strawberry.input
class TransitionOrderInput:
    order_id: strawberry.ID
    to: OrderStatusEnum  # type: ignore[valid-type]
    expected_version: int | None = None

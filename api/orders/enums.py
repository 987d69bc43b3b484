"""The order area's GraphQL enums."""
from __future__ import annotations

import strawberry

from domain.order import AdvancePaymentStatus, OrderStatus

OrderStatusEnum = strawberry.enum(OrderStatus, name="OrderStatus")
AdvancePaymentStatusEnum = strawberry.enum(AdvancePaymentStatus, name="AdvancePaymentStatus")

"""The order area's GraphQL enums."""
from __future__ import annotations

from api.common.enums import graphql_enums
from domain.order import AdvancePaymentStatus, OrderStatus

OrderStatusEnum, AdvancePaymentStatusEnum = graphql_enums(OrderStatus, AdvancePaymentStatus)

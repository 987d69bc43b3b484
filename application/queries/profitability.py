"""Read model of sales for the profitability report: what was sold, grouped, computed in SQL."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

# The orders whose lines count as revenue: placed (confirmed) and not cancelled. A DRAFT is only an offer.
REVENUE_STATUSES = ("CONFIRMED", "IN_FULFILLMENT", "SHIPPED", "INVOICED", "PAID")


class ProfitabilityGroup(StrEnum):
    CUSTOMER = "CUSTOMER"  # key: customer code, label: its name
    PRODUCT = "PRODUCT"  # key: SKU, label: a description it was sold under
    OWNER = "OWNER"  # key: the order owner's e-mail ("" for orders without one), label: their name


@dataclass(frozen=True)
class SoldQuantity:
    """One (group, currency, SKU) cell: how much of the SKU the group sold in that currency, for how much."""

    key: str
    label: str
    currency: str
    sku: str
    quantity: Decimal
    revenue: Decimal


class ProfitabilityQueries(Protocol):
    async def sold(self, placed_from: datetime, placed_to: datetime, group_by: ProfitabilityGroup,
                   limit: int) -> list[SoldQuantity]:
        """Lines of orders placed in [placed_from, placed_to) with a status in REVENUE_STATUSES, summed per
        (group key, currency, SKU) in one grouped statement, ordered by key, currency and SKU. At most
        `limit` + 1 cells come back, so that the caller can tell there were more."""

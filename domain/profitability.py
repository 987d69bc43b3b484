"""Profitability: revenue from the CRM's order lines against unit costs from the ERP.

Rules (pure arithmetic, no I/O):

- Revenue is the sum of line totals (quantity x unit price less the discount), as the order shows them.
- Cost is the sum of quantity x unit cost, computed exactly and rounded half-even once, to the currency's
  minor unit. Unit costs keep the ERP's precision (Tryton keeps 4 decimals: 0.1234 per screw counts for a
  million screws), already expressed in the order's currency.
- A line whose SKU the ERP does not know adds to revenue but not to cost; its revenue is reported apart as
  `uncosted_revenue`, so nobody mistakes a missing cost for a 100 % margin.
- Margin is revenue - cost; margin percent is margin / revenue x 100, rounded half-even to 2 decimals,
  and 0 when there is no revenue (nothing was sold, so nothing was earned on it).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Iterable

from domain.money import PRECISION, Money

PERCENT_STEP = Decimal("0.01")


@dataclass(frozen=True)
class CostedQuantity:
    """A quantity of one SKU sold for `revenue`, with its unit cost (None when the ERP does not know it)."""

    sku: str
    quantity: Decimal
    revenue: Decimal
    unit_cost: Decimal | None


def margin_percent(revenue: Money, margin: Money) -> Decimal:
    if revenue.amount == 0:
        return Decimal("0.00")
    with localcontext() as ctx:
        ctx.prec = PRECISION
        return (margin.amount * 100 / revenue.amount).quantize(PERCENT_STEP, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class Profitability:
    revenue: Money
    cost: Money
    uncosted_revenue: Money

    @property
    def margin(self) -> Money:
        return self.revenue - self.cost

    @property
    def margin_percent(self) -> Decimal:
        return margin_percent(self.revenue, self.margin)

    @classmethod
    def of(cls, currency: str, lines: Iterable[CostedQuantity]) -> "Profitability":
        revenue = cost = uncosted = Decimal(0)
        with localcontext() as ctx:
            ctx.prec = PRECISION
            for line in lines:
                revenue += line.revenue
                if line.unit_cost is None:
                    uncosted += line.revenue
                else:
                    cost += line.quantity * line.unit_cost
        return cls(revenue=Money(revenue, currency), cost=Money(cost, currency),
                   uncosted_revenue=Money(uncosted, currency))

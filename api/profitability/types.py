"""Profitability (CRM revenue against ERP costs) and Receivables (from finance) as the API shows them."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from api.common.money import Money
from application.ports import CustomerReceivables
from application.profitability import OrderProfitability, ProfitabilityRow as ProfitabilityRowView
from application.queries.profitability import ProfitabilityGroup
from domain.profitability import Profitability as ProfitabilityFigures

ProfitabilityGroupEnum = strawberry.enum(ProfitabilityGroup, name="ProfitabilityGroup")

UNCOSTED = ("Revenue of lines whose SKU has no unit cost in the ERP: they add nothing to cost, so the margin is "
            "overstated by up to this much")


def _money(m: object) -> Money:
    return Money.of(m.amount, m.currency)  # type: ignore[attr-defined]


@strawberry.type(description="An order's revenue (its line totals) against the ERP's unit costs, in the order's "
                             "currency")
class Profitability:
    revenue: Money
    cost: Money
    margin: Money
    margin_percent: Decimal = strawberry.field(description="margin / revenue x 100, 2 decimals; 0 without revenue")
    cost_source: str = strawberry.field(description='Which ERP answered, e.g. "tryton"')
    as_of: datetime = strawberry.field(description="When the oldest unit cost used was read from the ERP")
    uncosted_revenue: Money = strawberry.field(description=UNCOSTED)

    @classmethod
    def from_result(cls, r: OrderProfitability) -> "Profitability":
        p = r.profitability
        return cls(revenue=_money(p.revenue), cost=_money(p.cost), margin=_money(p.margin),
                   margin_percent=p.margin_percent, cost_source=r.cost_source, as_of=r.as_of,
                   uncosted_revenue=_money(p.uncosted_revenue))


@strawberry.type(description="One customer, product or owner in one currency: amounts in different currencies "
                             "are never added up")
class ProfitabilityRow:
    key: str = strawberry.field(description="Customer code, SKU or staff e-mail, by group (\"\" for orders without "
                                            "an owner)")
    label: str
    revenue: Money
    cost: Money
    margin: Money
    margin_percent: Decimal
    uncosted_revenue: Money = strawberry.field(description=UNCOSTED)

    @classmethod
    def from_view(cls, row: ProfitabilityRowView) -> "ProfitabilityRow":
        p: ProfitabilityFigures = row.profitability
        return cls(key=row.key, label=row.label, revenue=_money(p.revenue), cost=_money(p.cost),
                   margin=_money(p.margin), margin_percent=p.margin_percent,
                   uncosted_revenue=_money(p.uncosted_revenue))


@strawberry.type
class Receivables:
    outstanding: Money = strawberry.field(description="Everything the customer owes, due or not")
    overdue: Money = strawberry.field(description="What is due already")
    credit_limit: Money | None
    as_of: datetime
    source: str = strawberry.field(description='Which finance system answered, e.g. "tryton"')

    @classmethod
    def from_view(cls, r: CustomerReceivables) -> "Receivables":
        return cls(outstanding=_money(r.outstanding), overdue=_money(r.overdue),
                   credit_limit=_money(r.credit_limit) if r.credit_limit is not None else None,
                   as_of=r.as_of, source=r.source)

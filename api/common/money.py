"""Money as the API shows and takes it: a Decimal amount (a string on the wire) and an ISO 4217 code."""
from __future__ import annotations

from decimal import Decimal

import strawberry

from domain.money import Money as DomainMoney


@strawberry.type
class Money:
    amount: Decimal
    currency: str = strawberry.field(description="ISO 4217 code")

    @classmethod
    def of(cls, amount: Decimal, currency: str) -> "Money":
        """Held at the currency's minor unit: EUR 12.5 shows as "12.50", JPY 1200 as "1200"."""
        money = DomainMoney(amount, currency)
        return cls(amount=money.amount, currency=money.currency)


@strawberry.input
class MoneyInput:
    amount: Decimal
    currency: str

"""Converting an ERP's unit cost into the currency of an order, with the ERP's own exchange rates."""
from __future__ import annotations

from decimal import Decimal, localcontext
from typing import Mapping

COST_DIGITS = 12  # decimals kept after converting: far finer than any cost, so nothing rounds early


def convert(amount: Decimal, from_currency: str, to_currency: str, rates: Mapping[str, Decimal | None]) -> Decimal | None:
    """`rates` give how many units of each currency one unit of a common base buys (Tryton's currency rates:
    the base has rate 1). None when either rate is unknown or zero."""
    if from_currency == to_currency:
        return amount
    source, target = rates.get(from_currency), rates.get(to_currency)
    if not source or not target:
        return None
    with localcontext() as ctx:
        ctx.prec = 60
        return (amount * target / source).quantize(Decimal(1).scaleb(-COST_DIGITS)).normalize()

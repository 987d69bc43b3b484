"""ProductCosts from Tryton: `product.product.search_read` for the cost price by product code, converted with
Tryton's own currency rates (`currency.currency.search_read`, rate at today) into the currency asked for."""
from __future__ import annotations

from decimal import Decimal
from typing import Sequence

from application.ports import Clock, UnitCost
from infrastructure.erp.rates import convert
from infrastructure.erp.tryton_client import TrytonClient

SOURCE = "tryton"


class TrytonProductCosts:
    source = SOURCE

    def __init__(self, client: TrytonClient, clock: Clock) -> None:
        self._client = client
        self._clock = clock

    async def unit_costs(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], UnitCost | None]:
        if not keys:
            return {}
        skus = sorted({sku for sku, _ in keys})
        products = await self._client.call("model.product.product.search_read", [["code", "in", skus]], 0, None,
                                           [["id", "ASC"]], ["code", "cost_price"])
        costs: dict[str, Decimal] = {}
        for product in products:
            if product.get("cost_price") is not None:
                costs.setdefault(product["code"], product["cost_price"])  # a code used twice: the oldest product
        base = await self._client.company_currency()
        rates = await self._rates({currency for _, currency in keys} - {base}, base)
        now = self._clock.now()
        found: dict[tuple[str, str], UnitCost | None] = {}
        for sku, currency in keys:
            amount = convert(costs[sku], base, currency, rates) if sku in costs else None
            found[(sku, currency)] = UnitCost(sku, amount, currency, now, SOURCE) if amount is not None else None
        return found

    async def _rates(self, currencies: set[str], base: str) -> dict[str, Decimal | None]:
        if not currencies:
            return {}
        rows = await self._client.call("model.currency.currency.search_read", [["code", "in", sorted({*currencies, base})]],
                                       0, None, None, ["code", "rate"])
        return {row["code"]: row.get("rate") for row in rows}

    async def ping(self) -> None:
        await self._client.company_currency()
        await self._client.call("model.product.product.search_count", [["code", "=", "-"]])

"""Fakes at the ProductCosts and Receivables ports: they count their calls and can be slow or fail."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from typing import Sequence

from application.ports import CustomerReceivables, UnitCost
from domain.money import Money

AS_OF = datetime(2031, 5, 4, 3, 2, 1, tzinfo=UTC)


class FakeProductCosts:
    source = "fake-erp"

    def __init__(self, costs: dict[tuple[str, str], str] | None = None, *, delay: float = 0.0,
                 fail: Exception | None = None) -> None:
        self.costs = {key: Decimal(value) for key, value in (costs or {}).items()}
        self.delay = delay
        self.fail = fail
        self.calls: list[list[tuple[str, str]]] = []

    async def unit_costs(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], UnitCost | None]:
        self.calls.append(sorted(keys))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail is not None:
            raise self.fail
        return {k: UnitCost(k[0], self.costs[k], k[1], AS_OF, self.source) if k in self.costs else None for k in keys}


class FakeReceivables:
    source = "fake-finance"

    def __init__(self, known: dict[str, tuple[str, str, str | None, str]] | None = None, *, delay: float = 0.0,
                 fail: Exception | None = None) -> None:
        """known: code -> (outstanding, overdue, credit limit or None, currency)"""
        self.known = known or {}
        self.delay = delay
        self.fail = fail
        self.calls: list[list[str]] = []

    async def receivables(self, customer_codes: Sequence[str]) -> dict[str, CustomerReceivables | None]:
        self.calls.append(sorted(customer_codes))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail is not None:
            raise self.fail
        found: dict[str, CustomerReceivables | None] = {}
        for code in customer_codes:
            entry = self.known.get(code)
            if entry is None:
                found[code] = None
                continue
            outstanding, overdue, limit, currency = entry
            found[code] = CustomerReceivables(Money.of(outstanding, currency), Money.of(overdue, currency),
                                              Money.of(limit, currency) if limit is not None else None, AS_OF,
                                              self.source)
        return found

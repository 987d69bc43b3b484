"""ProductCosts from a JSON file: the embedded default, so that `make run` works without an ERP.

    {"currency": "EUR",                                  # the currency of the costs below
     "rates": {"EUR": "1", "USD": "1.08", "JPY": "162"}, # units per 1 of a common base, as Tryton keeps them
     "asOf": "2026-01-31T18:00:00Z",                     # optional; else the file's modification time
     "costs": {"TOOL-100": "112.50", "TOOL-220": "9.8765"}}

Set CRM_COSTS_FILE to use another file; it is read again whenever it changes.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Sequence

from application.ports import UnitCost
from infrastructure.erp.rates import convert
from infrastructure.static_json import StaticFileError, WatchedJsonFile, amount, currency

SOURCE = "static"
DEMO_COSTS_FILE = Path(__file__).with_name("demo_costs.json")


@dataclass(frozen=True)
class CostSheet:
    currency: str
    rates: dict[str, Decimal]
    costs: dict[str, Decimal]
    as_of: datetime


def parse_costs(data: dict[str, Any], as_of: datetime) -> CostSheet:
    base = currency(data["currency"])
    rates = {currency(code, "rates"): amount(rate, f"rates.{code}") for code, rate in (data.get("rates") or {}).items()}
    costs = {str(sku): amount(cost, f"costs.{sku}") for sku, cost in data["costs"].items()}
    if any(cost < 0 for cost in costs.values()) or any(rate <= 0 for rate in rates.values()):
        raise StaticFileError("costs must not be negative and rates must be positive")
    return CostSheet(base, rates, costs, as_of)


class StaticProductCosts:
    source = SOURCE

    def __init__(self, path: Path | str | None = None) -> None:
        self._file = WatchedJsonFile(Path(path) if path else DEMO_COSTS_FILE, parse_costs)

    async def unit_costs(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], UnitCost | None]:
        sheet = self._file.read()
        found: dict[tuple[str, str], UnitCost | None] = {}
        for sku, wanted in keys:
            cost = sheet.costs.get(sku)
            converted = convert(cost, sheet.currency, wanted, sheet.rates) if cost is not None else None
            found[(sku, wanted)] = UnitCost(sku, converted, wanted, sheet.as_of, SOURCE) if converted is not None \
                else None
        return found

    async def ping(self) -> None:
        self._file.read()

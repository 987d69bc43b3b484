"""Receivables from a JSON file: the embedded default, so that `make run` works without a finance system.

    {"currency": "EUR",
     "asOf": "2026-01-31T18:00:00Z",   # optional; else the file's modification time
     "customers": {"DEMO-0001": {"outstanding": "12500.00", "overdue": "2300.00", "creditLimit": "50000.00"}}}

`creditLimit` may be left out (no limit known). Set CRM_RECEIVABLES_FILE to use another file; it is read again
whenever it changes.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Sequence

from application.ports import CustomerReceivables
from domain.money import Money
from infrastructure.static_json import WatchedJsonFile, amount, currency

SOURCE = "static"
DEMO_RECEIVABLES_FILE = Path(__file__).with_name("demo_receivables.json")


def parse_receivables(data: dict[str, Any], as_of: datetime) -> dict[str, CustomerReceivables]:
    code = currency(data["currency"])
    found = {}
    for customer, entry in data["customers"].items():
        limit = entry.get("creditLimit")
        found[str(customer)] = CustomerReceivables(
            outstanding=Money(amount(entry["outstanding"], f"{customer}.outstanding"), code),
            overdue=Money(amount(entry.get("overdue", "0"), f"{customer}.overdue"), code),
            credit_limit=Money(amount(limit, f"{customer}.creditLimit"), code) if limit is not None else None,
            as_of=as_of, source=SOURCE)
    return found


class StaticReceivables:
    source = SOURCE

    def __init__(self, path: Path | str | None = None) -> None:
        self._file = WatchedJsonFile(Path(path) if path else DEMO_RECEIVABLES_FILE, parse_receivables)

    async def receivables(self, customer_codes: Sequence[str]) -> dict[str, CustomerReceivables | None]:
        known = self._file.read()
        return {code: known.get(code) for code in customer_codes}

    async def ping(self) -> None:
        self._file.read()

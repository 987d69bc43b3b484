"""Receivables from Tryton: `party.party.search_read` by party code for `receivable` (everything owed, due or
not) and `receivable_today` (due today or earlier: Tryton's overdue), and `credit_limit_amount` when the
account_credit_limit module is activated. Amounts are in the company's currency."""
from __future__ import annotations

from typing import Sequence

from application.ports import Clock, CustomerReceivables
from domain.money import Money
from infrastructure.erp.tryton_client import TrytonClient

SOURCE = "tryton"


class TrytonReceivables:
    source = SOURCE

    def __init__(self, client: TrytonClient, clock: Clock) -> None:
        self._client = client
        self._clock = clock

    async def receivables(self, customer_codes: Sequence[str]) -> dict[str, CustomerReceivables | None]:
        if not customer_codes:
            return {}
        fields = ["code", "receivable", "receivable_today"]
        with_limit = await self._client.has_field("party.party", "credit_limit_amount")
        if with_limit:
            fields.append("credit_limit_amount")
        parties = await self._client.call("model.party.party.search_read",
                                          [["code", "in", sorted(set(customer_codes))]], 0, None, [["id", "ASC"]],
                                          fields)
        currency = await self._client.company_currency()
        now = self._clock.now()
        found: dict[str, CustomerReceivables | None] = {code: None for code in customer_codes}
        for party in parties:
            if found.get(party["code"]) is not None:
                continue  # a code used twice: the oldest party
            limit = party.get("credit_limit_amount") if with_limit else None
            found[party["code"]] = CustomerReceivables(
                outstanding=Money(party.get("receivable") or 0, currency),
                overdue=Money(party.get("receivable_today") or 0, currency),
                credit_limit=Money(limit, currency) if limit is not None else None,
                as_of=now, source=SOURCE)
        return found

    async def ping(self) -> None:
        await self._client.company_currency()
        await self._client.call("model.party.party.search_count", [["code", "=", "-"]])

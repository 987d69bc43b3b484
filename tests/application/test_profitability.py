"""The profitability report use case with fakes at its ports: who may, the period, the cell limit, one ERP call."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from application import profitability as use_case
from application.profitability import MAX_CELLS, profitability_report
from application.queries.profitability import ProfitabilityGroup, SoldQuantity
from domain.money import Money
from domain.shared import InvalidInput, LimitExceeded, NotAuthorized
from tests.application.conftest import Org
from tests.application.external_fakes import FakeProductCosts

FROM, TO = datetime(2031, 1, 1, tzinfo=UTC), datetime(2031, 2, 1, tzinfo=UTC)


class FakeSales:
    def __init__(self, cells: list[SoldQuantity]) -> None:
        self.cells = cells
        self.asked: list[tuple[datetime, datetime, ProfitabilityGroup, int]] = []

    async def sold(self, placed_from: datetime, placed_to: datetime, group_by: ProfitabilityGroup,
                   limit: int) -> list[SoldQuantity]:
        self.asked.append((placed_from, placed_to, group_by, limit))
        return self.cells[:limit + 1]


def cell(key: str, currency: str, sku: str, quantity: str, revenue: str) -> SoldQuantity:
    return SoldQuantity(key, f"Label {key}", currency, sku, Decimal(quantity), Decimal(revenue))


async def test_rows_per_key_and_currency_with_one_erp_call(org: Org) -> None:
    sales = FakeSales([cell("C-1", "EUR", "A", "2", "100"), cell("C-1", "EUR", "B", "1", "50"),
                       cell("C-1", "USD", "A", "1", "70"), cell("C-2", "EUR", "Z", "3", "30")])
    costs = FakeProductCosts({("A", "EUR"): "20.005", ("B", "EUR"): "10", ("A", "USD"): "22"})
    rows = await profitability_report(sales, costs, org.sales_key_user, placed_from=FROM, placed_to=TO,
                                      group_by=ProfitabilityGroup.CUSTOMER)
    assert costs.calls == [[("A", "EUR"), ("A", "USD"), ("B", "EUR"), ("Z", "EUR")]]
    assert sales.asked == [(FROM, TO, ProfitabilityGroup.CUSTOMER, MAX_CELLS)]
    summary = [(r.key, r.label, r.profitability.revenue, r.profitability.cost, r.profitability.uncosted_revenue)
               for r in rows]
    assert summary == [
        ("C-1", "Label C-1", Money.of("150", "EUR"), Money.of("50.01", "EUR"), Money.of("0", "EUR")),  # 40.01 + 10
        ("C-1", "Label C-1", Money.of("70", "USD"), Money.of("22", "USD"), Money.of("0", "USD")),
        ("C-2", "Label C-2", Money.of("30", "EUR"), Money.of("0", "EUR"), Money.of("30", "EUR")),
    ]


async def test_members_may_not_and_the_period_must_make_sense(org: Org) -> None:
    sales, costs = FakeSales([]), FakeProductCosts()
    with pytest.raises(NotAuthorized):
        await profitability_report(sales, costs, org.sales_member, placed_from=FROM, placed_to=TO,
                                   group_by=ProfitabilityGroup.OWNER)
    with pytest.raises(InvalidInput) as backwards:
        await profitability_report(sales, costs, org.admin, placed_from=TO, placed_to=FROM,
                                   group_by=ProfitabilityGroup.OWNER)
    assert backwards.value.field == ("to",)
    with pytest.raises(InvalidInput) as naive:
        await profitability_report(sales, costs, org.admin, placed_from=FROM.replace(tzinfo=None), placed_to=TO,
                                   group_by=ProfitabilityGroup.OWNER)
    assert naive.value.field == ("from",)
    assert sales.asked == [] and costs.calls == []
    assert await profitability_report(sales, costs, org.admin, placed_from=FROM, placed_to=TO,
                                      group_by=ProfitabilityGroup.PRODUCT) == []
    assert costs.calls == []  # nothing sold: the ERP is not asked


async def test_too_many_cells_are_refused_before_the_erp_is_asked(org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(use_case, "MAX_CELLS", 3)
    sales = FakeSales([cell(f"C-{n}", "EUR", "A", "1", "1") for n in range(5)])
    costs = FakeProductCosts()
    with pytest.raises(LimitExceeded):
        await profitability_report(sales, costs, org.admin, placed_from=FROM, placed_to=TO,
                                   group_by=ProfitabilityGroup.CUSTOMER)
    assert sales.asked[0][3] == 3 and costs.calls == []

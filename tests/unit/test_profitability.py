"""Profitability arithmetic: exact costs rounded once, unknown costs kept apart, margin percent rules."""
from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from domain.money import Money
from domain.profitability import CostedQuantity, Profitability, margin_percent


def line(quantity: str, revenue: str, cost: str | None, sku: str = "S") -> CostedQuantity:
    return CostedQuantity(sku, Decimal(quantity), Decimal(revenue), Decimal(cost) if cost is not None else None)


def test_costs_are_exact_and_rounded_once() -> None:
    # 1000 screws at 0.1234 cost 123.40, not 1000 x 0.12 = 120.00
    p = Profitability.of("EUR", [line("1000", "250", "0.1234")])
    assert (p.revenue, p.cost, p.margin, p.margin_percent) == (
        Money.of("250", "EUR"), Money.of("123.40", "EUR"), Money.of("126.60", "EUR"), Decimal("50.64"))
    split = Profitability.of("EUR", [line("1", "1", "0.005"), line("1", "1", "0.005")])
    assert split.cost == Money.of("0.01", "EUR")  # 0.010, not 0.00 + 0.00 (half-even per line)


def test_unknown_costs_count_as_uncosted_revenue() -> None:
    p = Profitability.of("USD", [line("2", "100", "30"), line("1", "80", None)])
    assert (p.revenue, p.cost, p.uncosted_revenue, p.margin) == (
        Money.of("180", "USD"), Money.of("60", "USD"), Money.of("80", "USD"), Money.of("120", "USD"))


def test_margin_percent_rounds_half_even_and_is_zero_without_revenue() -> None:
    assert margin_percent(Money.of("3", "EUR"), Money.of("1", "EUR")) == Decimal("33.33")
    assert margin_percent(Money.of("8", "EUR"), Money.of("0.0025", "EUR")) == Decimal("0.00")
    assert margin_percent(Money.of("0", "EUR"), Money.of("-5", "EUR")) == Decimal("0.00")
    assert margin_percent(Money.of("100", "EUR"), Money.of("-20", "EUR")) == Decimal("-20.00")  # sold at a loss
    assert Profitability.of("JPY", []).margin_percent == Decimal("0.00")


def test_currencies_keep_their_minor_units() -> None:
    p = Profitability.of("JPY", [line("3", "126000", "24300.5")])
    assert (p.cost.amount, p.margin.amount) == (Decimal("72902"), Decimal("53098"))  # 72901.5 -> 72902 (half-even)


@given(st.lists(st.tuples(st.integers(1, 10_000), st.integers(0, 10 ** 7), st.one_of(st.none(), st.integers(0, 10 ** 6))),
                max_size=20))
def test_margin_is_revenue_less_cost(cells: list[tuple[int, int, int | None]]) -> None:
    lines = [CostedQuantity("S", Decimal(q), Decimal(r).scaleb(-2), Decimal(c).scaleb(-4) if c is not None else None)
             for q, r, c in cells]
    p = Profitability.of("EUR", lines)
    assert p.margin == p.revenue - p.cost
    assert p.uncosted_revenue.amount == sum((x.revenue for x in lines if x.unit_cost is None), Decimal(0))
    exact = sum((x.quantity * x.unit_cost for x in lines if x.unit_cost is not None), Decimal(0))
    assert abs(p.cost.amount - exact) <= Decimal("0.005")

"""Exact money: half-even rounding to each currency's minor unit, parsing without floats, totals,
line totals with discounts (rounded once), and currencies that do not mix."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from domain.money import CURRENCIES, MINOR_UNITS, Money, minor_unit, normalise_currency, plain, to_decimal
from domain.order import Order, OrderLine
from domain.shared import InvalidInput


@pytest.mark.parametrize("amount, currency, expected", [
    ("0.125", "EUR", "0.12"),   # half-even: to the even neighbour
    ("0.135", "EUR", "0.14"),
    ("0.145", "EUR", "0.14"),
    ("-0.125", "EUR", "-0.12"),
    ("2.5", "JPY", "2"),        # 0 decimals
    ("3.5", "JPY", "4"),
    ("1234.5", "KRW", "1234"),
    ("1.0005", "KWD", "1.000"),  # 3 decimals
    ("1.0015", "KWD", "1.002"),
    ("0.00005", "CLF", "0.0000"),  # 4 decimals
    ("0.00015", "CLF", "0.0002"),
    ("12.5", "EUR", "12.50"),   # held at the minor unit, trailing zero included
    ("1e3", "USD", "1000.00"),
])
def test_amounts_round_half_even_to_the_minor_unit(amount: str, currency: str, expected: str) -> None:
    money = Money.of(amount, currency)
    assert f"{money.amount:f}" == expected and money.currency == currency


def test_minor_units() -> None:
    assert [minor_unit(c) for c in ("EUR", "USD", "GBP", "JPY", "KWD", "CLF")] == [2, 2, 2, 0, 3, 4]
    assert set(MINOR_UNITS) <= CURRENCIES


@pytest.mark.parametrize("raw, expected", [(" eur ", "EUR"), ("jpy", "JPY")])
def test_currency_codes_are_normalised(raw: str, expected: str) -> None:
    assert normalise_currency(raw) == expected


@pytest.mark.parametrize("raw", ["", "EU", "EURO", "E1R", "XYZ", "XAU", None])
def test_only_active_iso_4217_codes_are_currencies(raw: str | None) -> None:
    with pytest.raises(InvalidInput) as err:
        normalise_currency(raw, "currency")
    assert err.value.field == ("currency",)


@pytest.mark.parametrize("value", [0.1, True, "1,5", "NaN", "Infinity", "1_000", None, "1e15", Decimal("NaN")])
def test_floats_booleans_and_junk_are_refused(value: object) -> None:
    with pytest.raises(InvalidInput) as err:
        to_decimal(value, "amount")
    assert err.value.field == ("amount",)


def test_numbers_are_read_exactly() -> None:
    assert to_decimal("0.1", "x") + to_decimal("0.2", "x") == Decimal("0.3")
    assert to_decimal(7, "x") == Decimal(7) and to_decimal(" 1E+2 ", "x") == Decimal(100)
    assert plain(Decimal("2.500")) == Decimal("2.5") and str(plain(Decimal("1E+2"))) == "100"


def test_adding_and_subtracting_stay_exact() -> None:
    cents = [Money.of("0.10", "EUR")] * 3
    assert Money.total(cents, "EUR") == Money.of("0.30", "EUR")
    assert Money.of("10", "EUR") - Money.of("0.01", "EUR") == Money.of("9.99", "EUR")
    assert Money.total([], "JPY") == Money.zero("JPY")


def test_currencies_do_not_mix() -> None:
    with pytest.raises(ValueError):
        Money.of("1", "EUR") + Money.of("1", "USD")
    with pytest.raises(ValueError):
        Money.total([Money.of("1", "USD")], "EUR")


def test_multiplying_rounds_once_at_the_end() -> None:
    # 0.333... x 3 rounded once is 1.00; rounding each third first would give 0.99
    assert Money.of("1", "EUR").times(Decimal(1) / Decimal(3) * 3) == Money.of("1.00", "EUR")
    assert Money.of("0.05", "EUR").times(Decimal("0.5")) == Money.of("0.02", "EUR")  # 0.025 -> 0.02


def line(quantity: str, price: str, discount: str | None = None, currency: str = "EUR") -> OrderLine:
    return OrderLine.create(0, sku="X", description=None, quantity=quantity, unit_price=price,
                            discount_percent=discount, currency=currency)


@pytest.mark.parametrize("quantity, price, discount, currency, unit, total", [
    ("3", "0.125", None, "EUR", "0.12", "0.36"),          # the price is rounded first, then multiplied
    ("2.5", "10.005", "10", "EUR", "10.00", "22.50"),     # 10.00 x 2.5 x 0.9
    ("1", "9.99", "33.3333", "EUR", "9.99", "6.66"),      # 6.6600003... -> 6.66
    ("7", "0.15", "50", "EUR", "0.15", "0.52"),           # 0.525 -> 0.52 (half-even)
    ("7", "0.15", "30", "EUR", "0.15", "0.74"),           # 0.735 -> 0.74
    ("3", "1234.5", None, "JPY", "1234", "3702"),
    ("1", "999", "50", "JPY", "999", "500"),              # 499.5 -> 500 (half-even, 500 is even)
    ("1", "2.0005", None, "KWD", "2.000", "2.000"),
    ("1", "100", "100", "EUR", "100.00", "0.00"),         # a free line
])
def test_line_totals_apply_the_discount_and_round_once(quantity: str, price: str, discount: str | None,
                                                        currency: str, unit: str, total: str) -> None:
    made = line(quantity, price, discount, currency)
    assert f"{made.unit_price.amount:f}" == unit
    assert f"{made.line_total.amount:f}" == total


@pytest.mark.parametrize("discount", ["-0.01", "100.0001", "12.34567"])
def test_discounts_are_zero_to_one_hundred_percent_with_four_decimals(discount: str) -> None:
    with pytest.raises(InvalidInput) as err:
        line("1", "1", discount)
    assert err.value.field == ("lines", "0", "discountPercent")


def test_an_order_total_sums_rounded_line_totals() -> None:
    order = Order.create(number="SO-1", customer_id=uuid.uuid4(), owner_id=None, currency="EUR", at=datetime.now(UTC),
                         by=None, lines=[
                             {"sku": "A", "description": None, "quantity": "1", "unit_price": "0.005",
                              "discount_percent": None},  # 0.00 (half-even) ...
                             {"sku": "B", "description": None, "quantity": "1", "unit_price": "0.015",
                              "discount_percent": None},  # 0.02
                             {"sku": "C", "description": None, "quantity": "3", "unit_price": "3.33",
                              "discount_percent": "10"},  # 8.991 -> 8.99
                         ])
    assert order.total == Money.of("9.01", "EUR")

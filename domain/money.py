"""Exact money: a Decimal amount in an ISO 4217 currency, rounded half-even to the currency's minor unit.

Amounts never pass through floats. `Money.of` rounds (banker's rounding, as accounting does) to
the currency's minor unit: 2 decimals for most currencies, 0 for JPY, KRW ..., 3 for BHD, KWD ...
Only active ISO 4217 codes are currencies here (funds codes included; precious metals, test and
"no currency" codes are not).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation, localcontext
from typing import Iterable

from domain.shared import InvalidInput

DEFAULT_MINOR_UNIT = 2
MAX_DIGITS_BEFORE_POINT = 15  # 999 trillion: far beyond any order, small enough for NUMERIC(20, 4)
PRECISION = 60  # digits for intermediate results: enough that multiplying never rounds early
NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$", re.ASCII)

# Minor units that differ from the default of 2 (ISO 4217 list, 2025).
MINOR_UNITS: dict[str, int] = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0, "RWF": 0,
    "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    "CLF": 4, "UYW": 4,
}
CURRENCIES: frozenset[str] = frozenset(MINOR_UNITS) | frozenset("""
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN BZD CAD CDF
    CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD
    HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT
    MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR
    SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU
    UZS VED VES WST XCD XCG YER ZAR ZMW ZWG
""".split())


def minor_unit(currency: str) -> int:
    return MINOR_UNITS.get(currency, DEFAULT_MINOR_UNIT)


def normalise_currency(value: str | None, field_name: str = "currency") -> str:
    """An ISO 4217 code in upper case, or InvalidInput naming the field."""
    code = (value or "").strip().upper()
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise InvalidInput("A currency is a three-letter ISO 4217 code such as EUR.", field=(field_name,))
    if code not in CURRENCIES:
        raise InvalidInput(f"{code} is not an ISO 4217 currency.", field=(field_name,))
    return code


def to_decimal(value: object, field_name: str) -> Decimal:
    """A finite Decimal from a Decimal, int or numeric text ("1250.50", "1e3"); floats and booleans are refused
    so that nothing inexact slips in."""
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int) and not isinstance(value, bool):
        number = Decimal(value)
    elif isinstance(value, str) and NUMBER.match(value.strip()):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:  # pragma: no cover - the pattern admits only valid literals
            raise InvalidInput(f"{field_name} is not a number.", field=(field_name,)) from None
    else:
        raise InvalidInput(f"{field_name} must be a decimal number such as \"12.50\".", field=(field_name,))
    if not number.is_finite():
        raise InvalidInput(f"{field_name} must be a finite number.", field=(field_name,))
    if number.adjusted() >= MAX_DIGITS_BEFORE_POINT:
        raise InvalidInput(f"{field_name} is too large.", field=(field_name,))
    return number


def plain(number: Decimal) -> Decimal:
    """The same value without trailing zeros or an exponent: 2.500 -> 2.5, 1E+2 -> 100."""
    normal = number.normalize()
    return normal.quantize(Decimal(1)) if normal.as_tuple().exponent > 0 else normal  # type: ignore[operator]


@dataclass(frozen=True)
class Money:
    """An amount in a currency, always held at the currency's minor unit (EUR 12.5 is EUR 12.50)."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if self.currency not in CURRENCIES:
            raise InvalidInput(f"{self.currency} is not an ISO 4217 currency.", field=("currency",))
        step = Decimal(1).scaleb(-minor_unit(self.currency))
        with localcontext() as ctx:
            ctx.prec = PRECISION
            object.__setattr__(self, "amount", Decimal(self.amount).quantize(step, rounding=ROUND_HALF_EVEN))

    @classmethod
    def of(cls, amount: object, currency: str, field_name: str = "amount") -> "Money":
        """Parse and round half-even: Money.of("0.125", "EUR") is EUR 0.12, Money.of("0.135", "EUR") EUR 0.14."""
        return cls(to_decimal(amount, field_name), normalise_currency(currency))

    @classmethod
    def zero(cls, currency: str) -> "Money":
        return cls(Decimal(0), currency)

    @classmethod
    def total(cls, amounts: Iterable["Money"], currency: str) -> "Money":
        result = cls.zero(currency)
        for money in amounts:
            result = result + money
        return result

    def _same_currency(self, other: "Money") -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} and {other.currency}")

    def __add__(self, other: "Money") -> "Money":
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: "Money") -> "Money":
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def times(self, factor: Decimal) -> "Money":
        """This amount multiplied exactly, then rounded half-even once."""
        with localcontext() as ctx:
            ctx.prec = PRECISION
            return Money(self.amount * factor, self.currency)

    def __str__(self) -> str:
        return f"{self.amount:f} {self.currency}"

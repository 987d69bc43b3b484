"""Scalars named as the contract names them: DateTime, Date, Decimal, JSON, Upload."""
from __future__ import annotations

import decimal
import re

from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.file_uploads import Upload
from strawberry.scalars import JSON
from strawberry.types.scalar import ScalarDefinition

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$", re.ASCII)


def serialize_decimal(value: decimal.Decimal) -> str:
    """Plain notation, never an exponent: Decimal("1E+2") is "100", Decimal("12.50") stays "12.50"."""
    return f"{decimal.Decimal(value):f}"


def parse_decimal(value: object) -> decimal.Decimal:
    """Numeric text ("1250.50", "-3", "1e3"); JSON numbers are taken too (floats by their shortest form).
    Booleans, NaN, infinities and text such as "1_000" are refused."""
    if isinstance(value, float) and not isinstance(value, bool):
        value = repr(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not _NUMBER.match(value.strip()):
        raise StrawberryInputCoercionError(f'Value cannot represent a Decimal: "{value}". Expected a string such '
                                           'as "1250.50".')
    return decimal.Decimal(value.strip())


DecimalDefinition = ScalarDefinition(
    name="Decimal",
    description='Arbitrary-precision decimal, serialised as a string such as "1250.50".',
    specified_by_url=None,
    serialize=serialize_decimal,
    parse_value=parse_decimal,
    parse_literal=None,
    origin=decimal.Decimal,
)
"""Replaces strawberry's built-in Decimal (schema `scalar_overrides`): no exponents out, no floats' noise in."""

__all__ = ["JSON", "DecimalDefinition", "Upload"]

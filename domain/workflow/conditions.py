"""The condition language of workflow steps: one typed comparison on the instance's context (`amount GT 50000`)."""
from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Callable, Mapping

from domain.shared import InvalidInput, coerce_choice, require_text

NUMBER_PATTERN = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$", re.ASCII)


class ComparisonOp(StrEnum):
    EQ = "EQ"
    NE = "NE"
    GT = "GT"
    GTE = "GTE"
    LT = "LT"
    LTE = "LTE"

    @property
    def orders(self) -> bool:
        """GT, GTE, LT and LTE order values, so they only make sense for numbers."""
        return self not in (ComparisonOp.EQ, ComparisonOp.NE)


_ORDERING: dict[ComparisonOp, Callable[[Decimal, Decimal], bool]] = {
    ComparisonOp.GT: operator.gt,
    ComparisonOp.GTE: operator.ge,
    ComparisonOp.LT: operator.lt,
    ComparisonOp.LTE: operator.le,
}


def as_number(value: object) -> Decimal | None:
    """Read a value as an exact decimal, or None when it is not a finite number.

    ints, Decimals, finite floats (through their shortest repr) and plain ASCII numeric strings
    ("50000.01", "-3", "1e3") are numbers; booleans, "NaN", "1_000" and everything else are not.
    """
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, (int, Decimal)):
            number = Decimal(value)
        elif isinstance(value, float):
            number = Decimal(repr(value))
        elif isinstance(value, str) and NUMBER_PATTERN.match(value.strip()):
            number = Decimal(value.strip())
        else:
            return None
    except (InvalidOperation, ValueError, OverflowError):
        return None
    return number if number.is_finite() else None


@dataclass(frozen=True)
class StepCondition:
    """`field op value` on the instance's context, e.g. amount GT 50000.

    Rules: OrderingNeedsANumber (GT/GTE/LT/LTE compare decimals, never strings);
    StringsCompareOnlyForEquality; AMissingFieldMeansTheConditionDoesNotHold.
    """

    field: str
    op: ComparisonOp
    value: str

    @classmethod
    def create(cls, field: str, op: ComparisonOp | str, value: str) -> "StepCondition":
        name = require_text(field, "field", max_length=100) or ""
        op = coerce_choice(ComparisonOp, op, "op")
        if not isinstance(value, str):
            raise InvalidInput("value must be text.", field=("value",))
        text = require_text(value, "value", max_length=200) or ""
        if op.orders and as_number(text) is None:
            raise InvalidInput(f"{op.value} compares numbers, and {text!r} is not a number.", field=("value",))
        return cls(field=name, op=op, value=text)

    def holds(self, context: Mapping[str, Any]) -> bool:
        """True when the context's field compares as asked; False when it is missing or incomparable.

        When both sides read as numbers they compare as decimals ("50000.0" EQ "50000" holds).
        Otherwise EQ/NE compare text exactly; a boolean reads as its JSON spelling "true"/"false".
        null, lists and objects compare with nothing.
        """
        if self.field not in context:
            return False
        actual = context[self.field]
        expected_number, actual_number = as_number(self.value), as_number(actual)
        if self.op.orders:
            if expected_number is None or actual_number is None:
                return False
            return _ORDERING[self.op](actual_number, expected_number)
        if expected_number is not None and actual_number is not None:
            equal = actual_number == expected_number
        elif isinstance(actual, bool):
            equal = ("true" if actual else "false") == self.value
        elif isinstance(actual, str):
            equal = actual == self.value
        elif actual_number is not None:
            equal = False  # a number never equals non-numeric text
        else:
            return False
        return equal if self.op is ComparisonOp.EQ else not equal

    def describe(self) -> str:
        return f"{self.field} {self.op.value} {self.value}"

"""Cursor decoding: crafted cursors are InvalidInput, never an overflow or a database error."""
from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from domain.shared import InvalidInput
from infrastructure.db.queries.keyset import SortKey, decode_cursor, encode_cursor

INT_KEY = [SortKey(column=None, kind=int)]
TIME_KEY = [SortKey(column=None, kind=datetime), SortKey(column=None, kind=uuid.UUID)]


def raw_cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize("raw", ["[Infinity]", "[-Infinity]", "[NaN]", "[1e400]", f"[{10**30}]", f"[{2**63}]",
                                 f"[{-(2**63) - 1}]", '["1000000000000000000000000000000"]', "[true]"])
def test_out_of_range_integers_are_invalid_input(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        decode_cursor(raw_cursor(raw), INT_KEY, "after")
    assert caught.value.field == ("after",)


def test_signed_64_bit_integers_decode() -> None:
    for number in (0, 2**63 - 1, -(2**63)):
        assert decode_cursor(encode_cursor((number,)), INT_KEY, "after") == (number,)


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00",
                                    "2024-01-01T00:00:00"])
def test_datetimes_outside_utc_years_1_to_9999_or_naive_are_invalid_input(moment: str) -> None:
    raw = json.dumps([moment, str(uuid.uuid4())])
    with pytest.raises(InvalidInput) as caught:
        decode_cursor(raw_cursor(raw), TIME_KEY, "before")
    assert caught.value.field == ("before",)


def test_aware_datetimes_decode_as_utc() -> None:
    ident = uuid.uuid4()
    moment = datetime(2024, 5, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    values: Any = decode_cursor(encode_cursor((moment, ident)), TIME_KEY, "after")
    assert values == (moment, ident) and values[0].tzinfo is UTC
    edge = datetime(1, 1, 1, tzinfo=UTC)
    assert decode_cursor(encode_cursor((edge, ident)), TIME_KEY, "after") == (edge, ident)

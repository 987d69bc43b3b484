"""A JSON file read on first use and again whenever it changes on disk (the static adapters' store)."""
from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Generic, TypeVar

from domain.money import normalise_currency, to_decimal
from domain.shared import InvalidInput

T = TypeVar("T")


class StaticFileError(ValueError):
    pass


class WatchedJsonFile(Generic[T]):
    def __init__(self, path: Path, parse: Callable[[dict[str, Any], datetime], T]) -> None:
        self.path = path
        self._parse = parse
        self._loaded: tuple[float, T] | None = None

    def read(self) -> T:
        try:
            mtime = os.stat(self.path).st_mtime
        except OSError as err:
            raise StaticFileError(f"cannot read {self.path}: {err.strerror}") from None
        if self._loaded is None or self._loaded[0] != mtime:
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"), parse_float=Decimal)
                if not isinstance(data, dict):
                    raise StaticFileError(f"{self.path} must hold a JSON object")
                as_of = parse_as_of(data.get("asOf"), datetime.fromtimestamp(mtime, UTC))
                self._loaded = (mtime, self._parse(data, as_of))
            except (ValueError, InvalidInput, KeyError, TypeError, AttributeError) as err:
                message = err.message if isinstance(err, InvalidInput) else str(err)
                raise StaticFileError(f"{self.path} is not valid: {message}") from None
        return self._loaded[1]


def parse_as_of(value: object, default: datetime) -> datetime:
    """`asOf` in the file (ISO 8601 with an offset), else the file's modification time."""
    if value is None:
        return default
    if not isinstance(value, str):
        raise StaticFileError("asOf must be an ISO 8601 date-time such as 2026-01-31T18:00:00Z")
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise StaticFileError("asOf needs a time-zone offset")
    return moment.astimezone(UTC)


def amount(value: object, name: str) -> Decimal:
    return to_decimal(str(value) if isinstance(value, (int, Decimal)) else value, name)


def currency(value: object, name: str = "currency") -> str:
    return normalise_currency(value if isinstance(value, str) else None, name)

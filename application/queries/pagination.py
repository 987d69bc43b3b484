"""Relay-style page requests and pages, independent of any storage."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Awaitable, Callable, Generic, TypeVar

from domain.shared import InvalidInput, LimitExceeded

T = TypeVar("T")
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class PageRequest:
    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None

    def __post_init__(self) -> None:
        if self.first is not None and self.last is not None:
            raise InvalidInput("Give either first or last, not both.", field=("last",))
        for name in ("first", "last"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise InvalidInput(f"{name} must not be negative.", field=(name,))
            if value is not None and value > MAX_PAGE_SIZE:
                raise LimitExceeded(f"{name} may be at most {MAX_PAGE_SIZE}.", field=(name,))
        if self.last is not None and self.after is not None:
            raise InvalidInput("Page backwards with last and before.", field=("after",))
        if self.first is not None and self.before is not None:
            raise InvalidInput("Page forwards with first and after.", field=("before",))

    @property
    def backward(self) -> bool:
        return self.last is not None or (self.first is None and self.before is not None)

    @property
    def size(self) -> int:
        if self.backward:
            return self.last if self.last is not None else DEFAULT_PAGE_SIZE
        return self.first if self.first is not None else DEFAULT_PAGE_SIZE


@dataclass
class Page(Generic[T]):
    items: list[T]
    cursors: list[str]
    has_next: bool
    has_previous: bool
    count: Callable[[], Awaitable[int]]

    @property
    def start_cursor(self) -> str | None:
        return self.cursors[0] if self.cursors else None

    @property
    def end_cursor(self) -> str | None:
        return self.cursors[-1] if self.cursors else None

"""Read model of the maturity figures: what each department's figures are counted from, in SQL, for the whole
period and each of its weeks at once (domain/maturity.py `spans`)."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

from domain.maturity import DepartmentalCounts, Measured, Span


class MaturityQueries(Protocol):
    async def departmental(self, department_ids: list[uuid.UUID],
                           spans: list[Span]) -> list[list[DepartmentalCounts]]:
        """Per span, each department's counts, in a constant number of statements whatever the number of
        departments, records and spans (domain/maturity.py defines each figure)."""

    async def collaborative(self, department_ids: list[uuid.UUID], spans: list[Span]) -> list[list[Measured]]:
        """Per span, each department's counts and medians of the collaborative figures, in two statements."""

    async def enterprise(self, spans: list[Span]) -> tuple[datetime | None, int, list[int]]:
        """The company's outbox and deliveries, in one statement: when the oldest outbox event some cursor-driven
        destination has not taken yet occurred (None: none waiting), how many such destinations there are (both
        as they are now), and per span how many webhook deliveries were parked in it."""

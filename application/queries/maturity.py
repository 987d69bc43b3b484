"""Read model of the maturity figures: what each department's figures are counted from, in SQL."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

from domain.maturity import DepartmentalCounts, Measured


class MaturityQueries(Protocol):
    async def departmental(self, department_ids: list[uuid.UUID], start: datetime,
                           end: datetime) -> list[DepartmentalCounts]:
        """Each department's counts for the period [start, end), in a constant number of statements whatever the
        number of departments and records (domain/maturity.py defines each figure)."""

    async def collaborative(self, department_ids: list[uuid.UUID], start: datetime,
                            end: datetime) -> list[Measured]:
        """Each department's counts and medians of the collaborative figures for [start, end), in two statements
        whatever the number of departments and records."""

    async def enterprise(self, start: datetime, end: datetime) -> tuple[datetime | None, int, int]:
        """The company's outbox and deliveries, in one statement: when the oldest outbox event some cursor-driven
        destination has not taken yet occurred (None: none waiting), how many such destinations there are, and
        how many webhook deliveries were parked in [start, end)."""

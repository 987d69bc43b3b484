"""Read model of the maturity figures: what each department's figures are counted from, in SQL, for the whole
period and each of its weeks at once (domain/maturity.py `spans`)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.maturity import DepartmentalCounts, JoinedCounts, Measured, Span


@dataclass(frozen=True, kw_only=True)
class CompanyRecords:
    """The company's outbox, deliveries and health samples: the outbox as it is now, the rest per span."""

    oldest_waiting_at: datetime | None  # the oldest outbox event some cursor-driven destination has not taken
    destinations: int  # cursor-driven destinations
    parked: list[int]  # webhook deliveries parked in each span
    samples: list[int]  # health samples taken in each span, DISABLED ones left out
    samples_up: list[int]  # of those, UP
    partners: list[int]  # API keys with the federation scope used since each span began


class MaturityQueries(Protocol):
    async def departmental(self, department_ids: list[uuid.UUID],
                           spans: list[Span]) -> list[list[DepartmentalCounts]]:
        """Per span, each department's counts, in a constant number of statements whatever the number of
        departments, records and spans (domain/maturity.py defines each figure)."""

    async def collaborative(self, department_ids: list[uuid.UUID], spans: list[Span],
                            now: datetime) -> list[list[Measured]]:
        """Per span, each department's counts and medians of the collaborative figures, in two statements (a step
        still waiting counts as overdue once its due time is before `now`)."""

    async def enterprise(self, spans: list[Span]) -> CompanyRecords:
        """The company's outbox, deliveries and integration health, in one statement."""

    async def joined(self, department_ids: list[uuid.UUID], spans: list[Span]) -> list[list[JoinedCounts]]:
        """Per span, each department's orders and customers as the integration sync found them in the ERP and
        finance, in one statement."""

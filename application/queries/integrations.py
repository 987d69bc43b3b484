"""Health of the systems the CRM is joined to (ERP, finance, broker, webhooks)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class IntegrationKind(StrEnum):
    ERP = "ERP"
    FINANCE = "FINANCE"
    OFFICE_AUTOMATION = "OFFICE_AUTOMATION"
    EVENT_BROKER = "EVENT_BROKER"
    WEBHOOK = "WEBHOOK"


class HealthState(StrEnum):
    UP = "UP"
    DEGRADED = "DEGRADED"
    DOWN = "DOWN"
    DISABLED = "DISABLED"


@dataclass(frozen=True)
class IntegrationHealthView:
    name: str
    kind: IntegrationKind
    state: HealthState
    last_success_at: datetime | None = None
    last_error: str | None = None
    pending_events: int = 0


class HealthReporter(Protocol):
    """Anything joined to the CRM reports its own health; `integrations` lists them all."""

    async def health(self) -> list[IntegrationHealthView]: ...

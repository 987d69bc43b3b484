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


@dataclass(frozen=True, kw_only=True)
class IntegrationHealthView:
    """`last_error` is what is wrong now: none once the system is UP again (a recovered destination does not
    keep showing an old error); `last_error_at` stays, as when it last failed."""

    name: str
    kind: IntegrationKind
    state: HealthState
    last_success_at: datetime | None = None
    last_error: str | None = None
    pending_events: int = 0
    last_error_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.state is HealthState.UP:
            object.__setattr__(self, "last_error", None)


class HealthReporter(Protocol):
    """Anything joined to the CRM reports its own health; `integrations` lists them all."""

    async def health(self) -> list[IntegrationHealthView]: ...

from __future__ import annotations

from datetime import datetime

import strawberry

from application.queries.integrations import HealthState, IntegrationHealthView, IntegrationKind

IntegrationKindEnum = strawberry.enum(IntegrationKind, name="IntegrationKind")
HealthStateEnum = strawberry.enum(HealthState, name="HealthState")


@strawberry.type
class IntegrationHealth:
    name: str
    kind: IntegrationKindEnum  # type: ignore[valid-type]
    state: HealthStateEnum  # type: ignore[valid-type]
    last_success_at: datetime | None
    last_error: str | None
    pending_events: int = strawberry.field(description="Events waiting in the outbox for this destination")

    @classmethod
    def from_view(cls, v: IntegrationHealthView) -> "IntegrationHealth":
        return cls(name=v.name, kind=v.kind, state=v.state, last_success_at=v.last_success_at,
                   last_error=v.last_error, pending_events=v.pending_events)

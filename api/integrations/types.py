from __future__ import annotations

from datetime import datetime

import strawberry

from application.queries.integrations import HealthState, IntegrationHealthView, IntegrationKind

UNREACHABLE = "unreachable"
IntegrationKindEnum = strawberry.enum(IntegrationKind, name="IntegrationKind")
HealthStateEnum = strawberry.enum(HealthState, name="HealthState")


@strawberry.type
class IntegrationHealth:
    name: str
    kind: IntegrationKindEnum  # type: ignore[valid-type]
    state: HealthStateEnum  # type: ignore[valid-type]
    last_success_at: datetime | None
    last_error: str | None = strawberry.field(description='What is wrong now, null once it is UP again; for '
                                                          'non-admins only "unreachable" (the details would map the '
                                                          "network behind the CRM)")
    pending_events: int = strawberry.field(description="Events waiting in the outbox for this destination")
    last_error_at: datetime | None = strawberry.field(
        description="When it last failed; kept after it recovered (lastError is then null)")

    @classmethod
    def from_view(cls, v: IntegrationHealthView, *, detailed: bool) -> "IntegrationHealth":
        """`detailed` (ADMINs): the error as recorded; else only that there was one."""
        error = v.last_error if detailed or v.last_error is None else UNREACHABLE
        return cls(name=v.name, kind=v.kind, state=v.state, last_success_at=v.last_success_at,
                   last_error=error, pending_events=v.pending_events, last_error_at=v.last_error_at)

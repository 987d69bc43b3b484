"""Customer activity as a projection of domain events.

Every department's work on a customer shows up in one newest-first feed. The unit of
work writes these rows in the same transaction as the events, so the feed is never
behind; new kinds of work (complaints, orders, workflows) only add a case here.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from domain.shared import DomainEvent

SUMMARY_LENGTH = 280


@dataclass(frozen=True)
class ActivityRecord:
    customer_id: uuid.UUID
    at: datetime
    kind: str  # ActivityKind in the API
    actor_id: uuid.UUID | None
    department_id: uuid.UUID | None
    summary: str
    subject_type: str | None
    subject_id: uuid.UUID | None
    event_id: uuid.UUID


def _short(text: str) -> str:
    return text if len(text) <= SUMMARY_LENGTH else text[: SUMMARY_LENGTH - 1] + "…"


def activity_for(event: DomainEvent) -> ActivityRecord | None:
    p = event.payload
    if event.type == "customer.created":
        return ActivityRecord(event.aggregate_id, event.occurred_at, "STAGE_CHANGE", event.actor_id, None,
                              f"Registered as {p['lifecycleStage']}", None, None, event.id)
    if event.type == "customer.stage_changed":
        reason = f": {p['reason']}" if p.get("reason") else ""
        return ActivityRecord(event.aggregate_id, event.occurred_at, "STAGE_CHANGE", event.actor_id, None,
                              _short(f"Stage {p['from']} → {p['to']}{reason}"), None, None, event.id)
    if event.type == "interaction.logged":
        rating = f" (rated {p['rating']}/5)" if p.get("rating") else ""
        return ActivityRecord(uuid.UUID(p["customerId"]), datetime.fromisoformat(p["occurredAt"]), "INTERACTION", event.actor_id,
                              uuid.UUID(p["departmentId"]) if p.get("departmentId") else None,
                              _short(f"{p['kind'].capitalize()}{rating}: {p['summary']}"), "Interaction",
                              event.aggregate_id, event.id)
    return None

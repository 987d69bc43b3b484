"""The JSON body every destination receives for an event (webhook POST body, broker message body)."""
from __future__ import annotations

import json
from typing import Any

from application.ports import OutboxEvent


def envelope(event: OutboxEvent) -> dict[str, Any]:
    return {
        "id": str(event.id),
        "type": event.type,
        "aggregateType": event.aggregate_type,
        "aggregateId": str(event.aggregate_id),
        "occurredAt": event.occurred_at.isoformat(),
        "actorId": str(event.actor_id) if event.actor_id else None,
        "sequence": event.position,
        "payload": event.payload,
    }


def event_body(event: OutboxEvent) -> bytes:
    """Compact UTF-8 JSON; these exact bytes are what the webhook signature covers."""
    return json.dumps(envelope(event), separators=(",", ":"), ensure_ascii=False, default=str).encode()

"""The audit log: every write records who (a staff member, or an API key acting as one), when, what (aggregate,
id, operation) and the changed fields before and after, in the write's own transaction. Nothing edits or
deletes it.

Who and which operation are the request's (`AUDIT`, set by the API for each mutation and by the CLI for its
commands); the unit of work turns each aggregate it wrote into one record: the aggregate's state when first
seen in the transaction against its state when written (`audit_state`), only the fields that changed.
"""
from __future__ import annotations

import dataclasses
import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from domain.shared import AggregateRoot, DomainEvent

CREATE, UPDATE, DELETE = "CREATE", "UPDATE", "DELETE"
NOT_STATE = frozenset(("pending_events", "version"))


@dataclass(frozen=True)
class AuditContext:
    actor_id: uuid.UUID | None = None
    api_key_id: uuid.UUID | None = None
    operation: str | None = None  # the GraphQL mutation(s), or the CLI command
    request_id: str | None = None


AUDIT: ContextVar[AuditContext | None] = ContextVar("crm_audit", default=None)


@dataclass(frozen=True)
class AuditRecord:
    id: uuid.UUID
    at: datetime
    actor_id: uuid.UUID | None
    api_key_id: uuid.UUID | None
    aggregate_type: str
    aggregate_id: uuid.UUID
    operation: str
    kind: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str | None


def jsonable(value: Any) -> Any:
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, (uuid.UUID, Decimal)):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    return value


def audit_state(aggregate: Any) -> dict[str, Any]:
    """The aggregate's fields as JSON values (not its version or pending events)."""
    return {f.name: jsonable(getattr(aggregate, f.name)) for f in dataclasses.fields(aggregate)
            if f.name not in NOT_STATE}


def audit_record(aggregate_type: str, aggregate_id: uuid.UUID, before: dict[str, Any] | None,
                 after: dict[str, Any] | None, events: list[DomainEvent], at: datetime) -> AuditRecord:
    """One write of one aggregate: `before` None for a creation, `after` None for a deletion; of an update only
    the fields that changed."""
    context = AUDIT.get() or AuditContext()
    kind = CREATE if before is None else DELETE if after is None else UPDATE
    if kind == UPDATE and before is not None and after is not None:
        changed = [k for k in after if before.get(k) != after[k]]
        before, after = {k: before.get(k) for k in changed}, {k: after[k] for k in changed}
    actor = context.actor_id or next((e.actor_id for e in events if e.actor_id), None)
    operation = context.operation or (events[0].type if events else f"{aggregate_type}.{kind.lower()}")
    return AuditRecord(uuid.uuid4(), at, actor, context.api_key_id, aggregate_type, aggregate_id, operation, kind,
                       before, after, context.request_id)


def aggregate_records(written: list[tuple[AggregateRoot, dict[str, Any] | None, list[DomainEvent]]],
                      at: datetime) -> list[AuditRecord]:
    """A record for each aggregate written (it recorded events): (aggregate, its state when first seen or None
    when it is new, its events)."""
    return [audit_record(agg.aggregate_type, agg.id, before, audit_state(agg), events, at)
            for agg, before, events in written if events]

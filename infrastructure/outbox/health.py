"""Health of the event destinations for `integrations`, read from the relay's tables (the relay runs in
`crm worker`, the API in another process; they share only the database).

Webhook: DISABLED when inactive; DOWN when failing and an event was parked since its last success
(it failed a whole retry schedule in a row); DEGRADED while retrying, or while parked events wait
for attention; UP otherwise. pendingEvents counts what it has not received: queued, retrying,
parked, and matching outbox events not yet queued. Broker: DISABLED without CRM_BROKER_URL;
DEGRADED after a failed try, DOWN after three in a row, UP after a confirmed publish; pendingEvents
counts the outbox events after its cursor.
"""
from __future__ import annotations

import hashlib

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from application.queries.integrations import HealthState, IntegrationHealthView, IntegrationKind
from domain.webhook import ALL_EVENTS
from infrastructure.db import tables as t
from infrastructure.db.relay_tables import relay_cursors, webhook_deliveries, webhook_event_types, webhooks
from infrastructure.outbox.store import FAN_OUT_CURSOR, PARKED, PENDING, broker_cursor_name

ob, d, w, s, rc = t.outbox, webhook_deliveries, webhooks, webhook_event_types, relay_cursors
BROKER_DOWN_AFTER = 3


def display_url(url: str) -> str:
    """Scheme and host only, plus a short fingerprint of the whole URL to tell webhooks apart: the path
    and query of many webhook URLs (Slack, Teams ...) are the credential, and `integrations` is for
    key users while the webhooks themselves are for admins."""
    parts = urlsplit(url)
    return f"{urlunsplit((parts.scheme, parts.netloc, '', '', ''))}/…#{hashlib.sha256(url.encode()).hexdigest()[:8]}"


class WebhookHealthReporter:
    def __init__(self, read_engine: AsyncEngine) -> None:
        self._engine = read_engine

    async def health(self) -> list[IntegrationHealthView]:
        async with self._engine.connect() as conn:
            hooks = (await conn.execute(select(w.c.id, w.c.url, w.c.active, w.c.last_success_at, w.c.last_error,
                                               w.c.last_failure_at, w.c.consecutive_failures)
                                        .order_by(w.c.created_at, w.c.id))).all()
            if not hooks:
                return []
            queued: dict[Any, dict[str, tuple[int, Any]]] = {}
            for row in await conn.execute(select(d.c.webhook_id, d.c.state, func.count(), func.max(d.c.parked_at))
                                          .group_by(d.c.webhook_id, d.c.state)):
                queued.setdefault(row[0], {})[row[1]] = (row[2], row[3])
            cursor = (await conn.execute(select(rc.c.position).where(rc.c.name == FAN_OUT_CURSOR))).scalar()
            unqueued_query = (select(s.c.webhook_id, func.count())
                              .select_from(ob.join(s, or_(s.c.event_type == ob.c.type, s.c.event_type == ALL_EVENTS))
                                           .join(w, w.c.id == s.c.webhook_id))
                              .where(w.c.active, ob.c.position > w.c.after_position).group_by(s.c.webhook_id))
            if cursor is not None:
                unqueued_query = unqueued_query.where(ob.c.position > cursor)
            unqueued = {row[0]: row[1] for row in await conn.execute(unqueued_query)}
        return [self._view(hook, queued.get(hook.id, {}), unqueued.get(hook.id, 0)) for hook in hooks]

    @staticmethod
    def _view(hook: Any, queued: dict[str, tuple[int, Any]], unqueued: int) -> IntegrationHealthView:
        pending, _ = queued.get(PENDING, (0, None))
        parked, last_parked_at = queued.get(PARKED, (0, None))
        failing = hook.consecutive_failures > 0
        if not hook.active:
            state = HealthState.DISABLED
        elif failing and last_parked_at is not None and (hook.last_success_at is None
                                                          or last_parked_at >= hook.last_success_at):
            state = HealthState.DOWN
        elif failing or parked:
            state = HealthState.DEGRADED
        else:
            state = HealthState.UP
        error = hook.last_error
        if parked:
            error = f"{error or 'failed'} ({parked} parked {'event' if parked == 1 else 'events'})"
        return IntegrationHealthView(name=f"webhook {display_url(hook.url)}", kind=IntegrationKind.WEBHOOK,
                                     state=state, last_success_at=hook.last_success_at, last_error=error,
                                     pending_events=pending + parked + (unqueued if hook.active else 0),
                                     last_error_at=hook.last_failure_at)


class BrokerHealthReporter:
    def __init__(self, read_engine: AsyncEngine, broker_url: str | None, exchange: str) -> None:
        self._engine = read_engine
        self._configured = broker_url is not None
        self._exchange = exchange
        self._name = f"event broker ({urlsplit(broker_url).hostname or 'amqp'}, exchange {exchange})" \
            if broker_url else "event broker"

    async def health(self) -> list[IntegrationHealthView]:
        if not self._configured:
            return [IntegrationHealthView(name=self._name, kind=IntegrationKind.EVENT_BROKER, state=HealthState.DISABLED)]
        async with self._engine.connect() as conn:
            cursor = (await conn.execute(select(rc).where(rc.c.name == broker_cursor_name(self._exchange)))
                      ).one_or_none()
            if cursor is None:
                return [IntegrationHealthView(name=self._name, kind=IntegrationKind.EVENT_BROKER, state=HealthState.DEGRADED,
                                              last_error="not connected yet: is `crm worker` running?")]
            pending = (await conn.execute(select(func.count()).select_from(ob)
                                          .where(ob.c.position > cursor.position))).scalar_one()
        if cursor.failures >= BROKER_DOWN_AFTER:
            state = HealthState.DOWN
        elif cursor.failures or cursor.last_success_at is None:
            state = HealthState.DEGRADED
        else:
            state = HealthState.UP
        return [IntegrationHealthView(name=self._name, kind=IntegrationKind.EVENT_BROKER, state=state,
                                      last_success_at=cursor.last_success_at, last_error=cursor.last_error,
                                      pending_events=pending, last_error_at=cursor.last_failure_at)]

"""Domain events -> handlers: how one aggregate's change makes another react.

Aggregates record events (domain/shared.py `DomainEvent` subclasses, e.g. `WorkflowCompleted`). A unit of
work hands them to `BUS.dispatch` at the start of `commit()` (and of `flush()`), before anything is
written: each handler subscribed to the event's class (or a base class) runs with the same unit of work,
so its reaction is atomic with the change that caused it; then the handlers of every event (the customer
activity projection) take the round's events as one batch. Events the handlers' aggregates record are
dispatched in turn, until nothing new is recorded. A handler that raises rolls the whole unit of work back.

After the commit, the events go out without handlers here: the outbox rows written in the same transaction
feed the webhook and broker relays, the event publisher feeds live subscriptions (docs/events.md).
"""
from __future__ import annotations

import uuid
from typing import Any, Awaitable, Callable, Mapping, Sequence

from application.activity import project_activity
from application.opportunities import OPPORTUNITY_HANDLERS
from application.ports import UnitOfWork
from application.sla_worker import SLA_HANDLERS
from application.workflow_worker import WORKFLOW_WORKER_HANDLERS
from application.workflows import ADVANCE_PAYMENT_HANDLERS
from domain.shared import DomainEvent

Handler = Callable[[UnitOfWork, Any], Awaitable[None]]
BatchHandler = Callable[[UnitOfWork, list[DomainEvent]], Awaitable[None]]
"""Takes every event of a round at once (a projection that writes one batch, not a row per event)."""
MAX_ROUNDS = 10  # handlers whose events make handlers record events ...: beyond this, a loop


class MessageBus:
    def __init__(self, handlers: Mapping[type[DomainEvent], Sequence[Handler]],
                 every_event: Sequence[BatchHandler] = ()) -> None:
        self._handlers = {kind: tuple(found) for kind, found in handlers.items()}
        self._every_event = tuple(every_event)

    def handlers_for(self, event: DomainEvent) -> list[Handler]:
        return [handler for kind in type(event).__mro__ for handler in self._handlers.get(kind, ())]  # type: ignore[call-overload]

    async def dispatch(self, uow: UnitOfWork) -> None:
        """Run the handlers of every event recorded in `uow` so far, and of those they record, once each."""
        handled: set[uuid.UUID] = set()
        for _ in range(MAX_ROUNDS):
            new = [event for event in uow.recorded_events() if event.id not in handled]
            if not new:
                return
            for event in new:
                handled.add(event.id)
                for handler in self.handlers_for(event):
                    await handler(uow, event)
            for batch_handler in self._every_event:
                await batch_handler(uow, new)
        raise RuntimeError(f"event handlers still recording events after {MAX_ROUNDS} rounds")


BUS = MessageBus({**ADVANCE_PAYMENT_HANDLERS, **SLA_HANDLERS, **WORKFLOW_WORKER_HANDLERS, **OPPORTUNITY_HANDLERS},
                 every_event=[project_activity])
"""The service's handlers (the use-case modules define them; the units of work dispatch to this bus)."""

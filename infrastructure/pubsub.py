"""In-process delivery of committed domain events to live subscribers (one process)."""
from __future__ import annotations

import asyncio
from typing import AsyncIterator

from application.ports import StreamInterrupted
from domain.shared import DomainEvent

_INTERRUPTED = object()  # put on a subscriber's queue: its stream ends with StreamInterrupted


class InProcessPublisher:
    def __init__(self, queue_size: int = 1000) -> None:
        self._subscribers: set[asyncio.Queue[object]] = set()
        self._queue_size = queue_size

    @property
    def subscribers(self) -> int:
        """How many subscriptions are listening right now."""
        return len(self._subscribers)

    async def publish(self, events: list[DomainEvent]) -> None:
        for queue in list(self._subscribers):
            for event in events:
                if queue.full():  # a slow subscriber loses its oldest events, never blocks writers
                    queue.get_nowait()
                queue.put_nowait(event)

    def interrupt(self) -> None:
        """End every current subscription with StreamInterrupted, after the events already queued for it: events
        were lost upstream, and a subscriber must not mistake what follows for a complete stream."""
        for queue in list(self._subscribers):
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(_INTERRUPTED)
        self._subscribers.clear()

    async def subscribe(self) -> AsyncIterator[DomainEvent]:
        queue: asyncio.Queue[object] = asyncio.Queue(self._queue_size)
        self._subscribers.add(queue)
        try:
            while True:
                item = await queue.get()
                if item is _INTERRUPTED:
                    raise StreamInterrupted("Live events were missed; subscribe again and reload.")
                yield item  # type: ignore[misc]
        finally:
            self._subscribers.discard(queue)

"""In-process delivery of committed domain events to live subscribers (one process)."""
from __future__ import annotations

import asyncio
from typing import AsyncIterator

from domain.shared import DomainEvent


class InProcessPublisher:
    def __init__(self, queue_size: int = 1000) -> None:
        self._subscribers: set[asyncio.Queue[DomainEvent]] = set()
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

    async def subscribe(self) -> AsyncIterator[DomainEvent]:
        queue: asyncio.Queue[DomainEvent] = asyncio.Queue(self._queue_size)
        self._subscribers.add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._subscribers.discard(queue)

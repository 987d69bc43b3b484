"""Events to RabbitMQ (aio-pika): one durable topic exchange, routing key = event type
(complaint.filed, order.confirmed ...), persistent JSON messages whose message_id is the event id
(consumers deduplicate on it: delivery is at least once), publisher confirms.

A consumer binds its own queue to the exchange with patterns such as `complaint.*` or `#`. Messages
of one aggregate are published one after the other, each confirmed before the next, so a queue
receives them in order; different aggregates go concurrently. Any failure (unreachable broker,
nack, lost channel) raises DeliveryFailed, drops the connection, and the relay publishes the batch
again later.
"""
from __future__ import annotations

import asyncio
from typing import Any

import aio_pika
from aio_pika.abc import AbstractExchange, AbstractRobustConnection

from application.ports import DeliveryFailed, OutboxEvent
from infrastructure.outbox.envelope import event_body


def message(event: OutboxEvent) -> aio_pika.Message:
    return aio_pika.Message(
        body=event_body(event),
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=str(event.id),
        type=event.type,
        timestamp=event.occurred_at,
        app_id="crm",
        headers={"aggregate_type": event.aggregate_type, "aggregate_id": str(event.aggregate_id),
                 "sequence": event.position},
    )


class RabbitMqBroker:
    def __init__(self, url: str, exchange: str, *, timeout: float = 10.0) -> None:
        self._url = url
        self.exchange_name = exchange
        self._timeout = timeout
        self._connection: Any = None
        self._exchange: AbstractExchange | None = None

    async def _ready(self) -> AbstractExchange:
        if self._connection is None or self._connection.is_closed or self._exchange is None:
            await self._reset()
            connection: AbstractRobustConnection | Any = await aio_pika.connect(self._url, timeout=self._timeout)
            self._connection = connection
            channel = await connection.channel(publisher_confirms=True)
            self._exchange = await channel.declare_exchange(self.exchange_name, aio_pika.ExchangeType.TOPIC,
                                                            durable=True, timeout=self._timeout)
        assert self._exchange is not None
        return self._exchange

    async def publish(self, events: list[OutboxEvent]) -> None:
        try:
            exchange = await self._ready()
            by_aggregate: dict[Any, list[OutboxEvent]] = {}
            for event in events:
                by_aggregate.setdefault(event.aggregate_id, []).append(event)
            await asyncio.gather(*(self._in_order(exchange, chain) for chain in by_aggregate.values()))
        except Exception as err:  # noqa: BLE001 - every way of not being confirmed is a failed delivery
            await self._reset()
            raise DeliveryFailed(f"broker: {type(err).__name__}: {err}".rstrip(": ")) from err

    async def _in_order(self, exchange: AbstractExchange, events: list[OutboxEvent]) -> None:
        for event in events:
            await exchange.publish(message(event), routing_key=event.type, mandatory=False, timeout=self._timeout)

    async def _reset(self) -> None:
        connection, self._connection, self._exchange = self._connection, None, None
        if connection is not None and not connection.is_closed:
            try:
                await asyncio.wait_for(connection.close(), timeout=self._timeout)
            except Exception:  # noqa: BLE001 - it is going away either way
                pass

    async def aclose(self) -> None:
        await self._reset()

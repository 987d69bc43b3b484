"""In-memory fakes of the relay's ports (application/ports.py, "events out"), for driving
application/outbox_relay.py without a database, HTTP or a broker.

`FakeWebhookOutbox` behaves like the SQL one where the relay can tell: fan-out queues events in
outbox order for the webhooks that want them; `claim` returns chains per (webhook, aggregate) that
start at the oldest pending delivery, only when it is due and not leased; parked deliveries do not
hold the chain back; `failed` counts the attempt and parks when told; `release` drops leases.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from application.ports import BrokerBatch, DeliveryFailed, OutboxEvent, WebhookDelivery
from domain.webhook import Webhook


def event(aggregate_id: uuid.UUID, position: int, type_: str = "customer.updated") -> OutboxEvent:
    return OutboxEvent(position=position, id=uuid.uuid4(), type=type_, aggregate_type=type_.split(".")[0],
                       aggregate_id=aggregate_id, occurred_at=datetime(2025, 1, 1), payload={"n": position})


@dataclass
class _Row:
    delivery: WebhookDelivery
    state: str = "PENDING"
    due: datetime = datetime.min
    leased: bool = False
    last_error: str | None = None


@dataclass
class FakeWebhookOutbox:
    hooks: list[Webhook] = field(default_factory=list)
    outbox: list[OutboxEvent] = field(default_factory=list)
    cursor: int = 0
    rows: list[_Row] = field(default_factory=list)
    delivered_log: list[WebhookDelivery] = field(default_factory=list)
    renewals: list[tuple[datetime, int]] = field(default_factory=list)  # (when, leases held then)

    async def fan_out(self, now: datetime, limit: int) -> int:
        batch = [e for e in self.outbox if e.position > self.cursor][:limit]
        for e in batch:
            for hook in self.hooks:
                if hook.wants(e.type):
                    self.rows.append(_Row(WebhookDelivery(hook.id, hook.url, "secret", e), due=now))
        if batch:
            self.cursor = batch[-1].position
        return len(batch)

    def _pending(self) -> list[_Row]:
        return sorted((r for r in self.rows if r.state == "PENDING"), key=lambda r: r.delivery.event.position)

    async def claim(self, now: datetime, limit: int) -> list[list[WebhookDelivery]]:
        chains: dict[tuple[uuid.UUID, uuid.UUID], list[_Row]] = {}
        for row in self._pending():
            key = (row.delivery.webhook_id, row.delivery.event.aggregate_id)
            chains.setdefault(key, []).append(row)
        chosen: list[list[WebhookDelivery]] = []
        for rows in chains.values():
            head = rows[0]
            if head.leased or head.due > now:
                continue
            if len(chosen) == limit:
                break
            chain = []
            for row in rows:
                if row.leased:
                    break
                row.leased = True
                chain.append(row.delivery)
            chosen.append(chain)
        return chosen

    def _row(self, delivery: WebhookDelivery) -> _Row:
        return next(r for r in self.rows if r.delivery.webhook_id == delivery.webhook_id
                    and r.delivery.event.position == delivery.event.position)

    async def delivered(self, deliveries: list[WebhookDelivery], now: datetime) -> None:
        for delivery in deliveries:
            self.rows.remove(self._row(delivery))
            self.delivered_log.append(delivery)

    async def failed(self, delivery: WebhookDelivery, now: datetime, error: str, retry_at: datetime | None) -> None:
        row = self._row(delivery)
        row.delivery = replace(delivery, attempts=delivery.attempts + 1)
        row.leased, row.last_error = False, error
        if retry_at is None:
            row.state = "PARKED"
        else:
            row.due = retry_at

    async def release(self, deliveries: list[WebhookDelivery]) -> None:
        for delivery in deliveries:
            self._row(delivery).leased = False

    async def renew(self, now: datetime) -> None:
        self.renewals.append((now, sum(r.leased for r in self.rows)))

    def parked(self) -> list[_Row]:
        return [r for r in self.rows if r.state == "PARKED"]


@dataclass
class FakeSender:
    """Fails the events in `failing` (by event id) and, while `down`, everything."""

    failing: set[uuid.UUID] = field(default_factory=set)
    down: bool = False
    sent: list[WebhookDelivery] = field(default_factory=list)

    async def send(self, delivery: WebhookDelivery) -> None:
        self.sent.append(delivery)
        if self.down or delivery.event.id in self.failing:
            raise DeliveryFailed("HTTP 503 Service Unavailable")


@dataclass
class FakeBrokerOutbox:
    outbox: list[OutboxEvent] = field(default_factory=list)
    position: int = 0
    failures: int = 0
    retry_at: datetime | None = None
    last_error: str | None = None
    successes: int = 0
    renewals: int = 0

    async def claim(self, now: datetime, limit: int) -> BrokerBatch | None:
        if self.retry_at is not None and self.retry_at > now:
            return None
        batch = [e for e in self.outbox if e.position > self.position][:limit]
        if not batch and not self.failures and self.successes:
            return None
        return BrokerBatch(batch, self.failures)

    async def delivered(self, upto: int | None, now: datetime) -> None:
        if upto is not None:
            self.position = upto
        self.failures, self.retry_at, self.successes = 0, None, self.successes + 1

    async def failed(self, now: datetime, error: str, retry_at: datetime) -> None:
        self.failures, self.retry_at, self.last_error = self.failures + 1, retry_at, error

    async def renew(self, now: datetime) -> None:
        self.renewals += 1


@dataclass
class FakeBroker:
    down: bool = False
    published: list[OutboxEvent] = field(default_factory=list)

    async def publish(self, events: list[OutboxEvent]) -> None:
        if self.down:
            raise DeliveryFailed("broker: connection refused")
        self.published.extend(events)


def later(now: datetime, seconds: float) -> datetime:
    return now + timedelta(seconds=seconds)

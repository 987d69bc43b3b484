"""Builds the relay `crm worker` runs, from the settings (the composition of infrastructure/outbox/)."""
from __future__ import annotations

from contextlib import asynccontextmanager
from datetime import timedelta
from typing import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncEngine

from application.outbox_relay import Relay
from application.ports import Clock
from domain.webhook import RetrySchedule
from infrastructure.outbox.broker import RabbitMqBroker
from infrastructure.outbox.secret_box import SecretBox
from infrastructure.outbox.store import OutboxHorizon, SqlBrokerOutbox, SqlWebhookOutbox
from infrastructure.outbox.webhooks import HttpWebhookSender
from infrastructure.settings import Settings


def webhook_schedule(settings: Settings) -> RetrySchedule:
    return RetrySchedule.exponential(first=timedelta(seconds=settings.webhook_first_retry),
                                     max_attempts=settings.webhook_max_attempts)


@asynccontextmanager
async def open_relay(settings: Settings, engine: AsyncEngine, read_engine: AsyncEngine, box: SecretBox,
                     clock: Clock) -> AsyncIterator[Relay]:
    """The relay with its HTTP client and broker connection, closed on the way out."""
    horizon = OutboxHorizon()
    lease = timedelta(seconds=settings.relay_lease)
    sender = HttpWebhookSender(clock, timeout=settings.webhook_timeout,
                               allow_private=settings.webhook_allow_private)
    broker = RabbitMqBroker(settings.broker_url, settings.broker_exchange) if settings.broker_url else None
    try:
        yield Relay(
            clock=clock,
            webhook_outbox=SqlWebhookOutbox(engine, read_engine, box, horizon=horizon, lease=lease),
            sender=sender,
            schedule=webhook_schedule(settings),
            broker_outbox=SqlBrokerOutbox(engine, read_engine, settings.broker_exchange, horizon=horizon, lease=lease)
            if broker else None,
            broker=broker,
            heartbeat=lease / 3,  # renewed twice before it could end
        )
    finally:
        await sender.aclose()
        if broker is not None:
            await broker.aclose()

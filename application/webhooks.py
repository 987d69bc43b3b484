"""Use cases for webhooks: register one (ADMINs only, see domain/webhook.py)."""
from __future__ import annotations

import secrets
from dataclasses import dataclass

from application.ports import Clock, WebhookRegistry
from domain.organisation import Staff
from domain.webhook import Webhook

SECRET_BYTES = 32


@dataclass(frozen=True)
class RegisterWebhook:
    url: str
    events: tuple[str, ...]


@dataclass(frozen=True)
class RegisteredWebhook:
    webhook: Webhook
    secret: str  # the HMAC-SHA256 signing key: handed out here, once, and never again


async def register_webhook(registry: WebhookRegistry, clock: Clock, actor: Staff,
                           cmd: RegisterWebhook, *, allow_private: bool = False) -> RegisteredWebhook:
    """Register a receiver for the events committed from now on, with a fresh signing secret; `allow_private`
    (the deployment's CRM_WEBHOOK_ALLOW_PRIVATE) lets it point into the private network.
    Raises NotAuthorized (not an ADMIN) and InvalidInput (url, events[i])."""
    webhook = Webhook.register(cmd.url, cmd.events, by=actor, at=clock.now(), allow_private=allow_private)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    await registry.add(webhook, secret)
    return RegisteredWebhook(webhook, secret)

"""Webhooks: `registerWebhook`, `webhooks` and the Webhook node. Only ADMINs register and see them
(a webhook sends the whole CRM's events out); others get FORBIDDEN, and `node` gives them null."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from api.common.errors import UserError, forbidden
from api.common.payloads import Payload, write, written
from api.common.relay import Node, to_global_id
from api.context import Context
from api.nodes import Loaded, load_node
from application.queries.webhooks import WebhookView
from application.webhooks import RegisterWebhook, register_webhook


@strawberry.type
class Webhook(Node, Loaded, loader="webhook_by_id"):
    id: strawberry.ID
    url: str
    events: list[str] = strawberry.field(description='Event types it receives, or ["*"] for all')
    active: bool
    created_at: datetime

    @classmethod
    def from_view(cls, v: WebhookView) -> "Webhook":
        return cls(id=to_global_id("Webhook", v.id), url=v.url, events=list(v.events), active=v.active,
                   created_at=v.created_at)

    @classmethod
    async def load(cls, info: Info[Context, None], raw_id: Any) -> "Webhook | None":
        """The Webhook node, for ADMINs only (null for everybody else, as if it did not exist)."""
        if not info.context.admin:
            return None
        return await load_node(info.context.loaders.webhook_by_id.load, raw_id, cls.from_view)


@strawberry.input
class RegisterWebhookInput:
    url: str
    events: list[str] = strawberry.field(
        description='Event types such as complaint.filed, order.confirmed, workflow.completed; ["*"] for all')


@strawberry.type
class WebhookPayload(Payload):
    webhook: Webhook | None = written(Webhook)
    secret: str | None = strawberry.field(description="Shown once: the HMAC-SHA256 signing secret for the "
                                                      "X-Signature header")
    user_errors: list[UserError]


@strawberry.type
class WebhookQuery:
    @strawberry.field(description="Every registered webhook, oldest first; for admins")
    async def webhooks(self, info: Info[Context, None]) -> list[Webhook]:
        if not info.context.admin:
            raise forbidden()
        return [Webhook.from_view(v) for v in await info.context.webhook_queries.all()]


@strawberry.type
class WebhookMutation:
    @strawberry.mutation(description="Send domain events to a URL as signed JSON POSTs (admins). The payload's "
                                     "secret is shown once; see the README's \"Events out\" for verifying")
    async def register_webhook(self, info: Info[Context, None], input: RegisterWebhookInput) -> WebhookPayload:
        registered, errors = await write(info, lambda ctx: register_webhook(
            ctx.webhooks, ctx.clock, ctx.actor, RegisterWebhook(url=input.url, events=tuple(input.events)),
            allow_private=ctx.settings.webhook_allow_private))
        return WebhookPayload(written_id=registered.webhook.id if registered else None,
                              secret=registered.secret if registered else None, user_errors=errors)

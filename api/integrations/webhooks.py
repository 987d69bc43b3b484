"""Webhooks: `registerWebhook`, `webhooks` and the Webhook node. Only ADMINs register and see them
(a webhook sends the whole CRM's events out); others get FORBIDDEN, and `node` gives them null."""
from __future__ import annotations

import uuid
from datetime import datetime

import strawberry
from strawberry.types import Info

from api.common.errors import UserError, attempt, forbidden
from api.common.relay import Node, to_global_id
from api.context import Context
from application.queries.webhooks import WebhookView
from application.webhooks import RegisterWebhook, register_webhook
from domain.organisation import Staff


@strawberry.type
class Webhook(Node):
    id: strawberry.ID
    url: str
    events: list[str] = strawberry.field(description='Event types it receives, or ["*"] for all')
    active: bool
    created_at: datetime

    @classmethod
    def from_view(cls, v: WebhookView) -> "Webhook":
        return cls(id=to_global_id("Webhook", v.id), url=v.url, events=list(v.events), active=v.active,
                   created_at=v.created_at)


@strawberry.input
class RegisterWebhookInput:
    url: str
    events: list[str] = strawberry.field(
        description='Event types such as complaint.filed, order.confirmed, workflow.completed; ["*"] for all')


@strawberry.type
class WebhookPayload:
    webhook: Webhook | None
    secret: str | None = strawberry.field(description="Shown once: the HMAC-SHA256 signing secret for the "
                                                      "X-Signature header")
    user_errors: list[UserError]


def _admin(actor: Staff) -> bool:
    return actor.active and actor.is_admin


async def load_webhook(info: Info[Context, None], webhook_id: uuid.UUID) -> Webhook | None:
    """The Webhook node, for ADMINs only (null for everybody else, as if it did not exist)."""
    if not _admin(info.context.actor):
        return None
    queries = info.context.services.webhook_queries()
    view = await info.context.loader_for("webhook_by_id", queries.by_ids).load(webhook_id)
    return Webhook.from_view(view) if view else None


@strawberry.type
class WebhookQuery:
    @strawberry.field(description="Every registered webhook, oldest first; for admins")
    async def webhooks(self, info: Info[Context, None]) -> list[Webhook]:
        if not _admin(info.context.actor):
            raise forbidden()
        return [Webhook.from_view(v) for v in await info.context.services.webhook_queries().all()]


@strawberry.type
class WebhookMutation:
    @strawberry.mutation(description="Send domain events to a URL as signed JSON POSTs (admins). The payload's "
                                     "secret is shown once; see the README's \"Events out\" for verifying")
    async def register_webhook(self, info: Info[Context, None], input: RegisterWebhookInput) -> WebhookPayload:
        ctx = info.context

        async def run():  # type: ignore[no-untyped-def]
            return await register_webhook(ctx.services.webhook_registry(), ctx.clock, ctx.actor,
                                          RegisterWebhook(url=input.url, events=tuple(input.events)),
                                          allow_private=ctx.settings.webhook_allow_private)

        registered, errors = await attempt(run)
        if registered is None:
            return WebhookPayload(webhook=None, secret=None, user_errors=errors)
        hook = registered.webhook
        view = WebhookView(hook.id, hook.url, hook.events, hook.active, hook.created_at)
        return WebhookPayload(webhook=Webhook.from_view(view), secret=registered.secret, user_errors=[])

"""Webhook deliveries over HTTP (httpx): a signed JSON POST per event.

Headers: Content-Type application/json, X-Event-Id (receivers deduplicate on it: delivery is at
least once), X-Event-Type, X-Delivery-Attempt (1, 2, ...) and X-Signature (infrastructure/outbox/
signing.py), signed afresh on every attempt with the current time. Any 2xx answer is a success;
anything else, a redirect included, a timeout or a connection error is a failure to retry.
"""
from __future__ import annotations

import httpx

from application.ports import Clock, DeliveryFailed, WebhookDelivery
from infrastructure.outbox.envelope import event_body
from infrastructure.outbox.signing import sign

USER_AGENT = "crm-webhooks/1"


class HttpWebhookSender:
    def __init__(self, clock: Clock, *, timeout: float = 10.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._clock = clock
        self._timeout = timeout
        self._client = httpx.AsyncClient(timeout=timeout, follow_redirects=False, transport=transport,
                                         headers={"User-Agent": USER_AGENT})

    async def send(self, delivery: WebhookDelivery) -> None:
        if not delivery.secret:
            raise DeliveryFailed("the webhook's signing secret cannot be decrypted (was CRM_SECRET_KEY changed?); "
                                 "register the webhook again")
        body = event_body(delivery.event)
        headers = {
            "Content-Type": "application/json",
            "X-Event-Id": str(delivery.event.id),
            "X-Event-Type": delivery.event.type,
            "X-Delivery-Attempt": str(delivery.attempts + 1),
            "X-Signature": sign(delivery.secret, int(self._clock.now().timestamp()), body),
        }
        try:
            response = await self._client.post(delivery.url, content=body, headers=headers)
        except httpx.TimeoutException:
            raise DeliveryFailed(f"no answer within {self._timeout:g} s") from None
        except httpx.HTTPError as err:
            raise DeliveryFailed(f"{type(err).__name__}: {err}".rstrip(": ")) from None
        if not response.is_success:
            raise DeliveryFailed(f"HTTP {response.status_code} {response.reason_phrase}".rstrip())

    async def aclose(self) -> None:
        await self._client.aclose()

"""Webhook deliveries over HTTP (httpx): a signed JSON POST per event.

Headers: Content-Type application/json, X-Event-Id (receivers deduplicate on it: delivery is at
least once), X-Event-Type, X-Delivery-Attempt (1, 2, ...) and X-Signature (infrastructure/outbox/
signing.py), signed afresh on every attempt with the current time. Any 2xx answer is a success;
anything else, a redirect included (redirects are never followed), a timeout or a connection error is a
failure to retry.

SSRF (domain/webhook.py, WebhooksGoToPublicAddresses): unless CRM_WEBHOOK_ALLOW_PRIVATE is set, the
connection itself checks every address the URL's host resolves to and connects only to an address it
checked, so a name that resolves to a private address, or that changes its answer between a check and
the connect (DNS rebinding), is refused. TLS still verifies the certificate against the URL's host name.
Deliveries go direct (no proxy from the environment): a proxy would connect to the checked host itself.
"""
from __future__ import annotations

import asyncio
import ipaddress
import socket
import typing

import httpcore
import httpx

from application.ports import Clock, DeliveryFailed, WebhookDelivery
from domain.webhook import refused_address
from infrastructure.outbox.envelope import event_body
from infrastructure.outbox.signing import sign

USER_AGENT = "crm-webhooks/1"


class RefusedAddress(httpcore.ConnectError):
    """The host resolves to an address webhooks may not go to."""


Resolver = typing.Callable[[str, int], typing.Awaitable[list[str]]]


async def resolve_host(host: str, port: int) -> list[str]:
    """Every address the system's resolver gives for the host (the odd IPv4 spellings included)."""
    found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in found]


class PublicAddressesOnly(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, resolving the host itself: every address must be public, and the
    connection goes to one of the addresses checked."""

    def __init__(self, resolve: Resolver | None = None) -> None:
        self._backend = httpcore.AnyIOBackend()
        self._resolve = resolve or resolve_host

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                          socket_options: typing.Iterable[typing.Any] | None = None) -> httpcore.AsyncNetworkStream:
        try:
            found = await asyncio.wait_for(self._resolve(host, port), timeout)
        except (OSError, asyncio.TimeoutError) as err:
            raise httpcore.ConnectError(f"{host} does not resolve: {err}") from None
        addresses = list(dict.fromkeys(ipaddress.ip_address(a.split("%", 1)[0]) for a in found))
        for address in addresses:
            reason = refused_address(address)
            if reason:
                raise RefusedAddress(f"refused: {host} resolves to {address} ({reason}); set "
                                     "CRM_WEBHOOK_ALLOW_PRIVATE=true for private receivers")
        last: Exception = httpcore.ConnectError(f"{host} has no address")
        for address in addresses:
            try:
                return await self._backend.connect_tcp(str(address), port, timeout=timeout,
                                                       local_address=local_address, socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as err:
                last = err
        raise last

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


def public_transport() -> httpx.AsyncHTTPTransport:
    """httpx's transport on a pool whose connections go to public addresses only."""
    transport = httpx.AsyncHTTPTransport(trust_env=False)
    transport._pool = httpcore.AsyncConnectionPool(  # noqa: SLF001 - httpx has no parameter for the backend
        ssl_context=httpx.create_ssl_context(trust_env=False), network_backend=PublicAddressesOnly(),
        max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)  # httpx's defaults
    return transport


class HttpWebhookSender:
    def __init__(self, clock: Clock, *, timeout: float = 10.0, allow_private: bool = False,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._clock = clock
        self._timeout = timeout
        if transport is None and not allow_private:
            transport = public_transport()
        self._client = httpx.AsyncClient(timeout=timeout, follow_redirects=False, transport=transport,
                                         trust_env=False, headers={"User-Agent": USER_AGENT})

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
            if isinstance(err.__cause__, RefusedAddress):
                raise DeliveryFailed(str(err.__cause__)) from None
            raise DeliveryFailed(f"{type(err).__name__}: {err}".rstrip(": ")) from None
        if not response.is_success:
            raise DeliveryFailed(f"HTTP {response.status_code} {response.reason_phrase}".rstrip())

    async def aclose(self) -> None:
        await self._client.aclose()

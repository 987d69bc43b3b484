"""A real webhook receiver for tests: a starlette app served by uvicorn on 127.0.0.1 (an ephemeral port),
in the test's event loop. Each endpoint path (`receiver.url("name")`) has its own behaviour and log.

What a receiver should do is what `Endpoint.consume` does: check the signature against the secret
(with the injected `now`, as the relay signs with the injected clock), then deduplicate on
X-Event-Id, so an event delivered twice has one effect.
"""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import socket
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from infrastructure.container import Container
from infrastructure.outbox.signing import verify


@contextlib.contextmanager
def private_receivers_allowed(container: Container) -> Iterator[None]:
    """CRM_WEBHOOK_ALLOW_PRIVATE=true while the block runs: this receiver listens on loopback, which
    webhooks may not reach otherwise (domain/webhook.py, WebhooksGoToPublicAddresses)."""
    container.settings.override(dataclasses.replace(container.core.settings(), webhook_allow_private=True))
    try:
        yield
    finally:
        container.settings.reset_last_overriding()


@dataclass
class Received:
    event_id: str
    event_type: str
    attempt: int
    signature: str
    body: bytes
    status: int  # what the endpoint answered

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Endpoint:
    secret: str | None = None
    fail_first: int = 0  # answer 500 to the first n requests
    always_fail: bool = False
    redirect_to: str | None = None  # answer 307 with this Location
    now: Callable[[], float] | None = None  # the clock signatures are checked against
    requests: list[Received] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)  # event ids already acted on (dedupe)
    effects: list[str] = field(default_factory=list)  # event ids acted on, in order
    bad_signatures: int = 0

    def consume(self, body: bytes, signature: str, event_id: str) -> int:
        if self.secret is not None and self.now is not None and not verify(self.secret, signature, body,
                                                                            self.now()):
            self.bad_signatures += 1
            return 401
        if self.always_fail or len(self.requests) < self.fail_first:
            return 500
        if self.redirect_to is not None:
            return 307
        if event_id not in self.seen:  # at least once in, exactly once in effect
            self.seen.add(event_id)
            self.effects.append(event_id)
        return 204

    @property
    def accepted(self) -> list[Received]:
        return [r for r in self.requests if 200 <= r.status < 300]

    def ids_per_aggregate(self) -> dict[str, list[str]]:
        """Accepted event ids per aggregate, in the order they arrived."""
        found: dict[str, list[str]] = {}
        for r in self.accepted:
            found.setdefault(r.json["aggregateId"], []).append(r.event_id)
        return found

    def deliveries_per_event(self) -> Counter[str]:
        return Counter(r.event_id for r in self.accepted)


class WebhookReceiver:
    def __init__(self) -> None:
        self.endpoints: dict[str, Endpoint] = {}
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    def endpoint(self, name: str, **behaviour: Any) -> Endpoint:
        self.endpoints[name] = Endpoint(**behaviour)
        return self.endpoints[name]

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/{name}"

    async def _handle(self, request: Request) -> Response:
        endpoint = self.endpoints.get(request.path_params["name"])
        if endpoint is None:
            return Response(status_code=404)
        body = await request.body()
        headers = request.headers
        status = endpoint.consume(body, headers.get("x-signature", ""), headers.get("x-event-id", ""))
        endpoint.requests.append(Received(headers.get("x-event-id", ""), headers.get("x-event-type", ""),
                                          int(headers.get("x-delivery-attempt", "0")), headers.get("x-signature", ""),
                                          body, status))
        return Response(status_code=status, headers={"Location": endpoint.redirect_to} if status == 307 else None)

    async def start(self) -> None:
        app = Starlette(routes=[Route("/hooks/{name}", self._handle, methods=["POST"])])
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        for _ in range(500):
            if self._server.started:
                return
            await asyncio.sleep(0.01)
        raise RuntimeError("the webhook receiver did not start")

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await asyncio.wait_for(self._task, timeout=10)

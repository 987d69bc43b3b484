"""A per-request timeout (`CRM_REQUEST_TIMEOUT`, 30 s): an HTTP GraphQL request still running then is cancelled,
its database work with it, and answered with HTTP 503, `Retry-After` and `extensions.code: TIMEOUT`.

It is ASGI middleware in front of the hot lane (api/hot_lane.py) and the router, inside the request log and CORS,
so every door is covered: the hot lane, the fast path, strawberry's execution, the sign-in and the guards in front
(and /readyz, /metrics, which answer far sooner). Cancelling the request's task cancels the statement it awaits: asyncpg sends
PostgreSQL a cancel request, and the request's connection is given back (or dropped) as on any other failure; a
unit of work that had not committed rolls back, so a timed-out mutation wrote nothing, unless it had committed
already, which a retry with the same `idempotencyKey` finds. On SQLite a statement already running in the
driver's thread finishes there, but nothing waits for it. WebSockets are not timed: a subscription lives long.
"""
from __future__ import annotations

import asyncio
import json
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("crm.api")

RETRY_AFTER = 5  # seconds a client is asked to wait before trying again


class RequestTimeout:
    def __init__(self, app: ASGIApp, seconds: float | None) -> None:
        self.app = app
        self.seconds = seconds if seconds else None  # 0 or None: no timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.seconds is None:
            await self.app(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        deadline = asyncio.timeout(self.seconds)
        try:
            async with deadline:
                await self.app(scope, receive, sending)
        except TimeoutError:
            if not deadline.expired():  # a timeout of something inside, not ours
                raise
            log.warning("request cancelled after %s s (CRM_REQUEST_TIMEOUT): %s", self.seconds, scope.get("path"))
            if started:  # half an answer went out (nothing of ours streams, but never two starts)
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            body = json.dumps({"data": None, "errors": [{
                "message": f"The request took longer than {self.seconds:g} s and was cancelled; nothing it had not "
                           "committed was written. Retry later.",
                "extensions": {"code": "TIMEOUT", "retryAfter": RETRY_AFTER}}]}).encode()
            await send({"type": "http.response.start", "status": 503, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(RETRY_AFTER).encode())]})
            await send({"type": "http.response.body", "body": body})

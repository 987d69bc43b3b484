"""Rate limits: a token bucket per client IP (before authentication, so floods of bad tokens are limited too)
and per principal (the staff member a token names), in-process. Over either: HTTP 429 with Retry-After and
`extensions.code: RATE_LIMITED`, nothing run. A WebSocket handshake takes a token of its IP's bucket too (over
it the handshake is refused); the operations on an open socket are subscriptions, not counted.

Each bucket holds `burst` requests and refills at `rate` per second; the buckets are kept for the most recently
seen keys only (an LRU), so memory stays bounded whatever the number of clients. In-process means per `crm serve`
worker: with N workers a client gets up to N times the rate (shared buckets through PostgreSQL or Redis are
for a later session).
"""
from __future__ import annotations

import json
import math
import threading
import time
from collections import OrderedDict
from typing import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

KEPT_KEYS = 100_000


class TokenBuckets:
    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic,
                 kept: int = KEPT_KEYS) -> None:
        self.rate, self.burst = rate, burst
        self._clock = clock
        self._kept = kept
        self._buckets: OrderedDict[object, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: object) -> float:
        """0 when `key` may go on (a token taken), else the seconds until its next token."""
        with self._lock:
            now = self._clock()
            tokens, at = self._buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / self.rate
            self._buckets[key] = (tokens - 1 if wait == 0 else tokens, now)
            if len(self._buckets) > self._kept:
                self._buckets.popitem(last=False)
            return wait


def client_ip(scope: Scope) -> object:
    client = scope.get("client")
    return client[0] if client else None


def principal(scope: Scope) -> object:
    """The staff member the request's token named (Authenticate put them in the scope's state)."""
    state = scope.get("state") or {}
    actor = state.get("actor")
    if actor is not None:
        return actor.id
    sign_in = state.get("sign_in")
    return sign_in.staff_id if sign_in is not None else None


class RateLimit:
    """Refuses an HTTP request whose key (`key_of(scope)`) has no token left in `buckets`."""

    def __init__(self, app: ASGIApp, buckets: TokenBuckets | None, key_of: Callable[[Scope], object]) -> None:
        self.app = app
        self.buckets = buckets
        self.key_of = key_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.buckets is not None and scope["type"] == "websocket":
            key = self.key_of(scope)
            if key is not None and self.buckets.take(key):  # a WebSocket over the rate: refused at the handshake
                await receive()  # websocket.connect
                await send({"type": "websocket.close", "code": 1008, "reason": "rate limited"})
                return
        if scope["type"] == "http" and not await self.admits(scope, send):
            return
        await self.app(scope, receive, send)

    async def admits(self, scope: Scope, send: Send) -> bool:
        """Whether the HTTP request may go on; if not, it has been answered with 429. A request is counted once
        by each limit, whichever door it comes through (the hot lane, api/hot_lane.py, asks first)."""
        counted = scope.setdefault("state", {}).setdefault("rate_counted", set())
        if self.buckets is None or id(self) in counted:
            return True
        counted.add(id(self))
        key = self.key_of(scope)
        wait = self.buckets.take(key) if key is not None else 0.0
        if not wait:
            return True
        seconds = max(1, math.ceil(wait))
        body = json.dumps({"data": None, "errors": [{
            "message": f"Too many requests; try again in {seconds} s.",
            "extensions": {"code": "RATE_LIMITED", "retryAfter": seconds}}]}).encode()
        await send({"type": "http.response.start", "status": 429, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(seconds).encode())]})
        await send({"type": "http.response.body", "body": body})
        return False


def buckets(limit: tuple[float, float] | None) -> TokenBuckets | None:
    return TokenBuckets(*limit) if limit is not None else None

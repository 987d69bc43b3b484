"""Rate limits: a token bucket per client IP (before authentication, so floods of bad tokens are limited too)
and per principal (the staff member a token names), in-process. Over either: HTTP 429 with Retry-After and
`extensions.code: RATE_LIMITED`, nothing run. A WebSocket handshake takes a token of its IP's bucket too (over
it the handshake is refused); the operations on an open socket are subscriptions, not counted.

Each bucket holds `burst` requests and refills at `rate` per second; the buckets are kept for the most recently
seen keys only (an LRU), so memory stays bounded whatever the number of clients.

By default the buckets live in each process (`TokenBuckets`): with N `crm serve` workers a client gets up to N
times the rate. With a shared store (CRM_RATE_LIMIT_STORE=redis://..., infrastructure/rate_limit_store.py) the
buckets live there and every process leases from them (`LeasedBuckets`): it takes a few tokens of a key at a time
(a tenth of the burst, at most 20) and spends them locally, so the store is asked once per lease, never once per
request, and a refusal is remembered until the store said the next token is due (a flood costs no round trips).
Accuracy, for one key over all processes:

- never more than the limit: in any t seconds at most `burst + rate * (t + LEASE_SECONDS)` requests are let
  through (a lease is spent within LEASE_SECONDS of being taken, or given back unspent with the next one);
- a client may be refused early by up to (lease - 1) requests per process that hold tokens of its key unspent.

The store unreachable (or slower than its timeout, 0.25 s): the key is limited by the local bucket instead, the
outage is logged, and the store is tried again after STORE_RETRY seconds; never an error for the client.
"""
from __future__ import annotations

import asyncio
import json
import logging
import math
import threading
import time
from collections import OrderedDict
from typing import Callable, Protocol

from starlette.types import ASGIApp, Receive, Scope, Send

KEPT_KEYS = 100_000
LEASE_SECONDS = 1.0  # a lease not spent by then is given back (with the key's next lease)
STORE_RETRY = 1.0  # seconds the local buckets decide alone after the shared store failed
log = logging.getLogger("crm.api")


class SharedStore(Protocol):
    """Token buckets every process shares (infrastructure/rate_limit_store.py)."""

    async def lease(self, key: str, want: int, given_back: int, rate: float, burst: float) -> tuple[int, float]:
        """Up to `want` tokens of bucket `key`, `given_back` unspent ones returned first: (granted, seconds until
        the next token when none were). Raises when the store cannot be reached."""


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


class _Lease:
    __slots__ = ("tokens", "expires", "refused_until")

    def __init__(self) -> None:
        self.tokens, self.expires, self.refused_until = 0, 0.0, 0.0


class LeasedBuckets:
    """Buckets in a shared store, taken from in leases of a few tokens spent locally (see the module's text)."""

    def __init__(self, rate: float, burst: float, store: SharedStore, name: str,
                 clock: Callable[[], float] = time.monotonic, kept: int = KEPT_KEYS) -> None:
        self.rate, self.burst = rate, burst
        self.batch = max(1, min(20, int(burst // 10)))
        self.local = TokenBuckets(rate, burst, clock, kept)  # while the store is away
        self._store, self._name, self._clock, self._kept = store, name, clock, kept
        self._leases: OrderedDict[object, _Lease] = OrderedDict()
        self._pending: dict[object, asyncio.Future[bool]] = {}
        self._store_down_until = 0.0

    def take(self, key: object) -> float | None:
        """As TokenBuckets.take, from the key's lease, without awaiting anything; None when the lease is spent
        (then `admit` takes a new one)."""
        now = self._clock()
        if now < self._store_down_until:
            return self.local.take(key)
        lease = self._leases.get(key)
        if lease is None:
            lease = self._leases[key] = _Lease()
            if len(self._leases) > self._kept:
                self._leases.popitem(last=False)
        else:
            self._leases.move_to_end(key)
        if lease.refused_until > now:
            return lease.refused_until - now
        if lease.tokens >= 1 and lease.expires > now:
            lease.tokens -= 1
            return 0.0
        return None

    async def admit(self, key: object) -> float:
        """0 when `key` may go on, else the seconds until it may; takes a new lease when needed."""
        while (wait := self.take(key)) is None:
            pending = self._pending.get(key)  # one lease at a time per key: concurrent requests wait for it
            if pending is None:
                pending = self._pending[key] = asyncio.ensure_future(self._renew(key, self._leases[key]))
                pending.add_done_callback(lambda _: self._pending.pop(key, None))
            if not await asyncio.shield(pending):
                return self.local.take(key)
        return wait

    async def _renew(self, key: object, lease: _Lease) -> bool:
        """A new lease for `key`, the old one's unspent tokens given back; False when the store failed."""
        given_back, lease.tokens = lease.tokens, 0
        try:
            granted, wait = await self._store.lease(f"{self._name}:{key}", self.batch, given_back, self.rate,
                                                    self.burst)
        except Exception as err:  # noqa: BLE001 - whatever the store's failure, the local limit holds meanwhile
            log.warning("rate limit store unreachable (%s); limiting per process for %s s", err, STORE_RETRY)
            self._store_down_until = self._clock() + STORE_RETRY
            return False
        now = self._clock()
        lease.tokens, lease.expires = granted, now + LEASE_SECONDS
        lease.refused_until = now + wait if granted == 0 else 0.0
        return True


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

    def __init__(self, app: ASGIApp, buckets: TokenBuckets | LeasedBuckets | None,
                 key_of: Callable[[Scope], object]) -> None:
        self.app = app
        self.buckets = buckets
        self.key_of = key_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.buckets is not None and scope["type"] == "websocket":
            key = self.key_of(scope)
            wait = self.buckets.take(key) if key is not None else 0.0
            if wait is None:
                wait = await self.buckets.admit(key)
            if wait:  # a WebSocket over the rate: refused at the handshake
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
        if wait is None:  # a shared store's lease is spent: a new one (once per lease, not per request)
            wait = await self.buckets.admit(key)
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


def buckets(limit: tuple[float, float] | None, store: SharedStore | None = None,
            name: str = "") -> TokenBuckets | LeasedBuckets | None:
    """The buckets of `limit` (rate, burst): None for no limit, in the shared `store` if there is one."""
    if limit is None:
        return None
    return TokenBuckets(*limit) if store is None else LeasedBuckets(*limit, store=store, name=name)

"""Calls to systems the CRM does not control: a timeout on each, a circuit breaker, a short-lived cache, and
the health that `integrations` reports.

A slow or dead ERP must not make the CRM slow: every call is cut off after `timeout` seconds, and after
`failure_threshold` failures in a row the breaker opens, so that for `reset_after` seconds calls fail at once
without touching the network. Then one trial call goes through (half-open): its success closes the breaker,
its failure opens it again. Whatever fails reaches the application as `DependencyUnavailable`.

The breaker is our own (70 lines): the maintained asyncio-capable libraries (circuitbreaker, purgatory) let
every concurrent call through while half-open, so a recovering ERP would be hit by the whole queue at once,
and they read the wall clock, which tests cannot move. The cache is cachetools' TTLCache.
"""
from __future__ import annotations

import asyncio
import logging
import time
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from typing import Any, Awaitable, Callable, Hashable, Iterator, Sequence, TypeVar

from cachetools import TTLCache

from application.ports import Clock, CustomerReceivables, DependencyUnavailable, ProductCosts, Receivables, UnitCost
from application.queries.integrations import HealthState, IntegrationHealthView, IntegrationKind
from infrastructure.metrics import external_call_done

log = logging.getLogger("crm.integrations")
T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BreakerState(StrEnum):
    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


class BreakerOpen(Exception):
    pass


class CircuitBreaker:
    """CLOSED -> (failure_threshold failures in a row) -> OPEN -> (reset_after seconds) -> HALF_OPEN, where one
    trial call goes through while the others still fail at once -> CLOSED on its success, OPEN on its failure."""

    def __init__(self, failure_threshold: int = 3, reset_after: float = 30.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if failure_threshold < 1 or reset_after <= 0:
            raise ValueError("failure_threshold >= 1 and reset_after > 0")
        self.failure_threshold = failure_threshold
        self.reset_after = reset_after
        self._monotonic = monotonic
        self.failures = 0  # in a row
        self._opened_at: float | None = None
        self._trial_running = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._monotonic() - self._opened_at < self.reset_after:
            return BreakerState.OPEN
        return BreakerState.HALF_OPEN

    @property
    def retry_in(self) -> float:
        """Seconds until a trial call may go through (0 unless open)."""
        if self._opened_at is None:
            return 0.0
        return max(0.0, self.reset_after - (self._monotonic() - self._opened_at))

    @contextmanager
    def call(self) -> Iterator[None]:
        """Wrap one call: raises BreakerOpen instead of running it while open (or while a half-open trial runs);
        the call's exception counts as a failure, CancelledError as neither."""
        state = self.state
        if state is BreakerState.OPEN or (state is BreakerState.HALF_OPEN and self._trial_running):
            raise BreakerOpen()
        trial = state is BreakerState.HALF_OPEN
        self._trial_running = self._trial_running or trial
        try:
            yield
        except asyncio.CancelledError:
            raise
        except BaseException:
            self._failed()
            raise
        else:
            self.failures, self._opened_at = 0, None
        finally:
            if trial:
                self._trial_running = False

    def _failed(self) -> None:
        self.failures += 1
        if self.failures >= self.failure_threshold or self._opened_at is not None:
            self._opened_at = self._monotonic()


class ExternalCall:
    """Runs calls to one external system with a timeout and a circuit breaker, and remembers how they went."""

    def __init__(self, *, name: str, kind: IntegrationKind, system: str, clock: Clock, timeout: float,
                 breaker: CircuitBreaker, probe: Callable[[], Awaitable[Any]], health_max_age: float = 30.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.name, self.kind, self.system = name, kind, system
        self.timeout = timeout
        self.breaker = breaker
        self._clock = clock
        self._probe = probe
        self._health_max_age = health_max_age
        self._monotonic = monotonic
        self.last_success_at: datetime | None = None
        self.last_error: str | None = None
        self.last_error_at: datetime | None = None
        self._last_seen: float | None = None  # monotonic time of the last outcome

    async def run(self, call: Callable[[], Awaitable[T]]) -> T:
        """`call`'s result, within the timeout and while the breaker lets calls through; DependencyUnavailable
        otherwise. Its time and outcome go into the metrics (infrastructure/metrics.py)."""
        started, outcome = time.monotonic(), "failed"
        try:
            result = await self._run(call)
            outcome = "ok"
            return result
        finally:
            external_call_done(self.system, outcome, time.monotonic() - started, self.breaker.state.name)

    async def _run(self, call: Callable[[], Awaitable[T]]) -> T:
        try:
            with self.breaker.call():
                deadline = asyncio.timeout(self.timeout)
                try:
                    async with deadline:
                        result = await call()
                except TimeoutError as err:
                    self._failed(f"no answer within {self.timeout:g} s" if deadline.expired() else _describe(err))
                    raise
                except asyncio.CancelledError:
                    raise
                except Exception as err:  # noqa: BLE001 - any fault of the other system counts
                    self._failed(_describe(err))
                    raise
        except BreakerOpen:
            failures = self.breaker.failures
            raise DependencyUnavailable(self.system, f"circuit open after {failures} failure{'s' if failures > 1 else ''} "
                                                     f"in a row (last: {self.last_error}); next try in "
                                                     f"{self.breaker.retry_in:.0f} s") from None
        except asyncio.CancelledError:
            raise
        except Exception as err:  # noqa: BLE001
            raise DependencyUnavailable(self.system, self.last_error or _describe(err)) from err
        self.last_success_at = self._clock.now()
        self._last_seen = self._monotonic()
        return result

    def _failed(self, reason: str) -> None:
        self.last_error, self.last_error_at = reason, self._clock.now()
        self._last_seen = self._monotonic()
        log.warning("%s failed: %s", self.name, reason)

    async def health(self) -> IntegrationHealthView:
        """From the calls made so far; probes (through the breaker) when nothing recent is known."""
        stale = self._last_seen is None or self._monotonic() - self._last_seen > self._health_max_age
        if stale and self.breaker.state is not BreakerState.OPEN:
            try:
                await self.run(self._probe)
            except DependencyUnavailable:
                pass
        state = self.breaker.state
        if state is BreakerState.OPEN:
            health = HealthState.DOWN
        elif state is BreakerState.HALF_OPEN or self.breaker.failures:
            health = HealthState.DEGRADED
        else:
            health = HealthState.UP
        return IntegrationHealthView(name=self.name, kind=self.kind, state=health,
                                     last_success_at=self.last_success_at, last_error=self.last_error,
                                     last_error_at=self.last_error_at)


def _describe(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return text if len(text) <= 300 else text[:297] + "..."


class _Cached:
    """Per-key TTL cache in front of a batch call: only the keys not cached (or expired) are asked for, in one
    call, and what comes back (None included: "unknown" is an answer too) is kept for `ttl` seconds."""

    def __init__(self, ttl: float, maxsize: int, timer: Callable[[], float]) -> None:
        self._cache: TTLCache[Any, Any] | None = TTLCache(maxsize=maxsize, ttl=ttl, timer=timer) if ttl > 0 else None

    async def get_many(self, keys: Sequence[K], fetch: Callable[[list[K]], Awaitable[dict[K, V | None]]]
                       ) -> dict[K, V | None]:
        found: dict[K, V | None] = {}
        missing: list[K] = []
        for key in dict.fromkeys(keys):
            if self._cache is not None and key in self._cache:
                found[key] = self._cache[key]
            else:
                missing.append(key)
        if missing:
            fetched = await fetch(missing)
            for key in missing:
                found[key] = fetched.get(key)
                if self._cache is not None:
                    self._cache[key] = found[key]
        return found


class GuardedProductCosts:
    """The ProductCosts port the application uses: an adapter (Tryton, static, a test's fake) behind a cache,
    a timeout and a circuit breaker. Also a HealthReporter."""

    def __init__(self, inner: ProductCosts, *, clock: Clock, timeout: float = 2.0, cache_seconds: float = 60.0,
                 breaker: CircuitBreaker | None = None, cache_size: int = 50_000,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.inner = inner
        self.source = inner.source
        self.call = ExternalCall(name=f"{inner.source}-product-costs", kind=IntegrationKind.ERP, system="ERP",
                                 clock=clock, timeout=timeout, breaker=breaker or CircuitBreaker(monotonic=monotonic),
                                 probe=getattr(inner, "ping", None) or (lambda: inner.unit_costs([])),
                                 monotonic=monotonic)
        self._cache = _Cached(cache_seconds, cache_size, monotonic)

    async def unit_costs(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], UnitCost | None]:
        return await self._cache.get_many(keys, lambda missing: self.call.run(lambda: self.inner.unit_costs(missing)))

    async def health(self) -> list[IntegrationHealthView]:
        return [await self.call.health()]


class GuardedReceivables:
    """The Receivables port the application uses, guarded as GuardedProductCosts is."""

    def __init__(self, inner: Receivables, *, clock: Clock, timeout: float = 2.0, cache_seconds: float = 60.0,
                 breaker: CircuitBreaker | None = None, cache_size: int = 50_000,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.inner = inner
        self.source = inner.source
        self.call = ExternalCall(name=f"{inner.source}-receivables", kind=IntegrationKind.FINANCE, system="FINANCE",
                                 clock=clock, timeout=timeout, breaker=breaker or CircuitBreaker(monotonic=monotonic),
                                 probe=getattr(inner, "ping", None) or (lambda: inner.receivables([])),
                                 monotonic=monotonic)
        self._cache = _Cached(cache_seconds, cache_size, monotonic)

    async def receivables(self, customer_codes: Sequence[str]) -> dict[str, CustomerReceivables | None]:
        return await self._cache.get_many(
            customer_codes, lambda missing: self.call.run(lambda: self.inner.receivables(missing)))

    async def health(self) -> list[IntegrationHealthView]:
        return [await self.call.health()]

"""Timeouts, the circuit breaker, the short-lived cache and the health they report, with fakes at the ports
and a clock the tests move."""
from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from application.ports import DependencyUnavailable
from application.queries.integrations import HealthState
from infrastructure.erp.static import StaticProductCosts
from infrastructure.finance.static import StaticReceivables
from infrastructure.resilience import BreakerOpen, BreakerState, CircuitBreaker, GuardedProductCosts, \
    GuardedReceivables
from tests.application.external_fakes import FakeProductCosts, FakeReceivables


class FixedClock:
    def now(self) -> datetime:
        return datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


class Monotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def guarded(inner: FakeProductCosts, clock: Monotonic, *, timeout: float = 1.0, cache: float = 0.0,
            failures: int = 2, reset: float = 10.0) -> GuardedProductCosts:
    return GuardedProductCosts(inner, clock=FixedClock(), timeout=timeout, cache_seconds=cache,
                               breaker=CircuitBreaker(failures, reset, clock), monotonic=clock)


def test_breaker_states() -> None:
    clock = Monotonic()
    breaker = CircuitBreaker(failure_threshold=2, reset_after=10, monotonic=clock)
    for _ in range(2):
        with pytest.raises(ValueError), breaker.call():
            raise ValueError("boom")
    assert breaker.state is BreakerState.OPEN and breaker.retry_in == 10
    with pytest.raises(BreakerOpen), breaker.call():
        pass
    clock.now += 10
    assert breaker.state is BreakerState.HALF_OPEN
    with pytest.raises(ValueError), breaker.call():  # the trial fails: open again, for another 10 s
        raise ValueError("still down")
    assert breaker.state is BreakerState.OPEN
    clock.now += 10
    with breaker.call():
        pass
    assert breaker.state is BreakerState.CLOSED and breaker.failures == 0


def test_a_success_resets_the_count_of_failures_in_a_row() -> None:
    breaker = CircuitBreaker(failure_threshold=2, reset_after=10, monotonic=Monotonic())
    for outcome in ("fail", "ok", "fail", "ok", "fail"):
        with pytest.raises(ValueError) if outcome == "fail" else _nothing(), breaker.call():
            if outcome == "fail":
                raise ValueError()
    assert breaker.state is BreakerState.CLOSED and breaker.failures == 1


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return False


async def test_half_open_lets_one_trial_through_while_others_fail_at_once() -> None:
    clock = Monotonic()
    erp = FakeProductCosts({("S", "EUR"): "1"}, fail=ConnectionError("refused"))
    costs = guarded(erp, clock, failures=1)
    with pytest.raises(DependencyUnavailable):
        await costs.unit_costs([("S", "EUR")])
    clock.now += 10
    erp.fail, erp.delay = None, 0.05
    trial = asyncio.ensure_future(costs.unit_costs([("S", "EUR")]))
    await asyncio.sleep(0.01)
    with pytest.raises(DependencyUnavailable, match="circuit open"):
        await costs.unit_costs([("S", "EUR")])  # the trial is still running
    assert (await trial)[("S", "EUR")].amount == Decimal(1)
    assert costs.call.breaker.state is BreakerState.CLOSED and len(erp.calls) == 2


async def test_timeouts_count_as_failures_and_the_open_breaker_spares_the_erp() -> None:
    clock = Monotonic()
    erp = FakeProductCosts(delay=5)
    costs = guarded(erp, clock, timeout=0.05, failures=2)
    for _ in range(2):
        with pytest.raises(DependencyUnavailable, match="no answer within 0.05 s"):
            await costs.unit_costs([("S", "EUR")])
    with pytest.raises(DependencyUnavailable, match="circuit open after 2 failures in a row"):
        await costs.unit_costs([("S", "EUR")])
    assert len(erp.calls) == 2
    (health,) = await costs.health()
    assert (health.name, health.state, health.last_error, health.last_success_at) == (
        "fake-erp-product-costs", HealthState.DOWN, "no answer within 0.05 s", None)


async def test_a_cancelled_call_is_no_failure() -> None:
    clock = Monotonic()
    costs = guarded(FakeProductCosts(delay=5), clock, timeout=10, failures=1)
    task = asyncio.ensure_future(costs.unit_costs([("S", "EUR")]))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert costs.call.breaker.state is BreakerState.CLOSED and costs.call.breaker.failures == 0


async def test_health_degraded_after_a_failure_and_probed_when_nothing_is_known() -> None:
    clock = Monotonic()
    erp = FakeProductCosts({("S", "EUR"): "2"})
    costs = guarded(erp, clock, failures=3)
    (health,) = await costs.health()  # never called: probes (an empty batch for a port without ping)
    assert health.state is HealthState.UP and health.last_success_at == FixedClock().now()
    erp.fail = RuntimeError("HTTP 502")
    with pytest.raises(DependencyUnavailable, match="HTTP 502"):
        await costs.unit_costs([("S", "EUR")])
    (health,) = await costs.health()
    assert (health.state, health.last_error) == (HealthState.DEGRADED, "HTTP 502")
    erp.fail = None
    clock.now += 31  # what is known is stale: probe again
    (health,) = await costs.health()
    assert health.state is HealthState.UP


async def test_the_cache_asks_only_for_what_it_does_not_hold_and_forgets_after_its_ttl() -> None:
    clock = Monotonic()
    erp = FakeProductCosts({("A", "EUR"): "1", ("B", "EUR"): "2"})
    costs = guarded(erp, clock, cache=60)
    await costs.unit_costs([("A", "EUR"), ("X", "EUR")])
    found = await costs.unit_costs([("A", "EUR"), ("B", "EUR"), ("X", "EUR"), ("A", "EUR")])
    assert erp.calls == [[("A", "EUR"), ("X", "EUR")], [("B", "EUR")]]  # unknown X is an answer too
    assert found[("X", "EUR")] is None and found[("B", "EUR")].amount == Decimal(2)
    clock.now += 61
    await costs.unit_costs([("A", "EUR")])
    assert erp.calls[-1] == [("A", "EUR")]


async def test_receivables_are_guarded_the_same_way() -> None:
    clock = Monotonic()
    finance = FakeReceivables({"C-1": ("10", "5", None, "EUR")}, fail=OSError("network unreachable"))
    guard = GuardedReceivables(finance, clock=FixedClock(), timeout=1, cache_seconds=0,
                               breaker=CircuitBreaker(1, 10, clock), monotonic=clock)
    with pytest.raises(DependencyUnavailable) as caught:
        await guard.receivables(["C-1"])
    assert caught.value.system == "FINANCE" and "network unreachable" in caught.value.reason
    (health,) = await guard.health()
    assert (health.name, health.kind.value, health.state) == ("fake-finance-receivables", "FINANCE", HealthState.DOWN)


async def test_static_adapters_read_their_file_again_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "costs.json"
    path.write_text(json.dumps({"currency": "EUR", "rates": {"EUR": "1", "CHF": "0.95"}, "asOf": "2030-01-01T00:00:00Z",
                                "costs": {"S": "10.00", "T": 4.5}}))
    costs = StaticProductCosts(path)
    found = await costs.unit_costs([("S", "CHF"), ("T", "EUR"), ("S", "USD"), ("U", "EUR")])
    assert (found[("S", "CHF")].amount, found[("T", "EUR")].amount) == (Decimal("9.5"), Decimal("4.5"))
    assert found[("S", "USD")] is None and found[("U", "EUR")] is None  # no USD rate; unknown SKU
    assert found[("T", "EUR")].as_of == datetime(2030, 1, 1, tzinfo=UTC) and found[("T", "EUR")].source == "static"
    path.write_text(json.dumps({"currency": "EUR", "costs": {"S": "11"}}))
    os.utime(path, (1_900_000_000, 1_900_000_000))
    assert (await costs.unit_costs([("S", "EUR")]))[("S", "EUR")].amount == Decimal(11)


@pytest.mark.parametrize("content, message", [
    ("not json", "is not valid"),
    ('{"currency": "EUR"}', "costs"),
    ('{"currency": "XXX", "costs": {}}', "XXX is not an ISO 4217 currency"),
    ('{"currency": "EUR", "costs": {"S": "-1"}}', "must not be negative"),
    ('{"currency": "EUR", "costs": {"S": "abc"}}', "costs.S must be a decimal number"),
])
async def test_a_broken_costs_file_makes_the_erp_unavailable_not_the_crm(tmp_path: Path, content: str,
                                                                         message: str) -> None:
    path = tmp_path / "costs.json"
    path.write_text(content)
    guard = GuardedProductCosts(StaticProductCosts(path), clock=FixedClock(), cache_seconds=0)
    with pytest.raises(DependencyUnavailable, match=message):
        await guard.unit_costs([("S", "EUR")])
    (health,) = await guard.health()
    assert health.state is HealthState.DEGRADED and message in (health.last_error or "")


async def test_a_missing_receivables_file_is_reported(tmp_path: Path) -> None:
    guard = GuardedReceivables(StaticReceivables(tmp_path / "nope.json"), clock=FixedClock(), cache_seconds=0)
    with pytest.raises(DependencyUnavailable, match="cannot read .*nope.json"):
        await guard.receivables(["C-1"])


async def test_the_embedded_demo_files_are_valid() -> None:
    costs = await StaticProductCosts().unit_costs([("TOOL-100", "EUR"), ("ROBO-7", "USD"), ("TEX-88", "JPY")])
    assert all(c is not None for c in costs.values())
    receivables = await StaticReceivables().receivables(["DEMO-0001", "DEMO-0005"])
    assert receivables["DEMO-0005"] is not None and receivables["DEMO-0005"].credit_limit is None

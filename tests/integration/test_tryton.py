"""The Tryton adapters against a real trytond 8.2 on loopback (tests/integration/tryton/server.py starts it):
what they answer, the container built from CRM_ERP=tryton settings, and GraphQL while Tryton is stopped, hung
(SIGSTOP) and back: DEPENDENCY_UNAVAILABLE, the breaker failing fast, `integrations` DOWN, then recovery."""
from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import AsyncIterator, Iterator

import pytest
from dependency_injector import providers

from application.ports import DependencyUnavailable
from domain.money import Money
from infrastructure.clock import SystemClock
from infrastructure.container import build_container, dispose
from infrastructure.erp.tryton import TrytonProductCosts
from infrastructure.erp.tryton_client import TrytonClient
from infrastructure.external_settings import ExternalSystem
from infrastructure.finance.tryton import TrytonReceivables
from infrastructure.resilience import CircuitBreaker, GuardedProductCosts, GuardedReceivables
from infrastructure.settings import Settings
from tests.conftest import Api
from tests.integration.tryton.server import TrytonServer, tryton_server

pytestmark = pytest.mark.timeout(900)  # the first run builds Tryton's virtualenv and database (about a minute)

CUSTOMER = """query($code: String) { customer(code: $code) { code name
  receivables { outstanding { amount currency } overdue { amount currency } creditLimit { amount currency } source }
  orders(first: 20) { edges { node { number total { amount currency } lines { sku unitCost { amount currency } }
    profitability { revenue { amount } cost { amount } margin { amount } marginPercent costSource } } } } } }"""
INTEGRATIONS = "{ integrations { name kind state lastSuccessAt lastError } }"


@pytest.fixture(scope="session")
def tryton() -> Iterator[TrytonServer]:
    with tryton_server() as server:
        yield server


@pytest.fixture
async def client(tryton: TrytonServer) -> AsyncIterator[TrytonClient]:
    client = TrytonClient(tryton.url, tryton.database, tryton.user, tryton.password)
    yield client
    await client.aclose()


async def test_product_costs_by_code_converted_with_trytons_rates(client: TrytonClient) -> None:
    costs = TrytonProductCosts(client, SystemClock())
    found = await costs.unit_costs([("TOOL-100", "EUR"), ("TOOL-220", "EUR"), ("TOOL-100", "USD"), ("TEX-88", "JPY"),
                                    ("OPT-12", "GBP"), ("NO-SUCH-SKU", "EUR"), ("TOOL-100", "CHF")])
    answers = {key: (cost.amount, cost.currency, cost.source) if cost else None for key, cost in found.items()}
    assert answers == {
        ("TOOL-100", "EUR"): (Decimal("112.5"), "EUR", "tryton"),  # Tryton keeps 4 decimals: 112.5000
        ("TOOL-220", "EUR"): (Decimal("9.8765"), "EUR", "tryton"),
        ("TOOL-100", "USD"): (Decimal("123.75"), "USD", "tryton"),  # EUR rate 1, USD rate 1.10
        ("TEX-88", "JPY"): (Decimal("24000"), "JPY", "tryton"),  # JPY rate 160
        ("OPT-12", "GBP"): (Decimal("2040"), "GBP", "tryton"),  # GBP rate 0.85
        ("NO-SUCH-SKU", "EUR"): None,  # not a product
        ("TOOL-100", "CHF"): None,  # no such currency in Tryton
    }
    assert await costs.unit_costs([]) == {}


async def test_receivables_by_party_code(client: TrytonClient) -> None:
    found = await TrytonReceivables(client, SystemClock()).receivables(["DEMO-0001", "DEMO-0002", "DEMO-0003",
                                                                        "NOBODY"])
    answers = {code: (r.outstanding, r.overdue, r.credit_limit, r.source) if r else None for code, r in found.items()}
    assert answers == {
        # two posted invoices: 1000.00 due 60 days ago, 500.00 due in ten years
        "DEMO-0001": (Money.of("1500", "EUR"), Money.of("1000", "EUR"), Money.of("5000", "EUR"), "tryton"),
        "DEMO-0002": (Money.of("0", "EUR"), Money.of("0", "EUR"), None, "tryton"),  # no invoice, no credit limit
        "DEMO-0003": (Money.of("2500", "EUR"), Money.of("2500", "EUR"), Money.of("20000", "EUR"), "tryton"),
        "NOBODY": None,
    }


async def test_an_expired_session_logs_in_again(client: TrytonClient) -> None:
    await client.company_currency()
    client._authorization = "Session " + "YWRtaW46MTpub3QtYS1zZXNzaW9u"  # admin:1:not-a-session
    found = await TrytonProductCosts(client, SystemClock()).unit_costs([("FURN-010", "EUR")])
    assert found[("FURN-010", "EUR")] is not None and found[("FURN-010", "EUR")].amount == Decimal("120")


async def test_a_wrong_password_makes_the_erp_unavailable(tryton: TrytonServer) -> None:
    client = TrytonClient(tryton.url, tryton.database, tryton.user, "not-the-password")
    costs = GuardedProductCosts(TrytonProductCosts(client, SystemClock()), clock=SystemClock(), cache_seconds=0)
    try:
        with pytest.raises(DependencyUnavailable, match="Tryton refused common.db.login: HTTP 401"):
            await costs.unit_costs([("TOOL-100", "EUR")])
        (health,) = await costs.health()
        assert health.state.value == "DEGRADED" and "HTTP 401" in (health.last_error or "")
    finally:
        await client.aclose()


async def test_the_container_builds_the_tryton_adapters_from_settings(tryton: TrytonServer) -> None:
    system = ExternalSystem(adapter="tryton", url=tryton.url, database=tryton.database, user=tryton.user,
                            password=tryton.password)
    container = build_container(Settings(env="test", erp=system, finance=system,
                                         database_url="sqlite+aiosqlite:///:memory:"))
    try:
        costs, receivables = container.services.product_costs(), container.services.receivables()
        assert container.gateways.erp()._client is container.gateways.finance()._client  # one session for both
        assert (await costs.unit_costs([("LOG-500", "EUR")]))[("LOG-500", "EUR")].amount == Decimal("700")
        assert (await receivables.receivables(["DEMO-0003"]))["DEMO-0003"].overdue == Money.of("2500", "EUR")
        health = [view for reporter in (costs, receivables) for view in await reporter.health()]
        assert [(h.name, h.kind.value, h.state.value, h.last_error) for h in health] == [
            ("tryton-product-costs", "ERP", "UP", None), ("tryton-receivables", "FINANCE", "UP", None)]
    finally:
        await dispose(container)


ANSWERING = 10.0  # seconds per call while Tryton answers


async def test_graphql_with_tryton_stopped_hung_and_back(api: Api, tryton: TrytonServer) -> None:
    client = TrytonClient(tryton.url, tryton.database, tryton.user, tryton.password)
    clock = SystemClock()
    # A real call to Tryton (a subprocess on a busy 2-core machine) may well take over a second: room for it
    # while Tryton answers; only the hung phase below, where no answer ever comes, cuts off after 1 s.
    costs = GuardedProductCosts(TrytonProductCosts(client, clock), clock=clock, timeout=ANSWERING, cache_seconds=0,
                                breaker=CircuitBreaker(failure_threshold=2, reset_after=1.5))
    receivables = GuardedReceivables(TrytonReceivables(client, clock), clock=clock, timeout=ANSWERING,
                                     cache_seconds=0, breaker=CircuitBreaker(failure_threshold=2, reset_after=1.5))

    def cut_off_after(seconds: float) -> None:
        costs.call.timeout = receivables.call.timeout = seconds

    services = api.container.services
    services.product_costs.override(providers.Object(costs))
    services.receivables.override(providers.Object(receivables))
    try:
        up = (await api(CUSTOMER, {"code": "DEMO-0001"}))["customer"]
        assert up["receivables"] == {"outstanding": {"amount": "1500.00", "currency": "EUR"},
                                     "overdue": {"amount": "1000.00", "currency": "EUR"},
                                     "creditLimit": {"amount": "5000.00", "currency": "EUR"}, "source": "tryton"}
        demo = next(e["node"] for e in up["orders"]["edges"]
                    if [line["sku"] for line in e["node"]["lines"]] == ["TOOL-100", "TOOL-220"])
        assert [line["unitCost"]["amount"] for line in demo["lines"]] == ["112.50", "9.88"]
        assert demo["profitability"] == {"revenue": {"amount": "3144.86"}, "cost": {"amount": "1745.06"},
                                         "margin": {"amount": "1399.80"}, "marginPercent": "44.51",
                                         "costSource": "tryton"}

        tryton.stop()  # mid-run: connection refused
        for _ in range(2):
            body = (await api.post(CUSTOMER, {"code": "DEMO-0001"})).json()
            assert_only_external_fields_failed(body, up)
        started = time.monotonic()
        body = (await api.post(CUSTOMER, {"code": "DEMO-0001"})).json()  # the breaker is open now
        assert time.monotonic() - started < 2.0  # well below the timeout: nothing waited for Tryton
        assert_only_external_fields_failed(body, up)
        assert any("circuit open after 2 failures" in e["message"] for e in body["errors"])
        health = await integrations(api)
        assert health["tryton-product-costs"]["state"] == health["tryton-receivables"]["state"] == "DOWN"
        assert health["tryton-product-costs"]["lastError"]

        tryton.start()
        await asyncio.sleep(1.6)  # past reset_after: the next call is the half-open trial
        assert (await api(CUSTOMER, {"code": "DEMO-0001"}))["customer"] == up
        health = await integrations(api)
        assert health["tryton-product-costs"]["state"] == health["tryton-receivables"]["state"] == "UP"

        cut_off_after(1.0)
        tryton.pause()  # hung: accepts connections, never answers
        try:
            started = time.monotonic()
            body = (await api.post(CUSTOMER, {"code": "DEMO-0001"})).json()
            assert time.monotonic() - started < 1.0 + 2.0  # cut off by the 1 s timeout
            assert_only_external_fields_failed(body, up)
            assert any("no answer within 1 s" in e["message"] for e in body["errors"])
        finally:
            tryton.resume()
            cut_off_after(ANSWERING)
        await asyncio.sleep(0.2)
        assert (await api(CUSTOMER, {"code": "DEMO-0001"}))["customer"] == up  # one failure: still closed
    finally:
        if tryton.process is None:
            tryton.start()
        services.product_costs.reset_override()
        services.receivables.reset_override()
        await client.aclose()


def assert_only_external_fields_failed(body: dict, up: dict) -> None:
    customer = body["data"]["customer"]
    assert (customer["code"], customer["name"]) == (up["code"], up["name"])
    assert customer["receivables"] is None
    nodes = [e["node"] for e in customer["orders"]["edges"]]
    assert [(n["number"], n["total"]) for n in nodes] == [(e["node"]["number"], e["node"]["total"])
                                                          for e in up["orders"]["edges"]]
    assert all(n["profitability"] is None and all(line["unitCost"] is None for line in n["lines"]) for n in nodes)
    assert {e["extensions"]["code"] for e in body["errors"]} == {"DEPENDENCY_UNAVAILABLE"}
    assert {e["extensions"]["system"] for e in body["errors"]} == {"ERP", "FINANCE"}


async def integrations(api: Api) -> dict[str, dict]:
    return {e["name"]: e for e in (await api(INTEGRATIONS))["integrations"]}

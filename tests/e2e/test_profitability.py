"""The unified view over GraphQL: Order.profitability, OrderLine.unitCost, Customer.receivables and the
profitability report, with the embedded static adapters and with fakes at the ProductCosts and Receivables
ports (behind the real timeout, cache and circuit breaker). Each external system is called once per request;
when one is down or slow its fields are null with DEPENDENCY_UNAVAILABLE and the rest of the response stands."""
from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime, timedelta
from typing import Any, Callable, Iterator

import pytest
from dependency_injector import providers
from sqlalchemy import update

from api.common.relay import parse_global_id
from infrastructure.db.order_tables import orders as orders_table
from infrastructure.resilience import CircuitBreaker, GuardedProductCosts, GuardedReceivables
from tests.application.external_fakes import AS_OF, FakeProductCosts, FakeReceivables
from tests.conftest import Api, unique
from tests.e2e.test_orders import create, new_customer

MONEY = "{ amount currency }"
PROFITABILITY = f"""profitability {{ revenue {MONEY} cost {MONEY} margin {MONEY} marginPercent costSource asOf
  uncostedRevenue {MONEY} }}"""
RECEIVABLES = f"receivables {{ outstanding {MONEY} overdue {MONEY} creditLimit {MONEY} asOf source }}"
ORDERS_IN_WINDOW = f"""query($from: DateTime, $to: DateTime) {{
  orders(first: 50, filter: {{placedFrom: $from, placedTo: $to}}) {{ totalCount edges {{ node {{
    number status total {MONEY}
    lines {{ sku quantity lineTotal {MONEY} unitCost {MONEY} }}
    {PROFITABILITY}
    customer {{ code {RECEIVABLES} }}
  }} }} }} }}"""
CUSTOMER_VIEW = f"""query($code: String) {{ customer(code: $code) {{ code name {RECEIVABLES}
  orders(first: 20) {{ edges {{ node {{ number currency lines {{ sku unitCost {MONEY} }} {PROFITABILITY} }} }} }} }} }}"""
REPORT = f"""query($from: DateTime!, $to: DateTime!, $by: ProfitabilityGroup!) {{
  profitability(from: $from, to: $to, groupBy: $by) {{ key label revenue {MONEY} cost {MONEY} margin {MONEY}
    marginPercent uncostedRevenue {MONEY} }} }}"""
INTEGRATIONS = "{ integrations { name kind state lastSuccessAt lastError } }"


def eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


def usd(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "USD"}


@pytest.fixture
def external(api: Api) -> Iterator[Callable[..., tuple[GuardedProductCosts | None, GuardedReceivables | None]]]:
    """Put fakes at the ports, each behind the real guard (timeout, cache, breaker) with the given knobs."""
    services = api.container.services
    touched: list[Any] = []

    def install(costs: FakeProductCosts | None = None, receivables: FakeReceivables | None = None, *,
                timeout: float = 2.0, cache_seconds: float = 0.0, failures: int = 3, reset: float = 30.0,
                monotonic: Callable[[], float] = time.monotonic
                ) -> tuple[GuardedProductCosts | None, GuardedReceivables | None]:
        clock = api.container.gateways.clock()
        guarded_costs = guarded_receivables = None
        if costs is not None:
            guarded_costs = GuardedProductCosts(costs, clock=clock, timeout=timeout, cache_seconds=cache_seconds,
                                                breaker=CircuitBreaker(failures, reset, monotonic), monotonic=monotonic)
            services.product_costs.override(providers.Object(guarded_costs))
            touched.append(services.product_costs)
        if receivables is not None:
            guarded_receivables = GuardedReceivables(receivables, clock=clock, timeout=timeout,
                                                     cache_seconds=cache_seconds,
                                                     breaker=CircuitBreaker(failures, reset, monotonic),
                                                     monotonic=monotonic)
            services.receivables.override(providers.Object(guarded_receivables))
            touched.append(services.receivables)
        return guarded_costs, guarded_receivables

    yield install
    for provider in touched:
        provider.reset_override()


class Sales:
    """Orders placed in a window of their own (far in the future, so no other test's orders fall in it):

    A, EUR, CONFIRMED: 3 x SKU-A at 100 less 10 % = 270.00, 2.5 x SKU-B at 40 = 100.00
    A, USD, SHIPPED:   1 x SKU-A at 200 = 200.00
    B, EUR, PAID:      1 x SKU-C at 80 (no cost in the ERP), 1 x SKU-A at 100
    and, not counted: a DRAFT and a CANCELLED order of A, and B's order placed a second before the window.
    """

    def __init__(self, start: datetime) -> None:
        self.start, self.end = start, start + timedelta(days=1)
        tag = unique("").strip("-").upper()
        self.sku_a, self.sku_b, self.sku_c = f"A-{tag}", f"B-{tag}", f"C-{tag}"
        self.costs = {(self.sku_a, "EUR"): "55.1234", (self.sku_b, "EUR"): "12", (self.sku_a, "USD"): "60"}

    async def place(self, api: Api) -> "Sales":
        self.a, self.b = await new_customer(api), await new_customer(api)
        a, b = self.a["id"], self.b["id"]

        def line(sku: str, quantity: str, price: str, **extra: str) -> dict[str, str]:
            return {"sku": sku, "quantity": quantity, "unitPrice": price, "description": f"Item {sku[:1]}", **extra}

        made = [
            (a, "EUR", [line(self.sku_a, "3", "100", discountPercent="10"), line(self.sku_b, "2.5", "40")],
             "CONFIRMED", self.start + timedelta(hours=1)),
            (a, "USD", [line(self.sku_a, "1", "200")], "SHIPPED", self.start + timedelta(hours=2)),
            (b, "EUR", [line(self.sku_c, "1", "80"), line(self.sku_a, "1", "100")], "PAID",
             self.start + timedelta(hours=3)),
            (a, "EUR", [line(self.sku_a, "5", "100")], "DRAFT", None),
            (a, "EUR", [line(self.sku_a, "7", "100")], "CANCELLED", self.start + timedelta(hours=4)),
            (b, "EUR", [line(self.sku_a, "9", "100")], "CONFIRMED", self.start - timedelta(seconds=1)),
        ]
        self.orders = [await create(api, customerId=customer, currency=currency, lines=lines)
                       for customer, currency, lines, _, _ in made]
        async with api.container.core.engine().begin() as conn:
            for order, (_, _, _, status, placed) in zip(self.orders, made):
                # the status machine has its own tests; here only where the order stands matters
                await conn.execute(update(orders_table).where(orders_table.c.id == parse_global_id(order["id"])[1])
                                   .values(status=status, placed_at=placed))
        return self

    @property
    def window(self) -> dict[str, str]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}


DAYS = itertools.count()  # the session's database is this process's: a counter gives each call a day of its own


async def placed(api: Api) -> Sales:
    """Sales on a day no other call uses (a random day could repeat: pytest-randomly seeds `random` alike for
    every test)."""
    start = datetime(2040, 1, 1, tzinfo=UTC) + timedelta(days=next(DAYS))
    return await Sales(start).place(api)


# ------------------------------------------------------------------ the embedded static adapters (make run)


async def test_static_adapters_show_the_demo_costs_and_receivables(api: Api) -> None:
    one = (await api(CUSTOMER_VIEW, {"code": "DEMO-0001"}))["customer"]
    assert one["receivables"] == {"outstanding": eur("12500.00"), "overdue": eur("2300.00"),
                                  "creditLimit": eur("50000.00"), "asOf": one["receivables"]["asOf"],
                                  "source": "static"}
    demo = next(e["node"] for e in one["orders"]["edges"]
                if [line["sku"] for line in e["node"]["lines"]] == ["TOOL-100", "TOOL-220"])
    assert [line["unitCost"] for line in demo["lines"]] == [eur("112.50"), eur("9.88")]  # 9.8765 shown rounded
    # revenue 12 x 189.90 x 0.95 + 40 x 24.50 = 3144.86; cost 12 x 112.50 + 40 x 9.8765 = 1745.06 (exact, rounded once)
    assert {k: v for k, v in demo["profitability"].items() if k != "asOf"} == {
        "revenue": eur("3144.86"), "cost": eur("1745.06"), "margin": eur("1399.80"), "marginPercent": "44.51",
        "costSource": "static", "uncostedRevenue": eur("0.00")}

    four = (await api(CUSTOMER_VIEW, {"code": "DEMO-0004"}))["customer"]  # USD: costs converted at 1.08
    robot = next(e["node"] for e in four["orders"]["edges"] if e["node"]["lines"][0]["sku"] == "ROBO-7")
    assert robot["lines"][0]["unitCost"] == usd("32400.00")
    assert (robot["profitability"]["revenue"], robot["profitability"]["cost"], robot["profitability"]["margin"],
            robot["profitability"]["marginPercent"]) == (usd("82500.00"), usd("64800.00"), usd("17700.00"), "21.45")
    seven = (await api(CUSTOMER_VIEW, {"code": "DEMO-0007"}))["customer"]  # JPY: no minor unit
    silk = next(e["node"] for e in seven["orders"]["edges"] if e["node"]["lines"][0]["sku"] == "TEX-88")
    assert silk["lines"][0]["unitCost"] == {"amount": "24300", "currency": "JPY"}
    assert (await api(CUSTOMER_VIEW, {"code": "DEMO-0030"}))["customer"]["receivables"] is None  # not in the file


async def test_integrations_list_the_erp_and_the_finance_system(api: Api) -> None:
    entries = {e["name"]: e for e in (await api(INTEGRATIONS, as_="finance.key@example.com"))["integrations"]}
    assert entries["static-product-costs"]["kind"] == "ERP" and entries["static-product-costs"]["state"] == "UP"
    assert entries["static-receivables"]["kind"] == "FINANCE" and entries["static-receivables"]["state"] == "UP"
    assert entries["static-receivables"]["lastSuccessAt"] is not None


# ------------------------------------------------------------------ fakes at the ports


async def test_one_call_per_system_per_request(api: Api, external: Callable[..., Any]) -> None:
    sales = await placed(api)
    costs = FakeProductCosts(sales.costs)
    receivables = FakeReceivables({sales.a["code"]: ("1200.50", "200", "5000", "EUR")})
    external(costs, receivables)

    data = (await api(ORDERS_IN_WINDOW, sales.window))["orders"]
    assert data["totalCount"] == 4  # the three placed in the window and the CANCELLED one
    assert costs.calls == [sorted({(sales.sku_a, "EUR"), (sales.sku_b, "EUR"), (sales.sku_a, "USD"),
                                   (sales.sku_c, "EUR")})]
    assert receivables.calls == [sorted({sales.a["code"], sales.b["code"]})]

    by_number = {e["node"]["number"]: e["node"] for e in data["edges"]}
    first = by_number[sales.orders[0]["number"]]
    assert [line["unitCost"] for line in first["lines"]] == [eur("55.12"), eur("12.00")]
    # cost 3 x 55.1234 + 2.5 x 12 = 195.3702 -> 195.37; margin 174.63; 174.63 / 370 = 47.197..%
    assert first["profitability"] == {"revenue": eur("370.00"), "cost": eur("195.37"), "margin": eur("174.63"),
                                      "marginPercent": "47.20", "costSource": "fake-erp",
                                      "asOf": AS_OF.isoformat(), "uncostedRevenue": eur("0.00")}
    assert first["customer"]["receivables"] == {"outstanding": eur("1200.50"), "overdue": eur("200.00"),
                                                "creditLimit": eur("5000.00"), "asOf": AS_OF.isoformat(),
                                                "source": "fake-finance"}
    dollars = by_number[sales.orders[1]["number"]]
    assert dollars["lines"][0]["unitCost"] == usd("60.00")
    assert (dollars["profitability"]["margin"], dollars["profitability"]["marginPercent"]) == (usd("140.00"), "70.00")
    mixed = by_number[sales.orders[2]["number"]]
    assert [line["unitCost"] for line in mixed["lines"]] == [None, eur("55.12")]  # unknown SKU: null, no error
    assert {k: mixed["profitability"][k] for k in ("revenue", "cost", "margin", "marginPercent", "uncostedRevenue")} \
        == {"revenue": eur("180.00"), "cost": eur("55.12"), "margin": eur("124.88"), "marginPercent": "69.38",
            "uncostedRevenue": eur("80.00")}
    assert mixed["customer"]["receivables"] is None  # finance does not know B

    await api(ORDERS_IN_WINDOW, sales.window)  # no cache here (cache_seconds=0): one more call each
    assert (len(costs.calls), len(receivables.calls)) == (2, 2)


async def test_the_cache_spares_the_erp_a_second_call(api: Api, external: Callable[..., Any]) -> None:
    sales = await placed(api)
    costs, receivables = FakeProductCosts(sales.costs), FakeReceivables()
    external(costs, receivables, cache_seconds=60)
    first = await api(ORDERS_IN_WINDOW, sales.window)
    assert await api(ORDERS_IN_WINDOW, sales.window) == first
    assert (len(costs.calls), len(receivables.calls)) == (1, 1)


async def test_a_failing_erp_nulls_only_its_fields(api: Api, external: Callable[..., Any]) -> None:
    sales = await placed(api)
    costs = FakeProductCosts(fail=ConnectionError("connection refused"))
    receivables = FakeReceivables(fail=RuntimeError("HTTP 500 from finance"))
    external(costs, receivables)

    response = await api.post(ORDERS_IN_WINDOW, sales.window)
    assert response.status_code == 200
    body = response.json()
    nodes = [e["node"] for e in body["data"]["orders"]["edges"]]
    assert {n["number"] for n in nodes} == {o["number"] for o in sales.orders[:3] + sales.orders[4:5]}
    first = next(n for n in nodes if n["number"] == sales.orders[0]["number"])
    assert first["total"] == eur("370.00") and [line["sku"] for line in first["lines"]] == [sales.sku_a, sales.sku_b]
    assert first["profitability"] is None and first["customer"]["code"] == sales.a["code"]
    assert first["customer"]["receivables"] is None and [line["unitCost"] for line in first["lines"]] == [None, None]
    codes = {(e["extensions"]["code"], e["extensions"]["system"]) for e in body["errors"]}
    assert codes == {("DEPENDENCY_UNAVAILABLE", "ERP"), ("DEPENDENCY_UNAVAILABLE", "FINANCE")}
    fields = {e["path"][-1] for e in body["errors"]}
    assert fields == {"profitability", "unitCost", "receivables"}
    assert any("connection refused" in e["message"] for e in body["errors"])
    assert (len(costs.calls), len(receivables.calls)) == (1, 1)  # a failed batch is not tried again per field


async def test_a_slow_erp_is_cut_off_then_the_open_breaker_answers_at_once(api: Api,
                                                                           external: Callable[..., Any]) -> None:
    sales = await placed(api)
    costs, receivables = FakeProductCosts(sales.costs, delay=30), FakeReceivables(delay=30)
    external(costs, receivables, timeout=0.3, failures=2, reset=600)

    for attempt in (1, 2):
        started = time.monotonic()
        body = (await api.post(ORDERS_IN_WINDOW, sales.window)).json()
        assert time.monotonic() - started < 0.3 + 2.5  # the timeout, not the ERP's 30 s
        assert body["data"]["orders"]["totalCount"] == 4
        assert all(e["node"]["profitability"] is None for e in body["data"]["orders"]["edges"])
        assert {e["extensions"]["code"] for e in body["errors"]} == {"DEPENDENCY_UNAVAILABLE"}
        assert any("no answer within 0.3 s" in e["message"] for e in body["errors"])
        assert (len(costs.calls), len(receivables.calls)) == (attempt, attempt)

    started = time.monotonic()
    body = (await api.post(ORDERS_IN_WINDOW, sales.window)).json()
    assert time.monotonic() - started < 0.3  # the breaker is open: nobody waits for the timeout
    assert (len(costs.calls), len(receivables.calls)) == (2, 2)  # nor is the ERP asked
    assert body["data"]["orders"]["totalCount"] == 4
    assert any("circuit open after 2 failures" in e["message"] for e in body["errors"])

    entries = {e["kind"]: e for e in (await api(INTEGRATIONS, as_="finance.key@example.com"))["integrations"]
               if e["name"] in ("fake-erp-product-costs", "fake-finance-receivables")}
    assert (entries["ERP"]["state"], entries["FINANCE"]["state"]) == ("DOWN", "DOWN")
    assert entries["ERP"]["lastError"] == "unreachable" and entries["ERP"]["lastSuccessAt"] is None  # for admins:
    detailed = {e["kind"]: e for e in (await api(INTEGRATIONS))["integrations"] if e["name"] == "fake-erp-product-costs"}
    assert detailed["ERP"]["lastError"] == "no answer within 0.3 s"


async def test_the_breaker_lets_one_trial_through_after_the_reset_time(api: Api,
                                                                       external: Callable[..., Any]) -> None:
    sales = await placed(api)
    now = [1000.0]
    costs = FakeProductCosts(sales.costs, fail=TimeoutError("read timeout"))
    external(costs, failures=1, reset=30, monotonic=lambda: now[0])

    body = (await api.post(ORDERS_IN_WINDOW, sales.window)).json()
    assert {e["extensions"]["code"] for e in body["errors"]} == {"DEPENDENCY_UNAVAILABLE"}
    costs.fail = None  # the ERP is back, but the breaker does not know yet
    now[0] += 29
    body = (await api.post(ORDERS_IN_WINDOW, sales.window)).json()
    assert body.get("errors") and len(costs.calls) == 1
    health = {e["name"]: e for e in (await api(INTEGRATIONS))["integrations"]}["fake-erp-product-costs"]
    assert health["state"] == "DOWN" and health["lastError"] == "read timeout"

    now[0] += 2  # half-open: one trial goes through, succeeds, and closes the breaker
    data = await api(ORDERS_IN_WINDOW, sales.window)
    assert all(e["node"]["profitability"] is not None for e in data["orders"]["edges"])
    assert len(costs.calls) == 2
    health = {e["name"]: e for e in (await api(INTEGRATIONS))["integrations"]}["fake-erp-product-costs"]
    assert health["state"] == "UP" and health["lastSuccessAt"] is not None


async def test_the_container_wires_the_raw_adapter_behind_the_guard(api: Api) -> None:
    """Overriding the gateway (the unguarded adapter) is enough: the services' guard wraps whatever it is."""
    sales = await placed(api)
    fake = FakeProductCosts(sales.costs)
    container = api.container
    container.gateways.erp.override(providers.Object(fake))
    container.services.product_costs.reset()
    try:
        data = await api(ORDERS_IN_WINDOW, sales.window)
        assert {e["node"]["profitability"]["costSource"] for e in data["orders"]["edges"]} == {"fake-erp"}
        assert len(fake.calls) == 1
    finally:
        container.gateways.erp.reset_override()
        container.services.product_costs.reset()


# ------------------------------------------------------------------ the report


def rows(data: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(r["key"], r["revenue"]["currency"], r["revenue"]["amount"], r["cost"]["amount"], r["margin"]["amount"],
             r["marginPercent"], r["uncostedRevenue"]["amount"]) for r in data["profitability"]]


async def test_profitability_report_by_customer_product_and_owner(api: Api, external: Callable[..., Any]) -> None:
    sales = await placed(api)
    costs = FakeProductCosts(sales.costs)
    external(costs)
    a, b = sales.a["code"], sales.b["code"]

    by_customer = await api(REPORT, {**sales.window, "by": "CUSTOMER"}, as_="finance.key@example.com")
    assert rows(by_customer) == sorted([
        (a, "EUR", "370.00", "195.37", "174.63", "47.20", "0.00"),
        (a, "USD", "200.00", "60.00", "140.00", "70.00", "0.00"),
        (b, "EUR", "180.00", "55.12", "124.88", "69.38", "80.00"),
    ])
    names = {r["key"]: r["label"] for r in by_customer["profitability"]}
    customer_a = (await api("query($id: ID) { customer(id: $id) { name } }", {"id": sales.a["id"]}))["customer"]
    assert names[a] == customer_a["name"]

    by_product = await api(REPORT, {**sales.window, "by": "PRODUCT"}, as_="sales.manager@example.com")
    assert rows(by_product) == [  # 4 x 55.1234 = 220.4936 -> 220.49
        (sales.sku_a, "EUR", "370.00", "220.49", "149.51", "40.41", "0.00"),
        (sales.sku_a, "USD", "200.00", "60.00", "140.00", "70.00", "0.00"),
        (sales.sku_b, "EUR", "100.00", "30.00", "70.00", "70.00", "0.00"),
        (sales.sku_c, "EUR", "80.00", "0.00", "80.00", "100.00", "80.00"),
    ]
    assert {r["label"] for r in by_product["profitability"]} == {"Item A", "Item B", "Item C"}

    by_owner = await api(REPORT, {**sales.window, "by": "OWNER"})
    assert rows(by_owner) == [  # 195.3702 + 55.1234 = 250.4936 -> 250.49
        ("sales.member@example.com", "EUR", "550.00", "250.49", "299.51", "54.46", "80.00"),
        ("sales.member@example.com", "USD", "200.00", "60.00", "140.00", "70.00", "0.00"),
    ]
    me = (await api("{ me { name } }", as_="sales.member@example.com"))["me"]
    assert {r["label"] for r in by_owner["profitability"]} == {me["name"]}
    assert len(costs.calls) == 3 and all(len(set(call)) == len(call) for call in costs.calls)  # one call per report

    empty = await api(REPORT, {"from": "2039-01-01T00:00:00Z", "to": "2039-01-01T00:00:01Z", "by": "CUSTOMER"})
    assert empty["profitability"] == [] and len(costs.calls) == 3  # nothing sold: the ERP is not asked


async def test_profitability_report_rules(api: Api, external: Callable[..., Any]) -> None:
    sales = await placed(api)
    errors = await api.errors(REPORT, {**sales.window, "by": "CUSTOMER"}, as_="sales.member@example.com")
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"
    backwards = await api.errors(REPORT, {"from": sales.window["to"], "to": sales.window["from"], "by": "PRODUCT"})
    assert backwards[0]["extensions"]["code"] == "INVALID" and backwards[0]["extensions"]["field"] == ["to"]
    naive = await api.errors(REPORT, {"from": "2040-01-01T00:00:00", "to": "2040-01-02T00:00:00Z", "by": "PRODUCT"})
    assert naive[0]["extensions"]["code"] == "INVALID" and naive[0]["extensions"]["field"] == ["from"]

    external(FakeProductCosts(fail=ConnectionError("connection refused")))
    beside = REPORT[:REPORT.rindex("}")] + "me { email } }"  # another root field in the same document
    down = (await api.post(beside, {**sales.window, "by": "CUSTOMER"})).json()
    # an ERP outage fails the report alone (it was a non-null list, so the whole data was null)
    assert down["data"] == {"profitability": None, "me": {"email": "admin@example.com"}}
    assert down["errors"][0]["extensions"]["code"] == "DEPENDENCY_UNAVAILABLE"
    assert down["errors"][0]["path"] == ["profitability"]

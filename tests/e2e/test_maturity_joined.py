"""The integration sync (application/integration_sync.py) and the enterprise figures counted from what it keeps: a
department's orders whose lines the ERP can cost, its customers finance knows, the joined systems' health over
the period; on both databases. The ERP and finance are fakes at their ports behind the real guards; everything
else is the real store and the API."""
from __future__ import annotations

import sqlite3
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from application.integration_sync import sync_integrations
from infrastructure.db import tables as t
from infrastructure.resilience import GuardedProductCosts, GuardedReceivables
from tests.application.external_fakes import FakeProductCosts, FakeReceivables
from tests.application.fakes import FakeClock
from tests.conftest import Api, statements, unique
from tests.e2e.conftest import new_department, staff_in
from tests.e2e.maturity_data import PERIOD, Rows, at
from tests.e2e.test_maturity_levels import MATURITY, department_of, values
from tests.integration.servers import crm_on_sqlite



def guarded(erp: FakeProductCosts, finance: FakeReceivables, clock: FakeClock) -> tuple[Any, Any]:
    return (GuardedProductCosts(erp, clock=clock, cache_seconds=0), GuardedReceivables(finance, clock=clock,
                                                                                        cache_seconds=0))


async def sync(api: Api, erp: FakeProductCosts, finance: FakeReceivables, clock: FakeClock, **options: Any) -> Any:
    costs, receivables = guarded(erp, finance, clock)
    return await sync_integrations(api.container.services.integration_records(), costs, receivables, [], clock,
                                   **options)


async def costs_of(api: Api, skus: list[str]) -> dict[tuple[str, str], Decimal | None]:
    k = t.erp_unit_costs
    async with api.container.core.engine().connect() as conn:
        rows = (await conn.execute(select(k.c.sku, k.c.currency, k.c.amount).where(k.c.sku.in_(skus)))).all()
    return {(r.sku, r.currency): r.amount for r in rows}


async def known_to_finance(api: Api, customers: list[uuid.UUID]) -> dict[uuid.UUID, bool]:
    fr = t.finance_receivables
    async with api.container.core.engine().connect() as conn:
        rows = (await conn.execute(select(fr.c.customer_id, fr.c.known).where(fr.c.customer_id.in_(customers)))).all()
    return {r.customer_id: r.known for r in rows}


async def test_the_sync_keeps_what_the_erp_and_finance_know_and_the_figures_count_from_it(own: Api) -> None:
    rows = Rows(own)
    department = await new_department(own)
    owner = await rows.staff_id(await staff_in(own, department, "MEMBER"))
    drill, bit, mystery, later = (unique(p).upper() for p in ("DRILL", "BIT", "MYSTERY", "LATER"))
    customers = [await rows.customer(owner) for _ in range(3)]
    codes = {}
    async with own.container.core.engine().connect() as conn:
        for r in (await conn.execute(select(t.customers.c.id, t.customers.c.code)
                                     .where(t.customers.c.id.in_(customers)))).all():
            codes[r.id] = r.code
    await rows.order(customers[0], owner, at(4), "EUR", [drill, bit])  # every line costed
    await rows.order(customers[0], owner, at(5), "EUR", [drill, mystery])  # one line the ERP does not know
    await rows.order(customers[1], owner, at(12), "USD", [drill])  # the second week, in another currency
    await rows.order(customers[1], owner, at(20), "EUR", [mystery])  # after the period
    erp = FakeProductCosts({(drill, "EUR"): "112.5", (bit, "EUR"): "9.8765", (drill, "USD"): "121.5"})
    finance = FakeReceivables({codes[customers[0]]: ("100.00", "20.00", None, "EUR"),
                               codes[customers[1]]: ("0.00", "0.00", "5000.00", "EUR")})
    clock = FakeClock(datetime.now(UTC))

    tick = await sync(own, erp, finance, clock, batch_size=2)
    assert tick.unavailable == [] and tick.costs_checked >= 4 and tick.customers_checked >= 3
    assert max(len(call) for call in erp.calls) <= 2 and max(len(call) for call in finance.calls) <= 2  # batches
    assert await costs_of(own, [drill, bit, mystery]) == {
        (drill, "EUR"): Decimal("112.5"), (bit, "EUR"): Decimal("9.8765"), (mystery, "EUR"): None,
        (drill, "USD"): Decimal("121.5")}
    assert await known_to_finance(own, customers) == {customers[0]: True, customers[1]: True, customers[2]: False}

    await rows.order(customers[2], owner, at(6), "EUR", [later])  # not looked up yet: in no share's base
    found = await department_of(own, department)
    figures = {f["key"]: (f["value"], f["threshold"], f["meets"]) for f in found["enterprise"]}
    assert figures["orders_costed_share"] == (2 / 3, 0.9, False)
    assert figures["customers_with_receivables_share"] == (2 / 3, 0.9, False)
    weekly = [values(w["figures"]) for w in found["trend"]]
    assert [(w["orders_costed_share"], w["customers_with_receivables_share"]) for w in weekly] == [
        (0.5, 2 / 3), (1, 2 / 3)]
    nothing = values((await department_of(own, await new_department(own)))["enterprise"])
    assert nothing["orders_costed_share"] is nothing["customers_with_receivables_share"] is None  # no base


async def test_a_pass_asks_only_for_what_is_due_and_goes_on_when_a_system_is_down(own: Api) -> None:
    rows = Rows(own)
    department = await new_department(own)
    owner = await rows.staff_id(await staff_in(own, department, "MEMBER"))
    sku = unique("PUMP").upper()
    customer = await rows.customer(owner)
    await rows.order(customer, owner, at(4), "EUR", [sku])
    clock = FakeClock(datetime.now(UTC))
    erp, finance = FakeProductCosts({(sku, "EUR"): "40"}), FakeReceivables({})
    await sync(own, erp, finance, clock)

    asked = len(erp.calls), len(finance.calls)
    again = await sync(own, erp, finance, clock)  # within the refresh: nothing is due
    assert (again.costs_checked, again.customers_checked) == (0, 0)
    assert (len(erp.calls), len(finance.calls)) == asked

    clock.advance(days=2)
    erp.fail = ConnectionError("ERP down")
    finance.known = {}
    down = await sync(own, erp, finance, clock)
    assert down.unavailable == ["ERP"] and down.costs_checked == 0
    assert down.customers_checked >= 1  # finance was asked all the same
    assert await costs_of(own, [sku]) == {(sku, "EUR"): Decimal("40")}  # what was known stays known

    erp.fail = None
    erp.costs = {}  # the ERP dropped the SKU
    back = await sync(own, erp, finance, clock)
    assert back.unavailable == [] and back.costs_checked >= 1
    assert await costs_of(own, [sku]) == {(sku, "EUR"): None}


async def test_integrations_up_is_the_share_of_the_periods_health_samples(own: Api) -> None:
    rows = Rows(own)
    april = {"from": datetime(2025, 4, 7, tzinfo=UTC).isoformat(), "to": datetime(2025, 4, 21, tzinfo=UTC).isoformat()}
    day = lambda d, h=9: datetime(2025, 4, d, h, tzinfo=UTC)  # noqa: E731
    await rows.health(day(8), "UP")
    await rows.health(day(8), "DOWN", name="test-finance", kind="FINANCE")
    await rows.health(day(9), "UP")
    await rows.health(day(9), "DEGRADED", name="test-finance", kind="FINANCE")
    await rows.health(day(9), "DISABLED", name="test-broker", kind="EVENT_BROKER")  # left out
    await rows.health(day(15), "UP")
    await rows.health(day(15), "UP", name="test-finance", kind="FINANCE")
    await rows.health(day(6), "DOWN")  # before the period
    await rows.health(day(22), "DOWN")  # after it
    department = await new_department(own)
    found = await department_of(own, department, april)
    assert values(found["enterprise"])["integrations_up_share"] == 4 / 6
    assert [values(w["figures"])["integrations_up_share"] for w in found["trend"]] == [2 / 4, 1]
    await rows.api_key(["read", "federation"], day(1), day(10))  # a partner's gateway, called in the first week
    await rows.api_key(["read", "federation"], day(1), day(2))  # not since the period began
    await rows.api_key(["read", "federation"], day(1), day(3), revoked=day(4))  # revoked before it
    await rows.api_key(["read"], day(1), day(10))  # not a partner system of the graph
    found = await department_of(own, department, april)
    assert values(found["enterprise"])["partner_systems"] == 1
    assert [values(w["figures"])["partner_systems"] for w in found["trend"]] == [1, 0]  # used since each week began
    empty = {"from": datetime(2024, 6, 3, tzinfo=UTC).isoformat(), "to": datetime(2024, 6, 10, tzinfo=UTC).isoformat()}
    assert values((await department_of(own, department, empty))["enterprise"])["integrations_up_share"] is None

    now = datetime.now(UTC)  # a period that includes now counts the reading now as one more sample
    current = {"from": (now - timedelta(hours=1)).isoformat(), "to": (now + timedelta(hours=1)).isoformat()}
    state = {i["name"]: i["state"] for i in (await own("{ integrations { name state } }"))["integrations"]}
    reporting = [s for s in state.values() if s != "DISABLED"]
    async with own.container.core.engine().connect() as conn:
        sampled = [r.state for r in (await conn.execute(select(t.integration_health_samples.c.state).where(
            t.integration_health_samples.c.sampled_at >= now - timedelta(hours=1),
            t.integration_health_samples.c.state != "DISABLED"))).all()]
    expected = (reporting.count("UP") + sampled.count("UP")) / (len(reporting) + len(sampled))
    assert values((await department_of(own, department, current))["enterprise"])["integrations_up_share"] == expected


async def test_the_joined_figures_cost_the_same_statements_for_more_orders_and_customers(own: Api) -> None:
    rows = Rows(own)
    department = await new_department(own)
    owner = await rows.staff_id(await staff_in(own, department, "MEMBER"))
    clock = FakeClock(datetime.now(UTC))
    counts, made = [], 0
    for size in (1, 10, 30):
        while made < size:
            customer = await rows.customer(owner)
            await rows.order(customer, owner, at(3 + made % 10), "EUR", [f"S-{made}", "S-common"])
            await rows.health(at(3 + made % 10), "UP")
            made += 1
        await sync(own, FakeProductCosts({("S-common", "EUR"): "1"}), FakeReceivables({}), clock)
        clock.advance(days=2)
        await own(MATURITY, PERIOD)
        with statements(own) as seen:
            await own(MATURITY, PERIOD)
        counts.append(len(seen))
    assert len(set(counts)) == 1, counts


def test_crm_worker_runs_the_sync_and_the_demo_starts_with_one(tmp_path: Path) -> None:
    database = tmp_path / "crm.db"

    def crm(*args: str) -> subprocess.CompletedProcess[str]:
        return crm_on_sqlite(*args, db=database)

    def counted(sql: str) -> int:
        with sqlite3.connect(database) as conn:
            return int(conn.execute(sql).fetchone()[0])

    assert crm("migrate").returncode == 0
    assert crm("seed-demo").returncode == 0
    samples = counted("SELECT count(*) FROM integration_health_samples")
    assert samples >= 2  # the demo's own pass: ERP and finance at least
    assert counted("SELECT count(*) FROM erp_unit_costs WHERE amount IS NOT NULL") >= 8  # the demo file's SKUs
    assert counted("SELECT count(*) FROM finance_receivables WHERE known") == 7  # the demo file's customers
    result = crm("worker", "--once", "--no-relay")
    assert result.returncode == 0, result.stderr
    assert "integration sync stopped: 0 costs and receivables checked" in result.stdout  # nothing due yet
    assert counted("SELECT count(*) FROM integration_health_samples") == 2 * samples
    quiet = crm("worker", "--once", "--no-relay", "--no-sync")
    assert quiet.returncode == 0 and "integration sync stopped" not in quiet.stdout
    assert counted("SELECT count(*) FROM integration_health_samples") == 2 * samples

"""Benchmark: the unified view (ERP costs and finance receivables beside CRM orders) and the profitability report.

    .venv/bin/python bench/profitability.py [--orders 20000] [--runs 50] [--database-url URL]

Builds a fresh database (SQLite in a temporary folder unless --database-url names an empty one), migrates it,
loads the demo data and bulk-inserts orders over the demo customers and sales staff: 1-5 lines each over the
demo SKUs and a few SKUs no ERP knows, four currencies, placed over the last year, mostly past DRAFT. The ERP
and finance system are the embedded static adapters, wrapped so that their calls are counted, with the cache
off (every request reaches the adapter). Reports p50/p99 (in-process ASGI, no network) of:

- `orders(first: 50)` with every line's unitCost, each order's profitability and its customer's receivables,
  and how many calls each request made to the ERP and to finance (one each);
- `profitability(from, to, groupBy)` for a month and for the year, by CUSTOMER, PRODUCT and OWNER (one grouped
  SQL statement and one ERP call each);
- the same orders page while the ERP and finance hang (every call sleeps 30 s; default 2 s timeout, breaker
  opening after 3 failures): the first requests wait for the timeout, then the open breaker answers at once.
"""
from __future__ import annotations

import asyncio
import json
import logging
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Sequence

import httpx
from dependency_injector import providers
from sqlalchemy import insert, select, text

from api.app import create_app
from harness import arguments, seeded_database, summary
from application.organisation import find_active_staff_by_email
from infrastructure.container import Container
from infrastructure.db import tables as t
from infrastructure.db.order_tables import order_lines, orders
from infrastructure.erp.static import StaticProductCosts
from infrastructure.external_settings import ExternalSystem
from infrastructure.finance.static import StaticReceivables

SKUS = [("TOOL-100", "189.90"), ("TOOL-220", "24.50"), ("FURN-010", "210.00"), ("LOG-500", "1180.00"),
        ("ROBO-7", "41250.00"), ("FOOD-33", "95.75"), ("OPT-12", "3890.00"), ("TEX-88", "420.00"),
        ("UNKNOWN-1", "10.00"), ("UNKNOWN-2", "99.00")]
CURRENCIES = ["EUR", "EUR", "EUR", "USD", "GBP", "JPY"]
STATUSES = ["DRAFT", "CONFIRMED", "IN_FULFILLMENT", "SHIPPED", "INVOICED", "PAID", "PAID", "CANCELLED"]
MONEY = "{ amount currency }"
ORDERS = f"""{{ orders(first: 50) {{ edges {{ node {{ number total {MONEY}
  lines {{ sku unitCost {MONEY} }}
  profitability {{ revenue {MONEY} cost {MONEY} margin {MONEY} marginPercent costSource }}
  customer {{ code receivables {{ outstanding {MONEY} overdue {MONEY} }} }} }} }} }} }}"""
REPORT = f"""query($from: DateTime!, $to: DateTime!, $by: ProfitabilityGroup!) {{
  profitability(from: $from, to: $to, groupBy: $by) {{ key revenue {MONEY} cost {MONEY} marginPercent }} }}"""


class Counting:
    """Counts calls into an adapter; optionally makes each one hang."""

    def __init__(self, inner: Any, hang: float = 0.0) -> None:
        self.inner, self.hang, self.calls = inner, hang, 0
        self.source = inner.source

    async def _maybe_hang(self) -> None:
        self.calls += 1
        if self.hang:
            await asyncio.sleep(self.hang)

    async def unit_costs(self, keys: Sequence[tuple[str, str]]) -> Any:
        await self._maybe_hang()
        return await self.inner.unit_costs(keys)

    async def receivables(self, codes: Sequence[str]) -> Any:
        await self._maybe_hang()
        return await self.inner.receivables(codes)


async def load(container: Container, count: int, seed: int = 7) -> float:
    rnd = random.Random(seed)
    engine = container.core.engine()
    now = datetime.now(UTC)
    async with engine.connect() as conn:
        customers = [r.id for r in await conn.execute(select(t.customers.c.id))]
        owners = [r.id for r in await conn.execute(select(t.staff.c.id).where(t.staff.c.email.like("sales.%")))]
    started = time.perf_counter()
    batch = 2000
    for offset in range(0, count, batch):
        order_rows, line_rows = [], []
        for n in range(offset, min(count, offset + batch)):
            order_id, status, currency = uuid.uuid4(), rnd.choice(STATUSES), rnd.choice(CURRENCIES)
            created = now - timedelta(minutes=rnd.randint(60, 60 * 24 * 365))
            total = Decimal(0)
            for position in range(rnd.randint(1, 5)):
                sku, price = rnd.choice(SKUS)
                quantity = Decimal(rnd.randint(1, 40))
                unit_price = Decimal(price).quantize(Decimal(1)) if currency == "JPY" else Decimal(price)
                line_total = quantity * unit_price
                total += line_total
                line_rows.append({"order_id": order_id, "position": position, "sku": sku, "description": sku,
                                  "quantity": quantity, "unit_price": unit_price, "discount_percent": Decimal(0),
                                  "line_total": line_total})
            order_rows.append({"id": order_id, "number": f"SO-B{n:07d}", "customer_id": rnd.choice(customers),
                               "owner_id": rnd.choice(owners), "status": status, "currency": currency,
                               "total_amount": total, "advance_payment": "NONE",
                               "placed_at": None if status == "DRAFT" else created + timedelta(minutes=5),
                               "version": 1, "created_at": created, "updated_at": created})
        async with engine.begin() as conn:
            await conn.execute(insert(orders), order_rows)
            await conn.execute(insert(order_lines), line_rows)
    async with engine.connect() as conn:
        await conn.execute(text("ANALYZE"))
        await conn.commit()
    return time.perf_counter() - started


def install(container: Container, hang: float = 0.0) -> tuple[Counting, Counting]:
    erp, finance = Counting(StaticProductCosts(), hang), Counting(StaticReceivables(), hang)
    container.gateways.erp.override(providers.Object(erp))
    container.gateways.finance.override(providers.Object(finance))
    container.services.product_costs.reset()
    container.services.receivables.reset()
    return erp, finance


async def measure(container: Container, runs: int) -> dict[str, Any]:
    app = create_app(container.core.settings(), container)
    staff = await find_active_staff_by_email(container.services.uow(), "finance.manager@example.com")
    assert staff is not None
    headers = {"Authorization": f"Bearer {container.services.tokens().issue(staff.id)}"}
    report: dict[str, Any] = {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench",
                                 timeout=120) as client:
        async def post(query: str, variables: dict[str, Any] | None = None) -> tuple[float, dict[str, Any]]:
            started = time.perf_counter()
            response = await client.post("/graphql", json={"query": query, "variables": variables or {}},
                                         headers=headers)
            return time.perf_counter() - started, response.json()

        erp, finance = install(container)
        samples = []
        for i in range(runs + 3):
            elapsed, body = await post(ORDERS)
            assert "errors" not in body, body["errors"][:2]
            if i >= 3:
                samples.append(elapsed)
        report["orders_first_50_with_costs_and_receivables"] = {
            **summary(samples), "erp_calls_per_request": erp.calls / (runs + 3),
            "finance_calls_per_request": finance.calls / (runs + 3)}

        now = datetime.now(UTC)
        for label, start in (("month", now - timedelta(days=30)), ("year", now - timedelta(days=366))):
            for group in ("CUSTOMER", "PRODUCT", "OWNER"):
                before, samples, size = erp.calls, [], 0
                variables = {"from": start.isoformat(), "to": now.isoformat(), "by": group}
                for i in range(max(5, runs // 5) + 1):
                    elapsed, body = await post(REPORT, variables)
                    assert "errors" not in body, body["errors"][:2]
                    size = len(body["data"]["profitability"])
                    if i:
                        samples.append(elapsed)
                report[f"profitability_{label}_by_{group.lower()}"] = {
                    **summary(samples), "rows": size, "erp_calls_per_request": (erp.calls - before) / (len(samples) + 1)}

        erp, finance = install(container, hang=30)
        waits, fast = [], []
        for i in range(3 + runs):
            elapsed, body = await post(ORDERS)
            assert all(e["extensions"]["code"] == "DEPENDENCY_UNAVAILABLE" for e in body["errors"])
            assert len(body["data"]["orders"]["edges"]) == 50
            (waits if i < 3 else fast).append(elapsed)
        report["orders_page_while_erp_and_finance_hang"] = {
            "first_3_requests_s": [round(w, 2) for w in waits], "then_breaker_open": summary(fast),
            "erp_calls": erp.calls, "finance_calls": finance.calls}
        container.gateways.erp.reset_override()
        container.gateways.finance.reset_override()
    return report


async def main() -> None:
    logging.getLogger("strawberry.execution").setLevel(logging.CRITICAL)  # every null field's error, by design
    logging.getLogger("crm.integrations").setLevel(logging.ERROR)
    args = arguments(__doc__, "orders", 20_000, 50)
    no_cache = ExternalSystem(cache_seconds=0)
    async with seeded_database(args.database_url, erp=no_cache, finance=no_cache) as container:
        load_seconds = await load(container, args.size)
        report = {"database": container.core.engine().dialect.name, "orders": args.size,
                  "load_seconds": round(load_seconds, 1), **await measure(container, args.runs)}
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    asyncio.run(main())

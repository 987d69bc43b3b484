"""Benchmark: the order Kanban (`orderBoard`) with 100,000 orders.

    .venv/bin/python bench/order_board.py [--orders 100000] [--runs 100] [--database-url URL]

Builds a fresh database (SQLite in a temporary folder unless --database-url names an empty one),
migrates it, loads the demo data and bulk-inserts orders spread over the seven statuses (more drafts and
paid orders than the rest, as real boards have), four currencies, the demo customers and sales staff, with
a placed time for everything past DRAFT. Lines are left out: the board never reads them. Then reports,
for three boards -- everything, one owner's, and orders placed in one month --

- the SQL the API ran for the board (captured, not re-typed) and its plan: EXPLAIN (ANALYZE, BUFFERS) on
  PostgreSQL, EXPLAIN QUERY PLAN on SQLite. There are two statements whatever the number of columns: one
  GROUP BY status, currency for counts and totals, one UNION ALL of the columns' keyset pages;
- p50/p99 of the whole GraphQL request (in-process ASGI, no network) asking for every column's count,
  totals and first 20 orders with their number, total, customer code and owner e-mail ("board"), and of
  one asking for the counts and totals only (the GROUP BY alone, plus HTTP and GraphQL).
"""
from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import event, insert, select, text

from api.app import create_app
from harness import arguments, seeded_database, summary
from api.common.relay import to_global_id
from application.organisation import find_active_staff_by_email
from infrastructure.container import Container
from infrastructure.db import tables as t

STATUSES = {"DRAFT": 25, "CONFIRMED": 10, "IN_FULFILLMENT": 8, "SHIPPED": 7, "INVOICED": 10, "PAID": 32,
            "CANCELLED": 8}  # percent
CURRENCIES = {"EUR": 2, "USD": 2, "GBP": 2, "JPY": 0}
SUMMARY_QUERY = """query($f: OrderFilter) { orderBoard(filter: $f) { columns { status count totals { amount currency } } } }"""
BOARD_QUERY = """query($f: OrderFilter) { orderBoard(filter: $f) { columns { status count totals { amount currency }
  orders(first: 20) { totalCount edges { cursor node { number total { amount currency } customer { code }
  owner { email } } } pageInfo { hasNextPage endCursor } } } } }"""


async def load(container: Container, count: int, seed: int = 7) -> tuple[float, uuid.UUID]:
    rnd = random.Random(seed)
    engine = container.core.engine()
    now = datetime.now(UTC)
    async with engine.connect() as conn:
        customers = [r.id for r in await conn.execute(select(t.customers.c.id))]
        sales = [r.id for r in await conn.execute(
            select(t.staff.c.id).join(t.departments, t.departments.c.id == t.staff.c.department_id)
            .where(t.departments.c.code == "SALES"))]
    statuses = list(STATUSES)
    weights = list(STATUSES.values())
    started = time.perf_counter()
    batch = 5000
    for offset in range(0, count, batch):
        rows = []
        for n in range(offset, min(count, offset + batch)):
            currency = rnd.choice(list(CURRENCIES))
            status = rnd.choices(statuses, weights)[0]
            created = now - timedelta(minutes=rnd.randint(60, 60 * 24 * 365))
            total = Decimal(rnd.randint(100, 5_000_000)).scaleb(-CURRENCIES[currency])
            rows.append({
                "id": uuid.uuid4(), "number": f"BEN-{n:08d}", "customer_id": rnd.choice(customers),
                "owner_id": rnd.choice(sales), "status": status, "currency": currency, "total_amount": total,
                "advance_payment": "NONE", "placed_at": None if status == "DRAFT" else created + timedelta(hours=2),
                "version": 1, "created_at": created, "updated_at": created})
        async with engine.begin() as conn:
            await conn.execute(insert(t.orders), rows)
    async with engine.connect() as conn:  # what autovacuum would have done by now
        if conn.dialect.name == "postgresql":
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("VACUUM ANALYZE orders"))
        else:
            await conn.execute(text("ANALYZE"))
            await conn.commit()
    return time.perf_counter() - started, sales[0]


async def plans(container: Container, statements: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    """The plan of each captured statement, with the parameters it ran with."""
    engine = container.core.read_engine()
    found = []
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        postgres = conn.dialect.name == "postgresql"
        for statement, parameters in statements:
            if postgres:
                # asyncpg takes $1 ... parameters positionally
                rows = await raw.driver_connection.fetch("EXPLAIN (ANALYZE, BUFFERS) " + statement, *parameters)
                plan = [r[0] for r in rows]
            else:
                cursor = await raw.driver_connection.execute("EXPLAIN QUERY PLAN " + statement, parameters)
                plan = [str(r[-1]) for r in await cursor.fetchall()]
            found.append({"sql": " ".join(statement.split()), "plan": plan})
    return found


async def boards(container: Container, runs: int, owner: uuid.UUID) -> dict[str, Any]:
    app = create_app(container.core.settings(), container)
    staff = await find_active_staff_by_email(container.services.uow(), "sales.manager@example.com")
    assert staff is not None
    headers = {"Authorization": f"Bearer {container.services.tokens().issue(staff.id)}"}
    month = datetime.now(UTC) - timedelta(days=60)
    filters = {
        "everything": None,
        "one_owner": {"ownerId": to_global_id("Staff", owner)},
        "placed_in_one_month": {"placedFrom": month.isoformat(), "placedTo": (month + timedelta(days=30)).isoformat()},
    }
    engine = container.core.read_engine().sync_engine
    results: dict[str, Any] = {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        for name, filter_ in filters.items():
            captured: list[tuple[str, Any]] = []

            def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
                if "FROM orders" in statement:
                    captured.append((statement, parameters))

            event.listen(engine, "before_cursor_execute", capture)
            response = await client.post("/graphql", json={"query": BOARD_QUERY, "variables": {"f": filter_}},
                                         headers=headers)
            event.remove(engine, "before_cursor_execute", capture)
            body = response.json()
            assert "errors" not in body, body
            columns = body["data"]["orderBoard"]["columns"]
            timings = {}
            for label, query in (("board", BOARD_QUERY), ("counts_and_totals_only", SUMMARY_QUERY)):
                samples = []
                for i in range(runs + 5):
                    started = time.perf_counter()
                    response = await client.post("/graphql", json={"query": query, "variables": {"f": filter_}},
                                                 headers=headers)
                    elapsed = time.perf_counter() - started
                    assert response.status_code == 200 and "errors" not in response.json()
                    if i >= 5:  # warm-up
                        samples.append(elapsed)
                timings[label] = summary(samples)
            results[name] = {
                "counts": {c["status"]: c["count"] for c in columns},
                "orders_shown": sum(len(c["orders"]["edges"]) for c in columns),
                "statements": len(captured),
                **timings,
                "sql": await plans(container, captured),
            }
    return results


async def main() -> None:
    args = arguments(__doc__, "orders", 100_000, 100)
    async with seeded_database(args.database_url) as container:
        load_seconds, owner = await load(container, args.size)
        report = {
            "database": container.core.engine().dialect.name, "orders": args.size,
            "load_seconds": round(load_seconds, 1),
            "orderBoard_first_20_per_column": await boards(container, args.runs, owner),
        }
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    asyncio.run(main())

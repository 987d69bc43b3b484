"""Benchmark: the SLA worker's due-clock query and the at-risk complaint list with 100,000 open complaints.

    .venv/bin/python bench/complaints_queue.py [--complaints 100000] [--runs 200] [--database-url URL]

Builds a fresh database (SQLite in a temporary folder unless --database-url names an empty one),
migrates it, loads the demo data and bulk-inserts open complaints with a FILED timeline entry, the
demo calendar's policy snapshot, a stored next SLA deadline (90 % of them, spread from two hours ago
to ten days ahead) and a stored at-risk instant (about 10 % already at risk). Then reports:

- the EXPLAIN plan of the worker's claim query (`claim_due`: one range scan on
  ix_complaints_sla_next_deadline, with FOR UPDATE SKIP LOCKED on PostgreSQL) and its p50/p99;
- p50/p99 of `complaints(filter: {slaAtRisk: true}, first: 50)` over GraphQL (in-process ASGI, no
  network), for a service manager (sees everything) and a sales member (visibility predicate),
  with each complaint's SLA clocks computed.
"""
from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import insert, select, text

from api.app import create_app
from harness import arguments, seeded_database, summary
from application.organisation import find_active_staff_by_email
from infrastructure.container import Container
from infrastructure.db import tables as t
from infrastructure.db.repositories.complaints import terms_snapshot

STATUSES = ["OPEN", "ACKNOWLEDGED", "IN_PROGRESS", "WAITING_ON_CUSTOMER"]
PRIORITIES = ["LOW", "NORMAL", "HIGH", "URGENT"]
AT_RISK_QUERY = """query { complaints(filter: {slaAtRisk: true}, first: 50) { totalCount
  edges { node { number status priority customer { code } sla { escalationLevel firstResponse { state dueAt }
  resolution { state remainingMinutes } } } } } }"""


async def load(container: Container, count: int, seed: int = 11) -> float:
    rnd = random.Random(seed)
    engine = container.core.engine()
    now = datetime.now(UTC)
    async with engine.connect() as conn:
        customers = [r.id for r in await conn.execute(select(t.customers.c.id))]
        categories = [r.id for r in await conn.execute(
            select(t.complaint_categories.c.id).where(t.complaint_categories.c.parent_id.is_not(None)))]
        service = (await conn.execute(select(t.departments.c.id).where(t.departments.c.code == "SERVICE"))).scalar_one()
        filer = (await conn.execute(select(t.staff.c.id).where(t.staff.c.email == "service.member@example.com"))).scalar_one()
        policy_row = (await conn.execute(select(t.sla_policies).where(t.sla_policies.c.active.is_(True)).limit(1))).one()
    from infrastructure.db.repositories.complaints import policy_from_row

    snapshot = terms_snapshot(policy_from_row(policy_row))
    started = time.perf_counter()
    batch = 5000
    for offset in range(0, count, batch):
        rows, entries = [], []
        for n in range(offset, min(count, offset + batch)):
            complaint_id = uuid.uuid4()
            created = now - timedelta(minutes=rnd.randint(60, 60 * 24 * 60))
            deadline = None if rnd.random() < 0.1 else now + timedelta(minutes=rnd.randint(-120, 60 * 24 * 10))
            at_risk = now - timedelta(minutes=rnd.randint(1, 600)) if rnd.random() < 0.1 else (
                None if rnd.random() < 0.3 else now + timedelta(minutes=rnd.randint(1, 60 * 24 * 10)))
            rows.append({
                "id": complaint_id, "number": f"BEN-{n:07d}", "customer_id": rnd.choice(customers),
                "order_id": None, "category_id": rnd.choice(categories), "priority": rnd.choice(PRIORITIES),
                "channel": "EMAIL", "subject": f"Bench complaint {n}", "description": "generated",
                "status": rnd.choice(STATUSES), "department_id": service, "assignee_id": None, "filed_by": filer,
                "resolution": None, "satisfaction": None, "resolved_at": None, "resolution_minutes": None,
                "sla_policy_id": policy_row.id, "sla_terms": snapshot, "escalation_level": 0,
                "sla_next_deadline": deadline, "sla_at_risk_at": at_risk, "first_response_breached": False,
                "resolution_breached": False, "version": 1, "created_at": created, "updated_at": created})
            entries.append({"id": uuid.uuid4(), "complaint_id": complaint_id, "position": 1, "at": created,
                            "kind": "FILED", "author_id": filer, "department_id": service, "visibility": "CUSTOMER",
                            "message": f"Bench complaint {n}", "from_status": None, "to_status": None})
        async with engine.begin() as conn:
            await conn.execute(insert(t.complaints), rows)
            await conn.execute(insert(t.complaint_timeline), entries)
    async with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("ANALYZE complaints"))
            await conn.execute(text("ANALYZE complaint_timeline"))
        else:
            await conn.execute(text("ANALYZE"))
        await conn.commit()
    return time.perf_counter() - started


async def due_query(container: Container, runs: int) -> dict[str, Any]:
    engine = container.core.engine()
    postgres = engine.dialect.name == "postgresql"
    sql = ("SELECT id FROM complaints WHERE sla_next_deadline <= :now ORDER BY sla_next_deadline LIMIT 100"
           + (" FOR UPDATE SKIP LOCKED" if postgres else ""))
    now = datetime.now(UTC)
    async with engine.connect() as conn:
        if postgres:
            plan_rows = await conn.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql), {"now": now})
        else:
            plan_rows = await conn.execute(text("EXPLAIN QUERY PLAN " + sql), {"now": now.replace(tzinfo=None).isoformat(" ")})
        plan = [str(r[-1]) for r in plan_rows]
        await conn.rollback()
        due = (await conn.execute(text("SELECT count(*) FROM complaints WHERE sla_next_deadline <= :now"),
                                  {"now": now if postgres else now.replace(tzinfo=None).isoformat(" ")})).scalar_one()
        await conn.rollback()
    samples = []
    for _ in range(runs):
        async with engine.connect() as conn:
            started = time.perf_counter()
            claimed = (await conn.execute(text(sql), {"now": now if postgres else now.replace(tzinfo=None).isoformat(" ")})).all()
            samples.append(time.perf_counter() - started)
            await conn.rollback()
    return {"plan": plan, "due_now": due, "claimed_per_run": len(claimed), **summary(samples)}


async def at_risk_list(container: Container, runs: int) -> dict[str, Any]:
    app = create_app(container.core.settings(), container)
    results = {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        for email in ("service.manager@example.com", "sales.member@example.com"):
            staff = await find_active_staff_by_email(container.services.uow(), email)
            assert staff is not None
            headers = {"Authorization": f"Bearer {container.services.tokens().issue(staff.id)}"}
            samples, total = [], 0
            for i in range(runs + 5):
                started = time.perf_counter()
                response = await client.post("/graphql", json={"query": AT_RISK_QUERY}, headers=headers)
                elapsed = time.perf_counter() - started
                body = response.json()
                assert "errors" not in body, body
                total = body["data"]["complaints"]["totalCount"]
                if i >= 5:  # warm-up
                    samples.append(elapsed)
            results[email] = {"at_risk_visible": total, **summary(samples)}
    return results


async def main() -> None:
    args = arguments(__doc__, "complaints", 100_000, 200)
    async with seeded_database(args.database_url) as container:
        load_seconds = await load(container, args.size)
        report = {
            "database": container.core.engine().dialect.name, "complaints": args.size,
            "load_seconds": round(load_seconds, 1),
            "due_clock_query": await due_query(container, args.runs),
            "complaints_slaAtRisk_first_50": await at_risk_list(container, max(20, args.runs // 4)),
        }
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    asyncio.run(main())

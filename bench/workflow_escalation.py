"""Benchmark: the workflow worker's overdue claim, a manager's overdueSteps list and escalation throughput
with 100,000 active workflow steps.

    .venv/bin/python bench/workflow_escalation.py [--steps 100000] [--runs 200] [--database-url URL]

Builds a fresh database (SQLite in a temporary folder unless --database-url names an empty one), migrates
it, loads the demo data and bulk-inserts running instances of a two-step workflow (one step each in two
departments). Of the active steps about 20 % are overdue and escalated already (neglected work the claim
must not wade through), 1 % overdue and not escalated yet, the rest due in the next ten days. Reports:

- the EXPLAIN plan of the worker's claim (`claim_overdue`: one range scan on
  ix_workflow_steps_status_escalated_at_due_at) and its p50/p99;
- p50/p99 of `overdueSteps(first: 50)` over GraphQL (in-process ASGI) for a department manager;
- how long `run_workflow_worker(once=True)` takes to escalate the 1 % (events, activity, notifications).
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
from application.workflow_worker import run_workflow_worker
from infrastructure.container import Container
from infrastructure.db import tables as t
from infrastructure.db.workflow_tables import workflow_definitions, workflow_instances, workflow_steps

OVERDUE_QUERY = """query { overdueSteps(first: 50) { totalCount
  edges { node { step { key dueAt escalatedAt department { code } } instance { id status } } } } }"""


async def load(container: Container, steps: int, seed: int = 7) -> float:
    rnd = random.Random(seed)
    engine = container.core.engine()
    now = datetime.now(UTC)
    async with engine.connect() as conn:
        definition = (await conn.execute(select(workflow_definitions).limit(1))).one()
        customers = [r.id for r in await conn.execute(select(t.customers.c.id))]
        departments = {r.code: r.id for r in await conn.execute(select(t.departments.c.code, t.departments.c.id))}
    started = time.perf_counter()
    batch = 2500
    for offset in range(0, steps // 2, batch):
        instances, rows = [], []
        for n in range(offset, min(steps // 2, offset + batch)):
            instance_id = uuid.uuid4()
            activated = now - timedelta(minutes=rnd.randint(60, 60 * 24 * 20))
            instances.append({
                "id": instance_id, "definition_id": definition.id, "definition_key": definition.key,
                "definition_version": definition.version, "subject_type": "CUSTOMER",
                "subject_id": rnd.choice(customers), "status": "RUNNING", "context": {}, "started_by": None,
                "started_at": activated, "updated_at": activated, "completed_at": None, "cancelled_by": None,
                "cancelled_at": None, "cancel_reason": None, "version": 1})
            for position, code in enumerate(("SALES", "FINANCE")):
                roll = rnd.random()
                if roll < 0.2:
                    due, escalated = now - timedelta(minutes=rnd.randint(60, 60 * 24 * 10)), now - timedelta(minutes=30)
                elif roll < 0.21:
                    due, escalated = now - timedelta(minutes=rnd.randint(1, 600)), None
                else:
                    due, escalated = now + timedelta(minutes=rnd.randint(1, 60 * 24 * 10)), None
                rows.append({
                    "instance_id": instance_id, "key": f"step-{position}", "position": position,
                    "name": f"Bench step {position}", "department_id": departments[code], "kind": "APPROVAL",
                    "required_role": "MEMBER", "stage": 1, "due_within_minutes": 480, "condition_field": None,
                    "condition_op": None, "condition_value": None, "status": "ACTIVE", "assignee_id": None,
                    "activated_at": activated, "due_at": due, "decision": None, "decided_by": None,
                    "decided_at": None, "comment": None, "delegations": [], "escalated_at": escalated})
        async with engine.begin() as conn:
            await conn.execute(insert(workflow_instances), instances)
            await conn.execute(insert(workflow_steps), rows)
    async with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("ANALYZE workflow_steps"))
            await conn.execute(text("ANALYZE workflow_instances"))
        else:
            await conn.execute(text("ANALYZE"))
        await conn.commit()
    return time.perf_counter() - started


async def claim_query(container: Container, runs: int) -> dict[str, Any]:
    engine = container.core.engine()
    postgres = engine.dialect.name == "postgresql"
    sql = ("SELECT s.instance_id, s.key FROM workflow_steps s"
           + (" JOIN workflow_instances i ON i.id = s.instance_id" if postgres else "")
           + " WHERE s.status = 'ACTIVE' AND s.escalated_at IS NULL AND s.due_at < :now ORDER BY s.due_at LIMIT 100"
           + (" FOR UPDATE OF i SKIP LOCKED" if postgres else ""))
    now = datetime.now(UTC)
    bound = now if postgres else now.replace(tzinfo=None).isoformat(" ")
    async with engine.connect() as conn:
        explain = "EXPLAIN (ANALYZE, BUFFERS) " if postgres else "EXPLAIN QUERY PLAN "
        plan = [str(r[-1]) for r in await conn.execute(text(explain + sql), {"now": bound})]
        await conn.rollback()
    samples, claimed = [], []
    for _ in range(runs):
        async with engine.connect() as conn:
            started = time.perf_counter()
            claimed = (await conn.execute(text(sql), {"now": bound})).all()
            samples.append(time.perf_counter() - started)
            await conn.rollback()
    return {"plan": plan, "claimed_per_run": len(claimed), **summary(samples)}


async def overdue_list(container: Container, runs: int) -> dict[str, Any]:
    app = create_app(container.core.settings(), container)
    staff = await find_active_staff_by_email(container.services.uow(), "sales.manager@example.com")
    assert staff is not None
    headers = {"Authorization": f"Bearer {container.services.tokens().issue(staff.id)}"}
    samples, total = [], 0
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        for i in range(runs + 5):
            started = time.perf_counter()
            body = (await client.post("/graphql", json={"query": OVERDUE_QUERY}, headers=headers)).json()
            elapsed = time.perf_counter() - started
            assert "errors" not in body, body
            total = body["data"]["overdueSteps"]["totalCount"]
            if i >= 5:  # warm-up
                samples.append(elapsed)
    return {"overdue_in_sales": total, **summary(samples)}


async def escalate(container: Container) -> dict[str, Any]:
    started = time.perf_counter()
    tick = await run_workflow_worker(container.services.uow, container.gateways.clock(), once=True)
    seconds = time.perf_counter() - started
    return {"escalated": tick.escalated, "notifications": tick.notifications, "seconds": round(seconds, 2),
            "per_step_ms": round(seconds * 1000 / max(1, tick.escalated), 2)}


async def main() -> None:
    args = arguments(__doc__, "steps", 100_000, 200)
    async with seeded_database(args.database_url) as container:
        load_seconds = await load(container, args.size)
        report = {
            "database": container.core.engine().dialect.name, "active_steps": args.size,
            "load_seconds": round(load_seconds, 1),
            "claim_overdue_query": await claim_query(container, args.runs),
            "overdueSteps_first_50": await overdue_list(container, max(20, args.runs // 4)),
            "escalate_once": await escalate(container),
        }
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    asyncio.run(main())

"""Concurrent writers of one aggregate take turns (docs/reliability.md, "One locked read per write"): each
reads the aggregate and its children in one locked read (`FOR NO KEY UPDATE` on PostgreSQL; SQLite's writers take
turns anyway), so a write without `expectedVersion` is applied after the others, never refused, and only a
stale `expectedVersion` yields CONFLICT. Twenty writers at once, over HTTP."""
from __future__ import annotations

import asyncio
from collections import Counter

from tests.conftest import Api
from tests.e2e.queries import GET_CUSTOMER, UPDATE_CUSTOMER
from tests.e2e.test_customers import create as create_customer
from tests.e2e.test_order_lifecycle import ORDER, transition
from tests.e2e.test_orders import create as create_order
from tests.e2e.test_workflows import SALES_MANAGER, decide, instance_now, new_order, start, step_of

WRITERS = 20


def codes(payloads: list[dict]) -> Counter[str]:
    """"OK" for a success, else the codes of the userErrors."""
    return Counter("OK" if not p["userErrors"] else ",".join(e["code"] for e in p["userErrors"]) for p in payloads)


async def test_concurrent_customer_updates_without_a_version_all_succeed_one_after_another(api: Api) -> None:
    customer = await create_customer(api)

    async def rename(n: int) -> dict:
        data = await api(UPDATE_CUSTOMER, {"input": {"id": customer["id"], "name": f"Writer {n}"}})
        return data["updateCustomer"]

    results = await asyncio.gather(*(rename(n) for n in range(WRITERS)))
    assert codes(results) == {"OK": WRITERS}
    assert sorted(r["customer"]["version"] for r in results) == list(range(2, WRITERS + 2))  # one after another
    after = (await api(GET_CUSTOMER, {"id": customer["id"]}))["customer"]
    assert after["version"] == WRITERS + 1
    last = next(r["customer"]["name"] for r in results if r["customer"]["version"] == WRITERS + 1)
    assert after["name"] == last

    stale = (await api(UPDATE_CUSTOMER, {"input": {"id": customer["id"], "name": "Late", "expectedVersion": 1}}))
    assert [e["code"] for e in stale["updateCustomer"]["userErrors"]] == ["CONFLICT"]


async def test_concurrent_order_moves_without_a_version_are_never_a_conflict(api: Api) -> None:
    """Twenty confirm the same draft: one does, the others find it CONFIRMED (a move the machine refuses),
    none is told someone else was writing."""
    order = await create_order(api)
    results = await asyncio.gather(*(transition(api, order, "CONFIRMED", as_="sales.manager@example.com")
                                     for _ in range(WRITERS)))
    assert codes(results) == {"OK": 1, "FORBIDDEN_TRANSITION": WRITERS - 1}
    stored = (await api(ORDER, {"id": order["id"]}))["order"]
    assert (stored["status"], stored["version"]) == ("CONFIRMED", 2)

    moves = await asyncio.gather(transition(api, order, "IN_FULFILLMENT"), transition(api, order, "CANCELLED"),
                                 transition(api, order, "CANCELLED", expectedVersion=1))
    assert [codes([m]) for m in moves][2] == {"CONFLICT": 1}  # only the stale version is a conflict
    assert "CONFLICT" not in codes(moves[:2])


async def test_concurrent_decisions_on_one_instance_are_ok_or_conflict_never_a_torn_read(api: Api) -> None:
    """Every decider read version 1; the instance row and its steps are one locked read, so a loser sees the
    new version (CONFLICT), never the old version with the new steps (FORBIDDEN_TRANSITION)."""
    instance = await start(api, (await new_order(api))["id"])
    deciders = [SALES_MANAGER, "admin@example.com"] * (WRITERS // 2)
    results = await asyncio.gather(*(decide(api, instance, "sales-approval", "APPROVE", who, expectedVersion=1)
                                     for who in deciders))
    assert codes(results) == {"OK": 1, "CONFLICT": WRITERS - 1}
    after = await instance_now(api, instance)
    assert after["version"] == 2 and step_of(after, "sales-approval")["status"] == "APPROVED"

"""Data the e2e tests of lists share: a crowd of customers, each with something in every relation; and a database
of a module's own (`own`), where a test may add departments."""
from __future__ import annotations

import asyncio
import uuid
from typing import Any, AsyncIterator

import httpx
import pytest
from sqlalchemy import insert

from api.app import create_app
from api.common.relay import to_global_id
from application.demo import seed_demo
from infrastructure.container import build_container, dispose
from infrastructure.db import tables as t
from infrastructure.db.migrate import upgrade
from tests.conftest import BACKENDS, Api, fresh_database, lifespan, settings_for, unique
from tests.e2e.test_import import run_import

CROWD = 100


async def gather_in_chunks(calls: list[Any], size: int = 10) -> list[Any]:
    results = []
    for start in range(0, len(calls), size):
        results += await asyncio.gather(*calls[start:start + size])
    return results


@pytest.fixture(scope="session")
async def crowd(api: Api) -> dict[str, Any]:
    """100 customers sharing a tag, each with a contact, an interaction, a complaint and an order waiting for
    its advance-payment approval."""
    tag = unique("crowd").lower()
    rows = [f"{tag.upper()}-{i},Crowd {i},COMPANY,GOLD,LEAD,sales.key@example.com,{tag},{{}},Ann {i},"
            f"ann{i}@{tag}.example,+49 30 {i}" for i in range(CROWD)]
    header = "code,name,kind,tier,lifecycleStage,ownerEmail,tags,attributes,contactName,contactEmail,contactPhone"
    result = await run_import(api, "\n".join([header, *rows]) + "\n")
    assert result["created"] == CROWD, result
    customers = [e["node"] for e in (await api(
        "query($tag: String) { customers(first: 100, filter: {tag: $tag}) { edges { node { id code } } } }",
        {"tag": tag}))["customers"]["edges"]]
    assert len(customers) == CROWD
    category = (await api("{ complaintCategories { id } }"))["complaintCategories"][0]
    sales = next(d for d in (await api("{ departments { id code } }"))["departments"] if d["code"] == "SALES")
    owner = (await api("""mutation($s: CreateStaffInput!) { createStaff(input: $s) { staff { id } } }""",
                       {"s": {"name": "Crowd Owner", "email": f"owner@{tag}.example", "departmentId": sales["id"],
                              "role": "MEMBER"}}))["createStaff"]["staff"]

    async def populate(customer: dict[str, Any]) -> None:
        data = await api("""mutation($i: LogInteractionInput!, $o: CreateOrderInput!) {
            logInteraction(input: $i) { userErrors { code } }
            createOrder(input: $o) { order { id } userErrors { code } } }""", {
            "i": {"customerId": customer["id"], "kind": "CALL", "summary": "Asked about delivery"},
            "o": {"customerId": customer["id"], "currency": "EUR", "ownerId": owner["id"],
                  "lines": [{"sku": "WIDGET-1", "description": "Widget", "quantity": "2", "unitPrice": "10.00"}]},
        }, as_="sales.member@example.com")
        assert all(not payload["userErrors"] for payload in data.values()), data
        order = data["createOrder"]["order"]["id"]
        data = await api("""mutation($c: FileComplaintInput!, $w: StartWorkflowInput!) {
            fileComplaint(input: $c) { userErrors { code } }
            startWorkflow(input: $w) { userErrors { code } } }""", {
            "c": {"customerId": customer["id"], "orderId": order, "categoryId": category["id"], "priority": "HIGH",
                  "channel": "PHONE", "subject": "Parcel late", "description": "Two weeks"},
            "w": {"definitionKey": "advance-payment", "subjectId": order},
        }, as_="sales.member@example.com")
        assert all(not payload["userErrors"] for payload in data.values()), data

    await gather_in_chunks([populate(c) for c in customers])
    return {"tag": tag, "customers": customers, "owner": owner["id"]}


@pytest.fixture(scope="module", params=BACKENDS)
async def own(request: pytest.FixtureRequest) -> AsyncIterator[Api]:
    """A migrated database seeded with the demo data, as the session's, for one module's tests (each module asking
    for it gets its own), with the app over it."""
    db, cleanup = await fresh_database(request.param)
    container = build_container(settings_for(db.url))
    try:
        await upgrade(container.core.engine())
        await seed_demo(container.services.uow, container.gateways.clock())
        application = create_app(container.core.settings(), container)
        async with lifespan(application):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application),
                                         base_url="http://test") as client:
                yield Api(client, container)
    finally:
        await dispose(container)
        await cleanup()


async def new_department(api: Api, code: str | None = None) -> str:
    """A department of this module's database (departments are made by migrations, not through the API)."""
    department_id = uuid.uuid4()
    async with api.container.core.engine().begin() as conn:
        await conn.execute(insert(t.departments).values(id=department_id, code=code or unique("D").upper()[:20],
                                                        name="Test department"))
    return to_global_id("Department", department_id)


async def staff_in(api: Api, department: str, role: str) -> str:
    email = f"{unique(role.lower())}@rollout.example"
    await api("mutation($s: CreateStaffInput!) { createStaff(input: $s) { staff { id } } }",
              {"s": {"name": "Rollout Person", "email": email, "departmentId": department, "role": role}})
    return email

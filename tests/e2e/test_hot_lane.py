"""The hot lane (api/hot_lane.py) answers a repeated hot read in front of the endpoint's middleware: what a client
gets from it is what the regular way gives (status, body, headers), and every check of the regular way holds on
it (rate limits counted once, the body limit; a deactivation: test_compiled_reads.py). `answered` says which way answered."""
from __future__ import annotations

from typing import Any, AsyncIterator

import httpx
import pytest

from api.hot_lane import HotLane
from application.organisation import find_active_staff_by_email
from infrastructure.settings import Settings
from tests.conftest import Api, Database, app_with

HOT = "query Hot($id: ID!) { customer(id: $id) { id code name contacts { name email primary } } }"
KEPT_HEADERS = ("content-type", "content-length", "x-content-type-options", "referrer-policy", "vary",
                "access-control-allow-origin", "strict-transport-security")
ORIGIN = "https://crm.example.com"


def lane_of(app: Any) -> HotLane:
    node = app.middleware_stack or app.build_middleware_stack()
    while not isinstance(node, HotLane):
        node = node.app
    return node


@pytest.fixture
async def served(database: Database) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    settings = Settings.from_env({"CRM_ENV": "production", "CRM_SECRET_KEY": "l" * 40, "CRM_DATABASE_URL": database.url,
                                  "CRM_RATE_LIMIT": "0.01", "CRM_RATE_LIMIT_BURST": "4", "CRM_RATE_LIMIT_IP": "0.01",
                                  "CRM_RATE_LIMIT_IP_BURST": "1000", "CRM_CORS_ORIGINS": ORIGIN,
                                  "CRM_DB_POOL_SIZE": "2", "CRM_DB_MAX_OVERFLOW": "0"})
    async with app_with(settings) as (app, client):
        yield app, client


async def member(app: Any, email: str) -> dict[str, str]:
    staff = await find_active_staff_by_email(app.state.container.services.uow(), email)
    return {"Authorization": f"Bearer {app.state.container.services.tokens().issue(staff.id)}"}


async def a_customer(client: httpx.AsyncClient, auth: dict[str, str]) -> str:
    response = await client.post("/graphql", json={"query": "{ customers(first: 1) { edges { node { id } } } }"},
                                 headers=auth)
    return response.json()["data"]["customers"]["edges"][0]["node"]["id"]


def kept(response: httpx.Response) -> dict[str, str | None]:
    return {name: response.headers.get(name) for name in KEPT_HEADERS}


@pytest.mark.parametrize("extra", [{}, {"Accept": "application/graphql-response+json"}, {"Origin": ORIGIN},
                                   {"Origin": "https://elsewhere.example"}], ids=["json", "graphql-response", "cors",
                                                                                  "other-origin"])
async def test_the_lane_answers_as_the_regular_way(api: Api, app: Any, extra: dict[str, str]) -> None:
    lane = lane_of(app)
    [edge] = (await api("{ customers(first: 1) { edges { node { id } } } }"))["customers"]["edges"]
    headers = {"Authorization": f"Bearer {await api.token_for('admin@example.com')}", **extra}
    body = {"query": HOT, "variables": {"id": edge["node"]["id"]}, "operationName": "Hot"}
    before = lane.answered
    regular = await api.client.post("/graphql", json=body, headers=headers)  # learnt here, if not yet
    assert regular.status_code == 200, regular.text
    answered = lane.answered
    laned = await api.client.post("/graphql", json=body, headers=headers)
    assert lane.answered == answered + 1 and answered <= before + 1
    assert (laned.status_code, laned.json(), kept(laned)) == (regular.status_code, regular.json(), kept(regular))


async def test_a_member_is_counted_once_by_each_limit_on_the_lane(served: tuple[Any, httpx.AsyncClient]) -> None:
    app, client = served
    auth = await member(app, "sales.member@example.com")
    body = {"query": HOT, "variables": {"id": await a_customer(client, auth)}}  # 1 of the burst of 4
    statuses = [(await client.post("/graphql", json=body, headers=auth)).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert lane_of(app).answered == 2  # the first asking of the document went the regular way, and the refusal
    refused = await client.post("/graphql", json=body, headers=auth)
    assert refused.status_code == 429 and refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert refused.headers["x-content-type-options"] == "nosniff"


async def test_what_the_lane_does_not_answer_goes_the_regular_way(served: tuple[Any, httpx.AsyncClient]) -> None:
    app, client = served
    auth = await member(app, "admin@example.com")
    customer = await a_customer(client, auth)
    body = {"query": HOT, "variables": {"id": customer}}
    assert (await client.post("/graphql", json=body, headers=auth)).status_code == 200
    lane = lane_of(app)
    too_large = await client.post("/graphql", headers={**auth, "Content-Type": "application/json"},
                                  content=b'{"query": "%s", "variables": {"id": "%s"}, "x": "%s"}' % (
                                      HOT.encode(), customer.encode(), b"x" * (2 << 20)))
    assert too_large.status_code == 413 and too_large.json()["errors"][0]["extensions"]["code"] == "LIMIT_EXCEEDED"
    flawed = await client.post("/graphql", headers={**auth, "Content-Type": "application/json"},
                               content=b'{"query": "%s", "variables": {"id": "a\\ud800b"}}' % HOT.encode())
    assert flawed.status_code == 400 and flawed.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    bad_id = await client.post("/graphql", json={**body, "variables": {"id": "nope"}}, headers=auth)
    assert bad_id.json()["errors"], bad_id.text
    forged = await client.post("/graphql", json=body, headers={"Authorization": auth["Authorization"] + "x"})
    assert forged.status_code == 401
    assert lane.answered == 0

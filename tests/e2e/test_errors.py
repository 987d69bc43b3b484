"""Bad input of any kind gets a clear error with extensions.code: never a 500 or a stack trace."""
from __future__ import annotations

import pytest

from tests.conftest import Api


async def body(api: Api, query: str, variables: dict | None = None) -> dict:
    response = await api.post(query, variables)
    assert response.status_code == 200, response.text
    data = response.json()
    assert data.get("errors"), data
    for error in data["errors"]:
        assert error["extensions"]["code"], error
        assert "Traceback" not in error["message"]
    return data


@pytest.mark.parametrize("query, variables", [
    ("{ customers(filter: {stages: [NOT_A_STAGE]}) { totalCount } }", None),
    ("query($s: [LifecycleStage!]) { customers(filter: {stages: $s}) { totalCount } }", {"s": ["NOPE"]}),
    ("{ customers(first: \"ten\") { totalCount } }", None),
    ("{ customers { nope } }", None),
    ("{ customers { ", None),
    ("mutation { createCustomer(input: {name: 1, kind: COMPANY}) { userErrors { code } } }", None),
    ("query($n: Int) { customers(first: $n) { totalCount } }", {"n": "abc"}),
    ("mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { userErrors { code } } }",
     {"i": {"name": "No kind"}}),
    ("mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { userErrors { code } } }",
     {"i": {"name": "X", "kind": "SUPER"}}),
])
async def test_invalid_documents_and_variables(api: Api, query: str, variables: dict | None) -> None:
    data = await body(api, query, variables)
    assert data["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "Internal error" not in data["errors"][0]["message"]


@pytest.mark.parametrize("gid", ["!!!", "Q3VzdG9tZXI6bm90LWEtdXVpZA", ""])
async def test_malformed_ids(api: Api, gid: str) -> None:
    data = await body(api, "query($id: ID!) { node(id: $id) { id } }", {"id": gid})
    assert data["errors"][0]["extensions"]["code"] == "INVALID"
    data = await body(api, "query($id: ID) { customer(id: $id) { id } }", {"id": gid})
    assert data["errors"][0]["extensions"]["code"] == "INVALID"


async def test_unknown_but_well_formed_ids_are_null(api: Api) -> None:
    me = (await api("{ me { id } }"))["me"]["id"]
    nodes = (await api("query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }",
                       {"ids": [me, "Q3VzdG9tZXI6MDAwMDAwMDAtMDAwMC00MDAwLTgwMDAtMDAwMDAwMDAwMDk5"]}))["nodes"]
    assert nodes == [{"__typename": "Staff", "id": me}, None]


async def test_nodes_are_capped(api: Api) -> None:
    me = (await api("{ me { id } }"))["me"]["id"]
    data = await body(api, "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": [me] * 101})
    assert data["errors"][0]["extensions"]["code"] == "LIMIT_EXCEEDED"


async def test_customer_needs_exactly_one_key(api: Api) -> None:
    data = await body(api, "{ customer { id } }")
    assert data["errors"][0]["extensions"]["code"] == "INVALID"


async def test_query_depth_and_aliases_are_limited(api: Api) -> None:
    deep = "{ me { department { staff { edges { node { department { staff { edges { node { department { staff { edges { node { id } } } } } } } } } } } } } }"
    data = await body(api, deep)
    assert "depth" in data["errors"][0]["message"]
    aliases = "{ " + " ".join(f"a{i}: me {{ id }}" for i in range(40)) + " }"
    data = await body(api, aliases)
    assert "aliases" in data["errors"][0]["message"].lower()


async def test_malformed_http_bodies_get_json_errors(api: Api) -> None:
    token = await api.token_for("admin@example.com")
    response = await api.client.post("/graphql", content=b"{not json", headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_oversized_requests_are_refused(api: Api) -> None:
    token = await api.token_for("admin@example.com")
    response = await api.client.post("/graphql", content=b"x", headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json",
        "Content-Length": str(10**9)})
    assert response.status_code == 413


@pytest.mark.parametrize("query, variables", [
    ("query($c: String) { customer(code: $c) { id } }", {"c": "A\u0000B"}),
    ("mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { userErrors { code } } }",
     {"i": {"name": "Nul\u0000name", "kind": "COMPANY"}}),
    ("query($f: CustomerFilter) { customers(filter: $f) { totalCount } }", {"f": {"search": "\u0000"}}),
])
async def test_nul_characters_are_refused_on_every_backend(api: Api, query: str, variables: dict) -> None:
    """PostgreSQL cannot store NUL in text; SQLite could. Both refuse it the same way, before any write."""
    response = await api.post(query, variables)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_deeply_nested_bodies_are_a_bad_request(api: Api) -> None:
    token = await api.token_for("admin@example.com")
    nested = "[" * 5000 + "]" * 5000
    body = '{"query": "mutation($a: JSON) { createCustomer(input: {name: \\"Deep\\", kind: COMPANY, attributes: $a})' \
           ' { userErrors { code } } }", "variables": {"a": ' + nested + '}}'
    response = await api.client.post("/graphql", content=body.encode(), headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"

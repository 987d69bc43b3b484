"""Bad input of any kind gets a clear error with extensions.code: never a 500 or a stack trace."""
from __future__ import annotations

import dataclasses
from typing import Any, AsyncIterator

import httpx
import pytest

from api.app import create_app

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


async def chunked(parts: list[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def test_a_json_body_over_its_limit_is_refused_whatever_the_framing(api: Api) -> None:
    """JSON bodies have a small limit of their own (1 MiB), counted on the stream: a chunked body (no
    Content-Length) or one whose Content-Length lies is cut off at the limit, not read whole."""
    token = await api.token_for("admin@example.com")
    limit = api.container.core.settings().max_json_bytes
    assert limit == 1024 * 1024 < api.container.core.settings().max_upload_bytes
    padding = b" " * (limit + 1)
    for body, headers in ((padding + b'{"query": "{ me { email } }"}', {}),
                          (chunked([b'{"query": "{ me { email } }", "x": "', padding, b'"}']), {}),
                          (padding, {"Content-Length": "10"})):
        response = await api.client.post("/graphql", content=body, headers={
            "Authorization": f"Bearer {token}", "Content-Type": "application/json", **headers})
        assert response.status_code == 413, response.text
        assert response.json()["errors"][0]["extensions"]["code"] == "LIMIT_EXCEEDED"
    just_under = b'{"query": "{ me { email } }"}' + b" " * (limit - 40)
    response = await api.client.post("/graphql", content=just_under, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert response.status_code == 200 and response.json()["data"]["me"]["email"] == "admin@example.com"


@pytest.mark.parametrize("content_type", ["multipart/form-data; boundary=x", "text/plain",
                                          "application/x-www-form-urlencoded"])
async def test_other_bodies_are_counted_on_the_stream_too(api: Api, content_type: str) -> None:
    """Uploads have the large limit (here made small, not to stream 64 MiB), everything else the JSON one."""
    token = await api.token_for("admin@example.com")
    settings = dataclasses.replace(api.container.core.settings(), max_upload_bytes=512 * 1024)
    limit = settings.max_upload_bytes if content_type.startswith("multipart/") else settings.max_json_bytes
    app = create_app(settings, api.container)
    sent: list[int] = []

    async def endless() -> Any:  # chunked, one part that never ends: only about the limit is read
        sent.append(len(start := b'--x\r\nContent-Disposition: form-data; name="0"; filename="c.csv"\r\n\r\n'))
        yield start
        chunk = b"a" * 65536
        while sum(sent) <= limit + 10 * len(chunk):
            sent.append(len(chunk))
            yield chunk

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        response = await client.post("/graphql", content=endless(), headers={
            "Authorization": f"Bearer {token}", "Content-Type": content_type})
    if content_type.startswith("multipart/"):
        assert response.status_code == 413, response.text
        assert response.json()["errors"][0]["extensions"]["code"] == "LIMIT_EXCEEDED"
    else:  # not taken at all: refused before reading
        assert response.status_code in (400, 413) and response.json()["errors"][0]["extensions"]["code"]
    assert sum(sent) <= limit + 2 * 65536 + 100  # refused as the limit passed, the rest never read

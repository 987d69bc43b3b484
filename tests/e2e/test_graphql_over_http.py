"""GraphQL over HTTP content negotiation: application/graphql-response+json with the spec's status codes for the
clients that ask for it (Apollo Client 4 does), application/json as before for everybody else."""
from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api

NEW = "application/graphql-response+json"
ASKS = {"accept": f"{NEW}, application/json;q=0.9"}  # what Apollo Client 4 sends


async def post(api: Api, body: Any, headers: dict[str, str] | None = None, *, as_: str | None = "admin@example.com",
               raw: bytes | None = None) -> Any:
    token = await api.token_for(as_) if as_ else None
    headers = {**({"authorization": f"Bearer {token}"} if token else {}), **(headers or {})}
    if raw is not None:
        return await api.client.post("/graphql", content=raw, headers={"content-type": "application/json", **headers})
    return await api.client.post("/graphql", json=body, headers=headers)


def media(response: Any) -> str:
    return response.headers["content-type"].split(";")[0]


async def test_a_client_that_asks_gets_the_new_type_from_every_path(api: Api) -> None:
    document = {"query": 'query { customer(code: "DEMO-0001") { code name } }'}
    for _ in range(2):  # the second time the fast path answers (the database builds the JSON)
        response = await post(api, document, ASKS)
        assert (response.status_code, media(response)) == (200, NEW)
        assert response.headers["content-type"] == f"{NEW}; charset=utf-8"
        assert response.json()["data"]["customer"]["code"] == "DEMO-0001"
    field_error = await post(api, {"query": "{ events(first: 1) { totalCount } }"}, ASKS,
                             as_="sales.member@example.com")
    # it ran: a field error is 200, with data
    assert (field_error.status_code, media(field_error)) == (200, NEW)
    body = field_error.json()
    assert "data" in body and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize("body, raw, code", [
    ({"query": "{"}, None, "GRAPHQL_VALIDATION_FAILED"),  # does not parse
    ({"query": "{ noSuchField }"}, None, "GRAPHQL_VALIDATION_FAILED"),  # does not validate
    ({"query": "query($n: Int) { customers(first: $n) { totalCount } }", "variables": {"n": "many"}}, None,
     "GRAPHQL_VALIDATION_FAILED"),  # variables do not coerce
    ({"qeury": "{ me { email } }"}, None, "BAD_REQUEST"),  # no query
    ({"query": {"obj": "ect"}}, None, "BAD_REQUEST"),
    (None, b'{ "not a JSON', "BAD_REQUEST"),
])
async def test_requests_that_cannot_run_are_400_without_data(api: Api, body: Any, raw: bytes | None,
                                                             code: str) -> None:
    response = await post(api, body, ASKS, raw=raw)
    assert (response.status_code, media(response)) == (400, NEW), response.text
    answer = response.json()
    assert "data" not in answer and answer["errors"][0]["extensions"]["code"] == code
    # an older client gets what it always got
    old = await post(api, body, raw=raw)
    assert media(old) == "application/json"
    if code == "GRAPHQL_VALIDATION_FAILED":
        assert old.status_code == 200 and old.json()["data"] is None


async def test_401_under_the_new_type_has_no_data(api: Api) -> None:
    response = await post(api, {"query": "{ me { email } }"}, ASKS, as_=None)
    assert (response.status_code, media(response)) == (401, NEW)
    assert response.json() == {"errors": [{"message": "Authentication required.",
                                           "extensions": {"code": "UNAUTHENTICATED"}}]}


@pytest.mark.parametrize("accept, expected", [
    (None, "application/json"), ("*/*", "application/json"), ("application/json", "application/json"),
    (NEW, NEW), (f"application/json, {NEW};q=0.5", "application/json"), (f"{NEW};q=0.8, */*;q=0.1", NEW),
])
async def test_negotiation(api: Api, accept: str | None, expected: str) -> None:
    response = await post(api, {"query": "{ me { email } }"}, {"accept": accept} if accept else {})
    assert (response.status_code, media(response)) == (200, expected)

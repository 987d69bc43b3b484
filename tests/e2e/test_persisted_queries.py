"""Automatic persisted queries as Apollo's link speaks them: the hash alone, PERSISTED_QUERY_NOT_FOUND once, then
the document with its hash, after which the hash alone is enough (POST and GET)."""
from __future__ import annotations

import hashlib
import json
from typing import Any

from tests.conftest import Api

DOCUMENT = 'query Demo { customer(code: "DEMO-0001") { code } }'
HASH = hashlib.sha256(DOCUMENT.encode()).hexdigest()


def persisted(digest: str = HASH) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


async def post(api: Api, body: dict[str, Any], **headers: str) -> Any:
    token = await api.token_for("admin@example.com")
    return await api.client.post("/graphql", json=body, headers={"authorization": f"Bearer {token}", **headers})


async def test_the_hash_alone_after_the_document_was_sent_once(api: Api) -> None:
    document = DOCUMENT.replace("Demo", f"Demo{id(api)}")  # a document of this test's own
    digest = hashlib.sha256(document.encode()).hexdigest()
    unknown = await post(api, {"extensions": persisted(digest)})
    assert unknown.status_code == 200
    assert unknown.json() == {"errors": [{"message": "PersistedQueryNotFound",
                                          "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}]}
    first = await post(api, {"query": document, "extensions": persisted(digest)})
    assert first.json() == {"data": {"customer": {"code": "DEMO-0001"}}}
    for _ in range(2):  # the second answer comes from the fast path: it sees the document too
        again = await post(api, {"extensions": persisted(digest), "operationName": f"Demo{id(api)}"})
        assert again.json() == {"data": {"customer": {"code": "DEMO-0001"}}}
    token = await api.token_for("admin@example.com")
    get = await api.client.get("/graphql", params={"extensions": json.dumps(persisted(digest))},
                               headers={"authorization": f"Bearer {token}", "accept": "application/json"})
    assert get.json() == {"data": {"customer": {"code": "DEMO-0001"}}}


async def test_a_hash_that_is_not_the_documents_is_refused(api: Api) -> None:
    wrong = await post(api, {"query": DOCUMENT, "extensions": persisted("0" * 64)})
    assert wrong.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert (await post(api, {"extensions": persisted("0" * 64)})).json()["errors"][0]["extensions"]["code"] == \
        "PERSISTED_QUERY_NOT_FOUND"  # and it was not kept
    bad = await post(api, {"extensions": {"persistedQuery": {"version": 2, "sha256Hash": HASH}}})
    assert bad.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_under_the_new_media_type_a_miss_is_a_400_without_data(api: Api) -> None:
    miss = await post(api, {"extensions": persisted("f" * 64)}, accept="application/graphql-response+json")
    assert miss.status_code == 400 and miss.headers["content-type"].startswith("application/graphql-response+json")
    assert miss.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_a_long_document_runs_but_is_not_kept(api: Api) -> None:
    from api.common.persisted_queries import MAX_KEPT

    document = "{ me { email } }" + " " * MAX_KEPT
    digest = hashlib.sha256(document.encode()).hexdigest()
    ran = await post(api, {"query": document, "extensions": persisted(digest)})
    assert ran.json() == {"data": {"me": {"email": "admin@example.com"}}}
    assert (await post(api, {"extensions": persisted(digest)})).json()["errors"][0]["extensions"]["code"] == \
        "PERSISTED_QUERY_NOT_FOUND"

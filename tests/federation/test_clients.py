"""Standard clients against `crm serve`: graphql-http's GraphQL-over-HTTP audit suite (`serverAudits`, npm), signed
in as a service account, passes every audit, the SHOULDs included (before content negotiation the eight audits
of application/graphql-response+json warned); the graphql-ws client subscribes, or is refused with 4403; Apollo
Client 4 with its persisted-queries link sends hashes."""
from __future__ import annotations

import json
import os
import subprocess

from tests.conftest import Api
from tests.federation.conftest import HERE, Federation, _tool


async def test_every_graphql_over_http_audit_passes(api: Api, federation: Federation) -> None:
    token = await api.token_for("sales.key@example.com")
    done = subprocess.run([_tool("node"), "audit.mjs", federation.crm.url], cwd=HERE, capture_output=True,
                          text=True, timeout=120, env={"PATH": os.environ["PATH"], "CRM_TOKEN": token})
    assert done.returncode == 0, done.stderr
    results = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    assert len(results) >= 60, done.stdout
    assert [(r["id"], r["name"], r["status"], r["reason"]) for r in results if r["status"] != "ok"] == []


async def test_the_graphql_ws_client_subscribes_and_is_refused_without_a_token(api: Api,
                                                                            federation: Federation) -> None:
    """graphql-ws 6 (graphql-transport-ws), as browsers and Node clients use it: a signed-in subscription gets the
    event of an order created over HTTP; no token, a null payload or a bad token closes the socket with 4403."""
    token = await api.token_for("sales.member@example.com")
    done = subprocess.run([_tool("node"), "ws_check.mjs", federation.crm.url], cwd=HERE, capture_output=True,
                          text=True, timeout=60, env={"PATH": os.environ["PATH"], "CRM_TOKEN": token})
    assert done.returncode == 0, f"{done.stderr}\n--- crm serve's log, last lines:\n{federation.crm.output()[-4000:]}"
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["event"] == {"kind": "CREATED", "order": {"number": result["created"], "status": "DRAFT"}}
    assert result["refusals"] == {"none": 4403, "null": 4403, "bad": 4403}


async def test_apollo_client_with_its_persisted_queries_link(api: Api, federation: Federation) -> None:
    """Apollo Client 4 (it asks for application/graphql-response+json): the first query goes as a hash, misses
    (a 400 under that type), goes again with its document, and the next query is the hash alone; a 401 reaches
    the app as the server's GraphQL error with its code (it was a ServerError with the code buried in bodyText)."""
    token = await api.token_for("sales.member@example.com")
    done = subprocess.run([_tool("node"), "apollo_check.mjs", federation.crm.url], cwd=HERE, capture_output=True,
                          text=True, timeout=60, env={"PATH": os.environ["PATH"], "CRM_TOKEN": token})
    assert done.returncode == 0, f"{done.stderr}\n--- crm serve's log, last lines:\n{federation.crm.output()[-4000:]}"
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert (result["first"], result["second"]) == ("DEMO-0001", "DEMO-0002")
    new = "application/graphql-response+json"
    assert result["sent"] == [
        {"withDocument": False, "hash": True, "status": 400, "type": new},  # PERSISTED_QUERY_NOT_FOUND
        {"withDocument": True, "hash": True, "status": 200, "type": new},
        {"withDocument": False, "hash": True, "status": 200, "type": new},  # the hash alone is enough now
        {"withDocument": False, "hash": True, "status": 401, "type": new}]
    assert result["unauthenticated"] == {"name": "CombinedGraphQLErrors", "codes": ["UNAUTHENTICATED"]}

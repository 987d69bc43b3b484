"""The CRM as an Apollo Federation 2 subgraph: its SDL, offline composition with a partner subgraph, and a
real Apollo gateway (IntrospectAndCompose) over the running CRM and the partner (tests/federation/*.mjs)."""
from __future__ import annotations

import functools
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from api.common.relay import parse_global_id
from tests.conftest import Api
from tests.federation.conftest import HERE, ROOT, Federation, _tool

ENTITIES = ("Complaint", "Customer", "Opportunity", "Order", "Staff")
SPANNING = """query($code: String!) {
  customer(code: $code) { id code name billingAccount }
  customers(first: 3) { edges { node { id code billingAccount } } }
}"""


@functools.cache
def crm_schema(*args: str) -> str:
    return subprocess.run([sys.executable, "-m", "api.cli", "schema", *args], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout


def compose(tmp_path: Path, **sdls: str) -> subprocess.CompletedProcess[str]:
    files = []
    for name, sdl in sdls.items():
        (tmp_path / f"{name}.graphql").write_text(sdl)
        files.append(f"{name}={tmp_path / f'{name}.graphql'}")
    return subprocess.run([_tool("node"), "compose.mjs", *files], cwd=HERE, capture_output=True, text=True,
                          timeout=60)


def billing_account(global_id: str) -> str:
    """What the partner (billing.mjs) derives from a Customer's key."""
    return "BA-" + parse_global_id(global_id)[1].hex[:8].upper()


async def test_service_sdl_is_crm_schema_federation_and_the_api_schema_has_no_federation(api: Api) -> None:
    federation = crm_schema("--federation")
    sdl = (await api("{ _service { sdl } }"))["_service"]["sdl"]
    assert sdl + "\n" == federation
    for name in ENTITIES:
        assert f'type {name} implements Node @key(fields: "id") {{' in federation
    assert "_entities(representations: [_Any!]!): [_Entity]!" in federation
    assert "union _Entity = Complaint | Customer | Opportunity | Order | Staff" in federation
    plain = crm_schema()
    assert "@key" not in plain and "_service" not in plain and "_entities" not in plain and "@link" not in plain


def test_the_crm_subgraph_composes_with_the_partner(node_modules: Path, tmp_path: Path) -> None:
    done = compose(tmp_path, crm=crm_schema("--federation"), billing=(HERE / "billing.graphql").read_text())
    assert done.returncode == 0, done.stderr
    supergraph = done.stdout
    assert "billingAccount: String! @join__field(graph: BILLING)" in supergraph
    for name in ENTITIES:
        header = supergraph.index(f"type {name} implements Node\n")
        assert '@join__type(graph: CRM, key: "id")' in supergraph[header:supergraph.index("{", header)], name


def test_composition_fails_on_a_partner_that_conflicts(node_modules: Path, tmp_path: Path) -> None:
    """The check is real: a partner redefining a CRM field with another type does not compose."""
    conflicting = (HERE / "billing.graphql").read_text().replace("billingAccount: String!", "name: Int")
    done = compose(tmp_path, crm=crm_schema("--federation"), billing=conflicting)
    assert done.returncode == 1
    assert "Customer.name" in done.stderr, done.stderr


async def test_a_gateway_query_spans_the_crm_and_the_partner(api: Api, federation: Federation) -> None:
    token = await api.token_for("sales.member@example.com")
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(federation.gateway.url, json={"query": SPANNING,
                                                                    "variables": {"code": "DEMO-0001"}},
                                     headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body["errors"]
    customer = body["data"]["customer"]
    direct = (await api("query($code: String!) { customer(code: $code) { id name } }", {"code": "DEMO-0001"},
                        as_="sales.member@example.com"))["customer"]
    assert customer == {"id": direct["id"], "code": "DEMO-0001", "name": direct["name"],
                        "billingAccount": billing_account(direct["id"])}
    listed = [e["node"] for e in body["data"]["customers"]["edges"]]
    assert len(listed) == 3
    assert all(node["billingAccount"] == billing_account(node["id"]) for node in listed)
    assert "AUTHORIZATION SEEN" not in federation.billing.output(), "the CRM's token reached the partner"


async def test_without_the_authorization_header_the_crm_part_fails(federation: Federation) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(federation.gateway.url, json={"query": SPANNING,
                                                                    "variables": {"code": "DEMO-0001"}})
    body = response.json()
    assert body["data"] is None, body  # both root fields are the CRM's, and non-null ones fail the whole answer
    assert [(e["extensions"]["code"], e["extensions"]["response"]["status"]) for e in body["errors"]] == [
        ("UNAUTHENTICATED", 401)], body

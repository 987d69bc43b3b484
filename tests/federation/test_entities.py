"""`_entities`, as a gateway calls it: one SQL statement per entity type however many representations,
and the same visibility as `node`."""
from __future__ import annotations

import re
import uuid

from api.common.relay import to_global_id
from tests.conftest import Api, statements

ENTITIES = """query($representations: [_Any!]!) { _entities(representations: $representations) {
  __typename ... on Customer { id code } ... on Order { id number } ... on Complaint { id number }
  ... on Staff { id email } } }"""


def touching(seen: list[str], table: str) -> list[str]:
    return [s for s in seen if re.search(rf"\bFROM {table}\b", s, re.IGNORECASE)]


def representations(type_name: str, ids: list[str]) -> list[dict[str, str]]:
    return [{"__typename": type_name, "id": i} for i in ids]


async def test_a_hundred_representations_per_type_cost_one_statement_each(api: Api) -> None:
    customers = [e["node"] for e in (await api("{ customers(first: 100) { edges { node { id code } } } }"))[
        "customers"]["edges"]]
    orders = [e["node"] for e in (await api("{ orders(first: 100) { edges { node { id number } } } }"))[
        "orders"]["edges"]]
    assert len(customers) >= 36 and len(orders) >= 7
    # real ones first, then IDs of the right type that name nothing: 100 of each
    missing_customers = [to_global_id("Customer", uuid.uuid4()) for _ in range(100 - len(customers))]
    missing_orders = [to_global_id("Order", uuid.uuid4()) for _ in range(100 - len(orders))]
    reps = representations("Customer", [c["id"] for c in customers] + missing_customers) + \
        representations("Order", [o["id"] for o in orders] + missing_orders)
    with statements(api) as seen:
        found = (await api(ENTITIES, {"representations": reps}))["_entities"]
    assert found == ([{"__typename": "Customer", **c} for c in customers] + [None] * len(missing_customers)
                     + [{"__typename": "Order", **o} for o in orders] + [None] * len(missing_orders))
    assert len(touching(seen, "customers")) == 1, seen
    assert len(touching(seen, "orders")) == 1, seen


async def test_entities_see_what_node_sees(api: Api) -> None:
    complaints = [e["node"]["id"] for e in (await api("{ complaints(first: 50) { edges { node { id } } } }"))[
        "complaints"]["edges"]]
    assert complaints
    reps = representations("Complaint", complaints)
    by_admin = (await api(ENTITIES, {"representations": reps}))["_entities"]
    assert [c["id"] for c in by_admin] == complaints
    who = "warehouse.member@example.com"
    by_member = (await api(ENTITIES, {"representations": reps}, as_=who))["_entities"]
    via_node = (await api("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": complaints}, as_=who))["nodes"]
    assert [c and c["id"] for c in by_member] == [n and n["id"] for n in via_node]
    assert None in by_member, "the demo has complaints a warehouse member may not see"
    me = (await api("{ me { id email } }", as_=who))["me"]
    assert (await api(ENTITIES, {"representations": representations("Staff", [me["id"]])}, as_=who))[
        "_entities"] == [{"__typename": "Staff", **me}]


async def test_a_representation_of_another_type_is_null_and_a_malformed_id_invalid(api: Api) -> None:
    customer = (await api('{ customer(code: "DEMO-0001") { id } }'))["customer"]["id"]
    assert (await api(ENTITIES, {"representations": representations("Order", [customer])}))["_entities"] == [None]
    errors = await api.errors(ENTITIES, {"representations": representations("Customer", ["not-an-id"])})
    assert [e["extensions"]["code"] for e in errors] == ["INVALID"]
    response = await api.post(ENTITIES, {"representations": representations("Customer", [customer])}, as_=None)
    assert response.status_code == 401


async def test_nodes_batches_like_entities(api: Api) -> None:
    """`nodes` resolves all its ids at once, so each type's loader makes one statement."""
    customers = [e["node"]["id"] for e in (await api("{ customers(first: 30) { edges { node { id } } } }"))[
        "customers"]["edges"]]
    staff = [e["node"]["id"] for e in (await api("{ staff(first: 10) { edges { node { id } } } }"))["staff"]["edges"]]
    with statements(api) as seen:
        found = (await api("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": customers + staff}))["nodes"]
    assert [n["id"] for n in found] == customers + staff
    assert len(touching(seen, "customers")) == 1
    # one batched lookup; the other statement on staff is the request's authentication
    assert len([q for q in touching(seen, "staff") if " IN " in q.upper()]) == 1


async def test_entities_are_capped_like_nodes(api: Api) -> None:
    """50,000 representations took 15 s and 3.6 MB: more than a page (100) of one type is refused before any read."""
    reps = representations("Customer", [to_global_id("Customer", uuid.uuid4()) for _ in range(101)])
    with statements(api) as seen:
        [error] = await api.errors(ENTITIES, {"representations": reps})
    assert error["extensions"]["code"] == "LIMIT_EXCEEDED" and "100" in error["message"]
    assert not touching(seen, "customers")
    few = representations("Customer", [to_global_id("Customer", uuid.uuid4()) for _ in range(100)])
    assert (await api(ENTITIES, {"representations": few}))["_entities"] == [None] * 100


async def test_opportunities_are_entities_in_one_statement(api: Api) -> None:
    deals = [e["node"] for e in (await api("{ opportunities(first: 50) { edges { node { id number } } } }"))[
        "opportunities"]["edges"]]
    assert len(deals) >= 8  # the demo pipeline
    missing = [to_global_id("Opportunity", uuid.uuid4()) for _ in range(3)]
    query = """query($representations: [_Any!]!) { _entities(representations: $representations) {
      __typename ... on Opportunity { id number } } }"""
    with statements(api) as seen:
        found = (await api(query, {"representations": representations("Opportunity", [d["id"] for d in deals]
                                                                        + missing)}))["_entities"]
    assert found == [{"__typename": "Opportunity", **d} for d in deals] + [None] * 3
    assert len(touching(seen, "opportunities")) == 1, seen

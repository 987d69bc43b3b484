"""Statements per request do not grow with the page: every list and nested list the API serves costs the
same number of SQL statements for 1, 10 or 100 parents (DataLoaders keyed by relation and arguments, nested
connections as one windowed query per level). A regression to one query per parent fails here at once."""
from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any, Iterator

import pytest
from sqlalchemy import event

from infrastructure.db.reads import current_request
from tests.conftest import Api, unique
from tests.e2e.test_import import run_import

SIZES = (1, 10, 100)
CROWD = 100
# what any of these documents may cost at most (authentication, the reader's department, one per relation)
MOST = 16


@contextlib.contextmanager
def statements(api: Api) -> Iterator[list[str]]:
    """The SQL that HTTP requests run on the read engine, where every query goes, while the block runs (not
    what background tasks run meanwhile, such as the LISTEN relay reading notified events back)."""
    seen: list[str] = []
    engine = api.container.core.read_engine().sync_engine

    def record(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if current_request() is not None:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def gather_in_chunks(calls: list[Any], size: int = 10) -> list[Any]:
    results = []
    for start in range(0, len(calls), size):
        results += await asyncio.gather(*calls[start:start + size])
    return results


@pytest.fixture(scope="module")
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

    async def populate(customer: dict[str, Any]) -> None:
        data = await api("""mutation($i: LogInteractionInput!, $c: FileComplaintInput!, $o: CreateOrderInput!) {
            logInteraction(input: $i) { userErrors { code } }
            fileComplaint(input: $c) { userErrors { code } }
            createOrder(input: $o) { order { id } userErrors { code } } }""", {
            "i": {"customerId": customer["id"], "kind": "CALL", "summary": "Asked about delivery"},
            "c": {"customerId": customer["id"], "categoryId": category["id"], "priority": "HIGH",
                  "channel": "PHONE", "subject": "Parcel late", "description": "Two weeks"},
            "o": {"customerId": customer["id"], "currency": "EUR",
                  "lines": [{"sku": "WIDGET-1", "description": "Widget", "quantity": "2", "unitPrice": "10.00"}]},
        }, as_="sales.member@example.com")
        assert all(not payload["userErrors"] for payload in data.values()), data
        started = await api("""mutation($w: StartWorkflowInput!) { startWorkflow(input: $w) { userErrors { code } } }""",
                            {"w": {"definitionKey": "advance-payment", "subjectId": data["createOrder"]["order"]["id"]}},
                            as_="sales.member@example.com")
        assert not started["startWorkflow"]["userErrors"], started

    await gather_in_chunks([populate(c) for c in customers])
    return {"tag": tag, "customers": customers}


async def count(api: Api, document: str, variables: dict[str, Any], as_: str) -> tuple[int, dict[str, Any]]:
    with statements(api) as seen:
        data = await api(document, variables, as_=as_)
    return len(seen), data


def size_of(data: Any) -> int:
    """How many items the paged list holds: the top-level connection's, or under the departments (a fixed list)
    their staff connections' together."""
    value = next(iter(data.values()))
    if isinstance(value, dict) and "edges" in value:
        return len(value["edges"])
    return sum(len(department["staff"]["edges"]) for department in value)


DOCUMENTS = {
    "customers with contacts, tags, owner and history": """query($n: Int, $tag: String) {
        customers(first: $n, filter: {tag: $tag}) { edges { node { code contacts { name email } tags
          owner { email department { code } } stageHistory { to by { email } } } } } }""",
    "customers with their latest complaints": """query($n: Int, $tag: String) {
        customers(first: $n, filter: {tag: $tag}) { edges { node { code
          complaints(first: 10) { totalCount edges { node { number status customer { code } category { code parent { code } }
            assignee { email } department { code } filedBy { email } order { number }
            sla { firstResponse { state dueAt } resolution { state } policy { name } }
            timeline(first: 5) { totalCount edges { node { kind author { email } department { code } } } } } } } } } } }""",
    "customers with orders, lines, costs and workflows": """query($n: Int, $tag: String) {
        customers(first: $n, filter: {tag: $tag}) { edges { node { code
          orders(first: 5) { totalCount edges { node { number owner { email } lines { sku unitCost { amount } }
            complaints(first: 3) { totalCount edges { node { number } } }
            workflows { status steps { status department { code } assignee { email } } } } } } } } } }""",
    "customers with activity and interactions": """query($n: Int, $tag: String) {
        customers(first: $n, filter: {tag: $tag}) { edges { node { code
          activity(first: 20) { totalCount edges { node { kind actor { email } department { code }
            subject { __typename id ... on Complaint { number } ... on Order { number } } } } }
          interactions(first: 5) { totalCount edges { node { kind author { email } customer { code } } } } } } } }""",
    "the complaints queue": """query($n: Int) {
        complaints(first: $n) { totalCount edges { node { number customer { code owner { email } }
          category { code } assignee { email } order { number }
          sla { firstResponse { state } nextUpdate { state } policy { name calendar { name } } }
          timeline(first: 3) { edges { node { kind } } } } } } }""",
    "orders with lines, complaints and workflows": """query($n: Int) {
        orders(first: $n) { edges { node { number customer { code } owner { email } lines { sku }
          complaints(first: 5) { totalCount edges { node { number } } }
          workflows { status definition { name } steps { status department { code } decidedBy { email } } } } } } }""",
    "workflow instances with steps": """query($n: Int) {
        workflowInstances(first: $n) { edges { node { status definition { name } subject { __typename id }
          startedBy { email } steps { status department { code } assignee { email } decidedBy { email } } } } } }""",
    "my work": """query($n: Int) {
        myWork(first: $n) { edges { node { step { status department { code } } instance { status
          subject { __typename id } steps { status } } } } } }""",
    "the event feed": """query($n: Int) {
        events(first: $n) { edges { node { type aggregateType aggregateId occurredAt } } } }""",
    "departments with their staff": """query($n: Int) {
        departments { code keyUsers { email } calendar { name }
          staff(first: $n) { totalCount edges { node { email department { code } } } } } }""",
}


@pytest.mark.parametrize("name", list(DOCUMENTS))
async def test_statements_do_not_grow_with_the_page(api: Api, crowd: dict[str, Any], name: str) -> None:
    who = "sales.manager@example.com" if name == "my work" else "admin@example.com"
    counts, sizes = [], []
    for n in SIZES:
        statements_run, data = await count(api, DOCUMENTS[name], {"n": n, "tag": crowd["tag"]}, who)
        counts.append(statements_run)
        sizes.append(size_of(data))
    assert sizes[0] < sizes[1] <= sizes[2], f"{name}: the pages must differ in size to prove anything: {sizes}"
    assert len(set(counts)) == 1, f"{name}: {counts} statements for pages of {sizes}"
    assert counts[0] <= MOST, f"{name}: {counts[0]} statements"
    print(f"{name}: {counts[0]} statements")


async def test_a_member_sees_the_same_page_shape_at_the_same_cost(api: Api, crowd: dict[str, Any]) -> None:
    """The complaint visibility rule is part of the batched statement, not a filter per parent."""
    document = DOCUMENTS["customers with their latest complaints"]
    counts = [(await count(api, document, {"n": n, "tag": crowd["tag"]}, "warehouse.member@example.com"))[0]
              for n in SIZES]
    assert len(set(counts)) == 1, counts
    _, data = await count(api, document, {"n": 10, "tag": crowd["tag"]}, "warehouse.member@example.com")
    # filed by a sales member, handled by SERVICE, owned by a sales key user: not the warehouse's to see
    assert all(e["node"]["complaints"]["edges"] == [] for e in data["customers"]["edges"])
    _, data = await count(api, document, {"n": 10, "tag": crowd["tag"]}, "sales.key@example.com")
    assert all(len(e["node"]["complaints"]["edges"]) == 1 for e in data["customers"]["edges"])


@pytest.mark.parametrize("kind", ["nodes", "_entities"])
async def test_nodes_and_entities_cost_the_same_for_any_number_of_ids(api: Api, crowd: dict[str, Any],
                                                                       kind: str) -> None:
    ids = [c["id"] for c in crowd["customers"]]
    counts = []
    for n in SIZES:
        if kind == "nodes":
            document = "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Customer { code contacts { name } } } }"
            variables: dict[str, Any] = {"ids": ids[:n]}
        else:
            document = """query($r: [_Any!]!) { _entities(representations: $r) {
                ... on Customer { code contacts { name } complaints(first: 3) { edges { node { number } } } } } }"""
            variables = {"r": [{"__typename": "Customer", "id": i} for i in ids[:n]]}
        statements_run, data = await count(api, document, variables, "admin@example.com")
        assert len(next(iter(data.values()))) == n
        counts.append(statements_run)
    assert len(set(counts)) == 1, counts


async def test_total_count_is_only_computed_when_selected(api: Api, crowd: dict[str, Any]) -> None:
    without, _ = await count(api, "query($tag: String) { customers(first: 10, filter: {tag: $tag}) { "
                                  "edges { node { code complaints(first: 1) { edges { node { number } } } } } } }",
                             {"tag": crowd["tag"]}, "admin@example.com")
    with_counts, data = await count(api, "query($tag: String) { customers(first: 10, filter: {tag: $tag}) { totalCount "
                                         "edges { node { code complaints(first: 1) { totalCount } } } } }",
                                    {"tag": crowd["tag"]}, "admin@example.com")
    assert data["customers"]["totalCount"] == CROWD
    assert {e["node"]["complaints"]["totalCount"] for e in data["customers"]["edges"]} == {1}
    # one count for the top-level list, one grouped count for all the nested ones
    assert with_counts == without + 2, json.dumps(data)[:300]

"""The query-cost budget and the field limit (api/common/cost.py): refused before anything runs, with
LIMIT_EXCEEDED and the figure; realistic documents, and the introspection GraphiQL sends, still pass."""
from __future__ import annotations

import asyncio
import re
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from graphql import get_introspection_query, parse
from httpx_ws import WebSocketDisconnect, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport

from api.common.cost import estimate_cost
from api.common.documents import is_cached, parsed_documents
from api.schema import build_schema
from infrastructure.settings import Settings, SettingsError
from tests.conftest import Api, statements

BUDGET = Settings().max_query_cost
MAX_FIELDS = Settings().max_query_fields

# one member's 100 customers x 100 activities x each subject's customer's 100 activities: 1,010,100 rows
CUSTOMER_ACTIVITY_CUSTOMER_ACTIVITY = """{ customers(first: 100) { edges { node { code
  activity(first: 100) { edges { node { summary subject { ... on Interaction { customer {
    activity(first: 100) { edges { node { summary } } } } } } } } } } } } }"""

# the most ordinary big page: 100 customers with 100 complaints each, 100 + 10,000 rows
CUSTOMERS_WITH_COMPLAINTS = """{ customers(first: 100) { totalCount edges { node { code
  complaints(first: 100) { totalCount edges { node { number status } } } } } } }"""


def touching(seen: list[str], *tables: str) -> list[str]:
    return [s for s in seen if any(re.search(rf"\b{t}\b", s, re.IGNORECASE) for t in tables)]


async def refusal(api: Api, query: str, variables: dict | None = None) -> dict[str, Any]:
    """The one error of a refused document (no data at all)."""
    response = await api.post(query, variables)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body.get("data") is None, body
    assert len(body["errors"]) == 1, body["errors"]
    error = body["errors"][0]
    assert error["extensions"]["code"] == "LIMIT_EXCEEDED", error
    return error


async def test_an_over_budget_document_is_refused_with_its_cost_and_the_budget(api: Api) -> None:
    error = await refusal(api, CUSTOMER_ACTIVITY_CUSTOMER_ACTIVITY)
    assert error["extensions"] == {"code": "LIMIT_EXCEEDED", "cost": 1_010_100, "budget": BUDGET}
    assert "1,010,100" in error["message"] and f"{BUDGET:,}" in error["message"]


async def test_an_over_budget_document_runs_no_sql(api: Api) -> None:
    with statements(api) as trivial:
        await api("{ __typename }")
    with statements(api) as refused:
        await refusal(api, CUSTOMER_ACTIVITY_CUSTOMER_ACTIVITY)
    # authenticating the request may read the staff table; the document itself reads nothing
    assert touching(refused, "customers", "customer_activity", "interactions") == [], refused
    assert len(refused) <= len(trivial), (refused, trivial)


async def test_realistic_documents_pass(api: Api) -> None:
    data = await api(CUSTOMERS_WITH_COMPLAINTS)
    assert data["customers"]["edges"]
    customer = data["customers"]["edges"][0]["node"]["code"]
    # a customer 360 view; query B; the Kanban; the event feed at its largest page
    await api("""query($code: String) { customer(code: $code) { name contacts { name email } tags
      activity(first: 20) { edges { node { at kind summary actor { name } } } }
      complaints(first: 20, filter: {statuses: [OPEN, IN_PROGRESS]}) { totalCount edges { node { number } } }
      orders(first: 20) { edges { node { number status lines { quantity } complaints(first: 20) {
        totalCount } } } } } }""", {"code": customer})
    await api("{ orderBoard { columns { status count orders(first: 100) { edges { node { number } } } } } }")
    await api("{ events(first: 100) { edges { node { id type } } } }")


async def test_each_alias_counts(api: Api) -> None:
    page = "customers(first: 100) { edges { node { complaints(first: 100) { totalCount } } } }"
    four = "{ " + " ".join(f"a{i}: {page}" for i in range(4)) + " }"
    await api(four)  # 40,400
    five = "{ " + " ".join(f"a{i}: {page}" for i in range(5)) + " }"
    assert (await refusal(api, five))["extensions"]["cost"] == 5 * 10_100


async def test_fragments_and_inline_fragments_count(api: Api) -> None:
    named = """{ customers(first: 100) { edges { node { ...Feed } } } }
      fragment Feed on Customer { activity(first: 100) { edges { node { subject { ...Subject } } } } }
      fragment Subject on Node { ... on Interaction { customer { ...Feed } } }"""
    # Feed spread inside itself is a cycle: refused by validation, never costed forever
    response = (await api.post(named)).json()
    assert response["errors"] and response["data"] is None
    spread = """{ customers(first: 100) { edges { node { ...Activity } } } }
      fragment Activity on Customer { activity(first: 100) { edges { node { subject {
        ... on Interaction { customer { ...Last } } } } } } }
      fragment Last on Customer { activity(first: 100) { totalCount } }"""
    assert (await refusal(api, spread))["extensions"]["cost"] == 1_010_100


async def test_variables_and_default_page_sizes_count(api: Api) -> None:
    query = """query($n: Int, $m: Int = 100) { customers(first: $n) { edges { node {
      activity(first: $n) { edges { node { subject { ... on Interaction { customer {
        complaints(last: $m) { totalCount } } } } } } } } } } }"""
    assert (await refusal(api, query, {"n": 100}))["extensions"]["cost"] == 100 + 100**2 + 100**3
    await api(query, {"n": 10, "m": 10})  # 10 + 100 + 1,000
    # $n not given: the default page size (20); $m not given: its default (100)
    await api(query, {})  # 20 + 400 + 40,000
    await api(query, {"n": None})
    assert (await refusal(api, query.replace("customers(first: $n)", "customers(first: 100)"), {}))[
        "extensions"]["cost"] == 100 + 100 * 20 + 100 * 20 * 100
    # no first/last anywhere: the default page size, 20, at every level
    defaults = """{ customers { edges { node { complaints { edges { node { customer { complaints { edges { node {
      customer { complaints { totalCount } } } } } } } } } } } } }"""
    assert (await refusal(api, defaults))["extensions"]["cost"] == 20 + 20**2 + 20**3 + 20**4
    # a skipped branch costs nothing
    skipped = """query($deep: Boolean!) { customers(first: 100) { edges { node {
      activity(first: 100) @include(if: $deep) { edges { node { subject { ... on Interaction { customer {
        activity(first: 100) { totalCount } } } } } } } } } } }"""
    await api(skipped, {"deep": False})
    assert (await refusal(api, skipped, {"deep": True}))["extensions"]["cost"] == 1_010_100


async def test_nodes_count_one_row_per_id(api: Api) -> None:
    customers = [e["node"]["id"] for e in (await api("{ customers(first: 100) { edges { node { id } } } }"))[
        "customers"]["edges"]]
    ids = (customers * 100)[:100]
    query = """query($ids: [ID!]!) { nodes(ids: $ids) { ... on Customer { activity(first: 100) { edges { node {
      subject { ... on Interaction { customer { complaints(first: 10) { totalCount } } } } } } } } } }"""
    assert (await refusal(api, query, {"ids": ids}))["extensions"]["cost"] == 100 + 100 * 100 + 100 * 100 * 10
    await api(query, {"ids": ids[:4]})  # 4 + 400 + 4,000


async def test_a_refused_document_stays_refused_and_a_valid_one_keeps_working(api: Api) -> None:
    """Parsed and validated documents are cached; the limits still apply to every request."""
    for _ in range(3):
        assert (await refusal(api, CUSTOMER_ACTIVITY_CUSTOMER_ACTIVITY))["extensions"]["cost"] == 1_010_100
        deep = "{ me { department { staff { edges { node { department { staff { edges { node { department { " \
               "staff { edges { node { id } } } } } } } } } } } } } }"
        errors = await api.errors(deep)
        assert "depth" in errors[0]["message"]
        aliases = "{ " + " ".join(f"a{i}: me {{ id }}" for i in range(40)) + " }"
        assert "aliases" in (await api.errors(aliases))[0]["message"].lower()
        assert (await api.errors("{ customers { "))[0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        assert (await api("{ me { email } }"))["me"]["email"] == "admin@example.com"


@pytest.mark.parametrize("document", [
    "{ me { " + "id " * 1240 + "} }",
    "{ me { " + " ".join(f"a{i}: id" for i in range(1240)) + " } }",
    "{ me { " + "department { name } " * 620 + "} }",
    "{ me { ...A ...B } } fragment A on Staff { " + "id " * 200 + "} fragment B on Staff { " + "email " * 200 + "}",
])
async def test_a_large_document_is_refused_before_validation(api: Api, document: str) -> None:
    error = await refusal(api, document)
    assert error["extensions"]["maxFields"] == MAX_FIELDS
    assert error["extensions"]["fields"] > MAX_FIELDS
    assert "fields" in error["message"]


async def test_the_field_count_of_a_large_document(api: Api) -> None:
    error = await refusal(api, "{ me { " + "id " * 1240 + "} }")
    assert error["extensions"] == {"code": "LIMIT_EXCEEDED", "fields": 1241, "maxFields": MAX_FIELDS}
    await api("{ me { " + "id " * (MAX_FIELDS - 1) + "} }")  # at the limit


async def test_introspection_as_graphiql_sends_it_still_works(api: Api) -> None:
    query = get_introspection_query(descriptions=True, specified_by_url=True, directive_is_repeatable=True,
                                    schema_description=True, input_value_deprecation=True)
    data = await api(query)
    assert {"Customer", "CustomerConnection"} <= {t["name"] for t in data["__schema"]["types"]}


async def test_the_limits_are_the_requests_settings() -> None:
    schema = build_schema(federation=True)
    context = SimpleNamespace(settings=Settings(max_query_cost=100, max_query_fields=5))
    result = await schema.execute("{ customers(first: 101) { totalCount } }", context_value=context)
    assert result.errors and result.errors[0].extensions == {"code": "LIMIT_EXCEEDED", "cost": 101, "budget": 100}
    result = await schema.execute("{ me { id id id id id } }", context_value=context)
    assert result.errors and result.errors[0].extensions == {"code": "LIMIT_EXCEEDED", "fields": 6, "maxFields": 5}


def test_the_limits_are_settings() -> None:
    settings = Settings.from_env({"CRM_MAX_QUERY_COST": "1000", "CRM_MAX_QUERY_FIELDS": "50"})
    assert (settings.max_query_cost, settings.max_query_fields) == (1000, 50)
    assert (Settings.from_env({}).max_query_cost, Settings.from_env({}).max_query_fields) == (50_000, 300)
    for bad in ({"CRM_MAX_QUERY_COST": "lots"}, {"CRM_MAX_QUERY_COST": "0"}, {"CRM_MAX_QUERY_FIELDS": "-1"}):
        with pytest.raises(SettingsError):
            Settings.from_env(bad)


async def test_faults_are_still_masked_for_cached_documents() -> None:
    """MaskErrors runs after the caches: a fault (here: no actor in the context) never shows its details."""
    schema = build_schema(federation=True)
    for _ in range(2):
        result = await schema.execute("{ me { id } }", context_value=SimpleNamespace(actor=None))
        assert result.errors and re.fullmatch(r"Internal error \(request [0-9a-f]{16}\); it has been logged.",
                                              result.errors[0].message)


async def test_only_small_documents_are_kept_across_requests() -> None:
    """A parsed document keeps its tokens: an attacker's varied 5,000-token documents must not pile up."""
    small, large = parsed_documents()("{ me { id } }"), parsed_documents()("{ me { " + "id " * 1240 + "} }")
    assert is_cached(small) and not is_cached(large)
    assert parsed_documents()("{ me { id } }") is small


async def test_subscriptions_are_refused_over_the_websocket_too(api: Api, app: Any) -> None:
    """Over a WebSocket the refusal is the operation's error message. A syntax error still gets the
    protocol's answer (the socket closed with 4400), not a dead operation: the parser cache leaves the
    documents that do not parse to strawberry's own parse."""
    activity = "activity(first: 100) { edges { node { subject { ... on Interaction { customer { " \
               "activity(first: 100) { totalCount } } } } } } }"
    over = "subscription { complaintEvents { complaint { customer { " + \
        " ".join(f"a{i}: {activity}" for i in range(5)) + " } } } }"
    async with httpx.AsyncClient(transport=ASGIWebSocketTransport(app), base_url="http://test") as client:
        async with aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send_json({"type": "connection_init",
                                "payload": {"Authorization": f"Bearer {await api.token_for('admin@example.com')}"}})
            assert (await ws.receive_json())["type"] == "connection_ack"
            await ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": over}})
            message = await asyncio.wait_for(ws.receive_json(), 10)
            assert (message["type"], message["id"]) == ("error", "1"), message
            assert message["payload"][0]["extensions"] == {"code": "LIMIT_EXCEEDED", "cost": 5 * 10_100,
                                                           "budget": BUDGET}
            await ws.send_json({"id": "2", "type": "subscribe", "payload": {"query": "subscription { x "}})
            with pytest.raises(WebSocketDisconnect) as closed:
                await asyncio.wait_for(ws.receive_json(), 10)
            assert closed.value.code == 4400 and "Syntax Error" in closed.value.reason


def test_entities_count_one_row_per_representation() -> None:
    """A gateway's `_entities` is a batch look-up like `nodes`: one row per representation."""
    schema = build_schema(federation=True)._schema
    query = """query($r: [_Any!]!) { _entities(representations: $r) { ... on Customer {
      complaints(first: 100) { totalCount } } } }"""
    representations = [{"__typename": "Customer", "id": str(i)} for i in range(7)]
    assert estimate_cost(schema, parse(query), variables={"r": representations}) == 7 + 7 * 100


async def test_the_kanbans_columns_multiply_their_pages(api: Api) -> None:
    """orderBoard has one column per board status, each paging its own orders: seven pages, not one."""
    columns = len((await api("{ orderBoard { columns { status } } }"))["orderBoard"]["columns"])
    document = """{ orderBoard { columns { orders(first: 100) { edges { node { number
        complaints(first: 100) { totalCount } } } } } } }"""
    refused = await refusal(api, document)
    assert refused["extensions"]["cost"] == columns + columns * (100 + 100 * 100)
    await api("{ orderBoard { columns { orders(first: 100) { edges { node { number } } } } } }")

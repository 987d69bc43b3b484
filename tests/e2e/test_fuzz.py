"""Fuzzing the edge: whatever the variables, a raw body or a query holds (text with NUL or lone surrogates,
NaN, infinities, huge numbers, deep nesting, bytes that are not UTF-8), the API answers with a code: never a
5xx, never a traceback, never INTERNAL_ERROR."""
from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Api

OPERATIONS = [
    "query($c: String) { customer(code: $c) { id name } }",
    "query($f: CustomerFilter, $n: Int) { customers(first: $n, filter: $f) { totalCount } }",
    "mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { customer { id } userErrors { code } } }",
    "mutation($i: UpdateCustomerInput!) { updateCustomer(input: $i) { customer { id } userErrors { code } } }",
    "mutation($i: LogInteractionInput!) { logInteraction(input: $i) { userErrors { code } } }",
    "mutation($i: CreateOrderInput!) { createOrder(input: $i) { order { id } userErrors { code } } }",
    "query($id: ID!) { node(id: $id) { id } }",
    "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
    "query($t: [String!]) { events(first: 5, types: $t) { edges { node { type } } } }",
]

texts = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=40) | \
    st.sampled_from(["", "\x00", "a\ud800b", "\udfff", "DEMO-0001", "COMPANY", "GOLD", "1e999", "-1", "NaN"])
numbers = st.integers() | st.floats(allow_nan=True, allow_infinity=True) | \
    st.sampled_from([2 ** 31, -2 ** 31 - 1, 2 ** 53, 10 ** 30, 0, -1, 1e308])
scalars = st.none() | st.booleans() | texts | numbers
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.sampled_from(["name", "kind", "tier", "code", "id", "attributes", "search", "lines", "quantity",
                     "unitPrice", "currency", "customerId", "summary", "x"]) | texts, inner, max_size=5),
    max_leaves=12)
variables = st.dictionaries(st.sampled_from(["c", "f", "n", "i", "id", "ids", "t"]), values, max_size=3)


def body_of(query: str, variables: Any) -> bytes:
    return json.dumps({"query": query, "variables": variables}, allow_nan=True).encode()  # NaN: JSON it is not


async def assert_answered(api: Api, body: bytes, content_type: str = "application/json") -> None:
    token = await api.token_for("admin@example.com")
    response = await api.client.post("/graphql", content=body, headers={"Authorization": f"Bearer {token}",
                                                                         "Content-Type": content_type})
    assert response.status_code in (200, 400, 413), (response.status_code, response.text[:500], body[:300])
    assert "Traceback" not in response.text
    answer = response.json()
    for error in answer.get("errors") or []:
        assert error["extensions"]["code"] != "INTERNAL_ERROR", (error, body[:300])


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(query=st.sampled_from(OPERATIONS), variables=variables)
async def test_any_variables_get_an_answer_with_a_code(api: Api, query: str, variables: dict[str, Any]) -> None:
    await assert_answered(api, body_of(query, variables))


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(raw=st.binary(max_size=200) | st.builds(lambda s: s.encode("utf-8", "surrogatepass"), texts))
async def test_any_bytes_get_an_answer_with_a_code(api: Api, raw: bytes) -> None:
    await assert_answered(api, raw)
    await assert_answered(api, b'{"query": "{ me { email } }", "variables": {"x": "' + raw + b'"}}')


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(literal=texts | numbers.map(lambda n: repr(n) if isinstance(n, float) and math.isfinite(n) else str(n)))
async def test_any_inline_literal_gets_an_answer_with_a_code(api: Api, literal: str) -> None:
    for query in ('{ customer(code: %s) { id } }' % json.dumps(literal),
                  '{ customers(first: %s) { totalCount } }' % literal.replace("{", "").replace("}", "")[:30]):
        await assert_answered(api, body_of(query, {}))

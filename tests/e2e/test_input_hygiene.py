"""Input the store cannot hold is refused at the edge, the same way wherever it comes in: invalid UTF-8, lone
surrogates, NUL, NaN/Infinity and numbers beyond the field's range get HTTP 400 with code BAD_REQUEST, in JSON
variables, inline literals, GET parameters and multipart parts; in import files they are row errors and nothing is
written. Every case runs on both backends, reads and writes alike."""
from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from infrastructure.db import tables as t
from tests.conftest import Api, unique
from tests.e2e.test_import import HEADER, run_import

CUSTOMER = "query($c: String) { customer(code: $c) { id } }"
SEARCH = "query($f: CustomerFilter) { customers(filter: $f) { totalCount } }"
CREATE = "mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { customer { id } userErrors { code } } }"
PAGE = "query($n: Int) { customers(first: $n) { totalCount } }"


async def raw(api: Api, body: bytes, content_type: str = "application/json") -> Any:
    token = await api.token_for("admin@example.com")
    return await api.client.post("/graphql", content=body, headers={"Authorization": f"Bearer {token}",
                                                                     "Content-Type": content_type})


def assert_bad_request(response: Any) -> None:
    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_REQUEST" and error["message"]


async def customers_named(api: Api, prefix: str) -> int:
    async with api.container.core.engine().connect() as conn:
        return (await conn.execute(select(func.count()).select_from(t.customers)
                                   .where(t.customers.c.name.like(f"{prefix}%")))).scalar_one()


@pytest.mark.parametrize("body", [b"0", b'"{ me { email } }"', b"null", b"true"])
async def test_a_body_that_is_no_json_object_is_a_bad_request(api: Api, body: bytes) -> None:
    """Found by tests/e2e/test_fuzz.py: these were HTTP 500."""
    assert_bad_request(await raw(api, body))


@pytest.mark.parametrize("body", [
    b'{"query": "query($c: String) { customer(code: $c) { id } }", "variables": {"c": "\xff\xfe"}}',
    b'{"query": "{ me { email } }\xc3"}',
    b'\xef\xbb\xbf{"query": "{ me { email } }", "x": "\xed\xa0\x80"}',  # a surrogate encoded as UTF-8
])
async def test_invalid_utf8_is_a_bad_request(api: Api, body: bytes) -> None:
    assert_bad_request(await raw(api, body))


@pytest.mark.parametrize(("query", "variables"), [
    (CUSTOMER, '{"c": "a\\ud800b"}'),
    (SEARCH, '{"f": {"search": "\\udfff"}}'),
    (CREATE, '{"i": {"name": "Lone \\ud83d surrogate", "kind": "COMPANY"}}'),
    (CREATE, '{"i": {"name": "Key", "kind": "COMPANY", "attributes": {"\\ud800": 1}}}'),
    (CREATE, '{"i": {"name": "Not a number", "kind": "COMPANY", "attributes": {"x": NaN}}}'),
    (CREATE, '{"i": {"name": "Infinite", "kind": "COMPANY", "attributes": {"x": [Infinity]}}}'),
    (CREATE, '{"i": {"name": "Minus infinite", "kind": "COMPANY", "attributes": {"x": -Infinity}}}'),
    (CREATE, '{"i": {"name": "Overflowing", "kind": "COMPANY", "attributes": {"x": 1e400}}}'),
    (CREATE, '{"i": {"name": "Huge", "kind": "COMPANY", "attributes": {"x": 123456789012345678901234567890}}}'),
    (CREATE, '{"i": {"name": "Huge", "kind": "COMPANY", "attributes": {"x": 9007199254740992}}}'),  # 2^53: 16 digits
    (CREATE, '{"i": {"name": "Huge", "kind": "COMPANY", "attributes": {"x": [-123456789012345678]}}}'),  # 18
    (CREATE, '{"i": {"name": "Enormous", "kind": "COMPANY", "attributes": {"x": 1' + "0" * 5000 + '}}}'),
    (PAGE, '{"n": 99999999999}'),
    (PAGE, '{"n": 2147483648}'),
])
async def test_variables_the_store_cannot_hold_are_a_bad_request(api: Api, query: str, variables: str) -> None:
    body = '{"query": ' + json.dumps(query) + ', "variables": ' + variables + '}'
    assert_bad_request(await raw(api, body.encode()))
    assert await customers_named(api, "Lone") == await customers_named(api, "Not a number") == 0
    assert await customers_named(api, "Infinite") == await customers_named(api, "Huge") == 0


async def test_a_surrogate_pair_is_text_like_any_other(api: Api) -> None:
    name = unique("Smile") + " \U0001F600"
    body = '{"query": ' + json.dumps(CREATE) + ', "variables": {"i": {"name": "' + name[:-1] + '\\ud83d\\ude00", ' \
           '"kind": "COMPANY"}}}'
    response = await raw(api, body.encode())
    assert response.status_code == 200 and response.json()["data"]["createCustomer"]["userErrors"] == []


@pytest.mark.parametrize("query", [
    '{ customer(code: "A\\u0000B") { id } }',
    '{ customer(code: "a\\ud800b") { id } }',
    '{ customers(first: 99999999999) { totalCount } }',
    '{ customers(filter: {search: """block \\u0000"""}) { totalCount } }',
    'mutation { createCustomer(input: {name: "Literal", kind: COMPANY, attributes: {x: 1e400}}) { userErrors { code } } }',
    'mutation { createCustomer(input: {name: "Literal", kind: COMPANY, attributes: {x: 99999999999999999999}}) '
    '{ userErrors { code } } }',
])
async def test_inline_literals_are_checked_as_variables_are(api: Api, query: str) -> None:
    assert_bad_request(await raw(api, json.dumps({"query": query}).encode()))
    assert await customers_named(api, "Literal") == 0


async def test_get_parameters_are_checked_too(api: Api) -> None:
    token = await api.token_for("admin@example.com")
    for variables in ('{"c": NaN}', '{"c": "a\\ud800"}', '{"c": "a\\u0000"}'):
        response = await api.client.get("/graphql", params={"query": CUSTOMER, "variables": variables},
                                        headers={"Authorization": f"Bearer {token}"})
        assert_bad_request(response)


@pytest.mark.parametrize("operations", [
    '{"query": "mutation($i: ImportCustomersInput!) { importCustomers(input: $i) { created } }", '
    '"variables": {"i": {"file": null, "format": "CSV", "dryRun": NaN}}}',
    '{"query": "mutation($i: ImportCustomersInput!) { importCustomers(input: $i) { created } }", '
    '"variables": {"i": {"file": null, "format": "CSV\\ud800"}}}',
])
async def test_multipart_operations_are_checked_too(api: Api, operations: str) -> None:
    response = await api.client.post(
        "/graphql", data={"operations": operations, "map": json.dumps({"0": ["variables.i.file"]})},
        files={"0": ("c.csv", f"{HEADER}\nX-1,Multipart,COMPANY,,,,,,,,\n".encode(), "text/csv")},
        headers={"Authorization": f"Bearer {await api.token_for('admin@example.com')}"})
    assert_bad_request(response)
    assert await customers_named(api, "Multipart") == 0


@pytest.mark.parametrize(("file_format", "content"), [
    ("CSV", "{header}\n{code},Nul\x00Row,COMPANY,,,,,,,,\n"),
    ("CSV", '{header}\n{code},NaN attribute,COMPANY,,,,,"{{""x"": NaN}}",,,\n'),
    ("CSV", '{header}\n{code},Infinite attribute,COMPANY,,,,,"{{""x"": 1e400}}",,,\n'),
    ("JSON", '[{{"code": "{code}", "name": "Nul\\u0000Row", "kind": "COMPANY"}}]'),
    ("JSON", '[{{"code": "{code}", "name": "NaN row", "kind": "COMPANY", "attributes": {{"x": NaN}}}}]'),
    ("JSON", '[{{"code": "{code}", "name": "Huge row", "kind": "COMPANY", "attributes": {{"x": 1e400}}}}]'),
])
async def test_import_rows_the_store_cannot_hold_are_refused_and_nothing_is_written(
        api: Api, file_format: str, content: str) -> None:
    code = unique("HYG").upper()
    ok = unique("OK").upper()
    text = content.format(header=HEADER, code=code)
    if file_format == "CSV":
        text += f"{ok},Fine,COMPANY,,,,,,,,\n"
    result = await run_import(api, text, file_format)
    assert [e["row"] for e in result["rowErrors"]] == [1] or result["userErrors"][0]["field"] == ["input", "file"], \
        result
    assert (await api(CUSTOMER, {"c": code}))["customer"] is None
    assert (await api(CUSTOMER, {"c": ok}))["customer"] is None  # all or nothing


async def test_a_lone_surrogate_in_a_json_import_is_a_row_error_and_a_pair_is_text(api: Api) -> None:
    """The fast JSON reader (yajl) would store a lone surrogate escape as "?": such a file is read by the
    pure-Python one, which keeps it for the row check to refuse."""
    code, smile = unique("HYG").upper(), unique("HYG").upper()
    result = await run_import(api, f'[{{"code": "{code}", "name": "Lone \\ud800 row", "kind": "COMPANY"}}]', "JSON")
    assert [e["row"] for e in result["rowErrors"]] == [1] and "surrogate" in result["rowErrors"][0]["message"]
    assert (await api(CUSTOMER, {"c": code}))["customer"] is None
    result = await run_import(api, f'[{{"code": "{smile}", "name": "Smile \\ud83d\\ude00", "kind": "COMPANY"}}]',
                              "JSON")
    assert result["created"] == 1 and result["rowErrors"] == []
    async with api.container.core.engine().connect() as conn:
        name = (await conn.execute(select(t.customers.c.name).where(t.customers.c.code == smile))).scalar_one()
    assert name == "Smile \U0001F600"


async def test_multipart_is_for_uploads_only(api: Api) -> None:
    """A browser form may post multipart without a preflight: only an operation that uploads a file takes it."""
    response = await api.client.post(
        "/graphql", data={"operations": json.dumps({"query": CREATE, "variables": {
            "i": {"name": unique("Multipart"), "kind": "COMPANY"}}}), "map": "{}"},
        files={"unused": ("x.txt", b"x", "text/plain")},
        headers={"Authorization": f"Bearer {await api.token_for('admin@example.com')}"})
    assert_bad_request(response)
    assert await customers_named(api, "Multipart") == 0

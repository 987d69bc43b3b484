"""API keys for partner systems over GraphQL: issued by ADMINs with the secret shown once and stored only as a
hash, used in the Authorization header with the rights of the member they act as narrowed by their scopes,
listed, and revoked at once."""
from __future__ import annotations

import hashlib
from typing import Any

import pytest
from sqlalchemy import select

from api.common.relay import to_global_id
from application.organisation import find_active_staff_by_email
from infrastructure.db.security_tables import api_keys
from tests.conftest import Api, unique

FIELDS = "id name scopes createdAt lastUsedAt revokedAt createdBy { email } actsAs { email }"
CREATE = f"""mutation($input: CreateApiKeyInput!) {{ createApiKey(input: $input) {{
    apiKey {{ {FIELDS} }} secret userErrors {{ field message code }} }} }}"""
REVOKE = f"""mutation($input: RevokeApiKeyInput!) {{ revokeApiKey(input: $input) {{
    apiKey {{ {FIELDS} }} secret userErrors {{ field message code }} }} }}"""
KEYS = f"{{ apiKeys {{ {FIELDS} }} }}"
ME = "{ me { email } }"
CREATE_CUSTOMER = "mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { customer { name } } }"


async def staff_id(api: Api, email: str) -> str:
    staff = await find_active_staff_by_email(api.container.services.uow(), email)
    assert staff is not None
    return to_global_id("Staff", staff.id)


async def issue(api: Api, scopes: list[str], acts_as: str = "sales.key@example.com") -> dict[str, Any]:
    payload = (await api(CREATE, {"input": {"name": unique("partner"), "scopes": scopes,
                                            "actsAsId": await staff_id(api, acts_as)}}))["createApiKey"]
    assert payload["userErrors"] == [], payload
    return payload


async def with_key(api: Api, secret: str, query: str, variables: dict[str, Any] | None = None) -> Any:
    return await api.post(query, variables, token=secret)


async def test_an_admin_issues_a_key_shown_once_and_stored_as_a_hash(api: Api) -> None:
    payload = await issue(api, ["read", "write"])
    key, secret = payload["apiKey"], payload["secret"]
    assert secret.startswith("crmk_") and len(secret) > 60
    assert key["scopes"] == ["read", "write"] and key["revokedAt"] is None and key["lastUsedAt"] is None
    assert (key["createdBy"], key["actsAs"]) == ({"email": "admin@example.com"}, {"email": "sales.key@example.com"})
    async with api.container.core.engine().connect() as conn:
        [row] = (await conn.execute(select(api_keys).where(api_keys.c.name == key["name"]))).all()
    assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(tuple(row))
    listed = {k["id"]: k for k in (await api(KEYS))["apiKeys"]}
    assert listed[key["id"]]["name"] == key["name"] and "secret" not in str(listed[key["id"]])
    node = await api("query($id: ID!) { node(id: $id) { ... on ApiKey { name } } }", {"id": key["id"]})
    assert node["node"] == {"name": key["name"]}


async def test_a_key_acts_as_its_member_and_records_its_use(api: Api) -> None:
    payload = await issue(api, ["read"])
    response = await with_key(api, payload["secret"], ME)
    assert response.status_code == 200 and response.json()["data"]["me"]["email"] == "sales.key@example.com"
    listed = {k["id"]: k for k in (await api(KEYS))["apiKeys"]}
    assert listed[payload["apiKey"]["id"]]["lastUsedAt"] is not None


async def test_scopes_narrow_the_members_rights(api: Api) -> None:
    reader, writer = (await issue(api, ["read"]))["secret"], (await issue(api, ["write"]))["secret"]
    name = unique("By key")
    refused = (await with_key(api, reader, CREATE_CUSTOMER, {"i": {"name": name, "kind": "COMPANY"}})).json()
    assert refused["data"] is None and refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await api('query($q: String) { customers(filter: {search: $q}) { totalCount } }',
                      {"q": name}))["customers"]["totalCount"] == 0
    written = (await with_key(api, writer, CREATE_CUSTOMER, {"i": {"name": name, "kind": "COMPANY"}})).json()
    assert written["data"]["createCustomer"]["customer"]["name"] == name


async def test_a_revoked_key_stops_at_once_and_stays_revoked(api: Api) -> None:
    payload = await issue(api, ["read"])
    assert (await with_key(api, payload["secret"], ME)).status_code == 200
    revoked = (await api(REVOKE, {"input": {"apiKeyId": payload["apiKey"]["id"]}}))["revokeApiKey"]
    assert revoked["userErrors"] == [] and revoked["apiKey"]["revokedAt"] and revoked["secret"] is None
    assert (await with_key(api, payload["secret"], ME)).status_code == 401
    again = (await api(REVOKE, {"input": {"apiKeyId": payload["apiKey"]["id"]}}))["revokeApiKey"]
    assert [(e["field"], e["code"]) for e in again["userErrors"]] == [(["input", "apiKeyId"], "INVALID")]


async def test_a_wrong_or_made_up_secret_is_refused(api: Api) -> None:
    secret = (await issue(api, ["read"]))["secret"]
    for bad in (secret[:-3] + "abc", "crmk_" + "0" * 32 + "_nothing", "crmk_nonsense", "crmk_"):
        assert (await with_key(api, bad, ME)).status_code == 401, bad


async def test_a_key_dies_with_its_members_deactivation(api: Api) -> None:
    email = f"{unique('partner')}@example.com"
    sales = next(d["id"] for d in (await api("{ departments { id code } }"))["departments"] if d["code"] == "SALES")
    member = (await api("mutation($i: CreateStaffInput!) { createStaff(input: $i) { staff { id } } }",
                        {"i": {"name": "Service account", "email": email, "departmentId": sales,
                               "role": "KEY_USER"}}))["createStaff"]["staff"]["id"]
    secret = (await issue(api, ["read"], acts_as=email))["secret"]
    assert (await with_key(api, secret, ME)).json()["data"]["me"]["email"] == email
    for active in (False, True):
        await api("mutation($i: UpdateStaffInput!) { updateStaff(input: $i) { userErrors { code } } }",
                  {"i": {"id": member, "active": active}})
        assert (await with_key(api, secret, ME)).status_code == 401  # issued before the deactivation


@pytest.mark.parametrize("who", ["sales.manager@example.com", "finance.key@example.com"])
async def test_only_admins_manage_keys(api: Api, who: str) -> None:
    sales_key = await staff_id(api, "sales.key@example.com")
    for query, variables in ((CREATE, {"input": {"name": "x", "scopes": ["read"], "actsAsId": sales_key}}),
                             (KEYS, None)):
        [error] = await api.errors(query, variables, as_=who)
        assert error["extensions"]["code"] == "FORBIDDEN"
    key = (await issue(api, ["read"]))["apiKey"]["id"]
    [error] = await api.errors(REVOKE, {"input": {"apiKeyId": key}}, as_=who)
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert (await api("query($id: ID!) { node(id: $id) { id } }", {"id": key}, as_=who))["node"] is None


@pytest.mark.parametrize(("name", "scopes", "field"), [
    ("  ", ["read"], ["input", "name"]),
    ("Partner", ["read", "admin"], ["input", "scopes", "1"]),
])
async def test_bad_input_is_a_user_error(api: Api, name: str, scopes: list[str], field: list[str]) -> None:
    payload = (await api(CREATE, {"input": {"name": name, "scopes": scopes,
                                            "actsAsId": await staff_id(api, "sales.key@example.com")}}))["createApiKey"]
    assert payload["apiKey"] is None and payload["secret"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(field, "INVALID")]
    customer = (await api('{ customer(code: "DEMO-0001") { id } }'))["customer"]["id"]
    wrong = (await api(CREATE, {"input": {"name": "Partner", "scopes": ["read"], "actsAsId": customer}}))
    assert [(e["field"], e["code"]) for e in wrong["createApiKey"]["userErrors"]] == [(["input", "actsAsId"],
                                                                                        "INVALID")]

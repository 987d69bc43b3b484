"""The audit log: every write records who (staff or API key), when, what and the changed fields before and after,
in the write's transaction (a refused write leaves nothing); `auditLog` is for ADMINs; nothing edits or deletes it."""
from __future__ import annotations

from typing import Any

from api.common.relay import to_global_id
from application.audit import AUDIT
from application.organisation import find_active_staff_by_email
from tests.conftest import Api, unique

LOG = """query($f: AuditFilter, $first: Int, $after: String) { auditLog(filter: $f, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id at aggregateType aggregateId operation kind before after requestId
                   actor { email } apiKey { name } } } } }"""
CREATE = """mutation($i: CreateCustomerInput!) { createCustomer(input: $i) {
    customer { id version } userErrors { field code } } }"""
UPDATE = """mutation($i: UpdateCustomerInput!) { updateCustomer(input: $i) { customer { version } userErrors { code } } }"""


async def entries(api: Api, **filter: Any) -> list[dict[str, Any]]:
    return [e["node"] for e in (await api(LOG, {"f": filter, "first": 100}))["auditLog"]["edges"]]


async def test_a_create_and_an_update_are_recorded_with_who_what_and_the_changed_fields(api: Api) -> None:
    name = unique("Audited")
    created = (await api(CREATE, {"i": {"name": name, "kind": "COMPANY", "tier": "SILVER"}},
                         as_="sales.key@example.com"))["createCustomer"]["customer"]
    await api(UPDATE, {"i": {"id": created["id"], "tier": "GOLD", "expectedVersion": created["version"]}},
              as_="sales.manager@example.com")
    update, create = await entries(api, aggregateId=created["id"])  # newest first
    assert (create["kind"], create["operation"], create["aggregateType"]) == ("CREATE", "createCustomer", "customer")
    assert create["actor"] == {"email": "sales.key@example.com"} and create["apiKey"] is None
    assert create["before"] is None and create["after"]["name"] == name and create["after"]["tier"] == "SILVER"
    assert create["aggregateId"] == created["id"] and len(create["requestId"]) == 16
    assert (update["kind"], update["operation"]) == ("UPDATE", "updateCustomer")
    assert update["actor"] == {"email": "sales.manager@example.com"}
    assert (update["before"]["tier"], update["after"]["tier"]) == ("SILVER", "GOLD")
    assert set(update["after"]) <= {"tier", "updated_at"} and "name" not in update["before"]  # only what changed
    assert update["at"] >= create["at"] and update["requestId"] != create["requestId"]


async def test_a_refused_write_leaves_no_entry(api: Api) -> None:
    before = (await api(LOG, {"f": {"aggregateType": "customer"}, "first": 1}))["auditLog"]["totalCount"]
    refused = (await api(CREATE, {"i": {"name": " ", "kind": "COMPANY"}}))["createCustomer"]
    assert refused["userErrors"] and refused["customer"] is None
    assert (await api(LOG, {"f": {"aggregateType": "customer"}, "first": 1}))["auditLog"]["totalCount"] == before


async def test_writes_with_an_api_key_name_the_key(api: Api) -> None:
    member = await find_active_staff_by_email(api.container.services.uow(), "sales.key@example.com")
    issued = (await api("""mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { secret apiKey { id name } } }""",
                        {"i": {"name": unique("writer"), "scopes": ["write"],
                               "actsAsId": to_global_id("Staff", member.id)}}))["createApiKey"]
    response = await api.post(CREATE, {"i": {"name": unique("By key"), "kind": "PERSON"}}, token=issued["secret"])
    customer = response.json()["data"]["createCustomer"]["customer"]["id"]
    [entry] = await entries(api, aggregateId=customer)
    assert entry["apiKey"] == {"name": issued["apiKey"]["name"]} and entry["actor"] is None
    [key] = await entries(api, aggregateId=issued["apiKey"]["id"])
    assert (key["kind"], key["aggregateType"], key["actor"]) == ("CREATE", "api_key", {"email": "admin@example.com"})
    assert issued["secret"] not in str(key) and key["after"]["scopes"] == ["read", "write"]


async def test_the_log_pages_newest_first_and_filters(api: Api) -> None:
    admin = await find_active_staff_by_email(api.container.services.uow(), "admin@example.com")
    for n in range(3):
        await api(CREATE, {"i": {"name": unique(f"Paged {n}"), "kind": "COMPANY"}})
    first = (await api(LOG, {"f": {"actorId": to_global_id("Staff", admin.id)}, "first": 2}))["auditLog"]
    assert len(first["edges"]) == 2 and first["pageInfo"]["hasNextPage"]
    rest = (await api(LOG, {"f": {"actorId": to_global_id("Staff", admin.id)}, "first": 2,
                            "after": first["pageInfo"]["endCursor"]}))["auditLog"]
    seen = [e["node"]["at"] for e in first["edges"] + rest["edges"]]
    assert seen == sorted(seen, reverse=True)
    assert {e["node"]["id"] for e in first["edges"]}.isdisjoint({e["node"]["id"] for e in rest["edges"]})
    assert all(e["node"]["actor"] == {"email": "admin@example.com"} for e in first["edges"])


async def test_only_admins_read_the_log_and_nothing_edits_it(api: Api) -> None:
    for who in ("sales.manager@example.com", "finance.key@example.com", "service.member@example.com"):
        [error] = await api.errors(LOG, {"first": 1}, as_=who)
        assert error["extensions"]["code"] == "FORBIDDEN"
    mutations = (await api('{ __type(name: "Mutation") { fields { name } } }'))["__type"]["fields"]
    assert not [m["name"] for m in mutations if "audit" in m["name"].lower()]


async def test_a_mutation_leaves_no_audit_context_behind_in_its_caller(api: Api) -> None:
    """The test client runs the app in the test's own context, as any in-process caller would: once the mutation
    is done, what it set for its audit records is gone, so later writes there are not laid at its author's door."""
    assert AUDIT.get() is None
    made = (await api(CREATE, {"i": {"name": unique("Audited"), "kind": "COMPANY"}}))["createCustomer"]
    assert made["userErrors"] == []
    assert AUDIT.get() is None

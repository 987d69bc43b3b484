"""Field permissions as data: who reads unit costs, an order's profitability, a customer's receivables and the
profitability report is a rule an ADMIN sets per role and department (default: FINANCE, MANAGERs, ADMINs and
the owner of their own orders and customers). A denied field is null with a FORBIDDEN entry, on every path."""
from __future__ import annotations

from typing import Any, AsyncIterator

import pytest
from sqlalchemy import delete

from api.common.relay import to_global_id
from application.organisation import find_active_staff_by_email
from infrastructure.db.security_tables import field_access
from tests.conftest import Api, unique

ORDER = """query($n: String) { order(number: $n) { number owner { email } customer { code owner { email } }
    lines { sku unitCost { amount } } profitability { margin { amount } } } }"""
RECEIVABLES = 'query($c: String) { customer(code: $c) { code receivables { outstanding { amount } } } }'
RULES = "{ fieldAccess { field roles owner departments { code } } }"
SET = """mutation($i: SetFieldAccessInput!) { setFieldAccess(input: $i) {
    rule { field roles owner departments { code } } userErrors { field code } } }"""
REPORT = """query { profitability(from: "2020-01-01T00:00:00Z", to: "2040-01-01T00:00:00Z", groupBy: CUSTOMER) {
    key } }"""


@pytest.fixture
async def restored(api: Api) -> AsyncIterator[None]:
    """The default rules again afterwards (the database is the session's)."""
    yield
    async with api.container.core.engine().begin() as conn:
        await conn.execute(delete(field_access))


async def an_order(api: Api) -> dict[str, Any]:
    """A new order of a new customer, owned by a SALES member (the demo customers' orders are the demo's)."""
    member = await find_active_staff_by_email(api.container.services.uow(), "sales.member@example.com")
    customer = (await api("mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { customer { id } } }",
                          {"i": {"name": unique("Money"), "kind": "COMPANY"}}, as_="sales.member@example.com")
                )["createCustomer"]["customer"]["id"]
    created = (await api("""mutation($o: CreateOrderInput!) { createOrder(input: $o) {
        order { number owner { email } } userErrors { code } } }""", {"o": {
        "customerId": customer, "currency": "EUR", "ownerId": to_global_id("Staff", member.id),
        "lines": [{"sku": "TOOL-100", "description": "Tool", "quantity": "2", "unitPrice": "150.00"}]}},
        as_="sales.member@example.com"))["createOrder"]
    assert created["userErrors"] == []
    return created["order"]


def forbidden_paths(errors: list[dict[str, Any]]) -> set[str]:
    return {e["path"][-1] for e in errors if e["extensions"]["code"] == "FORBIDDEN"}


async def test_by_default_finance_managers_admins_and_the_owner_read_money(api: Api) -> None:
    order = await an_order(api)
    owner = order["owner"]["email"]
    for who in ("admin@example.com", "finance.member@example.com", "warehouse.manager@example.com", owner):
        body = (await api.post(ORDER, {"n": order["number"]}, as_=who)).json()
        assert "errors" not in body, (who, body)
        assert body["data"]["order"]["profitability"] is not None
    for who in ("marketing.member@example.com", "warehouse.key@example.com"):
        body = (await api.post(ORDER, {"n": order["number"]}, as_=who)).json()
        data = body["data"]["order"]
        assert data["number"] == order["number"] and data["profitability"] is None
        assert all(line["unitCost"] is None for line in data["lines"])
        assert forbidden_paths(body["errors"]) == {"profitability", "unitCost"}


async def test_the_customers_owner_reads_their_receivables(api: Api) -> None:
    owned = (await api('{ customer(code: "DEMO-0001") { code owner { email } } }'))["customer"]
    assert owned["owner"]
    mine = (await api.post(RECEIVABLES, {"c": owned["code"]}, as_=owned["owner"]["email"])).json()
    assert not forbidden_paths(mine.get("errors") or [])
    theirs = (await api.post(RECEIVABLES, {"c": owned["code"]}, as_="marketing.key@example.com")).json()
    assert theirs["data"]["customer"]["receivables"] is None and forbidden_paths(theirs["errors"]) == {"receivables"}


async def test_an_admin_sets_who_reads_a_field_and_every_path_obeys(api: Api, restored: None) -> None:
    order = await an_order(api)
    departments = {d["code"]: d["id"] for d in (await api("{ departments { id code } }"))["departments"]}
    payload = (await api(SET, {"i": {"field": "UNIT_COST", "roles": [], "departmentIds": [departments["MARKETING"]],
                                     "owner": False}}))["setFieldAccess"]
    assert payload["userErrors"] == [] and payload["rule"] == {"field": "UNIT_COST", "roles": [], "owner": False,
                                                              "departments": [{"code": "MARKETING"}]}
    body = (await api.post(ORDER, {"n": order["number"]}, as_="marketing.member@example.com")).json()
    assert all(line["unitCost"] is not None for line in body["data"]["order"]["lines"])
    assert forbidden_paths(body["errors"]) == {"profitability"}  # that rule is unchanged
    finance = (await api.post(ORDER, {"n": order["number"]}, as_="finance.member@example.com")).json()
    assert forbidden_paths(finance["errors"]) == {"unitCost"}  # no longer FINANCE's
    order_id = (await api("query($n: String) { order(number: $n) { id } }", {"n": order["number"]}))["order"]["id"]
    for query in ("query($id: ID!) { node(id: $id) { ... on Order { lines { unitCost { amount } } } } }",
                  'query($r: [_Any!]!) { _entities(representations: $r) { ... on Order { lines { unitCost { amount } } } } }'):
        variables = {"id": order_id, "r": [{"__typename": "Order", "id": order_id}]}
        used = {k: v for k, v in variables.items() if f"${k}" in query}
        assert forbidden_paths((await api.post(query, used, as_="finance.member@example.com")).json()["errors"]) \
            == {"unitCost"}
    rules = {r["field"]: r for r in (await api(RULES))["fieldAccess"]}
    assert rules["UNIT_COST"]["departments"] == [{"code": "MARKETING"}]
    assert rules["RECEIVABLES"] == {"field": "RECEIVABLES", "roles": ["MANAGER", "ADMIN"], "owner": True,
                                    "departments": [{"code": "FINANCE"}]}


async def test_the_report_follows_its_rule(api: Api, restored: None) -> None:
    assert (await api(REPORT, as_="finance.key@example.com"))["profitability"] is not None
    [error] = await api.errors(REPORT, as_="marketing.key@example.com")  # a KEY_USER, but not FINANCE
    assert error["extensions"]["code"] == "FORBIDDEN"
    departments = {d["code"]: d["id"] for d in (await api("{ departments { id code } }"))["departments"]}
    await api(SET, {"i": {"field": "PROFITABILITY_REPORT", "roles": ["KEY_USER"], "departmentIds": [],
                          "owner": False}})
    assert (await api(REPORT, as_="marketing.key@example.com"))["profitability"] is not None
    assert departments  # (departments listed for the default above)


async def test_only_admins_see_or_set_the_rules(api: Api) -> None:
    for who in ("finance.manager@example.com", "sales.key@example.com"):
        [error] = await api.errors(RULES, as_=who)
        assert error["extensions"]["code"] == "FORBIDDEN"
        [error] = await api.errors(SET, {"i": {"field": "UNIT_COST", "roles": ["MEMBER"], "departmentIds": [],
                                               "owner": True}}, as_=who)
        assert error["extensions"]["code"] == "FORBIDDEN"
    wrong = (await api(SET, {"i": {"field": "UNIT_COST", "roles": [], "owner": True,
                                   "departmentIds": [(await an_order_id(api))]}}))["setFieldAccess"]
    assert wrong["rule"] is None and wrong["userErrors"][0]["field"] == ["input", "departmentIds"]


async def an_order_id(api: Api) -> str:
    return (await api("{ orders(first: 1) { edges { node { id } } } }"))["orders"]["edges"][0]["node"]["id"]

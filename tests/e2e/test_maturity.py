"""`maturity(from, to)`, first increment: the DEPARTMENTAL figures of each department, computed in SQL from what the
service records, checked figure by figure on a department built for it; who reads them; and the statement count,
the same with 1, 5 and 20 departments more and their records. (The collaborative and enterprise figures, the
levels, gaps and thresholds: tests/e2e/test_maturity_levels.py.)"""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update

from api.common.relay import parse_global_id
from infrastructure.db import tables as t
from tests.conftest import Api, statements, unique
from tests.e2e.conftest import new_department, staff_in

MATURITY = """query($from: DateTime!, $to: DateTime!) { maturity(from: $from, to: $to) { from to company companyGaps {
    message } departments { department { id code } level departmental { key label value unit threshold meets }
    collaborative { key } enterprise { key } gaps { message } trend { weekStart } } } }"""
CUSTOMER = "mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { customer { id } userErrors { code } } }"


def period(hours: float = 1) -> dict[str, str]:
    now = datetime.now(UTC)
    return {"from": (now - timedelta(hours=hours)).isoformat(), "to": (now + timedelta(hours=hours)).isoformat()}


async def figures_of(api: Api, department: str, variables: dict[str, str], as_: str = "admin@example.com"
                     ) -> dict[str, Any]:
    found = (await api(MATURITY, variables, as_=as_))["maturity"]["departments"]
    return {f["key"]: f["value"] for f in next(d for d in found if d["department"]["id"] == department)[
        "departmental"]}


async def staff_id(api: Api, email: str) -> str:
    return (await api("{ me { id } }", as_=email))["me"]["id"]


async def test_a_departments_figures_are_what_it_recorded(own: Api) -> None:
    department = await new_department(own)
    key_user = await staff_in(own, department, "KEY_USER")
    manager = await staff_in(own, department, "MANAGER")
    members = [await staff_in(own, department, "MEMBER") for _ in range(3)]
    gone = await staff_in(own, department, "MEMBER")
    await own("mutation($i: UpdateStaffInput!) { updateStaff(input: $i) { userErrors { code } } }",
              {"i": {"id": await staff_id(own, gone), "active": False}})
    await own("mutation($i: MarkTrainedInput!) { markTrained(input: $i) { userErrors { code } } }",
              {"i": {"staffId": await staff_id(own, members[0])}}, as_=key_user)

    name = unique("Twin Name")
    mail = f"{name.split()[-1].lower()}@twin.example"
    made = []
    for who, variables in ((members[0], {"name": name, "kind": "COMPANY", "code": unique("OWN").upper(),
                                         "contacts": [{"name": "A", "email": mail}]}),
                           (members[0], {"name": f" {name.upper()} ", "kind": "COMPANY"}),  # a likely duplicate
                           (members[1], {"name": unique("Other"), "kind": "PERSON",
                                         "contacts": [{"name": "B", "email": mail.upper()}]})):
        created = (await own(CUSTOMER, {"i": variables}, as_=who))["createCustomer"]
        assert created["userErrors"] == []
        made.append(created["customer"]["id"])
    async with own.container.core.engine().begin() as conn:  # an owner who left: the customer has none now
        await conn.execute(update(t.customers).where(t.customers.c.id == parse_global_id(made[2])[1])
                           .values(owner_id=None))
    logged = await own("""mutation($i: LogInteractionInput!) { logInteraction(input: $i) { userErrors { code } } }""",
                       {"i": {"customerId": made[0], "kind": "CALL", "summary": "Hello"}}, as_=members[1])
    assert logged["logInteraction"]["userErrors"] == []
    order = await own("mutation($o: CreateOrderInput!) { createOrder(input: $o) { order { id } userErrors { code } } }",
                      {"o": {"customerId": made[0], "currency": "EUR", "lines": [
                          {"sku": "M-1", "description": "M", "quantity": "1", "unitPrice": "1.00"}]}}, as_=members[0])
    assert order["createOrder"]["userErrors"] == []
    category = (await own("{ complaintCategories { id } }"))["complaintCategories"][0]["id"]
    filed = await own("""mutation($c: FileComplaintInput!) { fileComplaint(input: $c) { userErrors { code } } }""",
                      {"c": {"customerId": made[0], "categoryId": category, "priority": "LOW", "channel": "EMAIL",
                             "subject": "M", "description": "M"}}, as_=members[0])
    assert filed["fileComplaint"]["userErrors"] == []

    figures = await figures_of(own, department, period())
    assert figures == {
        "key_users": 1, "active_staff": 5, "trained_staff_share": 1 / 5,
        "active_staff_share": 3 / 5,  # the key user (markTrained) and two members wrote; the manager did not
        "records_created": 6, "records_created_customers": 3, "records_created_interactions": 1,
        "records_created_complaints": 1, "records_created_orders": 1,
        "customers": 3, "customers_without_owner": 1, "customers_without_primary_contact": 1,
        "customers_without_code": 2, "likely_duplicate_customers": 3,
    }
    earlier = {"from": "2020-01-01T00:00:00Z", "to": "2020-02-01T00:00:00Z"}
    before = await figures_of(own, department, earlier)
    assert (before["records_created"], before["active_staff_share"], before["trained_staff_share"],
            before["customers"]) == (0, 0, 0, 0)

    body = (await own(MATURITY, period(), as_=manager))["maturity"]
    assert [d["department"]["id"] for d in body["departments"]] == [department]
    only = body["departments"][0]
    assert body["company"] == only["level"] == "DEPARTMENTAL"
    assert body["companyGaps"] == only["gaps"]  # the company: its one department's
    assert len(only["trend"]) in (1, 2)  # the week of now (and the next, on a Sunday night)
    assert [g["message"].split(": ")[1].split(" ")[0] for g in only["gaps"]] == ["customers", "owners", "trained"]
    assert [f["key"] for f in only["collaborative"]][:2] == ["progress_entries", "timely_progress_share"]
    units = {f["key"]: f["unit"] for f in only["departmental"]}
    assert units["trained_staff_share"] == units["active_staff_share"] == "share" and units["key_users"] == "count"


async def test_only_admins_and_managers_read_it_and_the_period_must_be_one(own: Api) -> None:
    everyone = (await own(MATURITY, period()))["maturity"]["departments"]
    assert {"SALES", "MARKETING", "SERVICE", "FINANCE", "WAREHOUSE"} <= {d["department"]["code"] for d in everyone}
    mine = (await own(MATURITY, period(), as_="service.manager@example.com"))["maturity"]["departments"]
    assert [d["department"]["code"] for d in mine] == ["SERVICE"]
    for who in ("service.key@example.com", "sales.member@example.com"):
        assert [e["extensions"]["code"] for e in await own.errors(MATURITY, period(), as_=who)] == ["FORBIDDEN"]
    errors = await own.errors(MATURITY, {"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"})
    assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in errors] == [("INVALID", ["to"])]


async def test_the_statement_count_is_the_same_for_1_5_and_20_departments_more(own: Api) -> None:
    """(The departments stay: this module's database is its own.)"""
    made: list[uuid.UUID] = []
    counts = []
    for size in (1, 5, 20):
        while len(made) < size:
            department = await new_department(own)
            made.append(parse_global_id(department)[1])
            member = await staff_in(own, department, "MEMBER")
            await own(CUSTOMER, {"i": {"name": unique("Count"), "kind": "COMPANY",
                                       "contacts": [{"name": "C", "email": f"{unique()}@count.example"}]}},
                      as_=member)
        await own(MATURITY, period())
        with statements(own) as seen:
            assert len((await own(MATURITY, period()))["maturity"]["departments"]) >= 5 + size
        counts.append(len(seen))
    assert counts[0] == counts[1] == counts[2], counts
    assert counts[0] <= 11, counts  # the figures' seven statements and the request's own (sign-in, departments ...)

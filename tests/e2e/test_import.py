"""importCustomers over HTTP as a GraphQL multipart request (CSV and JSON), all or nothing."""
from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy import func, select

from infrastructure.db import tables as t
from tests.conftest import Api, unique

IMPORT = """mutation($input: ImportCustomersInput!) { importCustomers(input: $input) {
    created updated unchanged dryRun rowErrors { row field message } userErrors { field message code } } }"""
CUSTOMER = """query($code: String!) { customer(code: $code) {
    code name kind tier lifecycleStage version attributes tags owner { email }
    contacts { name email phone title primary } } }"""
HEADER = "code,name,kind,tier,lifecycleStage,ownerEmail,tags,attributes,contactName,contactEmail,contactPhone"


async def upload(api: Api, content: str | bytes, file_format: str = "CSV", *, dry_run: bool | None = None,
                 as_: str = "admin@example.com", filename: str | None = None) -> httpx.Response:
    """POST per the GraphQL multipart request spec: operations, map, then the file part."""
    variables: dict[str, Any] = {"input": {"file": None, "format": file_format}}
    if dry_run is not None:
        variables["input"]["dryRun"] = dry_run
    body = content.encode() if isinstance(content, str) else content
    name = filename or f"customers.{file_format.lower()}"
    return await api.client.post(
        "/graphql",
        data={"operations": json.dumps({"query": IMPORT, "variables": variables}),
              "map": json.dumps({"0": ["variables.input.file"]})},
        files={"0": (name, body, "text/csv" if file_format == "CSV" else "application/json")},
        headers={"Authorization": f"Bearer {await api.token_for(as_)}"},
    )


async def run_import(api: Api, content: str | bytes, file_format: str = "CSV", **kwargs: Any) -> dict[str, Any]:
    response = await upload(api, content, file_format, **kwargs)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]["importCustomers"]


async def customer(api: Api, code: str) -> dict[str, Any] | None:
    return (await api(CUSTOMER, {"code": code}))["customer"]


async def outbox_events(api: Api, code: str) -> int:
    async with api.container.core.engine().connect() as conn:
        customer_id = (await conn.execute(select(t.customers.c.id).where(t.customers.c.code == code))).scalar_one()
        return int((await conn.execute(
            select(func.count()).select_from(t.outbox).where(t.outbox.c.aggregate_id == customer_id))).scalar_one())


def codes(n: int) -> list[str]:
    prefix = unique("IMP").upper()
    return [f"{prefix}-{i}" for i in range(1, n + 1)]


async def test_a_csv_file_creates_customers_with_owner_tags_attributes_and_a_contact(api: Api) -> None:
    a, b = codes(2)
    csv = "\n".join([
        HEADER,
        f'{a.lower()},Alpha Mills,COMPANY,GOLD,PROSPECT,Sales.Key@example.com,vip; export,"{{""employees"": 40}}",'
        "Ann Alpha,ANN@alpha.example,+49 1",
        f"{b},Bea Beta,person,,,,,,,,",
    ]) + "\n"
    result = await run_import(api, csv)
    assert result == {"created": 2, "updated": 0, "unchanged": 0, "dryRun": False, "rowErrors": [],
                      "userErrors": []}
    alpha = await customer(api, a)
    assert alpha is not None
    assert alpha["name"] == "Alpha Mills" and alpha["kind"] == "COMPANY" and alpha["tier"] == "GOLD"
    assert alpha["lifecycleStage"] == "PROSPECT" and alpha["version"] == 1
    assert alpha["owner"] == {"email": "sales.key@example.com"}
    assert sorted(alpha["tags"]) == ["export", "vip"] and alpha["attributes"] == {"employees": 40}
    assert alpha["contacts"] == [{"name": "Ann Alpha", "email": "ann@alpha.example", "phone": "+49 1",
                                  "title": None, "primary": True}]
    beta = await customer(api, b)
    assert beta is not None and beta["kind"] == "PERSON" and beta["tier"] == "STANDARD" and beta["contacts"] == []
    assert await outbox_events(api, a) == 1


async def test_a_json_file_creates_customers_with_several_contacts(api: Api) -> None:
    a, b = codes(2)
    rows = [
        {"code": a, "name": "Gamma Foods", "kind": "COMPANY", "tier": "SILVER", "lifecycleStage": "LEAD",
         "ownerEmail": "sales.manager@example.com", "tags": ["retail"], "attributes": {"vat": "DE123", "rate": 1.5},
         "contacts": [{"name": "Gil", "email": "gil@gamma.example"},
                      {"name": "Hal", "email": "hal@gamma.example", "title": "CFO", "primary": True}]},
        {"code": b, "name": "Delta", "kind": "PERSON"},
    ]
    result = await run_import(api, json.dumps(rows), "JSON")
    assert (result["created"], result["rowErrors"], result["userErrors"]) == (2, [], [])
    gamma = await customer(api, a)
    assert gamma is not None and gamma["owner"] == {"email": "sales.manager@example.com"}
    assert gamma["attributes"] == {"vat": "DE123", "rate": 1.5} and gamma["tags"] == ["retail"]
    assert [(c["email"], c["title"], c["primary"]) for c in gamma["contacts"]] == [
        ("gil@gamma.example", None, False), ("hal@gamma.example", "CFO", True)]


async def test_updates_match_by_code_and_re_importing_the_same_file_changes_nothing(api: Api) -> None:
    a, b = codes(2)
    first = [
        {"code": a, "name": "Echo", "kind": "COMPANY", "tags": ["b-tag", "a-tag"],
         "contacts": [{"name": "Ida", "email": "ida@echo.example", "phone": "1"}, {"name": "No Mail"}]},
        {"code": b, "name": "Foxtrot", "kind": "COMPANY", "lifecycleStage": "LEAD"},
    ]
    assert (await run_import(api, json.dumps(first), "JSON"))["created"] == 2

    second = [
        {"code": a.lower(), "name": "Echo Ltd", "tier": "STRATEGIC", "tags": ["a-tag", "c-tag"],
         "ownerEmail": "sales.key@example.com",
         "contacts": [{"name": "Ida Ivers", "email": "IDA@echo.example", "title": "Buyer"},
                      {"name": "Jo", "email": "jo@echo.example", "primary": True}]},
        {"code": b, "lifecycleStage": "PROSPECT"},
    ]
    result = await run_import(api, json.dumps(second), "JSON")
    assert (result["created"], result["updated"], result["unchanged"], result["userErrors"]) == (0, 2, 0, [])
    echo = await customer(api, a)
    assert echo is not None
    assert (echo["name"], echo["tier"], echo["version"], echo["owner"]) == (
        "Echo Ltd", "STRATEGIC", 2, {"email": "sales.key@example.com"})
    assert sorted(echo["tags"]) == ["a-tag", "c-tag"]
    # Ida updated in place (her phone kept), the contact without e-mail kept, Jo added and made primary.
    assert [(c["name"], c["email"], c["phone"], c["title"], c["primary"]) for c in echo["contacts"]] == [
        ("Ida Ivers", "ida@echo.example", "1", "Buyer", False), ("No Mail", None, None, None, False),
        ("Jo", "jo@echo.example", None, None, True)]
    foxtrot = await customer(api, b)
    assert foxtrot is not None and foxtrot["lifecycleStage"] == "PROSPECT" and foxtrot["name"] == "Foxtrot"
    events = await outbox_events(api, a)

    again = await run_import(api, json.dumps(second), "JSON")
    assert (again["created"], again["updated"], again["unchanged"], again["userErrors"]) == (0, 0, 2, [])
    assert (await customer(api, a))["version"] == 2  # type: ignore[index]
    assert await outbox_events(api, a) == events


async def test_re_importing_a_csv_file_reports_every_row_unchanged(api: Api) -> None:
    a, b = codes(2)
    csv = (f"{HEADER}\n{a},Golf,COMPANY,,,sales.member@example.com,zulu;alpha,\"{{\"\"k\"\": [1, 2]}}\",Kim,,+1\n"
           f"{b},Hotel,PERSON,SILVER,ACTIVE,,,,,,\n")
    assert (await run_import(api, csv))["created"] == 2
    again = await run_import(api, csv)
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)
    assert (await customer(api, a))["version"] == 1  # type: ignore[index]


async def test_a_dry_run_reports_what_would_happen_and_writes_nothing(api: Api) -> None:
    a, b = codes(2)
    await run_import(api, f"code,name,kind\n{a},India,COMPANY\n")
    csv = f"code,name,kind,tier\n{a},India Renamed,,GOLD\n{b},Juliet,PERSON,\n"
    result = await run_import(api, csv, dry_run=True)
    assert result == {"created": 1, "updated": 1, "unchanged": 0, "dryRun": True, "rowErrors": [], "userErrors": []}
    assert await customer(api, b) is None
    india = await customer(api, a)
    assert india is not None and (india["name"], india["tier"], india["version"]) == ("India", "STANDARD", 1)


async def test_bad_rows_are_reported_by_row_and_field_and_nothing_is_written(api: Api) -> None:
    good, bad_tier, bad_owner, bad_stage, no_kind, bad_attributes, bad_mail = codes(7)
    await run_import(api, f"code,name,kind,lifecycleStage\n{bad_stage},Kilo,COMPANY,LEAD\n")
    csv = "\n".join([
        "code,name,kind,tier,lifecycleStage,ownerEmail,attributes,contactName,contactEmail",
        f"{good},Lima,COMPANY,,,,,,",
        f"{bad_tier},Mike,COMPANY,PLATINUM,,,,,",
        f"{bad_owner},November,COMPANY,,,nobody@example.com,,,",
        f"{bad_stage},,,,LOYAL,,,,",
        ",Oscar,COMPANY,,,,,,",
        f"{no_kind},Papa,,,,,,,",
        f"{bad_attributes},Quebec,COMPANY,,,,[1],,",
        f"{bad_mail},Quebec,COMPANY,,,,,Rita,not-an-email",
        f"bad code!,Romeo,COMPANY,,,,,,",
    ]) + "\n"
    result = await run_import(api, csv)
    assert (result["created"], result["updated"], result["unchanged"]) == (1, 0, 0)
    assert [(e["row"], e["field"]) for e in result["rowErrors"]] == [
        (2, "tier"), (3, "ownerEmail"), (4, "lifecycleStage"), (5, "code"), (6, "kind"), (7, "attributes"),
        (8, "contacts.0.email"), (9, "code")]
    assert "PLATINUM" not in result["rowErrors"][0]["message"] and "GOLD" in result["rowErrors"][0]["message"]
    assert "LEAD to LOYAL" in result["rowErrors"][2]["message"]
    assert result["userErrors"] == [{"field": ["input", "file"], "code": "INVALID",
                                     "message": "8 rows have errors, so nothing was imported: an import is all "
                                                "or nothing. Fix them and import the file again."}]
    assert await customer(api, good) is None
    assert (await customer(api, bad_stage))["lifecycleStage"] == "LEAD"  # type: ignore[index]


async def test_a_contact_error_names_the_contact_field(api: Api) -> None:
    (a,) = codes(1)
    rows = [{"code": a, "name": "Sierra", "kind": "COMPANY", "contacts": [{"name": "Ok"}, {"name": "X", "email": "x"}]}]
    result = await run_import(api, json.dumps(rows), "JSON")
    assert result["rowErrors"] == [{"row": 1, "field": "contacts.1.email", "message": "'x' is not an e-mail address."}]


async def test_a_code_twice_in_one_file_is_an_error_on_the_later_row(api: Api) -> None:
    a, b = codes(2)
    rows = [{"code": a, "name": "Tango", "kind": "COMPANY"}, {"code": b, "name": "Uniform", "kind": "COMPANY"},
            {"code": a.lower(), "name": "Tango again", "kind": "COMPANY"}]
    result = await run_import(api, json.dumps(rows), "JSON")
    assert result["rowErrors"] == [{"row": 3, "field": "code", "message": f"Code {a} already appeared on row 1."}]
    assert result["created"] == 2 and len(result["userErrors"]) == 1
    assert await customer(api, a) is None


async def test_unreadable_files_are_a_user_error_on_the_file(api: Api) -> None:
    cases = [
        ("CSV", b"name,kind\nX,COMPANY\n", "code"),
        ("CSV", b"", "empty"),
        ("CSV", b"code,name,colour\nA,B,red\n", "colour"),
        ("CSV", b"code,name\n\xff\xfe,x\n", "UTF-8"),
        ("JSON", b'{"code": "A"}', "array"),
        ("JSON", b'[{"code": "A", "name": "B", "kind": "COMPANY"}, {"code": ', "not valid JSON after row 1"),
        ("JSON", b"not json", "not valid JSON"),
        ("JSON", b"[" + b"[" * 100_000 + b"]" * 100_000 + b"]", "levels deep"),
    ]
    for file_format, content, hint in cases:
        result = await run_import(api, content, file_format)
        assert result["created"] == 0 and result["rowErrors"] == [], content
        [error] = result["userErrors"]
        assert (error["field"], error["code"]) == (["input", "file"], "INVALID"), content
        assert hint in error["message"], (content, error["message"])


async def test_a_file_sent_as_a_plain_variable_is_a_user_error(api: Api) -> None:
    data = await api(IMPORT, {"input": {"file": "code,name\nA,B\n", "format": "CSV"}})
    assert data["importCustomers"]["userErrors"] == [
        {"field": ["input", "file"], "message": "Send the file as a multipart upload.", "code": "INVALID"}]
    errors = await api.errors(IMPORT, {"input": {"file": "x", "format": "CSV"}}, as_="sales.member@example.com")
    assert [e["extensions"]["code"] for e in errors] == ["FORBIDDEN"]


async def test_a_file_that_breaks_after_written_batches_writes_nothing(api: Api) -> None:
    batch = api.container.core.settings().import_batch_size
    many = codes(batch + 100)
    rows = json.dumps([{"code": c, "name": "Victor", "kind": "COMPANY"} for c in many]).encode()
    result = await run_import(api, rows[:-1] + b", oops]", "JSON")
    [error] = result["userErrors"]
    assert error["field"] == ["input", "file"] and f"after row {len(many)}" in error["message"]
    assert await customer(api, many[0]) is None and await customer(api, many[-1]) is None


async def test_at_most_1000_row_errors_are_listed(api: Api) -> None:
    many = codes(1005)
    result = await run_import(api, "code,name\n" + "".join(f"{c},No Kind\n" for c in many))
    assert len(result["rowErrors"]) == 1000 and result["rowErrors"][-1]["row"] == 1000
    assert result["userErrors"][0]["message"] == (
        "1005 rows have errors, so nothing was imported: an import is all or nothing. Fix them and import the file "
        "again. Only the first 1000 are listed.")


async def test_unknown_fields_and_wrong_types_in_json_are_row_errors(api: Api) -> None:
    a, b, c = codes(3)
    rows = [{"code": a, "name": "W", "kind": "COMPANY", "colour": "red"}, {"code": b, "name": 5},
            {"code": c, "name": "W", "kind": "COMPANY", "tags": "vip"}, "just text"]
    result = await run_import(api, json.dumps(rows), "JSON")
    assert [(e["row"], e["field"]) for e in result["rowErrors"]] == [(1, "colour"), (2, "name"), (3, "tags"),
                                                                     (4, None)]


async def test_members_may_not_import(api: Api) -> None:
    (a,) = codes(1)
    response = await upload(api, f"code,name,kind\n{a},Xray,COMPANY\n", as_="sales.member@example.com")
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    assert await customer(api, a) is None


async def test_key_users_and_managers_may_import(api: Api) -> None:
    a, b = codes(2)
    for email, code in (("finance.key@example.com", a), ("service.manager@example.com", b)):
        result = await run_import(api, f"code,name,kind\n{code},Yankee,COMPANY\n", as_=email)
        assert result["created"] == 1, result


async def test_an_inactive_owner_is_a_row_error(api: Api) -> None:
    (a,) = codes(1)
    email = f"{unique('gone')}@example.com"
    departments = (await api("{ departments { id code } }"))["departments"]
    sales = next(d["id"] for d in departments if d["code"] == "SALES")
    created = await api("""mutation($input: CreateStaffInput!) { createStaff(input: $input) { staff { id } } }""",
                        {"input": {"name": "Gone", "email": email, "departmentId": sales, "role": "MEMBER"}})
    await api("""mutation($input: UpdateStaffInput!) { updateStaff(input: $input) { staff { active } } }""",
              {"input": {"id": created["createStaff"]["staff"]["id"], "active": False}})
    result = await run_import(api, f"code,name,kind,ownerEmail\n{a},Zulu,COMPANY,{email}\n")
    assert [(e["row"], e["field"]) for e in result["rowErrors"]] == [(1, "ownerEmail")]

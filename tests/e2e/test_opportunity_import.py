"""`crm import opportunities FILE`: the use case on both databases (upsert by number, idempotent, all or nothing,
row errors with field and row, a won row's order, streamed in batches), and the command on SQLite."""
from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from api.common.relay import parse_global_id, to_global_id
from application.opportunity_imports import ImportOpportunities, import_opportunities
from application.organisation import find_active_staff_by_email
from tests.conftest import Api, unique
from tests.e2e.test_campaigns import campaign

CREATE_CUSTOMER = """mutation($input: CreateCustomerInput!) {
  createCustomer(input: $input) { customer { id code } userErrors { code } } }"""
GET = """query($n: String) { opportunity(number: $n) { name probability version amount { amount currency }
  stage { name } owner { email } lostReason expectedCloseDate order { status total { amount } } } }"""


def numbers() -> list[str]:
    base = int(unique("")[2:], 16) % 10**9 + 10**9  # ten digits: above anything the sequence draws in a test run
    return [f"OPP-{base + i}" for i in range(3)]


async def run(api: Api, rows: list[dict], as_: str = "sales.key@example.com", dry_run: bool = False,
              batch_size: int = 2):
    actor = await find_active_staff_by_email(api.container.services.uow(), as_)
    assert actor is not None
    return await import_opportunities(api.container.services.uow(), api.container.gateways.clock(), actor,
                                      ImportOpportunities(rows=list(enumerate(rows, start=1)), dry_run=dry_run,
                                                          batch_size=batch_size))


async def customer_code(api: Api) -> str:
    data = await api(CREATE_CUSTOMER, {"input": {"name": unique("Imported"), "kind": "COMPANY"}})
    return data["createCustomer"]["customer"]["code"]


async def test_import_creates_updates_by_number_and_again_changes_nothing(api: Api) -> None:
    code = await customer_code(api)
    a, b, c = numbers()
    rows = [
        {"number": a, "customerCode": code, "name": "Imported A", "amount": "1500.50", "currency": "EUR",
         "expectedCloseDate": "2027-03-31", "ownerEmail": "sales.member@example.com"},
        {"number": b, "customerCode": code, "name": "Imported B", "amount": "300", "currency": "USD",
         "stage": "Negotiation", "probability": "65"},
        {"number": c, "customerCode": code, "name": "Imported C", "amount": "99", "currency": "EUR", "stage": "Won"},
    ]
    report = await run(api, rows)
    assert (report.created, report.updated, report.unchanged, report.error_count) == (3, 0, 0, 0), report
    first = (await api(GET, {"n": a}))["opportunity"]
    assert (first["name"], first["stage"]["name"], first["probability"], first["owner"]["email"],
            first["expectedCloseDate"]) == ("Imported A", "Qualification", 10, "sales.member@example.com", "2027-03-31")
    second = (await api(GET, {"n": b}))["opportunity"]
    assert (second["stage"]["name"], second["probability"], second["amount"]) == (
        "Negotiation", 65, {"amount": "300.00", "currency": "USD"})
    won = (await api(GET, {"n": c}))["opportunity"]
    assert (won["stage"]["name"], won["order"]) == ("Won", {"status": "DRAFT", "total": {"amount": "99.00"}})
    again = await run(api, rows)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3), again
    assert (await api(GET, {"n": a}))["opportunity"]["version"] == 1
    moved = await run(api, [{"number": a, "stage": "Lost", "lostReason": "Chose another vendor"},
                            {"number": b, "name": "Renamed B"}])
    assert (moved.created, moved.updated) == (0, 2)
    lost = (await api(GET, {"n": a}))["opportunity"]
    assert (lost["stage"]["name"], lost["lostReason"], lost["version"]) == ("Lost", "Chose another vendor", 2)
    # numbers drawn later pass the imported ones
    drawn = (await api("""mutation($i: CreateOpportunityInput!) { createOpportunity(input: $i) {
        opportunity { number } } }""", {"i": {"customerId": (await api('query($c: String) { customer(code: $c) { id } }',
                                                                         {"c": code}))["customer"]["id"],
                                              "name": "Drawn", "amount": {"amount": "1", "currency": "EUR"}}},
                     as_="sales.member@example.com"))["createOpportunity"]["opportunity"]["number"]
    assert int(drawn[4:]) > int(c[4:])


async def test_bad_rows_are_reported_with_row_and_field_and_nothing_is_written(api: Api) -> None:
    code = await customer_code(api)
    a, b, c = numbers()
    rows = [
        {"number": a, "customerCode": code, "name": "Fine", "amount": "10", "currency": "EUR"},
        {"number": b, "customerCode": code, "name": "No money", "currency": "EUR"},
        {"number": "SO-1", "customerCode": code, "name": "x", "amount": "1", "currency": "EUR"},
        {"number": c, "customerCode": "NOPE-404", "name": "x", "amount": "1", "currency": "EUR"},
        {"customerCode": code, "name": "x", "amount": "-5", "currency": "EUR"},
        {"customerCode": code, "name": "x", "amount": "5", "currency": "EUR", "stage": "Lost"},
        {"customerCode": code, "name": "x", "amount": "5", "currency": "EUR", "stage": "Nowhere"},
        {"customerCode": code, "name": "x", "amount": "5", "currency": "EUR", "probability": "half"},
        {"customerCode": code, "name": "x", "amount": "5", "currency": "EUR", "expectedCloseDate": "31/12/2027"},
        {"customerCode": code, "name": "x", "amount": "5", "currency": "EUR", "colour": "red"},
        {"number": a, "name": "twice"},
        "not an object",
    ]
    report = await run(api, rows)
    assert report.created == 0 or not report.written
    assert [(e.row, e.field) for e in report.row_errors] == [
        (2, "amount"), (3, "number"), (4, "customerCode"), (5, "amount"), (6, "lostReason"), (7, "stage"),
        (8, "probability"), (9, "expectedCloseDate"), (10, "colour"), (11, "number"), (12, None)]
    assert report.problem and "nothing was imported" in report.problem
    assert (await api(GET, {"n": a}))["opportunity"] is None
    dry = await run(api, rows[:1], dry_run=True)
    assert (dry.created, dry.written) == (1, False) and (await api(GET, {"n": a}))["opportunity"] is None


async def test_a_row_names_the_campaign_that_sourced_a_new_deal(api: Api) -> None:
    source = await campaign(api)
    _, raw = parse_global_id(source["id"])
    code = await customer_code(api)
    a, b, c = numbers()
    deal = {"customerCode": code, "name": "Sourced", "amount": "10", "currency": "EUR"}
    report = await run(api, [{"number": a, **deal, "campaignId": str(raw)}])
    assert (report.created, report.error_count) == (1, 0), report
    found = await api("query($n: String) { opportunity(number: $n) { campaign { id } } }", {"n": a})
    assert found["opportunity"]["campaign"] == {"id": source["id"]}
    refused = await run(api, [{"number": b, **deal, "campaignId": str(uuid.uuid4())},
                              {"number": c, **deal, "campaignId": "spring"},
                              {"number": a, "campaignId": str(uuid.uuid4())}])
    assert [(e.row, e.field) for e in refused.row_errors] == [(1, "campaignId"), (2, "campaignId"), (3, "campaignId")]
    assert (await api(GET, {"n": b}))["opportunity"] is None


async def test_only_sales_staff_and_admins_import(api: Api) -> None:
    from domain.shared import NotAuthorized
    with pytest.raises(NotAuthorized):
        await run(api, [], as_="service.manager@example.com")
    report = await run(api, [], as_="sales.member@example.com")
    assert report.rows == 0 and report.written


# ------------------------------------------------------------------------------------------------ the command

@pytest.fixture(scope="module")
def crm_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    folder = tmp_path_factory.mktemp("crm-opportunities")
    env = {"CRM_DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'crm.db'}", "CRM_ENV": "test"}
    for command in ("migrate", "seed-demo"):
        result = CliRunner().invoke(app, [command], env=env)
        assert result.exit_code == 0, result.output
    yield folder, env


def test_the_command_imports_csv_and_json_with_a_dry_run_and_row_errors(
        crm_folder: tuple[Path, dict[str, str]]) -> None:
    folder, env = crm_folder
    csv_file = folder / "deals.csv"
    csv_file.write_text("number,customerCode,name,amount,currency,stage\n"
                        "OPP-900001,DEMO-0001,CLI deal,250.00,EUR,Proposal\n")
    dry = CliRunner().invoke(app, ["import", "opportunities", str(csv_file), "--dry-run", "--as",
                                   "sales.member@example.com"], env=env)
    assert dry.exit_code == 0 and "dry run" in dry.output, dry.output
    done = CliRunner().invoke(app, ["import", "opportunities", str(csv_file), "--as", "sales.member@example.com"],
                              env=env)
    assert done.exit_code == 0 and "1 created" in done.output, done.output
    with sqlite3.connect(folder / "crm.db") as db:
        assert db.execute("SELECT name FROM opportunities WHERE number = 'OPP-900001'").fetchone() == ("CLI deal",)
    json_file = folder / "deals.json"
    json_file.write_text(json.dumps([{"number": "OPP-900001", "name": "CLI deal, renamed"},
                                     {"number": "OPP-900002", "customerCode": "DEMO-0001", "name": "y"}]))
    with sqlite3.connect(folder / "crm.db") as db:
        (demo_campaign,) = db.execute("SELECT id FROM campaigns ORDER BY name LIMIT 1").fetchone()
    sourced = folder / "sourced.json"  # the campaign by the ID the API hands out
    sourced.write_text(json.dumps([{"number": "OPP-900003", "customerCode": "DEMO-0001", "name": "Sourced",
                                    "amount": "5", "currency": "EUR",
                                    "campaignId": to_global_id("Campaign", uuid.UUID(str(demo_campaign)))}]))
    done = CliRunner().invoke(app, ["import", "opportunities", str(sourced), "--as", "sales.member@example.com"],
                              env=env)
    assert done.exit_code == 0 and "1 created" in done.output, done.output
    with sqlite3.connect(folder / "crm.db") as db:
        assert db.execute("SELECT campaign_id FROM opportunities WHERE number = 'OPP-900003'").fetchone() == (
            demo_campaign,)
    bad = CliRunner().invoke(app, ["import", "opportunities", str(json_file)], env=env)
    assert bad.exit_code == 1 and "row 2 amount" in bad.output, bad.output
    refused = CliRunner().invoke(app, ["import", "opportunities", str(csv_file), "--as", "service.member@example.com"],
                                 env=env)
    assert refused.exit_code == 1 and "sales staff" in refused.output, refused.output

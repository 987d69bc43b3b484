"""Importing a campaign's members: on both databases through the use case the CLI runs (streamed CSV and JSON,
upsert by (campaign, customer), row errors with field and row, all or nothing, dry run, idempotent), and
`crm import campaign-members CAMPAIGN FILE` itself on a fresh SQLite database."""
from __future__ import annotations

import io
import json
import sqlite3
import uuid
from typing import Any

import pytest

from api.common.relay import parse_global_id, to_global_id
from application.campaign_imports import ImportCampaignMembers, import_campaign_members
from application.imports import ImportReport
from infrastructure.importing import CAMPAIGN_MEMBERS, FileFormat, read_rows
from tests.conftest import Api, unique
from tests.e2e.test_campaigns import MARKETER, MEMBERS, campaign, customers, respond
from tests.e2e.test_import_cli import Crm
from tests.e2e.test_import_cli import crm as cli  # noqa: F401 (the fixture: a migrated, seeded SQLite)

Q = """query($id: ID!) { campaign(id: $id) { funnel { status count } } }"""


async def run(api: Api, campaign_id: str, text: str, *, file_format: FileFormat = FileFormat.CSV,
              dry_run: bool = False, as_: str = MARKETER, batch_size: int = 2) -> ImportReport:
    from application.organisation import find_active_staff_by_email

    services = api.container.services
    actor = await find_active_staff_by_email(services.uow(), as_)
    assert actor is not None
    rows = read_rows(io.BytesIO(text.encode()), file_format, CAMPAIGN_MEMBERS)
    return await import_campaign_members(services.uow(), api.container.gateways.clock(), actor, ImportCampaignMembers(
        campaign_id=parse_global_id(campaign_id)[1], rows=rows, dry_run=dry_run, batch_size=batch_size))


async def funnel(api: Api, campaign_id: str) -> dict[str, int]:
    return {s["status"]: s["count"] for s in (await api(Q, {"id": campaign_id}))["campaign"]["funnel"]}


def raw(global_id: str) -> str:
    return str(parse_global_id(global_id)[1])


async def test_an_import_adds_and_updates_members_by_customer_and_again_changes_nothing(api: Api) -> None:
    tag = unique("imp").lower()
    a, b, c = await customers(api, tag, [{}, {}, {}])
    target = await campaign(api)
    codes = {x["id"]: x["code"] for x in (a, b, c)}
    text = ("customerCode,customerId,contactEmail,status\n"
            f"{codes[a['id']]},,pat0@{tag}.example,\n"
            f",{raw(b['id'])},,RESPONDED\n"
            f"{codes[c['id']]},{raw(c['id'])},,sent\n")
    report = await run(api, target["id"], text)
    assert (report.rows, report.created, report.updated, report.unchanged, report.error_count) == (3, 3, 0, 0, 0), \
        report.row_errors
    assert await funnel(api, target["id"]) == {"TARGETED": 1, "SENT": 1, "RESPONDED": 1, "CONVERTED": 0,
                                               "OPTED_OUT": 0}
    page = (await api(MEMBERS, {"id": target["id"], "first": 10}))["campaign"]["members"]["edges"]
    by_customer = {e["node"]["customer"]["id"]: e["node"] for e in page}
    assert by_customer[a["id"]]["contact"] == {"email": f"pat0@{tag}.example"}
    assert by_customer[b["id"]]["respondedAt"] is not None

    again = await run(api, target["id"], text)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    moved = await run(api, target["id"], json.dumps([{"customerCode": codes[a["id"]], "status": "CONVERTED"}]),
                      file_format=FileFormat.JSON)
    assert (moved.created, moved.updated) == (0, 1)
    assert (await funnel(api, target["id"]))["CONVERTED"] == 1
    data = await api("query($id: ID) { customer(id: $id) { activity(first: 5) { edges { node { kind summary } } } } }",
                     {"id": a["id"]})
    assert any(e["node"]["kind"] == "CAMPAIGN" and "TARGETED → CONVERTED" in e["node"]["summary"]
               for e in data["customer"]["activity"]["edges"])


async def test_bad_rows_are_reported_with_field_and_row_and_nothing_is_written(api: Api) -> None:
    tag = unique("badimp").lower()
    a, b, opted = await customers(api, tag, [{}, {}, {}])
    other = await campaign(api)
    await api("""mutation($i: AddCampaignMembersInput!) { addCampaignMembers(input: $i) { added } }""",
              {"i": {"campaignId": other["id"], "customerIds": [opted["id"]]}}, as_=MARKETER)
    assert (await respond(api, other["id"], opted["id"], "OPTED_OUT"))["userErrors"] == []
    target = await campaign(api)
    await run(api, target["id"], f"customerCode,status\n{b['code']},RESPONDED\n")
    text = ("customerCode,customerId,contactEmail,status\n"
            f"{a['code']},,,\n"  # fine
            "NO-SUCH-CODE,,,\n"
            ",not-an-id,,\n"
            f"{a['code']},,,\n"  # the same customer again
            f"{b['code']},,,SENT\n"  # backwards
            f"{opted['code']},,,\n"  # opted out elsewhere
            f"{opted['code'].lower()}x,,,\n"
            ",,,\n"  # blank: skipped, still counted
            f"{tag}-nobody,,,WHENEVER\n")
    report = await run(api, target["id"], text)
    errors = [(e.row, e.field) for e in report.row_errors]
    assert errors == [(2, "customerCode"), (3, "customerId"), (4, "customerCode"), (5, "status"),
                      (6, "customerCode"), (7, "customerCode"), (9, "status")], report.row_errors
    assert report.created == 1 and report.error_count == 7 and not report.written
    assert await funnel(api, target["id"]) == {"TARGETED": 0, "SENT": 0, "RESPONDED": 1, "CONVERTED": 0,
                                               "OPTED_OUT": 0}  # all or nothing
    # recording that very opt-out is allowed
    fine = await run(api, target["id"], f"customerCode,status\n{opted['code']},OPTED_OUT\n{a['code']},\n")
    assert fine.error_count == 0 and fine.created == 2
    missing_contact = await run(api, target["id"], f"customerCode,contactEmail\n{a['code']},nobody@x.example\n")
    assert [(e.row, e.field) for e in missing_contact.row_errors] == [(1, "contactEmail")]


async def test_a_dry_run_reports_and_writes_nothing_and_only_runners_import(api: Api) -> None:
    from domain.shared import NotAuthorized

    (a,) = await customers(api, unique("dry").lower(), [{}])
    target = await campaign(api)
    report = await run(api, target["id"], f"customerCode\n{a['code']}\n", dry_run=True)
    assert report.created == 1 and not report.written
    assert (await funnel(api, target["id"]))["TARGETED"] == 0
    with pytest.raises(NotAuthorized):
        await run(api, target["id"], f"customerCode\n{a['code']}\n", as_="sales.manager@example.com")
    assert (await run(api, target["id"], f"customerCode\n{a['code']}\n",
                      as_="marketing.key@example.com")).created == 1


# ------------------------------------------------------------------------------------------ the command itself

def _query(cli: Crm, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(cli.folder / "crm.db") as db:
        return db.execute(sql, args).fetchall()


def test_the_command_imports_a_campaigns_members(cli: Crm) -> None:
    (campaign_id,) = _query(cli, "SELECT id FROM campaigns ORDER BY created_at LIMIT 1")[0]
    gid = to_global_id("Campaign", uuid.UUID(str(campaign_id)))  # the demo's first campaign
    codes = [row[0] for row in _query(cli, "SELECT code FROM customers WHERE code LIKE 'DEMO-%' ORDER BY code")]
    path = cli.file("members.csv", f"customerCode,status\n{codes[-1]},SENT\n{codes[-2]},\n")
    dry = cli("import", "campaign-members", gid, path, "--dry-run", "--as", "marketing.manager@example.com")
    assert dry.exit_code == 0, dry.output
    assert "dry run: nothing was written" in dry.stdout
    result = cli("import", "campaign-members", gid, path, "--as", "marketing.manager@example.com")
    assert result.exit_code == 0, result.output
    assert "2 rows read:" in result.stdout
    bad = cli("import", "campaign-members", gid, cli.file("bad.csv", "customerCode,status\nNOPE,\n"))
    assert bad.exit_code == 1 and "row 1 customerCode" in bad.stderr
    refused = cli("import", "campaign-members", gid, path, "--as", "sales.member@example.com")
    assert refused.exit_code == 1 and "campaign" in refused.stderr
    assert cli("import", "campaign-members", "nonsense", path).exit_code == 2

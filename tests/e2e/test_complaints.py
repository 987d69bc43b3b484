"""Complaints over GraphQL: configuration and its permissions, filing, the status machine, progress,
assignment, rating, who sees what, SLA clocks over time (fake clock) with escalation, the complaints
filter (slaAtRisk included), Customer.complaints and Customer.activity, and the SLA report.

Clock tests use a Berlin office calendar (08:00-12:00 and 13:00-17:00, Monday to Friday) and each
uses its own fake week, so the SLA worker never touches another test's complaints.
"""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from dependency_injector import providers
from sqlalchemy import select

from api.common.relay import parse_global_id, to_global_id
from application.sla_worker import run_sla_worker
from infrastructure.db import tables as t
from tests.application.fakes import FakeClock
from tests.conftest import Api, unique
from tests.e2e.queries import CREATE_CUSTOMER

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE_HOURS = [{"weekday": d, "start": s, "end": e} for d in range(1, 6) for s, e in (("08:00", "12:00"),
                                                                                         ("13:00", "17:00"))]
ERRORS = "userErrors { field message code }"
TARGET = "state dueAt metAt remainingMinutes"
COMPLAINT = f"""
  id number status priority channel subject description resolution satisfaction version createdAt
  customer {{ code }} category {{ code parent {{ code }} }} department {{ code }} assignee {{ email }} filedBy {{ email }}
  sla {{ policy {{ name }} escalationLevel firstResponse {{ {TARGET} }} resolution {{ {TARGET} }}
        nextUpdate {{ {TARGET} }} }}
  timeline(first: 50) {{ totalCount edges {{ node {{ id kind message visibility fromStatus toStatus at
    author {{ email }} department {{ code }} }} }} }}
"""
FILE = f"mutation($input: FileComplaintInput!) {{ fileComplaint(input: $input) {{ complaint {{ {COMPLAINT} }} {ERRORS} }} }}"
TRANSITION = (f"mutation($input: TransitionComplaintInput!) {{ transitionComplaint(input: $input) "
              f"{{ complaint {{ {COMPLAINT} }} {ERRORS} }} }}")
PROGRESS = (f"mutation($input: RecordProgressInput!) {{ recordProgress(input: $input) "
            f"{{ complaint {{ {COMPLAINT} }} {ERRORS} }} }}")
ASSIGN = (f"mutation($input: AssignComplaintInput!) {{ assignComplaint(input: $input) "
          f"{{ complaint {{ {COMPLAINT} }} {ERRORS} }} }}")
RATE = (f"mutation($input: RateResolutionInput!) {{ rateResolution(input: $input) "
        f"{{ complaint {{ {COMPLAINT} }} {ERRORS} }} }}")
GET = f"query($id: ID, $number: String) {{ complaint(id: $id, number: $number) {{ {COMPLAINT} }} }}"
LIST = """query($filter: ComplaintFilter, $first: Int, $after: String) {
  complaints(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id number status } } } }"""
DEFINE_CALENDAR = ("mutation($input: DefineCalendarInput!) { defineCalendar(input: $input) { calendar { id name "
                   f"timezone workingHours {{ weekday start end }} holidays }} {ERRORS} }} }}")
DEFINE_CATEGORY = ("mutation($input: DefineCategoryInput!) { defineCategory(input: $input) { category { id code name "
                   f"active parent {{ code }} }} {ERRORS} }} }}")
DEFINE_POLICY = ("mutation($input: DefineSlaPolicyInput!) { defineSlaPolicy(input: $input) { policy { id name "
                 "priority customerTier firstResponseMinutes resolutionMinutes updateIntervalMinutes warnAt active "
                 f"category {{ code }} calendar {{ name }} escalateTo {{ email }} }} {ERRORS} }} }}")


def berlin(day: int, hour: int, minute: int = 0, month: int = 3, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


def iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat()


def parsed(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


async def staff_id(api: Api, email: str) -> str:
    return (await api("{ me { id } }", as_=email))["me"]["id"]


async def department_id(api: Api, code: str) -> str:
    departments = (await api("{ departments { id code } }"))["departments"]
    return next(d["id"] for d in departments if d["code"] == code)


async def new_customer(api: Api, owner: str = "sales.key@example.com", tier: str = "GOLD") -> dict:
    data = await api(CREATE_CUSTOMER, {"input": {"name": unique("Complainer"), "kind": "COMPANY", "tier": tier,
                                                  "ownerId": await staff_id(api, owner)}})
    return data["createCustomer"]["customer"]


async def setup_sla(api: Api, *, first: int = 60, resolution: int = 480, interval: int | None = 240,
                    warn_at: float = 0.5, escalate_to: str | None = "service.manager@example.com") -> dict:
    """A calendar, a category with a child, and a policy for the category (specific enough to win)."""
    as_ = "service.key@example.com"
    calendar = (await api(DEFINE_CALENDAR, {"input": {"name": unique("Office"), "timezone": "Europe/Berlin",
                                                       "workingHours": OFFICE_HOURS}}, as_=as_))["defineCalendar"]
    category = (await api(DEFINE_CATEGORY, {"input": {"code": unique("cat"), "name": "Delivery"}},
                          as_=as_))["defineCategory"]
    child = (await api(DEFINE_CATEGORY, {"input": {"code": unique("sub"), "name": "Late",
                                                    "parentId": category["category"]["id"]}}, as_=as_))["defineCategory"]
    policy_input = {"name": unique("Policy"), "categoryId": category["category"]["id"],
                    "calendarId": calendar["calendar"]["id"], "firstResponseMinutes": first,
                    "resolutionMinutes": resolution, "updateIntervalMinutes": interval, "warnAt": warn_at}
    if escalate_to:
        policy_input["escalateToId"] = await staff_id(api, escalate_to)
    policy = (await api(DEFINE_POLICY, {"input": policy_input}, as_=as_))["defineSlaPolicy"]
    assert calendar["userErrors"] == category["userErrors"] == child["userErrors"] == policy["userErrors"] == []
    return {"calendar": calendar["calendar"], "category": category["category"], "child": child["category"],
            "policy": policy["policy"], "policy_input": policy_input}


async def file(api: Api, customer: dict, category: dict, as_: str = "sales.member@example.com",
               **fields: Any) -> dict:
    data = await api(FILE, {"input": {"customerId": customer["id"], "categoryId": category["id"], "priority": "HIGH",
                                      "channel": "SALES_REP", "subject": "Parcel late", "description": "Two weeks",
                                      **fields}}, as_=as_)
    payload = data["fileComplaint"]
    assert payload["userErrors"] == [], payload
    return payload["complaint"]


async def move(api: Api, complaint: dict, to: str, as_: str = "service.member@example.com", **fields: Any) -> dict:
    data = await api(TRANSITION, {"input": {"complaintId": complaint["id"], "to": to, **fields}}, as_=as_)
    return data["transitionComplaint"]


def kinds(complaint: dict) -> list[str]:
    return [e["node"]["kind"] for e in complaint["timeline"]["edges"]]


@pytest.fixture
def fake_clock(api: Api):  # type: ignore[no-untyped-def]
    clock = FakeClock(berlin(2, 9))
    api.container.gateways.clock.override(providers.Object(clock))
    try:
        yield clock
    finally:
        api.container.gateways.clock.reset_override()


async def run_worker(api: Api, clock: FakeClock) -> None:
    await run_sla_worker(api.container.services.uow, clock, once=True)


# --------------------------------------------------------------------------------- configuration


async def test_configuration_is_for_service_key_users_managers_and_admins(api: Api) -> None:
    calendar_input = {"name": unique("Cal"), "timezone": "Europe/Berlin", "workingHours": OFFICE_HOURS[:2],
                      "holidays": ["2026-12-25", "2026-12-24"]}
    for who in ("service.member@example.com", "sales.manager@example.com", "warehouse.key@example.com"):
        for document, input_ in ((DEFINE_CALENDAR, calendar_input),
                                 (DEFINE_CATEGORY, {"code": unique("c"), "name": "C"})):
            errors = await api.errors(document, {"input": input_}, as_=who)
            assert [e["extensions"]["code"] for e in errors] == ["FORBIDDEN"]
            assert errors[0]["message"] == "Only key users and managers of the service department configure complaints."
    made = (await api(DEFINE_CALENDAR, {"input": calendar_input}, as_="service.manager@example.com"))["defineCalendar"]
    assert made["userErrors"] == []
    assert made["calendar"]["holidays"] == ["2026-12-24", "2026-12-25"]
    assert made["calendar"]["workingHours"] == [{"weekday": 1, "start": "08:00", "end": "12:00"},
                                                {"weekday": 1, "start": "13:00", "end": "17:00"}]
    admin = (await api(DEFINE_CATEGORY, {"input": {"code": unique("adm"), "name": "By admin"}}))["defineCategory"]
    assert admin["userErrors"] == [] and admin["category"]["active"] is True

    listed = await api("{ calendars { id name } complaintCategories { id code parent { code } } "
                       "slaPolicies { id name calendar { name } } }", as_="sales.member@example.com")
    assert made["calendar"]["id"] in [c["id"] for c in listed["calendars"]]
    assert admin["category"]["id"] in [c["id"] for c in listed["complaintCategories"]]
    node = await api("query($id: ID!) { node(id: $id) { __typename ... on BusinessCalendar { name } } }",
                     {"id": made["calendar"]["id"]}, as_="warehouse.member@example.com")
    assert node["node"] == {"__typename": "BusinessCalendar", "name": calendar_input["name"]}


@pytest.mark.parametrize(("input_", "field", "code"), [
    ({"timezone": "Mars/Olympus"}, ["input", "timezone"], "INVALID"),
    ({"workingHours": []}, ["input", "workingHours"], "INVALID"),
    ({"workingHours": [{"weekday": 8, "start": "08:00", "end": "12:00"}]}, ["input", "workingHours", "0", "weekday"],
     "INVALID"),
    ({"workingHours": [{"weekday": 1, "start": "08:00", "end": "12:00"}, {"weekday": 1, "start": "11:00",
                                                                         "end": "13:00"}]},
     ["input", "workingHours", "1"], "INVALID"),
    ({"workingHours": [{"weekday": 1, "start": "8am", "end": "12:00"}]}, ["input", "workingHours", "0", "start"],
     "INVALID"),
    ({"name": " "}, ["input", "name"], "INVALID"),
])
async def test_calendar_input_errors(api: Api, input_: dict, field: list, code: str) -> None:
    good = {"name": unique("Cal"), "timezone": "Europe/Berlin", "workingHours": OFFICE_HOURS}
    data = await api(DEFINE_CALENDAR, {"input": {**good, **input_}}, as_="service.key@example.com")
    assert data["defineCalendar"]["calendar"] is None
    assert [(e["field"], e["code"]) for e in data["defineCalendar"]["userErrors"]] == [(field, code)]


async def test_category_tree_and_its_errors(api: Api) -> None:
    as_ = "service.key@example.com"
    root = (await api(DEFINE_CATEGORY, {"input": {"code": unique("root"), "name": "Root"}}, as_=as_))["defineCategory"]
    child = (await api(DEFINE_CATEGORY, {"input": {"code": unique("child"), "name": "Child",
                                                    "parentId": root["category"]["id"]}}, as_=as_))["defineCategory"]
    assert child["category"]["parent"] == {"code": root["category"]["code"]}
    duplicate = (await api(DEFINE_CATEGORY, {"input": {"code": root["category"]["code"].lower(), "name": "Again"}},
                           as_=as_))["defineCategory"]
    assert duplicate["category"] is None
    assert [(e["field"], e["code"]) for e in duplicate["userErrors"]] == [(["input", "code"], "DUPLICATE")]
    missing = to_global_id("ComplaintCategory", uuid.uuid4())
    orphan = (await api(DEFINE_CATEGORY, {"input": {"code": unique("o"), "name": "O", "parentId": missing}},
                        as_=as_))["defineCategory"]
    assert [(e["field"], e["code"]) for e in orphan["userErrors"]] == [(["input", "parentId"], "NOT_FOUND")]
    wrong_type = (await api(DEFINE_CATEGORY, {"input": {"code": unique("o"), "name": "O",
                                                         "parentId": to_global_id("Customer", uuid.uuid4())}},
                            as_=as_))["defineCategory"]
    assert [(e["field"], e["code"]) for e in wrong_type["userErrors"]] == [(["input", "parentId"], "INVALID")]
    bad_code = (await api(DEFINE_CATEGORY, {"input": {"code": "no spaces!", "name": "O"}}, as_=as_))["defineCategory"]
    assert [(e["field"], e["code"]) for e in bad_code["userErrors"]] == [(["input", "code"], "INVALID")]


async def test_sla_policy_definition_errors_and_supersession(api: Api) -> None:
    setup = await setup_sla(api)
    as_ = "service.key@example.com"
    good = setup["policy_input"]
    assert setup["policy"]["category"]["code"] == setup["category"]["code"]
    assert setup["policy"]["escalateTo"] == {"email": "service.manager@example.com"}
    assert (setup["policy"]["warnAt"], setup["policy"]["active"]) == (0.5, True)
    for overrides, field, code in [
        ({"resolutionMinutes": 30}, ["input", "resolutionMinutes"], "INVALID"),
        ({"warnAt": 1.5}, ["input", "warnAt"], "INVALID"),
        ({"firstResponseMinutes": 0}, ["input", "firstResponseMinutes"], "INVALID"),
        ({"calendarId": to_global_id("BusinessCalendar", uuid.uuid4())}, ["input", "calendarId"], "NOT_FOUND"),
        ({"categoryId": to_global_id("ComplaintCategory", uuid.uuid4())}, ["input", "categoryId"], "NOT_FOUND"),
        ({"escalateToId": setup["category"]["id"]}, ["input", "escalateToId"], "INVALID"),
        ({"escalateToId": to_global_id("Staff", uuid.uuid4())}, ["input", "escalateToId"], "NOT_FOUND"),
    ]:
        data = (await api(DEFINE_POLICY, {"input": {**good, "name": unique("P"), **overrides}}, as_=as_))
        assert data["defineSlaPolicy"]["policy"] is None
        assert [(e["field"], e["code"]) for e in data["defineSlaPolicy"]["userErrors"]] == [(field, code)], overrides
    errors = await api.errors(DEFINE_POLICY, {"input": good}, as_="sales.key@example.com")
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"

    # Redefining under the same name supersedes the old policy; complaints filed under it keep its targets.
    customer = await new_customer(api)
    before = await file(api, customer, setup["category"])
    assert before["sla"]["policy"]["name"] == good["name"]
    redefined = (await api(DEFINE_POLICY, {"input": {**good, "firstResponseMinutes": 30}},
                           as_=as_))["defineSlaPolicy"]
    assert redefined["userErrors"] == [] and redefined["policy"]["firstResponseMinutes"] == 30
    policies = (await api("{ slaPolicies { id name active firstResponseMinutes } }"))["slaPolicies"]
    mine = {p["id"]: p for p in policies if p["name"] == good["name"]}
    assert mine[setup["policy"]["id"]]["active"] is False and mine[redefined["policy"]["id"]]["active"] is True
    again = (await api(GET, {"id": before["id"]}))["complaint"]
    assert again["sla"]["firstResponse"]["dueAt"] == before["sla"]["firstResponse"]["dueAt"]
    after = await file(api, customer, setup["category"])  # filed later, due sooner: the new targets
    assert parsed(after["sla"]["firstResponse"]["dueAt"]) < parsed(before["sla"]["firstResponse"]["dueAt"])  # type: ignore[operator]


# ------------------------------------------------------------------------------------- filing


async def test_file_a_complaint(api: Api) -> None:
    setup = await setup_sla(api)
    customer = await new_customer(api)
    complaint = await file(api, customer, setup["child"], channel="PHONE", subject="  Broken lid  ")
    assert complaint["number"].startswith("CMP-") and len(complaint["number"]) == 10
    assert (complaint["status"], complaint["priority"], complaint["channel"], complaint["subject"]) == (
        "OPEN", "HIGH", "PHONE", "Broken lid")
    assert complaint["department"] == {"code": "SERVICE"} and complaint["assignee"] is None
    assert complaint["filedBy"] == {"email": "sales.member@example.com"} and complaint["version"] == 1
    assert complaint["customer"] == {"code": customer["code"]}
    assert complaint["category"]["parent"] == {"code": setup["category"]["code"]}
    # the child category inherits its parent's policy
    assert complaint["sla"]["policy"] == {"name": setup["policy_input"]["name"]}
    assert complaint["sla"]["firstResponse"]["state"] in ("RUNNING", "WARNING", "BREACHED")
    [entry] = [e["node"] for e in complaint["timeline"]["edges"]]
    assert (entry["kind"], entry["visibility"], entry["author"], entry["department"]) == (
        "FILED", "CUSTOMER", {"email": "sales.member@example.com"}, {"code": "SALES"})
    by_number = (await api(GET, {"number": complaint["number"].lower()}))["complaint"]
    assert by_number["id"] == complaint["id"]
    node = await api("query($id: ID!) { node(id: $id) { ... on Complaint { number } } }", {"id": complaint["id"]})
    assert node["node"] == {"number": complaint["number"]}


async def test_complaints_without_a_matching_policy_have_no_clocks(api: Api) -> None:
    category = (await api(DEFINE_CATEGORY, {"input": {"code": unique("nopolicy"), "name": "Unmatched"}},
                          as_="service.key@example.com"))["defineCategory"]["category"]
    # every demo policy names a category, so this one matches nothing
    complaint = await file(api, await new_customer(api, tier="STANDARD"), category, priority="LOW")
    sla = complaint["sla"]
    assert sla["policy"] is None and sla["escalationLevel"] == 0
    for clock in ("firstResponse", "resolution", "nextUpdate"):
        assert sla[clock] == {"state": "NOT_APPLICABLE", "dueAt": None, "metAt": None, "remainingMinutes": None}


@pytest.mark.parametrize(("overrides", "field", "code"), [
    ({"subject": " "}, ["input", "subject"], "INVALID"),
    ({"description": ""}, ["input", "description"], "INVALID"),
    ({"customerId": "garbage"}, ["input", "customerId"], "INVALID"),
    ({"customerId": to_global_id("Customer", uuid.uuid4())}, ["input", "customerId"], "NOT_FOUND"),
    ({"categoryId": to_global_id("ComplaintCategory", uuid.uuid4())}, ["input", "categoryId"], "NOT_FOUND"),
    ({"orderId": to_global_id("Order", uuid.uuid4())}, ["input", "orderId"], "NOT_FOUND"),
])
async def test_filing_errors(api: Api, overrides: dict, field: list, code: str) -> None:
    category = (await api(DEFINE_CATEGORY, {"input": {"code": unique("f"), "name": "F"}},
                          as_="service.key@example.com"))["defineCategory"]["category"]
    customer = await new_customer(api)
    data = await api(FILE, {"input": {"customerId": customer["id"], "categoryId": category["id"], "priority": "LOW",
                                      "channel": "WEB", "subject": "s", "description": "d", **overrides}},
                     as_="marketing.member@example.com")
    assert data["fileComplaint"]["complaint"] is None
    assert [(e["field"], e["code"]) for e in data["fileComplaint"]["userErrors"]] == [(field, code)]


async def test_filing_is_idempotent_per_key(api: Api) -> None:
    setup = await setup_sla(api)
    customer = await new_customer(api)
    key = unique("idem")
    first = await file(api, customer, setup["category"], idempotencyKey=key)
    second = await file(api, customer, setup["category"], idempotencyKey=key)
    assert first["id"] == second["id"] and first["number"] == second["number"]
    other = await api(FILE, {"input": {"customerId": customer["id"], "categoryId": setup["category"]["id"],
                                       "priority": "LOW", "channel": "WEB", "subject": "x", "description": "y",
                                       "idempotencyKey": key}}, as_="sales.member@example.com")
    assert [(e["field"], e["code"]) for e in other["fileComplaint"]["userErrors"]] == [
        (["input", "idempotencyKey"], "INVALID")]


# ---------------------------------------------------------------------------- the status machine


async def test_status_machine_progress_assignment_and_rating(api: Api) -> None:
    setup = await setup_sla(api)
    complaint = await file(api, await new_customer(api), setup["category"])

    forbidden = await move(api, complaint, "RESOLVED", note="x")
    assert forbidden["complaint"] is None
    assert [(e["field"], e["code"]) for e in forbidden["userErrors"]] == [(["input", "to"], "FORBIDDEN_TRANSITION")]
    assert forbidden["userErrors"][0]["message"] == ("A complaint cannot move from OPEN to RESOLVED. "
                                                     "From OPEN it can only become ACKNOWLEDGED.")
    acked = await move(api, complaint, "ACKNOWLEDGED")
    assert acked["userErrors"] == [] and acked["complaint"]["version"] == 2
    stale = await move(api, complaint, "IN_PROGRESS", expectedVersion=1)
    assert [(e["field"], e["code"]) for e in stale["userErrors"]] == [(["input", "expectedVersion"], "CONFLICT")]
    working = (await move(api, complaint, "IN_PROGRESS", expectedVersion=2))["complaint"]
    assert working["status"] == "IN_PROGRESS"

    noted = (await api(PROGRESS, {"input": {"complaintId": complaint["id"], "message": "Asked the carrier",
                                            "visibility": "CUSTOMER"}}, as_="service.member@example.com"))
    assert noted["recordProgress"]["userErrors"] == []
    entry = noted["recordProgress"]["complaint"]["timeline"]["edges"][0]["node"]
    assert (entry["kind"], entry["message"], entry["visibility"], entry["department"]) == (
        "PROGRESS", "Asked the carrier", "CUSTOMER", {"code": "SERVICE"})
    blank = await api(PROGRESS, {"input": {"complaintId": complaint["id"], "message": "  "}},
                      as_="service.member@example.com")
    assert [(e["field"], e["code"]) for e in blank["recordProgress"]["userErrors"]] == [(["input", "message"], "INVALID")]

    waiting = await move(api, complaint, "WAITING_ON_CUSTOMER", note="Need photos")
    assert waiting["complaint"]["sla"]["resolution"]["state"] in ("PAUSED", "BREACHED")
    await move(api, complaint, "IN_PROGRESS")
    no_note = await move(api, complaint, "RESOLVED")
    assert no_note["userErrors"] == [{"field": ["input", "note"], "message": "note is required.", "code": "INVALID"}]
    resolved = (await move(api, complaint, "RESOLVED", note="Refunded"))["complaint"]
    assert (resolved["status"], resolved["resolution"]) == ("RESOLVED", "Refunded")
    assert resolved["sla"]["resolution"]["state"] in ("MET", "BREACHED")
    assert resolved["sla"]["nextUpdate"]["state"] == "NOT_APPLICABLE"

    rated = await api(RATE, {"input": {"complaintId": complaint["id"], "satisfaction": 4, "comment": "quick"}},
                      as_="sales.key@example.com")  # the customer's owner passes it on
    assert rated["rateResolution"]["complaint"]["satisfaction"] == 4
    bad = await api(RATE, {"input": {"complaintId": complaint["id"], "satisfaction": 9}}, as_="sales.key@example.com")
    assert [(e["field"], e["code"]) for e in bad["rateResolution"]["userErrors"]] == [
        (["input", "satisfaction"], "INVALID")]
    reopened = (await move(api, complaint, "IN_PROGRESS"))["complaint"]
    assert (reopened["resolution"], reopened["satisfaction"]) == (None, None)
    closed = (await move(api, reopened, "RESOLVED", note="Again"))
    closed = (await move(api, closed["complaint"], "CLOSED"))["complaint"]
    assert closed["status"] == "CLOSED"
    assert kinds(closed) == list(reversed([
        "FILED", "STATUS_CHANGE", "STATUS_CHANGE", "PROGRESS", "STATUS_CHANGE", "STATUS_CHANGE", "STATUS_CHANGE",
        "CUSTOMER_FEEDBACK", "STATUS_CHANGE", "STATUS_CHANGE", "STATUS_CHANGE"]))
    final = await move(api, closed, "IN_PROGRESS")
    assert final["userErrors"][0]["code"] == "FORBIDDEN_TRANSITION"


async def test_who_may_handle_and_assign(api: Api) -> None:
    setup = await setup_sla(api)
    complaint = await file(api, await new_customer(api), setup["category"])
    # the filer (sales) sees it, but only the handling department, the assignee and admins work on it
    for document, input_, who in [
        (TRANSITION, {"to": "ACKNOWLEDGED"}, "sales.member@example.com"),
        (PROGRESS, {"message": "hello"}, "sales.member@example.com"),
        (ASSIGN, {"assigneeId": await staff_id(api, "sales.member@example.com")}, "sales.member@example.com"),
        (ASSIGN, {"assigneeId": await staff_id(api, "service.key@example.com")}, "service.member@example.com"),
    ]:
        errors = await api.errors(document, {"input": {"complaintId": complaint["id"], **input_}}, as_=who)
        assert [(e["extensions"]["code"], e["message"]) for e in errors][0][0] == "FORBIDDEN"
        assert complaint["number"] not in errors[0]["message"]
    # someone who may not even see it learns nothing: as if it did not exist
    hidden = await api(TRANSITION, {"input": {"complaintId": complaint["id"], "to": "ACKNOWLEDGED"}},
                       as_="marketing.member@example.com")
    missing = await api(TRANSITION, {"input": {"complaintId": to_global_id("Complaint", uuid.uuid4()),
                                               "to": "ACKNOWLEDGED"}}, as_="marketing.member@example.com")
    assert hidden == missing == {"transitionComplaint": {"complaint": None, "userErrors": [
        {"field": ["input", "complaintId"], "message": "No such complaint.", "code": "NOT_FOUND"}]}}

    # a member takes it; a key user hands it over to the warehouse, whose staff may then work on it
    member = await staff_id(api, "service.member@example.com")
    taken = (await api(ASSIGN, {"input": {"complaintId": complaint["id"], "assigneeId": member}},
                       as_="service.member@example.com"))["assignComplaint"]
    assert taken["complaint"]["assignee"] == {"email": "service.member@example.com"}
    assert taken["complaint"]["timeline"]["edges"][0]["node"]["kind"] == "ASSIGNMENT"
    again = (await api(ASSIGN, {"input": {"complaintId": complaint["id"], "assigneeId": member}},
                       as_="service.member@example.com"))["assignComplaint"]
    assert again["complaint"]["version"] == taken["complaint"]["version"]  # nothing changed
    packer = await staff_id(api, "warehouse.member@example.com")
    unknown = await api(ASSIGN, {"input": {"complaintId": complaint["id"],
                                           "assigneeId": to_global_id("Staff", uuid.uuid4())}},
                        as_="service.key@example.com")
    assert [(e["field"], e["code"]) for e in unknown["assignComplaint"]["userErrors"]] == [
        (["input", "assigneeId"], "NOT_FOUND")]
    handed = (await api(ASSIGN, {"input": {"complaintId": complaint["id"], "assigneeId": packer}},
                        as_="service.key@example.com"))["assignComplaint"]["complaint"]
    assert handed["department"] == {"code": "WAREHOUSE"} and handed["assignee"] == {"email": "warehouse.member@example.com"}
    assert "handed over" in handed["timeline"]["edges"][0]["node"]["message"]
    assert (await move(api, complaint, "ACKNOWLEDGED", as_="warehouse.key@example.com"))["userErrors"] == []
    # SERVICE still sees everything, but no longer handles it
    errors = await api.errors(TRANSITION, {"input": {"complaintId": complaint["id"], "to": "IN_PROGRESS"}},
                              as_="service.member@example.com")
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"
    assert (await move(api, complaint, "IN_PROGRESS", as_="admin@example.com"))["userErrors"] == []


# ------------------------------------------------------------------------------------ visibility


async def test_who_sees_a_complaint(api: Api) -> None:
    setup = await setup_sla(api)
    customer = await new_customer(api, owner="sales.key@example.com")
    complaint = await file(api, customer, setup["category"], as_="service.member@example.com")
    await api(PROGRESS, {"input": {"complaintId": complaint["id"], "message": "internal detail"}},
              as_="service.member@example.com")
    customer_complaints = """query($id: ID!) { customer(id: $id) { complaints(first: 10) { totalCount
        edges { node { number timeline(first: 5) { totalCount edges { node { kind visibility } } } } } }
        activity(first: 20) { edges { node { kind summary subject { __typename ... on Complaint { number } } } } } } }"""
    for who in ("sales.key@example.com", "service.member@example.com", "marketing.manager@example.com",
                "admin@example.com"):
        seen = (await api(GET, {"id": complaint["id"]}, as_=who))["complaint"]
        assert seen is not None and seen["timeline"]["totalCount"] == 2, who
        listed = (await api(customer_complaints, {"id": customer["id"]}, as_=who))["customer"]
        assert listed["complaints"]["totalCount"] == 1, who
        assert {e["node"]["visibility"] for e in listed["complaints"]["edges"][0]["node"]["timeline"]["edges"]} == {
            "INTERNAL", "CUSTOMER"}
        activity = [e["node"] for e in listed["activity"]["edges"] if e["node"]["kind"] == "COMPLAINT"]
        assert [a["summary"] for a in activity] == [f"{complaint['number']} progress: internal detail",
                                                   f"{complaint['number']} filed (high priority): Parcel late"], who
        assert activity[0]["subject"] == {"__typename": "Complaint", "number": complaint["number"]}
    for who in ("sales.member@example.com", "marketing.key@example.com", "warehouse.member@example.com"):
        assert (await api(GET, {"id": complaint["id"]}, as_=who))["complaint"] is None, who
        assert (await api(GET, {"number": complaint["number"]}, as_=who))["complaint"] is None, who
        node = await api("query($id: ID!) { node(id: $id) { id } }", {"id": complaint["id"]}, as_=who)
        assert node["node"] is None
        listed = (await api(customer_complaints, {"id": customer["id"]}, as_=who))["customer"]
        assert listed["complaints"] == {"totalCount": 0, "edges": []}
        assert [e for e in listed["activity"]["edges"] if e["node"]["kind"] == "COMPLAINT"] == []
        found = (await api(LIST, {"filter": {"customerId": customer["id"]}}, as_=who))["complaints"]
        assert found["totalCount"] == 0
    # the filer sees what they filed
    by_sales = await file(api, customer, setup["category"], as_="sales.member@example.com")
    assert (await api(GET, {"id": by_sales["id"]}, as_="sales.member@example.com"))["complaint"] is not None


# --------------------------------------------------------------------------------- SLA over time


async def test_sla_clocks_follow_the_fake_clock_and_escalate_once(api: Api, fake_clock: FakeClock) -> None:
    setup = await setup_sla(api)  # 60 / 480 / 240 business minutes, warn at half
    customer = await new_customer(api, owner="sales.key@example.com")
    complaint = await file(api, customer, setup["category"])
    sla = complaint["sla"]
    assert sla["firstResponse"] == {"state": "RUNNING", "dueAt": iso(berlin(2, 10)), "metAt": None,
                                    "remainingMinutes": 60}
    assert sla["resolution"]["dueAt"] == iso(berlin(3, 9)) and sla["resolution"]["remainingMinutes"] == 480
    assert sla["nextUpdate"]["dueAt"] == iso(berlin(2, 14))
    at_risk = {"slaAtRisk": True, "categoryIds": [setup["category"]["id"]]}
    assert (await api(LIST, {"filter": at_risk}))["complaints"]["totalCount"] == 0

    fake_clock.set(berlin(2, 9, 31))
    now = (await api(GET, {"id": complaint["id"]}))["complaint"]
    assert now["sla"]["firstResponse"]["state"] == "WARNING" and now["sla"]["firstResponse"]["remainingMinutes"] == 29
    assert [e["node"]["number"] for e in (await api(LIST, {"filter": at_risk}))["complaints"]["edges"]] == [
        complaint["number"]]
    not_at_risk = (await api(LIST, {"filter": {**at_risk, "slaAtRisk": False}}))["complaints"]
    assert not_at_risk["totalCount"] == 0
    await run_worker(api, fake_clock)
    now = (await api(GET, {"id": complaint["id"]}))["complaint"]
    assert kinds(now)[0] == "SLA_WARNING" and now["sla"]["escalationLevel"] == 0

    fake_clock.set(berlin(2, 10, 5))
    await run_worker(api, fake_clock)
    await run_worker(api, fake_clock)  # nothing twice
    now = (await api(GET, {"id": complaint["id"]}))["complaint"]
    assert now["sla"]["firstResponse"]["state"] == "BREACHED" and now["sla"]["firstResponse"]["remainingMinutes"] == -5
    assert now["sla"]["escalationLevel"] == 1
    assert kinds(now) == ["ESCALATION", "SLA_BREACH", "SLA_WARNING", "FILED"]
    assert now["timeline"]["edges"][0]["node"]["message"] == \
        "Escalation level 1: notified the escalation contact, the account owner"
    async with api.container.core.engine().connect() as conn:
        rows = (await conn.execute(select(t.notifications.c.recipient_id, t.notifications.c.kind).where(
            t.notifications.c.subject_id == parse_global_id(complaint["id"])[1]))).all()
    manager = parse_global_id(await staff_id(api, "service.manager@example.com"))[1]
    owner = parse_global_id(await staff_id(api, "sales.key@example.com"))[1]
    assert sorted(rows) == sorted([(manager, "SLA_BREACH"), (owner, "SLA_BREACH")])

    # answering late stops the clock as BREACHED; the cadence restarts with each progress note
    fake_clock.set(berlin(2, 10, 10))
    acked = (await move(api, complaint, "ACKNOWLEDGED"))["complaint"]["sla"]
    assert acked["firstResponse"] == {"state": "BREACHED", "dueAt": iso(berlin(2, 10)), "metAt": iso(berlin(2, 10, 10)),
                                      "remainingMinutes": -10}
    await move(api, complaint, "IN_PROGRESS")
    fake_clock.set(berlin(2, 13, 30))
    progressed = (await api(PROGRESS, {"input": {"complaintId": complaint["id"], "message": "update"}},
                            as_="service.member@example.com"))["recordProgress"]["complaint"]["sla"]
    assert progressed["nextUpdate"] == {"state": "RUNNING", "dueAt": iso(berlin(3, 8, 30)), "metAt": None,
                                        "remainingMinutes": 240}
    fake_clock.set(berlin(2, 14))
    waiting = (await move(api, complaint, "WAITING_ON_CUSTOMER"))["complaint"]["sla"]
    assert waiting["resolution"]["state"] == "PAUSED" and waiting["nextUpdate"]["state"] == "PAUSED"
    fake_clock.set(berlin(5, 14))  # days later: a paused clock does not move
    paused = (await api(GET, {"id": complaint["id"]}))["complaint"]["sla"]
    assert paused["resolution"]["remainingMinutes"] == waiting["resolution"]["remainingMinutes"] == 480 - 240
    await run_worker(api, fake_clock)
    assert (await api(GET, {"id": complaint["id"]}))["complaint"]["sla"]["escalationLevel"] == 1


async def test_the_complaints_filter_and_pagination(api: Api) -> None:
    setup = await setup_sla(api)
    customer = await new_customer(api)
    other = await new_customer(api)
    a = await file(api, customer, setup["category"], priority="LOW", subject=unique("Alpha"))
    b = await file(api, customer, setup["child"], priority="URGENT")
    c = await file(api, other, setup["category"], priority="LOW")
    await move(api, b, "ACKNOWLEDGED")
    member = await staff_id(api, "service.member@example.com")
    await api(ASSIGN, {"input": {"complaintId": c["id"], "assigneeId": member}}, as_="service.member@example.com")
    mine = [setup["category"]["id"], setup["child"]["id"]]

    async def numbers(**filter_: Any) -> list[str]:
        data = await api(LIST, {"filter": {"categoryIds": mine, **filter_}, "first": 50})
        return [e["node"]["number"] for e in data["complaints"]["edges"]]

    assert await numbers() == [c["number"], b["number"], a["number"]]  # newest first
    assert await numbers(statuses=["ACKNOWLEDGED"]) == [b["number"]]
    assert await numbers(priorities=["LOW"]) == [c["number"], a["number"]]
    assert await numbers(categoryIds=[setup["child"]["id"]]) == [b["number"]]
    assert await numbers(customerId=customer["id"]) == [b["number"], a["number"]]
    assert await numbers(assigneeId=member) == [c["number"]]
    assert await numbers(departmentId=await department_id(api, "SERVICE")) == [
        c["number"], b["number"], a["number"]]
    assert await numbers(departmentId=await department_id(api, "WAREHOUSE")) == []
    assert await numbers(search=a["subject"].lower()) == [a["number"]]
    assert await numbers(search=b["number"]) == [b["number"]]
    assert await numbers(search=other["name"]) == [c["number"]]
    page = (await api(LIST, {"filter": {"categoryIds": mine}, "first": 2}))["complaints"]
    assert page["totalCount"] == 3 and page["pageInfo"]["hasNextPage"] is True
    rest = (await api(LIST, {"filter": {"categoryIds": mine}, "first": 2, "after": page["pageInfo"]["endCursor"]}))
    assert [e["node"]["number"] for e in rest["complaints"]["edges"]] == [a["number"]]
    errors = await api.errors(LIST, {"filter": {"categoryIds": ["nope"]}})
    assert errors[0]["extensions"]["code"] == "INVALID"
    errors = await api.errors(LIST, {"first": 500})
    assert errors[0]["extensions"]["code"] == "LIMIT_EXCEEDED"


# ----------------------------------------------------------------------------------- SLA report


REPORT = """query($from: DateTime!, $to: DateTime!, $d: ID) { slaReport(from: $from, to: $to, departmentId: $d) {
  from to rows { category { id code } filed resolved firstResponseBreached resolutionBreached medianResolutionMinutes } } }"""


async def test_sla_report(api: Api, fake_clock: FakeClock) -> None:
    monday = berlin(8, 9, month=6, year=2026)  # a week no other test files in
    fake_clock.set(monday)
    setup = await setup_sla(api, first=30, resolution=200, interval=None, warn_at=0.8)
    customer = await new_customer(api)
    complaints = [await file(api, customer, setup["category"]) for _ in range(5)]

    async def resolve(complaint: dict, at: datetime) -> None:
        fake_clock.set(at)
        for step in ("ACKNOWLEDGED", "IN_PROGRESS"):
            await move(api, complaint, step)
        assert (await move(api, complaint, "RESOLVED", note="done"))["userErrors"] == []

    await resolve(complaints[0], monday + timedelta(minutes=20))   # both met
    await resolve(complaints[3], monday + timedelta(minutes=100))  # first response late
    await resolve(complaints[1], monday + timedelta(minutes=120))  # first response late
    await resolve(complaints[2], monday.replace(hour=15))          # 300 business minutes: both late
    await run_worker(api, fake_clock)  # the open one breaches both, recorded by the worker

    variables = {"from": iso(monday - timedelta(hours=1)), "to": iso(monday + timedelta(hours=1)),
                 "d": await department_id(api, "SERVICE")}
    report = (await api(REPORT, variables))["slaReport"]
    assert report["from"] == variables["from"]
    [row] = [r for r in report["rows"] if r["category"]["id"] == setup["category"]["id"]]
    assert row == {"category": {"id": setup["category"]["id"], "code": setup["category"]["code"]}, "filed": 5,
                   "resolved": 4, "firstResponseBreached": 4, "resolutionBreached": 2, "medianResolutionMinutes": 110}
    await resolve(complaints[4], monday + timedelta(days=1))  # odd count now: the middle one
    report = (await api(REPORT, variables))["slaReport"]
    [row] = [r for r in report["rows"] if r["category"]["id"] == setup["category"]["id"]]
    assert (row["resolved"], row["medianResolutionMinutes"]) == (5, 120)

    outside = {**variables, "from": iso(monday + timedelta(hours=1)), "to": iso(monday + timedelta(days=2))}
    assert [r for r in (await api(REPORT, outside))["slaReport"]["rows"]
            if r["category"]["id"] == setup["category"]["id"]] == []
    warehouse = {**variables, "d": await department_id(api, "WAREHOUSE")}
    assert (await api(REPORT, warehouse, as_="warehouse.member@example.com"))["slaReport"]["rows"] == []
    errors = await api.errors(REPORT, {**variables, "d": None}, as_="sales.member@example.com")
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"
    errors = await api.errors(REPORT, variables, as_="sales.member@example.com")  # not their department
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"
    assert (await api(REPORT, variables, as_="marketing.manager@example.com"))["slaReport"]["rows"]
    errors = await api.errors(REPORT, {**variables, "to": variables["from"]})
    assert (errors[0]["extensions"]["code"], errors[0]["extensions"]["field"]) == ("INVALID", ["to"])

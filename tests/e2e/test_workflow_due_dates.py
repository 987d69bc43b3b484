"""Workflow due times on department business calendars, and overdue steps, over GraphQL: Department.calendar
and setDepartmentCalendar (who may, userErrors), a step's dueAt landing in business time in the calendar's
zone, and overdueSteps for managers before and after `crm worker`'s escalation (escalatedAt, the managers'
notifications, Customer.activity).

Clock tests override the container's clock. The overdue test lives in a fake March 2024 (the worker only
claims what is overdue at the fake time, so nothing of other tests is touched); the due-time test in 2031.
Every test puts the department calendars it changes back.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, AsyncIterator
from zoneinfo import ZoneInfo

import pytest
from dependency_injector import providers
from sqlalchemy import select

from api.common.relay import parse_global_id, to_global_id
from application.workflow_worker import run_workflow_worker
from infrastructure.db import tables as t
from tests.application.fakes import FakeClock
from tests.conftest import Api, unique

BERLIN, NEW_YORK = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")
ADMIN = "admin@example.com"
ERRORS = "userErrors { field message code }"
SET_CALENDAR = f"""mutation($input: SetDepartmentCalendarInput!) {{ setDepartmentCalendar(input: $input) {{
  department {{ id code calendar {{ id name timezone }} }} {ERRORS} }} }}"""
DEFINE_CALENDAR = f"""mutation($input: DefineCalendarInput!) {{ defineCalendar(input: $input) {{
  calendar {{ id name }} {ERRORS} }} }}"""
DEFINE = f"""mutation($input: DefineWorkflowInput!) {{ defineWorkflow(input: $input) {{ definition {{ key }} {ERRORS} }} }}"""
START = f"""mutation($input: StartWorkflowInput!) {{ startWorkflow(input: $input) {{
  instance {{ id steps {{ key status activatedAt dueAt overdue escalatedAt department {{ code }} }} }} {ERRORS} }} }}"""
CANCEL = f"""mutation($input: CancelWorkflowInput!) {{ cancelWorkflow(input: $input) {{ instance {{ status }} {ERRORS} }} }}"""
OVERDUE = """query($first: Int, $after: String, $department: ID) {
  overdueSteps(first: $first, after: $after, departmentId: $department) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { instance { id } step { key dueAt overdue escalatedAt department { code } } } } } }"""
CREATE_CUSTOMER = """mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { id } } }"""
DEPARTMENTS = "{ departments { id code calendar { id name timezone } } }"


async def departments(api: Api) -> dict[str, dict[str, Any]]:
    return {d["code"]: d for d in (await api(DEPARTMENTS))["departments"]}


async def set_calendar(api: Api, department: str, calendar: str | None, as_: str = ADMIN) -> dict[str, Any]:
    data = await api(SET_CALENDAR, {"input": {"departmentId": department, "calendarId": calendar}}, as_=as_)
    return data["setDepartmentCalendar"]


async def new_york_calendar(api: Api) -> str:
    data = await api(DEFINE_CALENDAR, {"input": {
        "name": unique("New York office"), "timezone": "America/New_York",
        "workingHours": [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(1, 6)]}})
    assert data["defineCalendar"]["userErrors"] == []
    return data["defineCalendar"]["calendar"]["id"]


@pytest.fixture
async def restore_calendars(api: Api) -> AsyncIterator[None]:
    """Whatever calendars a test gives the departments, they get their own back afterwards."""
    before = await departments(api)
    yield
    for code, department in before.items():
        calendar = department["calendar"]["id"] if department["calendar"] else None
        assert (await set_calendar(api, department["id"], calendar))["userErrors"] == [], code


@pytest.fixture
def fake_clock(api: Api) -> AsyncIterator[FakeClock]:
    fake = FakeClock()
    api.container.gateways.clock.override(providers.Object(fake))
    yield fake  # type: ignore[misc]
    api.container.gateways.clock.reset_override()


async def define_and_start(api: Api, steps: list[dict[str, Any]], starter: str = "sales.key@example.com"
                           ) -> dict[str, Any]:
    key = unique("due")
    defined = await api(DEFINE, {"input": {"key": key, "name": "Due", "subject": "CUSTOMER", "steps": steps}})
    assert defined["defineWorkflow"]["userErrors"] == []
    customer = (await api(CREATE_CUSTOMER, {"input": {"name": unique("Due customer"), "kind": "COMPANY"}})
                )["createCustomer"]["customer"]["id"]
    started = (await api(START, {"input": {"definitionKey": key, "subjectId": customer}}, as_=starter)
               )["startWorkflow"]
    assert started["userErrors"] == []
    return {**started["instance"], "customer": customer, "definitionKey": key}


def due_of(instance: dict[str, Any], key: str) -> datetime:
    return datetime.fromisoformat(next(s for s in instance["steps"] if s["key"] == key)["dueAt"])


# --------------------------------------------------------------------------- the department's calendar


async def test_every_demo_department_counts_on_the_office_calendar(api: Api) -> None:
    found = await departments(api)
    assert {d["calendar"]["name"] for d in found.values() if d["calendar"]} == {"Head office (Berlin)"}
    assert all(d["calendar"] for d in found.values())


async def test_admins_and_the_departments_manager_set_its_calendar(api: Api, restore_calendars: None) -> None:
    found = await departments(api)
    warehouse, sales = found["WAREHOUSE"]["id"], found["SALES"]["id"]
    calendar = await new_york_calendar(api)

    payload = await set_calendar(api, warehouse, calendar, as_="warehouse.manager@example.com")
    assert payload["userErrors"] == []
    assert payload["department"]["code"] == "WAREHOUSE" and payload["department"]["calendar"]["id"] == calendar
    node = await api("query($id: ID!) { node(id: $id) { ... on Department { calendar { timezone } } } }",
                     {"id": warehouse})
    assert node["node"]["calendar"] == {"timezone": "America/New_York"}

    for who, department in (("warehouse.manager@example.com", sales), ("warehouse.key@example.com", warehouse),
                            ("warehouse.member@example.com", warehouse), ("sales.manager@example.com", warehouse)):
        errors = await api.errors(SET_CALENDAR, {"input": {"departmentId": department, "calendarId": None}}, as_=who)
        assert [e["extensions"]["code"] for e in errors] == ["FORBIDDEN"], who
    assert (await departments(api))["WAREHOUSE"]["calendar"]["id"] == calendar  # nothing changed

    cleared = await set_calendar(api, warehouse, None)
    assert cleared["userErrors"] == [] and cleared["department"]["calendar"] is None

    unknown_calendar = await set_calendar(api, warehouse, to_global_id("BusinessCalendar", uuid.uuid4()))
    assert unknown_calendar["department"] is None
    assert [(e["field"], e["code"]) for e in unknown_calendar["userErrors"]] == [(["input", "calendarId"], "NOT_FOUND")]
    unknown_department = await set_calendar(api, to_global_id("Department", uuid.uuid4()), calendar)
    assert [(e["field"], e["code"]) for e in unknown_department["userErrors"]] == [
        (["input", "departmentId"], "NOT_FOUND")]
    for bad in ("garbage", sales):  # not an ID; the ID of something else
        wrong = await set_calendar(api, warehouse, bad)
        assert [(e["field"], e["code"]) for e in wrong["userErrors"]] == [(["input", "calendarId"], "INVALID")]
    assert (await departments(api))["WAREHOUSE"]["calendar"] is None


async def test_a_steps_due_time_lands_in_business_time_in_the_calendars_zone(
        api: Api, fake_clock: FakeClock, restore_calendars: None) -> None:
    found = await departments(api)
    await set_calendar(api, found["WAREHOUSE"]["id"], await new_york_calendar(api))
    fake_clock.set(datetime(2031, 3, 7, 16, 0, tzinfo=BERLIN))  # Friday 16:00 in Berlin, 10:00 in New York
    steps = [{"key": "sales", "name": "Sales", "departmentId": found["SALES"]["id"], "kind": "APPROVAL", "stage": 1,
              "dueWithinMinutes": 120},
             {"key": "warehouse", "name": "Warehouse", "departmentId": found["WAREHOUSE"]["id"], "kind": "TASK",
              "stage": 1, "dueWithinMinutes": 120}]
    instance = await define_and_start(api, steps)
    # Berlin office hours: one hour left on Friday, the second from Monday's 08:00 opening
    assert due_of(instance, "sales") == datetime(2031, 3, 10, 9, 0, tzinfo=BERLIN)
    # New York: two hours of Friday morning there
    assert due_of(instance, "warehouse") == datetime(2031, 3, 7, 12, 0, tzinfo=NEW_YORK)

    # without a calendar of its own (and no "Standard" calendar), every minute counts
    await set_calendar(api, found["WAREHOUSE"]["id"], None)
    standard = [c for c in (await api("{ calendars { name } }"))["calendars"] if c["name"] == "Standard"]
    if not standard:
        later = await define_and_start(api, steps)
        assert due_of(later, "warehouse") == fake_clock.now() + timedelta(minutes=120)
    # a running step keeps the due time it was given
    assert due_of((await api("""query($id: ID!) { node(id: $id) { ... on WorkflowInstance {
        steps { key dueAt } } } }""", {"id": instance["id"]}))["node"], "warehouse") == due_of(instance, "warehouse")


# --------------------------------------------------------------------------- overdue steps


async def overdue_for(api: Api, who: str, instance: str, department: str | None = None) -> list[dict[str, Any]]:
    page = (await api(OVERDUE, {"first": 100, "department": department}, as_=who))["overdueSteps"]
    return [e["node"]["step"] for e in page["edges"] if e["node"]["instance"]["id"] == instance]


async def test_managers_see_overdue_steps_and_the_worker_escalates_them_once(
        api: Api, fake_clock: FakeClock) -> None:
    found = await departments(api)
    monday = datetime(2024, 3, 4, 9, 0, tzinfo=BERLIN)
    fake_clock.set(monday)
    instance = await define_and_start(api, [
        {"key": "campaign", "name": "Campaign check", "departmentId": found["MARKETING"]["id"], "kind": "APPROVAL",
         "stage": 1, "dueWithinMinutes": 60},
        {"key": "service", "name": "Service check", "departmentId": found["SERVICE"]["id"], "kind": "TASK",
         "stage": 1, "dueWithinMinutes": 240}])
    assert due_of(instance, "campaign") == monday + timedelta(hours=1)

    fake_clock.set(monday + timedelta(minutes=90))
    mine = await overdue_for(api, "marketing.manager@example.com", instance["id"])
    assert mine == [{"key": "campaign", "dueAt": instance["steps"][0]["dueAt"], "overdue": True, "escalatedAt": None,
                     "department": {"code": "MARKETING"}}]
    assert await overdue_for(api, "service.manager@example.com", instance["id"]) == []  # not theirs, not yet
    assert [s["key"] for s in await overdue_for(api, ADMIN, instance["id"])] == ["campaign"]
    assert [s["key"] for s in await overdue_for(api, ADMIN, instance["id"], found["MARKETING"]["id"])] == ["campaign"]
    assert await overdue_for(api, ADMIN, instance["id"], found["SERVICE"]["id"]) == []
    for who, department in (("marketing.member@example.com", None), ("marketing.key@example.com", None),
                            ("marketing.manager@example.com", found["SERVICE"]["id"])):
        errors = await api.errors(OVERDUE, {"department": department}, as_=who)
        assert [e["extensions"]["code"] for e in errors] == ["FORBIDDEN"], who
    bad = await api.errors(OVERDUE, {"department": "garbage"}, as_=ADMIN)
    assert bad[0]["extensions"]["code"] == "INVALID"

    container = api.container
    tick = await run_workflow_worker(container.services.uow, container.gateways.clock(), once=True)
    assert tick.escalated >= 1
    (step,) = await overdue_for(api, "marketing.manager@example.com", instance["id"])
    assert datetime.fromisoformat(step["escalatedAt"]) == fake_clock.now()
    again = await run_workflow_worker(container.services.uow, container.gateways.clock(), once=True)
    assert again.escalated == 0

    async with container.core.engine().connect() as conn:
        instance_id = parse_global_id(instance["id"])[1]
        told = (await conn.execute(select(t.notifications.c.recipient_id, t.notifications.c.kind).where(
            t.notifications.c.subject_id == instance_id))).all()
        managers = set((await conn.execute(select(t.staff.c.id).where(
            t.staff.c.department_id == parse_global_id(found["MARKETING"]["id"])[1], t.staff.c.role == "MANAGER",
            t.staff.c.active.is_(True)))).scalars())
    assert managers and sorted(r for r, _ in told) == sorted(managers)  # each marketing manager once
    assert {kind for _, kind in told} == {"WORKFLOW_STEP_OVERDUE"}

    feed = await api("""query($id: ID) { customer(id: $id) { activity(first: 20) { edges { node {
        kind summary actor { email } department { code } subject { __typename id } } } } } }""",
                     {"id": instance["customer"]})
    overdue = [e["node"] for e in feed["customer"]["activity"]["edges"] if "overdue" in e["node"]["summary"]]
    assert overdue == [{"kind": "WORKFLOW", "summary": f"{instance['definitionKey']}: Campaign check overdue "
                                                       "(was due 2024-03-04 09:00 UTC)",
                        "actor": None, "department": {"code": "MARKETING"},
                        "subject": {"__typename": "WorkflowInstance", "id": instance["id"]}}]

    # the service step falls due later: escalated by itself, its managers told
    fake_clock.set(monday + timedelta(hours=6))
    assert (await run_workflow_worker(container.services.uow, container.gateways.clock(),
                                      once=True)).escalated >= 1
    steps = {s["key"]: s for s in await overdue_for(api, ADMIN, instance["id"])}
    assert set(steps) == {"campaign", "service"} and all(s["escalatedAt"] for s in steps.values())
    cancelled = await api(CANCEL, {"input": {"instanceId": instance["id"], "reason": "test over"}})
    assert cancelled["cancelWorkflow"]["instance"]["status"] == "CANCELLED"
    assert await overdue_for(api, ADMIN, instance["id"]) == []

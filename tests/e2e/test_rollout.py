"""The rollout by department over GraphQL: phases one step at a time (a step back with a note), the checklist's
counts computed from the data with targets and done marks, staff marked trained, who may do it, the outbox event,
and the statement count of `rollout` whatever the number of departments.

On a database of this module's own (`own`, tests/e2e/conftest.py), so it may add departments and move phases
without disturbing the tests that expect the five standard departments as they are."""
from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from api.common.relay import parse_global_id, to_global_id
from infrastructure.db import tables as t
from tests.conftest import Api, statements, unique
from tests.e2e.conftest import new_department, staff_in

ROLLOUT = """{ rollout { department { id code } phase version history { from to at note by { email } }
    keyUsers { email } checklist { key label current target done } trainedStaff activeStaff } }"""
PHASE = """mutation($i: SetRolloutPhaseInput!) { setRolloutPhase(input: $i) {
    rollout { phase version history { from to note by { email } } } userErrors { field code message } } }"""
TARGET = """mutation($i: SetChecklistTargetInput!) { setChecklistTarget(input: $i) {
    rollout { version checklist { key current target done } } userErrors { field code message } } }"""
TRAINED = """mutation($i: MarkTrainedInput!) { markTrained(input: $i) {
    rollout { department { code } trainedStaff activeStaff } userErrors { field code message } } }"""


async def rollout_of(api: Api, department: str, as_: str = "admin@example.com") -> dict[str, Any]:
    return next(r for r in (await api(ROLLOUT, as_=as_))["rollout"] if r["department"]["id"] == department)


async def phase(api: Api, department: str, to: str, *, as_: str = "admin@example.com", **more: Any) -> dict[str, Any]:
    return (await api(PHASE, {"i": {"departmentId": department, "phase": to, **more}}, as_=as_))["setRolloutPhase"]


async def test_every_department_is_on_one_query_and_an_untouched_one_is_in_survey(own: Api) -> None:
    rollouts = (await own(ROLLOUT, as_="marketing.member@example.com"))["rollout"]
    codes = [r["department"]["code"] for r in rollouts]
    assert codes == sorted(codes) and {"SALES", "MARKETING", "SERVICE", "FINANCE", "WAREHOUSE"} <= set(codes)
    department = await new_department(own)
    fresh = await rollout_of(own, department)
    assert (fresh["phase"], fresh["version"], fresh["history"], fresh["keyUsers"]) == ("SURVEY", 0, [], [])
    assert [i["key"] for i in fresh["checklist"]] == ["customers", "workflow_definitions", "department_calendar"]
    assert (fresh["trainedStaff"], fresh["activeStaff"]) == (0, 0)


async def test_phases_move_forward_one_step_and_back_one_with_a_note(own: Api) -> None:
    department = await new_department(own)
    manager = await staff_in(own, department, "MANAGER")
    skipped = await phase(own, department, "TRAINING", as_=manager)
    assert skipped["rollout"] is None
    assert [(e["field"], e["code"]) for e in skipped["userErrors"]] == [(["input", "phase"], "FORBIDDEN_TRANSITION")]
    assert "DATA_COLLECTION" in skipped["userErrors"][0]["message"]

    moved = await phase(own, department, "DATA_COLLECTION", as_=manager, note="survey done", expectedVersion=0)
    assert moved["userErrors"] == [] and (moved["rollout"]["phase"], moved["rollout"]["version"]) == (
        "DATA_COLLECTION", 1)
    assert moved["rollout"]["history"] == [{"from": "SURVEY", "to": "DATA_COLLECTION", "note": "survey done",
                                            "by": {"email": manager}}]
    stale = await phase(own, department, "TRAINING", expectedVersion=0)
    assert [(e["field"], e["code"]) for e in stale["userErrors"]] == [(["input", "expectedVersion"], "CONFLICT")]
    assert (await phase(own, department, "TRAINING", expectedVersion=1))["rollout"]["phase"] == "TRAINING"

    no_note = await phase(own, department, "DATA_COLLECTION")
    assert [(e["field"], e["code"]) for e in no_note["userErrors"]] == [(["input", "note"], "INVALID")]
    back = await phase(own, department, "DATA_COLLECTION", note="  the customers are not in yet  ")
    assert back["userErrors"] == [] and back["rollout"]["phase"] == "DATA_COLLECTION"
    assert back["rollout"]["history"][-1]["note"] == "the customers are not in yet"

    same = await phase(own, department, "DATA_COLLECTION")  # where it is: nothing changes
    assert same["userErrors"] == [] and same["rollout"]["version"] == back["rollout"]["version"] == 3
    for to in ("TRAINING", "LIVE"):
        assert (await phase(own, department, to))["userErrors"] == []
    read = await rollout_of(own, department)
    assert read["phase"] == "LIVE" and [(h["from"], h["to"]) for h in read["history"]] == [
        ("SURVEY", "DATA_COLLECTION"), ("DATA_COLLECTION", "TRAINING"), ("TRAINING", "DATA_COLLECTION"),
        ("DATA_COLLECTION", "TRAINING"), ("TRAINING", "LIVE")]
    beyond = await phase(own, department, "SURVEY", note="start again")
    assert [e["code"] for e in beyond["userErrors"]] == ["FORBIDDEN_TRANSITION"]


async def test_a_phase_change_is_an_outbox_event_and_in_the_audit_log(own: Api) -> None:
    department = await new_department(own)
    await phase(own, department, "DATA_COLLECTION", note="go")
    raw = uuid.UUID(_raw(department))
    async with own.container.core.engine().connect() as conn:
        events = (await conn.execute(select(t.outbox.c.type, t.outbox.c.payload, t.outbox.c.aggregate_type)
                                     .where(t.outbox.c.aggregate_id == raw))).all()
        audit = (await conn.execute(select(t.audit_log.c.operation, t.audit_log.c.after)
                                    .where(t.audit_log.c.aggregate_id == raw))).all()
    assert [(e.type, e.aggregate_type) for e in events] == [("rollout.phase_changed", "rollout")]
    assert events[0].payload["from"] == "SURVEY" and events[0].payload["to"] == "DATA_COLLECTION"
    assert events[0].payload["note"] == "go" and events[0].payload["departmentCode"]
    assert [(a.operation, a.after) for a in audit] == [("setRolloutPhase", {"phase": "DATA_COLLECTION"})]


def _raw(global_id: str) -> str:
    return str(parse_global_id(global_id)[1])


async def test_who_may_run_a_departments_rollout(own: Api) -> None:
    department = await new_department(own)
    other = await new_department(own)
    people = {role: await staff_in(own, department, role) for role in ("MEMBER", "KEY_USER", "MANAGER")}
    outsider = await staff_in(own, other, "MANAGER")
    for who in (people["MEMBER"], outsider):
        for document, variables in ((PHASE, {"departmentId": department, "phase": "DATA_COLLECTION"}),
                                    (TARGET, {"departmentId": department, "key": "customers", "target": 3})):
            errors = await own.errors(document, {"i": variables}, as_=who)
            assert [e["extensions"]["code"] for e in errors] == ["FORBIDDEN"]
    staff = (await own("query($d: ID) { staff(departmentId: $d, first: 10) { edges { node { id email } } } }",
                       {"d": department}))["staff"]["edges"]
    member_id = next(s["node"]["id"] for s in staff if s["node"]["email"] == people["MEMBER"])
    for who in (people["MEMBER"], outsider):
        errors = await own.errors(TRAINED, {"i": {"staffId": member_id}}, as_=who)
        assert [e["extensions"]["code"] for e in errors] == ["FORBIDDEN"]
    assert (await phase(own, department, "DATA_COLLECTION", as_=people["KEY_USER"]))["userErrors"] == []
    key_users = (await rollout_of(own, department))["keyUsers"]
    assert key_users == [{"email": people["KEY_USER"]}]


async def test_the_checklist_counts_the_data_and_its_targets_decide_done(own: Api) -> None:
    department = await new_department(own, unique("SL").upper()[:20])
    manager = await staff_in(own, department, "MANAGER")
    member = await staff_in(own, department, "MEMBER")
    before = {i["key"]: i for i in (await rollout_of(own, department))["checklist"]}
    assert before["customers"]["current"] == 0 and before["department_calendar"]["current"] == 0
    member_id = (await own("{ me { id } }", as_=member))["me"]["id"]
    for n in range(2):
        created = await own("mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { userErrors { code } } }",
                            {"i": {"name": unique("Rollout"), "kind": "COMPANY", "ownerId": member_id,
                                   "contacts": [{"name": "A", "email": "a@x.example"}, {"name": "B"}]}}, as_=member)
        assert created["createCustomer"]["userErrors"] == []
    target = (await own(TARGET, {"i": {"departmentId": department, "key": "customers", "target": 3}},
                        as_=manager))["setChecklistTarget"]
    assert target["userErrors"] == []
    item = next(i for i in target["rollout"]["checklist"] if i["key"] == "customers")
    assert (item["current"], item["target"], item["done"]) == (2, 3, False)
    await own("mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { userErrors { code } } }",
              {"i": {"name": unique("Rollout"), "kind": "COMPANY", "ownerId": member_id}}, as_=member)
    item = next(i for i in (await rollout_of(own, department))["checklist"] if i["key"] == "customers")
    assert (item["current"], item["target"], item["done"]) == (3, 3, True)

    marked = (await own(TARGET, {"i": {"departmentId": department, "key": "workflow_definitions", "done": True}},
                        as_=manager))["setChecklistTarget"]
    flows = next(i for i in marked["rollout"]["checklist"] if i["key"] == "workflow_definitions")
    assert (flows["current"], flows["target"], flows["done"]) == (0, None, True)

    for bad, path in (({"key": "sla_policies", "target": 1}, "key"), ({"key": "customers", "target": -1}, "target")):
        errors = (await own(TARGET, {"i": {"departmentId": department, **bad}}, as_=manager))["setChecklistTarget"]
        assert [(e["field"], e["code"]) for e in errors["userErrors"]] == [(["input", path], "INVALID")]


async def test_the_standard_checklists_count_company_and_department_data(own: Api) -> None:
    rollouts = {r["department"]["code"]: {i["key"]: i["current"] for i in r["checklist"]}
                for r in (await own(ROLLOUT))["rollout"]}
    async with own.container.core.engine().connect() as conn:
        skus = len({row.sku for row in await conn.execute(select(t.order_lines.c.sku))})
        categories = len((await conn.execute(select(t.complaint_categories.c.id).where(
            t.complaint_categories.c.active.is_(True)))).all())
        sales = (await conn.execute(select(t.departments.c.id).where(t.departments.c.code == "SALES"))).scalar_one()
        owned = len((await conn.execute(select(t.customers.c.id).join(t.staff, t.customers.c.owner_id == t.staff.c.id)
                                        .where(t.staff.c.department_id == sales))).all())
    assert set(rollouts["SALES"]) == {"customers", "contacts", "products", "workflow_definitions"}
    assert rollouts["SALES"]["customers"] == owned > 0 and rollouts["SALES"]["products"] == skus > 0
    assert rollouts["SERVICE"]["complaint_categories"] == categories > 0
    assert rollouts["FINANCE"]["workflow_definitions"] >= 1  # the advance-payment workflow has a FINANCE step
    assert rollouts["FINANCE"]["department_calendar"] == 1  # the demo gives every department its calendar
    assert set(rollouts["MARKETING"]) == {"tagged_customers", "contacts_with_email", "customers"}


async def test_staff_are_marked_trained_by_their_departments_key_users_not_in_the_future(own: Api) -> None:
    department = await new_department(own)
    key_user = await staff_in(own, department, "KEY_USER")
    member = await staff_in(own, department, "MEMBER")
    member_id = (await own("{ me { id } }", as_=member))["me"]["id"]
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    late = (await own(TRAINED, {"i": {"staffId": member_id, "trainedAt": future}}, as_=key_user))["markTrained"]
    assert [(e["field"], e["code"]) for e in late["userErrors"]] == [(["input", "trainedAt"], "INVALID")]
    done = (await own(TRAINED, {"i": {"staffId": member_id, "trainedAt": "2026-01-05T09:00:00Z"}},
                      as_=key_user))["markTrained"]
    assert done["userErrors"] == [] and (done["rollout"]["trainedStaff"], done["rollout"]["activeStaff"]) == (1, 2)
    again = (await own(TRAINED, {"i": {"staffId": member_id}}, as_=key_user))["markTrained"]
    assert again["rollout"]["trainedStaff"] == 1  # marked again: the date replaced, still one person
    async with own.container.core.engine().connect() as conn:
        row = (await conn.execute(select(t.staff_trainings).where(
            t.staff_trainings.c.staff_id == uuid.UUID(_raw(member_id))))).one()
        marker = (await conn.execute(select(t.staff.c.email).where(t.staff.c.id == row.marked_by))).scalar_one()
    assert marker == key_user and row.trained_at > datetime(2026, 1, 6, tzinfo=UTC)
    missing = (await own(TRAINED, {"i": {"staffId": to_global_id("Staff", uuid.uuid4())}}))["markTrained"]
    assert [(e["field"], e["code"]) for e in missing["userErrors"]] == [(["input", "staffId"], "NOT_FOUND")]


async def test_the_rollout_query_costs_the_same_statements_for_1_5_and_20_departments(own: Api) -> None:
    """With 1, 5 and 20 departments more than the module's tests made so far (each with a key user and a
    history entry), the same statements."""
    made: list[uuid.UUID] = []
    counts = []
    base = len((await own(ROLLOUT))["rollout"])
    try:
        for size in (1, 5, 20):
            while len(made) < size:
                made.append(uuid.UUID(_raw(await new_department(own))))
                department = to_global_id("Department", made[-1])
                await staff_in(own, department, "KEY_USER")
                await phase(own, department, "DATA_COLLECTION", note="n")
            await own(ROLLOUT)
            with statements(own) as seen:
                assert len((await own(ROLLOUT))["rollout"]) == base + size
            counts.append(len(seen))
    finally:
        async with own.container.core.engine().begin() as conn:
            await conn.execute(delete(t.staff).where(t.staff.c.department_id.in_(made)))
            await conn.execute(delete(t.departments).where(t.departments.c.id.in_(made)))
    assert counts[0] == counts[1] == counts[2], counts
    assert 3 <= counts[0] <= 8, counts



async def test_the_demo_shows_a_staggered_rollout(own: Api) -> None:
    rollouts = {r["department"]["code"]: r for r in (await own(ROLLOUT))["rollout"]}
    assert {code: rollouts[code]["phase"] for code in ("SALES", "MARKETING", "SERVICE", "FINANCE", "WAREHOUSE")} == {
        "SALES": "LIVE", "MARKETING": "SURVEY", "SERVICE": "TRAINING", "FINANCE": "TRAINING",
        "WAREHOUSE": "DATA_COLLECTION"}
    back = [h for h in rollouts["FINANCE"]["history"] if (h["from"], h["to"]) == ("TRAINING", "DATA_COLLECTION")]
    assert len(back) == 1 and back[0]["note"] and back[0]["by"] == {"email": "admin@example.com"}
    assert [h["at"] for h in rollouts["SALES"]["history"]] == sorted(h["at"] for h in rollouts["SALES"]["history"])
    # the demo's admin is one of the sales staff
    assert (rollouts["SALES"]["trainedStaff"], rollouts["SERVICE"]["trainedStaff"]) == (4, 3)
    assert rollouts["SALES"]["keyUsers"] == [{"email": "sales.key@example.com"}]
    sales = {i["key"]: i for i in rollouts["SALES"]["checklist"]}
    assert sales["customers"]["target"] == 20 and sales["workflow_definitions"]["done"] is True


async def test_concurrent_writers_of_one_department_take_turns(own: Api) -> None:
    """Marking six people trained at once in a department never touched (its rollout's first row written by one of
    them): all six recorded; five moves from version 0 at once: one made, four told CONFLICT."""
    department = await new_department(own)
    members = [await staff_in(own, department, "MEMBER") for _ in range(6)]
    ids = [(await own("{ me { id } }", as_=m))["me"]["id"] for m in members]
    marked = await asyncio.gather(*(own(TRAINED, {"i": {"staffId": i}}) for i in ids))
    assert all(m["markTrained"]["userErrors"] == [] for m in marked), marked
    assert (await rollout_of(own, department))["trainedStaff"] == 6
    version = (await rollout_of(own, department))["version"]
    moves = await asyncio.gather(*(phase(own, department, "DATA_COLLECTION", expectedVersion=version)
                                   for _ in range(5)))
    codes = sorted(tuple(e["code"] for e in m["userErrors"]) for m in moves)
    assert codes == [(), ("CONFLICT",), ("CONFLICT",), ("CONFLICT",), ("CONFLICT",)], moves

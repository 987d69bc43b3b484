"""Workflows over GraphQL with the seeded staff's tokens: the advance-payment approval end to end, the
rejection path, every refusal, delegation, cancellation, versioning, definitions' userErrors, myWork,
overdue steps under a fake clock, two deciders racing, Customer.activity, and the workflowEvents
subscription over graphql-transport-ws."""
from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from dependency_injector import providers
from httpx_ws import WebSocketDisconnect, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport

from api.common.relay import to_global_id
from domain.calendar import BusinessCalendar, add_business_minutes
from tests.application.fakes import FakeClock
from tests.conftest import Api, subscribers_settled, unique, wait_for_subscribers

BERLIN = ZoneInfo("Europe/Berlin")
SALES_MANAGER, SALES_MEMBER = "sales.manager@example.com", "sales.member@example.com"
FINANCE_MEMBER, FINANCE_MANAGER = "finance.member@example.com", "finance.manager@example.com"
WAREHOUSE_MEMBER = "warehouse.member@example.com"

STEP_FIELDS = """key name kind requiredRole status stage comment decidedAt activatedAt dueAt overdue
  department { code } assignee { email } decidedBy { email }"""
INSTANCE_FIELDS = f"""id status context version startedAt completedAt startedBy {{ email }}
  definition {{ key version active }}
  subject {{ __typename id }}
  steps {{ {STEP_FIELDS} }}"""
PAYLOAD = f"{{ instance {{ {INSTANCE_FIELDS} }} userErrors {{ field message code }} }}"
START = f"mutation($input: StartWorkflowInput!) {{ startWorkflow(input: $input) {PAYLOAD} }}"
DECIDE = f"mutation($input: DecideStepInput!) {{ decideStep(input: $input) {PAYLOAD} }}"
DELEGATE = f"mutation($input: DelegateStepInput!) {{ delegateStep(input: $input) {PAYLOAD} }}"
CANCEL = f"mutation($input: CancelWorkflowInput!) {{ cancelWorkflow(input: $input) {PAYLOAD} }}"
DEFINE = """mutation($input: DefineWorkflowInput!) { defineWorkflow(input: $input) {
  definition { id key name version active subject steps { key name kind requiredRole stage dueWithinMinutes
    department { code } condition { field op value } } }
  userErrors { field message code } } }"""
INSTANCE = f"query($id: ID!) {{ node(id: $id) {{ ... on WorkflowInstance {{ {INSTANCE_FIELDS} }} }} }}"
ORDER = """query($id: ID) { order(id: $id) { number advancePayment total { amount } version
  workflows { id status definition { key } } } }"""
MY_WORK = """query($first: Int, $after: String) { myWork(first: $first, after: $after) {
  totalCount pageInfo { hasNextPage endCursor }
  edges { cursor node { instance { id } step { key dueAt overdue assignee { email } } } } } }"""
CREATE_ORDER = """mutation($input: CreateOrderInput!) { createOrder(input: $input) {
  order { id number version customer { id } } userErrors { field code } } }"""
CREATE_CUSTOMER = """mutation($input: CreateCustomerInput!) {
  createCustomer(input: $input) { customer { id } userErrors { code } } }"""


# --------------------------------------------------------------------------- helpers


async def departments(api: Api) -> dict[str, str]:
    return {d["code"]: d["id"] for d in (await api("{ departments { id code } }"))["departments"]}


async def calendar_of(api: Api, code: str) -> BusinessCalendar:
    """The department's calendar as the API shows it, as a domain value to compute with."""
    found = (await api("""{ departments { code calendar { name timezone holidays
                                                        workingHours { weekday start end } } } }"""))["departments"]
    value = next(d["calendar"] for d in found if d["code"] == code)
    return BusinessCalendar.define(value["name"], value["timezone"],
                                   [(w["weekday"], w["start"], w["end"]) for w in value["workingHours"]],
                                   value["holidays"])


async def staff_id(api: Api, email: str) -> str:
    return (await api("{ me { id } }", as_=email))["me"]["id"]


async def new_customer(api: Api, tier: str = "GOLD") -> str:
    data = await api(CREATE_CUSTOMER, {"input": {"name": unique("WF customer"), "kind": "COMPANY", "tier": tier}})
    return data["createCustomer"]["customer"]["id"]


async def new_order(api: Api, amount: str = "12000", customer: str | None = None) -> dict:
    customer = customer or await new_customer(api)
    data = await api(CREATE_ORDER, {"input": {"customerId": customer, "currency": "EUR",
                                              "lines": [{"sku": "ADV-1", "quantity": "1", "unitPrice": amount}]}},
                     as_=SALES_MEMBER)
    assert data["createOrder"]["userErrors"] == []
    return data["createOrder"]["order"]


async def run(api: Api, document: str, input_: dict, as_: str) -> dict:
    data = await api(document, {"input": input_}, as_=as_)
    return next(iter(data.values()))


async def start(api: Api, order_id: str, as_: str = SALES_MEMBER, **extra: Any) -> dict:
    payload = await run(api, START, {"definitionKey": "advance-payment", "subjectId": order_id, **extra}, as_)
    assert payload["userErrors"] == [], payload
    return payload["instance"]


async def decide(api: Api, instance: dict, step: str, decision: str, as_: str, **extra: Any) -> dict:
    return await run(api, DECIDE, {"instanceId": instance["id"], "stepKey": step, "decision": decision, **extra}, as_)


async def decided(api: Api, instance: dict, step: str, decision: str, as_: str, **extra: Any) -> dict:
    payload = await decide(api, instance, step, decision, as_, **extra)
    assert payload["userErrors"] == [], payload
    return payload["instance"]


async def forbidden(api: Api, document: str, input_: dict, as_: str,
                    message: str = "You are not allowed to do this.") -> None:
    errors = await api.errors(document, {"input": input_}, as_=as_)
    assert [e["extensions"]["code"] for e in errors] == ["FORBIDDEN"]
    assert errors[0]["message"] == message


def needs(step: str, department: str, role: str) -> str:
    """A refused decision names what the step needs (the instance shows it to every staff member anyway)."""
    return f"Step '{step}' is decided by staff of {department} with the {role} role or higher, or by whoever it " \
           "is delegated to."


def statuses(instance: dict) -> dict[str, str]:
    return {s["key"]: s["status"] for s in instance["steps"]}


def step_of(instance: dict, key: str) -> dict:
    return next(s for s in instance["steps"] if s["key"] == key)


async def instance_now(api: Api, instance: dict) -> dict:
    return (await api(INSTANCE, {"id": instance["id"]}))["node"]


def step_input(key: str, department: str, stage: int = 1, **extra: Any) -> dict:
    return {"key": key, "name": key.title(), "departmentId": department, "kind": "APPROVAL", "stage": stage, **extra}


async def define(api: Api, as_: str, key: str, steps: list[dict], subject: str = "ORDER", name: str = "Flow") -> dict:
    return await run(api, DEFINE, {"key": key, "name": name, "subject": subject, "steps": steps}, as_)


# --------------------------------------------------------------------------- the advance-payment path


async def test_advance_payment_up_to_50000(api: Api) -> None:
    order = await new_order(api, "12000")
    instance = await start(api, order["id"])
    assert instance["status"] == "RUNNING" and instance["version"] == 1
    assert instance["context"] == {"amount": "12000.00", "currency": "EUR", "customerTier": "GOLD",
                                   "orderNumber": order["number"], "customerCode": instance["context"]["customerCode"]}
    assert instance["definition"] == {"key": "advance-payment", "version": 1, "active": True}
    assert instance["subject"] == {"__typename": "Order", "id": order["id"]}
    assert instance["startedBy"] == {"email": SALES_MEMBER}
    assert statuses(instance) == {"sales-approval": "ACTIVE", "finance-check": "WAITING",
                                  "finance-manager-approval": "SKIPPED", "release-goods": "WAITING"}
    sales = step_of(instance, "sales-approval")
    assert sales["department"] == {"code": "SALES"} and sales["requiredRole"] == "MANAGER"
    calendar = await calendar_of(api, "SALES")  # the demo office calendar: one working day of 480 minutes
    activated, due = datetime.fromisoformat(sales["activatedAt"]), datetime.fromisoformat(sales["dueAt"])
    assert due == add_business_minutes(calendar, activated, 480) and sales["overdue"] is False
    assert (await api(ORDER, {"id": order["id"]}))["order"]["advancePayment"] == "REQUESTED"

    instance = await decided(api, instance, "sales-approval", "APPROVE", SALES_MANAGER, comment="good customer",
                             expectedVersion=1)
    approved = step_of(instance, "sales-approval")
    assert (approved["status"], approved["decidedBy"], approved["comment"]) == (
        "APPROVED", {"email": SALES_MANAGER}, "good customer")
    assert statuses(instance)["finance-check"] == "ACTIVE" and instance["version"] == 2
    instance = await decided(api, instance, "finance-check", "APPROVE", FINANCE_MEMBER)
    assert statuses(instance)["release-goods"] == "ACTIVE"
    assert (await api(ORDER, {"id": order["id"]}))["order"]["advancePayment"] == "REQUESTED"
    instance = await decided(api, instance, "release-goods", "COMPLETE", WAREHOUSE_MEMBER)
    assert instance["status"] == "COMPLETED" and instance["completedAt"] is not None
    seen = (await api(ORDER, {"id": order["id"]}))["order"]
    assert seen["advancePayment"] == "APPROVED"
    assert seen["workflows"] == [{"id": instance["id"], "status": "COMPLETED", "definition": {"key": "advance-payment"}}]


async def test_the_advance_payment_leaves_the_orders_version_alone(api: Api) -> None:
    """The workflow's state is the workflow's: a version read when the order was created still confirms it
    after an advance payment was requested (it was a CONFLICT), and after the workflow ended."""
    from tests.e2e.test_order_lifecycle import transition

    order = await new_order(api, "12000")
    assert order["version"] == 1
    instance = await start(api, order["id"])
    seen = (await api(ORDER, {"id": order["id"]}))["order"]
    assert (seen["advancePayment"], seen["version"]) == ("REQUESTED", 1)
    confirmed = await transition(api, order, "CONFIRMED", as_=SALES_MEMBER, expectedVersion=1)
    assert confirmed["userErrors"] == [] and confirmed["order"]["version"] == 2
    await decided(api, instance, "sales-approval", "REJECT", SALES_MANAGER)
    seen = (await api(ORDER, {"id": order["id"]}))["order"]
    assert (seen["advancePayment"], seen["version"]) == ("REJECTED", 2)
    stale = await transition(api, order, "CANCELLED", as_=SALES_MEMBER, expectedVersion=1)
    assert [e["code"] for e in stale["userErrors"]] == ["CONFLICT"]  # the order's own changes still count


async def test_the_context_is_for_those_who_see_the_instances_events(api: Api) -> None:
    """As workflowEvents: the amount and the customer are not every department's business (the instance and
    its steps stay listed for everybody, as before)."""
    order = await new_order(api, "12000")
    instance = await start(api, order["id"])
    listed = "query($s: ID) { workflowInstances(subjectId: $s) { edges { node { id context } } } }"
    for who in ("admin@example.com", SALES_MEMBER, FINANCE_MEMBER, WAREHOUSE_MEMBER):
        [edge] = (await api(listed, {"s": order["id"]}, as_=who))["workflowInstances"]["edges"]
        assert edge["node"]["context"]["amount"] == "12000.00", who
    for who in ("marketing.manager@example.com", "service.key@example.com"):
        [edge] = (await api(listed, {"s": order["id"]}, as_=who))["workflowInstances"]["edges"]
        assert edge["node"] == {"id": instance["id"], "context": {}}, who
    delegate = await staff_id(api, "marketing.member@example.com")
    await run(api, DELEGATE, {"instanceId": instance["id"], "stepKey": "sales-approval", "toStaffId": delegate},
              SALES_MANAGER)
    [edge] = (await api(listed, {"s": order["id"]}, as_="marketing.member@example.com"))["workflowInstances"]["edges"]
    assert edge["node"]["context"]["amount"] == "12000.00"  # a step is theirs now


async def test_advance_payment_above_50000_needs_the_finance_manager(api: Api) -> None:
    order = await new_order(api, "50000.01")
    instance = await start(api, order["id"])
    assert instance["context"]["amount"] == "50000.01"
    instance = await decided(api, instance, "sales-approval", "APPROVE", SALES_MANAGER)
    assert {k for k, v in statuses(instance).items() if v == "ACTIVE"} == {"finance-check", "finance-manager-approval"}
    await forbidden(api, DECIDE, {"instanceId": instance["id"], "stepKey": "finance-manager-approval",
                                  "decision": "APPROVE"}, FINANCE_MEMBER,
                    needs("Finance manager approves a large advance", "FINANCE", "MANAGER"))
    instance = await decided(api, instance, "finance-check", "APPROVE", FINANCE_MEMBER)
    assert statuses(instance)["release-goods"] == "WAITING"
    instance = await decided(api, instance, "finance-manager-approval", "APPROVE", FINANCE_MANAGER)
    assert statuses(instance)["release-goods"] == "ACTIVE"
    instance = await decided(api, instance, "release-goods", "COMPLETE", WAREHOUSE_MEMBER)
    assert instance["status"] == "COMPLETED"
    assert (await api(ORDER, {"id": order["id"]}))["order"]["advancePayment"] == "APPROVED"


async def test_rejection_cancels_the_rest_and_rejects_the_advance_payment(api: Api) -> None:
    order = await new_order(api, "90000")
    instance = await start(api, order["id"])
    instance = await decided(api, instance, "sales-approval", "APPROVE", SALES_MANAGER)
    instance = await decided(api, instance, "finance-manager-approval", "REJECT", FINANCE_MANAGER,
                             comment="over the credit limit")
    assert instance["status"] == "REJECTED" and instance["completedAt"] is None
    assert statuses(instance) == {"sales-approval": "APPROVED", "finance-check": "CANCELLED",
                                  "finance-manager-approval": "REJECTED", "release-goods": "CANCELLED"}
    assert (await api(ORDER, {"id": order["id"]}))["order"]["advancePayment"] == "REJECTED"
    payload = await decide(api, instance, "finance-check", "APPROVE", FINANCE_MEMBER)
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(["input", "stepKey"], "FORBIDDEN_TRANSITION")]
    again = await start(api, order["id"])  # a rejected advance payment may be asked for again
    assert again["status"] == "RUNNING"
    assert (await api(ORDER, {"id": order["id"]}))["order"]["advancePayment"] == "REQUESTED"


# --------------------------------------------------------------------------- refusals


async def test_every_refusal(api: Api) -> None:
    order = await new_order(api)
    instance = await start(api, order["id"])
    target = {"instanceId": instance["id"], "stepKey": "sales-approval", "decision": "APPROVE"}
    sales_approval = needs("Sales manager approves the advance payment", "SALES", "MANAGER")
    await forbidden(api, DECIDE, target, FINANCE_MANAGER, sales_approval)  # wrong department (even a manager)
    await forbidden(api, DECIDE, target, SALES_MEMBER, sales_approval)  # too low a role
    await forbidden(api, DECIDE, target, "sales.key@example.com", sales_approval)
    await forbidden(api, DECIDE, {**target, "stepKey": "finance-check"}, SALES_MANAGER,  # not their step at all
                    needs("Finance checks the payment", "FINANCE", "MEMBER"))

    cases = [  # (input change, who, expected userErrors)
        ({"stepKey": "finance-check"}, FINANCE_MEMBER, [(["input", "stepKey"], "FORBIDDEN_TRANSITION")]),
        ({"stepKey": "finance-manager-approval"}, FINANCE_MANAGER, [(["input", "stepKey"], "FORBIDDEN_TRANSITION")]),
        ({"decision": "COMPLETE"}, SALES_MANAGER, [(["input", "decision"], "INVALID")]),
        ({"expectedVersion": 0}, SALES_MANAGER, [(["input", "expectedVersion"], "CONFLICT")]),
        ({"stepKey": "no-such-step"}, SALES_MANAGER, [(["input", "stepKey"], "NOT_FOUND")]),
        ({"comment": "x" * 2001}, SALES_MANAGER, [(["input", "comment"], "INVALID")]),
        ({"instanceId": to_global_id("WorkflowInstance", uuid.uuid4())}, SALES_MANAGER,
         [(["input", "instanceId"], "NOT_FOUND")]),
        ({"instanceId": order["id"]}, SALES_MANAGER, [(["input", "instanceId"], "INVALID")]),
    ]
    for change, who, expected in cases:
        payload = await run(api, DECIDE, {**target, **change}, who)
        assert payload["instance"] is None
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == expected, change
    unchanged = await instance_now(api, instance)
    assert unchanged["version"] == 1 and statuses(unchanged) == statuses(instance)
    assert (await api(ORDER, {"id": order["id"]}))["order"]["advancePayment"] == "REQUESTED"


async def test_start_refusals(api: Api) -> None:
    order = await new_order(api, "2500")
    customer = order["customer"]["id"]
    me = await staff_id(api, SALES_MEMBER)
    cases = [
        ({"definitionKey": "no-such-workflow"}, [(["input", "definitionKey"], "NOT_FOUND")]),
        ({"subjectId": customer}, [(["input", "subjectId"], "INVALID")]),  # a Customer for an ORDER workflow
        ({"subjectId": me}, [(["input", "subjectId"], "INVALID")]),  # a Staff is no subject
        ({"subjectId": "garbage"}, [(["input", "subjectId"], "INVALID")]),
        ({"subjectId": to_global_id("Order", uuid.uuid4())}, [(["input", "subjectId"], "NOT_FOUND")]),
        ({"context": {"amount": "1"}}, [(["input", "context", "amount"], "INVALID")]),  # facts can't be overridden
        ({"context": [1, 2]}, [(["input", "context"], "INVALID")]),
        ({"context": {"blob": "x" * 20000}}, [(["input", "context"], "INVALID")]),
    ]
    for change, expected in cases:
        payload = await run(api, START, {"definitionKey": "advance-payment", "subjectId": order["id"], **change},
                            SALES_MEMBER)
        assert payload["instance"] is None
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == expected, change
    assert (await api(ORDER, {"id": order["id"]}))["order"]["workflows"] == []

    key = unique("start")
    first = await start(api, order["id"], idempotencyKey=key, context={"note": "urgent", "amount": "2500.00"})
    assert first["context"]["note"] == "urgent"
    replay = await start(api, order["id"], idempotencyKey=key, context={"note": "urgent", "amount": "2500.00"})
    assert replay["id"] == first["id"]
    twice = await run(api, START, {"definitionKey": "advance-payment", "subjectId": order["id"]}, SALES_MEMBER)
    assert [(e["field"], e["code"]) for e in twice["userErrors"]] == [(["input", "subjectId"], "FORBIDDEN_TRANSITION")]
    assert len((await api(ORDER, {"id": order["id"]}))["order"]["workflows"]) == 1


# --------------------------------------------------------------------------- delegation and cancellation


async def test_delegation(api: Api) -> None:
    order = await new_order(api)
    instance = await start(api, order["id"])
    delegate_to = await staff_id(api, "marketing.member@example.com")
    target = {"instanceId": instance["id"], "stepKey": "sales-approval", "toStaffId": delegate_to}
    await forbidden(api, DELEGATE, target, SALES_MEMBER,  # may not decide it, so may not hand it on
                    needs("Sales manager approves the advance payment", "SALES", "MANAGER"))
    unknown = await run(api, DELEGATE, {**target, "toStaffId": to_global_id("Staff", uuid.uuid4())}, SALES_MANAGER)
    assert [(e["field"], e["code"]) for e in unknown["userErrors"]] == [(["input", "toStaffId"], "NOT_FOUND")]
    waiting = await run(api, DELEGATE, {**target, "stepKey": "finance-check"}, FINANCE_MEMBER)
    assert [(e["field"], e["code"]) for e in waiting["userErrors"]] == [(["input", "stepKey"], "FORBIDDEN_TRANSITION")]

    payload = await run(api, DELEGATE, {**target, "comment": "on holiday", "expectedVersion": 1}, SALES_MANAGER)
    assert payload["userErrors"] == []
    assert step_of(payload["instance"], "sales-approval")["assignee"] == {"email": "marketing.member@example.com"}
    again = await run(api, DELEGATE, target, SALES_MANAGER)
    assert [(e["field"], e["code"]) for e in again["userErrors"]] == [(["input", "toStaffId"], "INVALID")]

    work = (await api(MY_WORK, {"first": 100}, as_="marketing.member@example.com"))["myWork"]
    assert any(e["node"]["instance"]["id"] == instance["id"] for e in work["edges"])
    done = await decided(api, instance, "sales-approval", "APPROVE", "marketing.member@example.com")
    assert step_of(done, "sales-approval")["decidedBy"] == {"email": "marketing.member@example.com"}


async def test_cancellation(api: Api) -> None:
    order = await new_order(api)
    instance = await start(api, order["id"])
    target = {"instanceId": instance["id"], "reason": "order withdrawn"}
    await forbidden(api, CANCEL, target, WAREHOUSE_MEMBER)  # not the starter, an admin or a manager with a step
    await forbidden(api, CANCEL, target, "marketing.manager@example.com")
    blank = await run(api, CANCEL, {**target, "reason": "  "}, SALES_MEMBER)
    assert [(e["field"], e["code"]) for e in blank["userErrors"]] == [(["input", "reason"], "INVALID")]
    stale = await run(api, CANCEL, {**target, "expectedVersion": 5}, SALES_MEMBER)
    assert [(e["field"], e["code"]) for e in stale["userErrors"]] == [(["input", "expectedVersion"], "CONFLICT")]

    payload = await run(api, CANCEL, {**target, "expectedVersion": 1}, "warehouse.manager@example.com")
    assert payload["userErrors"] == []
    assert payload["instance"]["status"] == "CANCELLED"
    assert set(statuses(payload["instance"]).values()) == {"CANCELLED", "SKIPPED"}
    assert (await api(ORDER, {"id": order["id"]}))["order"]["advancePayment"] == "NONE"
    again = await run(api, CANCEL, target, SALES_MEMBER)
    assert [e["code"] for e in again["userErrors"]] == ["FORBIDDEN_TRANSITION"]


# --------------------------------------------------------------------------- definitions


async def test_defining_and_versioning(api: Api) -> None:
    d = await departments(api)
    key = unique("launch")
    v1 = await define(api, "marketing.key@example.com", key, [
        step_input("brief", d["MARKETING"], dueWithinMinutes=60),
        step_input("budget", d["FINANCE"], 2, requiredRole="MANAGER",
                   condition={"field": "amount", "op": "GTE", "value": "1000"}),
    ], subject="CUSTOMER", name="Campaign launch")
    assert v1["userErrors"] == []
    definition = v1["definition"]
    assert (definition["key"], definition["version"], definition["active"], definition["subject"]) == (
        key, 1, True, "CUSTOMER")
    assert definition["steps"][1] == {"key": "budget", "name": "Budget", "kind": "APPROVAL", "requiredRole": "MANAGER",
                                      "stage": 2, "dueWithinMinutes": None, "department": {"code": "FINANCE"},
                                      "condition": {"field": "amount", "op": "GTE", "value": "1000"}}

    customer = await new_customer(api)
    old = await run(api, START, {"definitionKey": key, "subjectId": customer, "context": {"amount": 5000}},
                    "marketing.member@example.com")
    assert old["userErrors"] == [] and old["instance"]["subject"] == {"__typename": "Customer", "id": customer}
    assert old["instance"]["context"]["customerTier"] == "GOLD"

    v2 = await define(api, "marketing.manager@example.com", key, [step_input("brief", d["MARKETING"], kind="TASK")],
                      subject="CUSTOMER")
    assert v2["userErrors"] == [] and v2["definition"]["version"] == 2
    listed = [x for x in (await api("{ workflowDefinitions { key version active } }"))["workflowDefinitions"]
              if x["key"] == key]
    assert listed == [{"key": key, "version": 2, "active": True}, {"key": key, "version": 1, "active": False}]
    active = [x for x in (await api("{ workflowDefinitions(activeOnly: true) { key version } }"))[
        "workflowDefinitions"] if x["key"] == key]
    assert active == [{"key": key, "version": 2}]
    node = await api("query($id: ID!) { node(id: $id) { __typename ... on WorkflowDefinition { version } } }",
                     {"id": definition["id"]})
    assert node["node"] == {"__typename": "WorkflowDefinition", "version": 1}

    # the instance keeps version 1: an APPROVAL 'brief', then finance's budget step
    kept = await instance_now(api, old["instance"])
    assert kept["definition"] == {"key": key, "version": 1, "active": False}
    kept = await decided(api, kept, "brief", "APPROVE", "marketing.member@example.com")
    assert statuses(kept) == {"brief": "APPROVED", "budget": "ACTIVE"}
    new = await run(api, START, {"definitionKey": key, "subjectId": customer}, "marketing.member@example.com")
    assert new["instance"]["definition"]["version"] == 2 and step_of(new["instance"], "brief")["kind"] == "TASK"


async def test_who_may_define(api: Api) -> None:
    d = await departments(api)
    key = unique("who")
    steps = [step_input("a", d["MARKETING"])]
    for who in ("marketing.member@example.com", "finance.key@example.com", "finance.manager@example.com"):
        await forbidden(api, DEFINE, {"key": key, "name": "F", "subject": "ORDER", "steps": steps}, who)
    assert (await define(api, "marketing.key@example.com", key, steps))["userErrors"] == []
    # another department cannot take it over by naming only itself
    await forbidden(api, DEFINE, {"key": key, "name": "F", "subject": "ORDER",
                                  "steps": [step_input("a", d["FINANCE"])]}, "finance.key@example.com")
    assert (await define(api, "admin@example.com", key, [step_input("a", d["FINANCE"])]))["userErrors"] == []


@pytest.mark.parametrize("steps, field, code", [
    ([], ["input", "steps"], "INVALID"),
    ([{"departmentId": "ghost"}], ["input", "steps", "0", "departmentId"], "NOT_FOUND"),
    ([{}, {"departmentId": "ghost"}], ["input", "steps", "1", "departmentId"], "NOT_FOUND"),
    ([{"departmentId": "not-an-id"}], ["input", "steps", "0", "departmentId"], "INVALID"),
    ([{}, {"key": "A"}], ["input", "steps", "1", "key"], "INVALID"),
    ([{"key": "has space"}], ["input", "steps", "0", "key"], "INVALID"),
    ([{"stage": 0}], ["input", "steps", "0", "stage"], "INVALID"),
    ([{"dueWithinMinutes": -5}], ["input", "steps", "0", "dueWithinMinutes"], "INVALID"),
    ([{"name": " "}], ["input", "steps", "0", "name"], "INVALID"),
    ([{"condition": {"field": "amount", "op": "GT", "value": "lots"}}], ["input", "steps", "0", "condition", "value"],
     "INVALID"),
    ([{"condition": {"field": " ", "op": "EQ", "value": "x"}}], ["input", "steps", "0", "condition", "field"],
     "INVALID"),
])
async def test_invalid_definitions_are_user_errors(api: Api, steps: list[dict], field: list, code: str) -> None:
    d = await departments(api)
    ghost = to_global_id("Department", uuid.uuid4())
    built = []
    for n, change in enumerate(steps):
        step = {**step_input("a" if n == 0 else "b", d["SALES"]), **change}
        if step["departmentId"] == "ghost":
            step["departmentId"] = ghost
        built.append(step)
    key = unique("bad")
    payload = await define(api, "admin@example.com", key, built)
    assert payload["definition"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(field, code)]
    listed = (await api("{ workflowDefinitions { key } }"))["workflowDefinitions"]
    assert key not in {x["key"] for x in listed}


async def test_invalid_definition_key(api: Api) -> None:
    d = await departments(api)
    payload = await define(api, "admin@example.com", "not a key", [step_input("a", d["SALES"])])
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(["input", "key"], "INVALID")]


# --------------------------------------------------------------------------- myWork and overdue


async def test_my_work_is_assigned_first_then_the_departments_soonest_due(api: Api) -> None:
    d = await departments(api)
    key = unique("queue")
    payload = await define(api, "marketing.key@example.com", key, [
        step_input("later", d["MARKETING"], dueWithinMinutes=120),
        step_input("sooner", d["MARKETING"], dueWithinMinutes=30),
        step_input("undated", d["MARKETING"]),
        step_input("mine", d["MARKETING"], dueWithinMinutes=600),
        step_input("managers", d["MARKETING"], requiredRole="MANAGER", dueWithinMinutes=10),
        step_input("finance", d["FINANCE"], dueWithinMinutes=5),
    ], subject="CUSTOMER")
    assert payload["userErrors"] == []
    customer = await new_customer(api)
    started = await run(api, START, {"definitionKey": key, "subjectId": customer}, "marketing.key@example.com")
    instance = started["instance"]
    member = await staff_id(api, "marketing.member@example.com")
    delegated = await run(api, DELEGATE, {"instanceId": instance["id"], "stepKey": "mine", "toStaffId": member},
                          "marketing.key@example.com")
    assert delegated["userErrors"] == []

    async def queue(email: str) -> list[str]:
        keys, cursor = [], None
        while True:  # page by two to walk the keyset
            page = (await api(MY_WORK, {"first": 2, "after": cursor}, as_=email))["myWork"]
            keys += [e["node"]["step"]["key"] for e in page["edges"] if e["node"]["instance"]["id"] == instance["id"]]
            if not page["pageInfo"]["hasNextPage"]:
                return keys
            cursor = page["pageInfo"]["endCursor"]

    assert await queue("marketing.member@example.com") == ["mine", "sooner", "later", "undated"]
    assert await queue("marketing.manager@example.com") == ["managers", "sooner", "later", "undated"]
    assert await queue("finance.member@example.com") == ["finance"]
    assert await queue("sales.manager@example.com") == []
    total = (await api(MY_WORK, {"first": 1}, as_="marketing.member@example.com"))["myWork"]
    assert total["totalCount"] >= 4


async def test_overdue_follows_the_clock(api: Api) -> None:
    d = await departments(api)
    container = api.container
    fake = FakeClock(datetime(2031, 3, 3, 9, 0, tzinfo=BERLIN))  # a Monday morning: business minutes are clock minutes
    container.gateways.clock.override(providers.Object(fake))
    try:
        key = unique("due")
        assert (await define(api, "marketing.key@example.com", key,
                             [step_input("check", d["MARKETING"], dueWithinMinutes=60)], subject="CUSTOMER")
                )["userErrors"] == []
        started = await run(api, START, {"definitionKey": key, "subjectId": await new_customer(api)},
                            "marketing.key@example.com")
        check = step_of(started["instance"], "check")
        assert datetime.fromisoformat(check["dueAt"]) == fake.now() + timedelta(minutes=60)
        assert check["overdue"] is False
        fake.advance(minutes=60)
        assert step_of(await instance_now(api, started["instance"]), "check")["overdue"] is False  # due, not past
        fake.advance(seconds=1)
        assert step_of(await instance_now(api, started["instance"]), "check")["overdue"] is True
        work = (await api(MY_WORK, {"first": 100}, as_="marketing.member@example.com"))["myWork"]
        mine = [e["node"]["step"] for e in work["edges"] if e["node"]["instance"]["id"] == started["instance"]["id"]]
        assert mine == [{"key": "check", "dueAt": check["dueAt"], "overdue": True, "assignee": None}]
        done = await decided(api, started["instance"], "check", "APPROVE", "marketing.member@example.com")
        assert step_of(done, "check")["overdue"] is False  # a decided step is never overdue
    finally:
        container.gateways.clock.reset_override()


# --------------------------------------------------------------------------- concurrency


async def test_two_people_deciding_at_once_one_wins(api: Api) -> None:
    for _ in range(3):
        order = await new_order(api)
        instance = await start(api, order["id"])

        async def approve(who: str) -> dict:
            return await decide(api, instance, "sales-approval", "APPROVE", who, expectedVersion=1)

        results = await asyncio.gather(approve(SALES_MANAGER), approve("admin@example.com"))
        winners = [r for r in results if r["instance"]]
        losers = [r for r in results if not r["instance"]]
        assert len(winners) == 1 and len(losers) == 1
        assert [(e["field"], e["code"]) for e in losers[0]["userErrors"]] == [(["input", "expectedVersion"],
                                                                               "CONFLICT")]
        after = await instance_now(api, instance)
        assert after["version"] == 2
        assert step_of(after, "sales-approval")["decidedBy"] == step_of(winners[0]["instance"],
                                                                         "sales-approval")["decidedBy"]


# --------------------------------------------------------------------------- reads and activity


async def test_instances_list_and_customer_activity(api: Api) -> None:
    customer = await new_customer(api)
    order = await new_order(api, "7000", customer=customer)
    instance = await start(api, order["id"])
    instance = await decided(api, instance, "sales-approval", "APPROVE", SALES_MANAGER, comment="ok")
    listed = await api("""query($s: ID, $st: WorkflowStatus) { workflowInstances(subjectId: $s, status: $st, first: 5) {
        totalCount edges { node { id status subject { ... on Order { number } } } } } }""", {"s": order["id"]})
    assert listed["workflowInstances"]["totalCount"] == 1
    assert listed["workflowInstances"]["edges"][0]["node"] == {"id": instance["id"], "status": "RUNNING",
                                                               "subject": {"number": order["number"]}}
    done = await api("query($s: ID) { workflowInstances(subjectId: $s, status: COMPLETED) { totalCount } }",
                     {"s": order["id"]})
    assert done["workflowInstances"]["totalCount"] == 0
    bad = await api.errors("{ workflowInstances(subjectId: \"garbage\") { totalCount } }")
    assert bad[0]["extensions"]["code"] == "INVALID"

    feed = await api("""query($id: ID) { customer(id: $id) { activity(first: 50) { edges { node {
        kind summary actor { email } department { code } subject { __typename id } } } } } }""", {"id": customer})
    entries = [e["node"] for e in feed["customer"]["activity"]["edges"]]
    workflow = [(a["summary"], a["actor"]["email"], a["department"]["code"]) for a in entries
                if a["kind"] == "WORKFLOW"]
    assert workflow == [
        ("advance-payment: Sales manager approves the advance payment — APPROVED: ok", SALES_MANAGER, "SALES"),
        ("Workflow advance-payment v1 started", SALES_MEMBER, "SALES"),
    ]
    assert all(a["subject"] == {"__typename": "WorkflowInstance", "id": instance["id"]}
               for a in entries if a["kind"] == "WORKFLOW")
    orders = [a["summary"] for a in entries if a["kind"] == "ORDER"]
    assert orders == [f"Order {order['number']}: advance payment NONE → REQUESTED",
                      f"Order {order['number']} created: 7000.00 EUR"]


async def test_completion_and_rejection_show_in_activity(api: Api) -> None:
    customer = await new_customer(api)
    order = await new_order(api, customer=customer)
    instance = await start(api, order["id"])
    await decided(api, instance, "sales-approval", "REJECT", SALES_MANAGER, comment="no budget")
    feed = await api("query($id: ID) { customer(id: $id) { activity(first: 50) { edges { node { kind summary } } } } }",
                     {"id": customer})
    summaries = [e["node"]["summary"] for e in feed["customer"]["activity"]["edges"] if e["node"]["kind"] != "STAGE_CHANGE"]
    assert "Workflow advance-payment rejected at Sales manager approves the advance payment: no budget" in summaries
    assert f"Order {order['number']}: advance payment REQUESTED → REJECTED" in summaries


# --------------------------------------------------------------------------- subscription


async def ws_messages(ws: Any, count: int, timeout: float = 10) -> list[dict]:
    found = []
    while len(found) < count:
        message = await asyncio.wait_for(ws.receive_json(), timeout)
        assert message["type"] == "next", message
        found.append(message["payload"]["data"]["workflowEvents"])
    return found


SUBSCRIBE = {"query": "subscription($d: ID) { workflowEvents(departmentId: $d) { kind stepKey at "
                      "instance { id status steps { key status } } } }"}


async def test_workflow_events_over_graphql_transport_ws(api: Api, app: Any) -> None:
    d = await departments(api)
    finance_token = await api.token_for(FINANCE_MEMBER)
    admin_token = await api.token_for("admin@example.com")
    async with httpx.AsyncClient(transport=ASGIWebSocketTransport(app), base_url="http://test") as client:
        async with aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"]) as finance, \
                aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"]) as warehouse_watch:
            before = await subscribers_settled(api)
            await finance.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {finance_token}"}})
            assert (await finance.receive_json())["type"] == "connection_ack"
            await finance.send_json({"id": "1", "type": "subscribe", "payload": SUBSCRIBE})
            await warehouse_watch.send_json({"type": "connection_init",
                                             "payload": {"Authorization": f"Bearer {admin_token}"}})
            assert (await warehouse_watch.receive_json())["type"] == "connection_ack"
            await warehouse_watch.send_json({"id": "w", "type": "subscribe", "payload": {
                **SUBSCRIBE, "variables": {"d": d["WAREHOUSE"]}}})
            await wait_for_subscribers(api, before + 2)

            # not finance's business: a marketing-only workflow
            key = unique("quiet")
            await define(api, "marketing.key@example.com", key, [step_input("a", d["MARKETING"])], subject="CUSTOMER")
            await run(api, START, {"definitionKey": key, "subjectId": await new_customer(api)},
                      "marketing.key@example.com")

            order = await new_order(api)
            instance = await start(api, order["id"])
            started, = await ws_messages(finance, 1)  # the sales step's activation is not theirs
            assert (started["kind"], started["stepKey"], started["instance"]["id"]) == ("STARTED", None, instance["id"])
            await decided(api, instance, "sales-approval", "APPROVE", SALES_MANAGER)
            activated, = await ws_messages(finance, 1)
            assert (activated["kind"], activated["stepKey"]) == ("STEP_ACTIVATED", "finance-check")
            assert {s["key"]: s["status"] for s in activated["instance"]["steps"]}["finance-check"] == "ACTIVE"
            await decided(api, instance, "finance-check", "APPROVE", FINANCE_MEMBER)
            decided_, = await ws_messages(finance, 1)
            assert (decided_["kind"], decided_["stepKey"]) == ("STEP_DECIDED", "finance-check")

            # the admin narrowed to the warehouse sees the start (it has a warehouse step) and its activation
            watched = await ws_messages(warehouse_watch, 2)
            assert [(e["kind"], e["stepKey"]) for e in watched] == [("STARTED", None),
                                                                    ("STEP_ACTIVATED", "release-goods")]
            await finance.send_json({"id": "1", "type": "complete"})
            await warehouse_watch.send_json({"id": "w", "type": "complete"})


@pytest.mark.parametrize("payload", [{}, None, "absent", {"Authorization": "Bearer not-a-token"},
                                     {"Authorization": 42}])
async def test_websockets_need_a_valid_token(app: Any, payload: dict | str | None) -> None:
    """4403 for every connection_init without a valid token (a null payload closed with 4400 before)."""
    async with httpx.AsyncClient(transport=ASGIWebSocketTransport(app), base_url="http://test") as client:
        async with aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send_json({"type": "connection_init"} if payload == "absent"
                               else {"type": "connection_init", "payload": payload})
            with pytest.raises(WebSocketDisconnect) as closed:
                await asyncio.wait_for(ws.receive_json(), 5)
            assert closed.value.code == 4403


async def test_subscriptions_are_refused_over_plain_http(api: Api) -> None:
    response = await api.post("subscription { workflowEvents { kind } }")
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"

"""Workflow and order use cases (application/workflows.py, application/orders.py) through in-memory fakes:
who may define, versioning, the subject's facts, due dates through the DueDates port, the order
following its advance-payment workflow in the same commit, and refusals that write nothing."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from application import orders as ou
from application import workflows as wu
from domain.customer import Customer, CustomerKind, CustomerTier
from domain.order import AdvancePaymentStatus
from domain.organisation import Department, Role, Staff
from domain.shared import Conflict, ForbiddenTransition, InvalidInput, NotAuthorized, NotFound
from domain.workflow import ADVANCE_PAYMENT_KEY, StepStatus, WorkflowStatus, WorkflowSubject, \
    advance_payment_definition
from tests.application.fakes import FakeClock, OrdersAndWorkflowsStore, RecordingPublisher


class FakeDueDates:
    """Counts every minute as a day, and records what it was asked."""

    def __init__(self) -> None:
        self.calls: list[tuple[uuid.UUID, datetime, int]] = []

    async def due_at(self, department_id: uuid.UUID, start: datetime, minutes: int) -> datetime:
        self.calls.append((department_id, start, minutes))
        return start + timedelta(days=minutes)


@dataclass
class Cast:
    sales: Department
    finance: Department
    warehouse: Department
    marketing: Department
    admin: Staff
    people: dict[str, Staff]

    def __getitem__(self, name: str) -> Staff:
        return self.people[name]


@pytest.fixture
def publisher() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture
def store(publisher: RecordingPublisher) -> OrdersAndWorkflowsStore:
    return OrdersAndWorkflowsStore(publisher)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def due() -> FakeDueDates:
    return FakeDueDates()


@pytest.fixture
def cast(store: OrdersAndWorkflowsStore) -> Cast:
    departments = {code: store.add_department(code) for code in ("SALES", "FINANCE", "WAREHOUSE", "MARKETING")}
    people = {f"{code.lower()}.{suffix}": store.add_staff(role=role, department=department)
              for code, department in departments.items()
              for suffix, role in (("manager", Role.MANAGER), ("key", Role.KEY_USER), ("member", Role.MEMBER))}
    admin = store.add_staff(role=Role.ADMIN, department=departments["SALES"])
    definition = advance_payment_definition(sales_department_id=departments["SALES"].id,
                                            finance_department_id=departments["FINANCE"].id,
                                            warehouse_department_id=departments["WAREHOUSE"].id)
    store.workflow_definitions[definition.id] = definition
    return Cast(departments["SALES"], departments["FINANCE"], departments["WAREHOUSE"], departments["MARKETING"],
                admin, people)


def add_customer(store: OrdersAndWorkflowsStore, clock: FakeClock, tier: CustomerTier = CustomerTier.GOLD) -> Customer:
    customer = Customer.register(code=f"C{uuid.uuid4().hex[:6]}".upper(), name="Acme", kind=CustomerKind.COMPANY,
                                 tier=tier, at=clock.now(), by=None)
    customer.collect_events()
    customer.version = 1
    store.customers[customer.id] = customer
    return customer


async def new_order(store: OrdersAndWorkflowsStore, clock: FakeClock, cast: Cast, amount: str = "12000",
                    currency: str = "EUR", **kwargs: Any) -> Any:
    customer = add_customer(store, clock)
    return await ou.create_order(store.uow(), clock, cast["sales.member"], ou.CreateOrder(
        customer_id=customer.id, currency=currency, lines=(ou.OrderLineData(sku="X-1", quantity="1",
                                                                           unit_price=amount),), **kwargs))


async def start_advance(store: OrdersAndWorkflowsStore, clock: FakeClock, due: FakeDueDates, cast: Cast,
                        order_id: uuid.UUID, **kwargs: Any) -> Any:
    return await wu.start_workflow(store.uow(), clock, due, cast["sales.member"], wu.StartWorkflow(
        definition_key=ADVANCE_PAYMENT_KEY, subject_type=WorkflowSubject.ORDER, subject_id=order_id, **kwargs))


async def decide(store: OrdersAndWorkflowsStore, clock: FakeClock, due: FakeDueDates, who: Staff,
                 instance_id: uuid.UUID, step: str, decision: str, **kwargs: Any) -> Any:
    return await wu.decide_step(store.uow(), clock, due, who, wu.DecideStep(
        instance_id=instance_id, step_key=step, decision=decision, **kwargs))


def step(key: str, department: Department, stage: int = 1, **kwargs: Any) -> wu.StepData:
    return wu.StepData(key=key, name=key.title(), department_id=department.id, kind=kwargs.pop("kind", "APPROVAL"),
                       stage=stage, **kwargs)


# --------------------------------------------------------------------------- orders


async def test_create_order_numbers_and_totals(store: OrdersAndWorkflowsStore, clock: FakeClock, cast: Cast) -> None:
    customer = add_customer(store, clock)
    order = await ou.create_order(store.uow(), clock, cast["sales.member"], ou.CreateOrder(
        customer_id=customer.id, currency="eur", lines=(
            ou.OrderLineData(sku="A", quantity="3", unit_price="0.125"),  # 0.12 each (half-even), 0.36
            ou.OrderLineData(sku="B", quantity="2.5", unit_price="10", discount_percent="10"))))  # 22.50
    stored = store.order(order.id)
    assert (stored.number, stored.currency, stored.owner_id, stored.version) == (
        "SO-000001", "EUR", cast["sales.member"].id, 1)
    assert [line.line_total.amount for line in stored.lines] == [Decimal("0.36"), Decimal("22.50")]
    assert stored.total.amount == Decimal("22.86")
    [event] = store.committed_events
    assert event.type == "order.created" and event.payload["customerId"] == str(customer.id)
    second = await new_order(store, clock, cast)
    assert second.number == "SO-000002"


@pytest.mark.parametrize("change, field, error", [
    ({"currency": "EURO"}, ("currency",), InvalidInput),
    ({"lines": ()}, ("lines",), InvalidInput),
    ({"lines": (ou.OrderLineData(sku="A", quantity="0", unit_price="1"),)}, ("lines", "0", "quantity"), InvalidInput),
    ({"owner_id": uuid.uuid4()}, ("ownerId",), NotFound),
    ({"customer_id": uuid.uuid4()}, ("customerId",), NotFound),
])
async def test_bad_orders_write_nothing(store: OrdersAndWorkflowsStore, clock: FakeClock, cast: Cast,
                                        change: dict[str, Any], field: tuple[str, ...], error: type) -> None:
    customer = add_customer(store, clock)
    before = store.dump()
    args: dict[str, Any] = {"customer_id": customer.id, "currency": "EUR",
                            "lines": (ou.OrderLineData(sku="A", quantity="1", unit_price="1"),), **change}
    with pytest.raises(error) as err:
        await ou.create_order(store.uow(), clock, cast["sales.member"], ou.CreateOrder(**args))
    assert err.value.field == field
    assert store.dump() == before


# --------------------------------------------------------------------------- define


async def test_who_may_define(store: OrdersAndWorkflowsStore, clock: FakeClock, cast: Cast) -> None:
    steps = (step("a", cast.marketing), step("b", cast.finance, 2))
    for who in (cast["marketing.member"], cast["warehouse.key"], cast["warehouse.manager"]):
        with pytest.raises(NotAuthorized):
            await wu.define_workflow(store.uow(), clock, who, wu.DefineWorkflow("flow", "Flow", "ORDER", steps))
    for n, who in enumerate((cast["marketing.key"], cast["finance.manager"], cast.admin)):
        definition = await wu.define_workflow(store.uow(), clock, who,
                                              wu.DefineWorkflow(f"flow-{n}", "Flow", "ORDER", steps))
        assert definition.version == 1 and store.workflow_definitions[definition.id].active


async def test_redefining_retires_the_previous_version_and_needs_a_part_in_it(
        store: OrdersAndWorkflowsStore, clock: FakeClock, cast: Cast) -> None:
    v1 = await wu.define_workflow(store.uow(), clock, cast["marketing.key"],
                                  wu.DefineWorkflow("Launch", "Launch", "CUSTOMER", (step("a", cast.marketing),)))
    # the service of another department cannot take the workflow over by naming itself in a new version
    with pytest.raises(NotAuthorized):
        await wu.define_workflow(store.uow(), clock, cast["finance.key"],
                                 wu.DefineWorkflow("launch", "Mine now", "CUSTOMER", (step("a", cast.finance),)))
    v2 = await wu.define_workflow(store.uow(), clock, cast["marketing.manager"], wu.DefineWorkflow(
        "launch", "Launch", "CUSTOMER", (step("a", cast.marketing), step("b", cast.finance, 2))))
    assert (v1.key, v1.version, v2.version) == ("launch", 1, 2)
    assert not store.workflow_definitions[v1.id].active and store.workflow_definitions[v2.id].active
    # now finance has a part in it, so its key user may define version 3
    v3 = await wu.define_workflow(store.uow(), clock, cast["finance.key"],
                                  wu.DefineWorkflow("launch", "Launch", "CUSTOMER", (step("b", cast.finance),)))
    assert v3.version == 3


async def test_an_unknown_department_is_not_found_at_its_step(store: OrdersAndWorkflowsStore, clock: FakeClock,
                                                              cast: Cast) -> None:
    ghost = Department(id=uuid.uuid4(), code="GHOST", name="Ghost")
    before = store.dump()
    with pytest.raises(NotFound) as err:
        await wu.define_workflow(store.uow(), clock, cast.admin, wu.DefineWorkflow(
            "flow", "Flow", "ORDER", (step("a", cast.sales), step("b", ghost, 2))))
    assert err.value.field == ("steps", "1", "departmentId")
    with pytest.raises(InvalidInput) as invalid:
        await wu.define_workflow(store.uow(), clock, cast.admin, wu.DefineWorkflow(
            "flow", "Flow", "ORDER", (step("a", cast.sales, condition=wu.ConditionData("amount", "GT", "lots")),)))
    assert invalid.value.field == ("steps", "0", "condition", "value")
    assert store.dump() == before


async def test_concurrent_redefinitions_conflict(store: OrdersAndWorkflowsStore, clock: FakeClock, cast: Cast) -> None:
    await wu.define_workflow(store.uow(), clock, cast.admin, wu.DefineWorkflow("flow", "F", "ORDER",
                                                                               (step("a", cast.sales),)))
    first, second = store.uow(), store.uow()
    cmd = wu.DefineWorkflow("flow", "F", "ORDER", (step("a", cast.sales),))
    async with second:  # reads version 1 as the latest, then loses the race
        stale = await second.workflow_definitions.latest("flow")
    await wu.define_workflow(first, clock, cast.admin, cmd)
    assert stale is not None and stale.version == 1
    async with second:
        with pytest.raises(Conflict):
            await second.workflow_definitions.retire(stale)


# --------------------------------------------------------------------------- start


async def test_start_takes_the_orders_facts_and_requests_the_advance_payment(
        store: OrdersAndWorkflowsStore, clock: FakeClock, due: FakeDueDates, cast: Cast,
        publisher: RecordingPublisher) -> None:
    order = await new_order(store, clock, cast, amount="60000.5")
    commits = store.commits
    instance = await start_advance(store, clock, due, cast, order.id, context={"note": "rush"})
    assert store.commits == commits + 1, "instance and order in one transaction"
    assert instance.context == {"note": "rush", "amount": "60000.50", "currency": "EUR", "customerTier": "GOLD",
                                "orderNumber": order.number, "customerCode": instance.context["customerCode"]}
    assert store.order(order.id).advance_payment is AdvancePaymentStatus.REQUESTED
    sales_step = instance.step("sales-approval")
    assert sales_step.status is StepStatus.ACTIVE
    assert sales_step.due_at == clock.now() + timedelta(days=480), "due dates come from the DueDates port"
    assert due.calls and all(start == clock.now() for _, start, _ in due.calls)
    assert {e.type for e in publisher.published[-1]} >= {"workflow.started", "workflow.step_activated",
                                                          "order.advance_payment_changed"}


async def test_start_refusals_write_nothing(store: OrdersAndWorkflowsStore, clock: FakeClock, due: FakeDueDates,
                                            cast: Cast) -> None:
    order = await new_order(store, clock, cast)
    customer = add_customer(store, clock)
    before = store.dump()
    cases: list[tuple[dict[str, Any], type, tuple[str, ...]]] = [
        ({"definition_key": "nope"}, NotFound, ("definitionKey",)),
        ({"subject_type": WorkflowSubject.CUSTOMER, "subject_id": customer.id}, InvalidInput, ("subjectId",)),
        ({"subject_id": uuid.uuid4()}, NotFound, ("subjectId",)),
        ({"context": {"amount": "1"}}, InvalidInput, ("context", "amount")),
        ({"context": ["not", "an", "object"]}, InvalidInput, ("context",)),
    ]
    for change, error, field in cases:
        args: dict[str, Any] = {"definition_key": ADVANCE_PAYMENT_KEY, "subject_type": WorkflowSubject.ORDER,
                                "subject_id": order.id, **change}
        with pytest.raises(error) as err:
            await wu.start_workflow(store.uow(), clock, due, cast["sales.member"], wu.StartWorkflow(**args))
        assert err.value.field == field, change
    assert store.dump() == before


async def test_complaint_subjects_wait_for_their_feature(store: OrdersAndWorkflowsStore, clock: FakeClock,
                                                         due: FakeDueDates, cast: Cast) -> None:
    await wu.define_workflow(store.uow(), clock, cast.admin, wu.DefineWorkflow(
        "complaint-review", "Review", "COMPLAINT", (step("a", cast.sales),)))
    with pytest.raises(InvalidInput) as err:
        await wu.start_workflow(store.uow(), clock, due, cast.admin, wu.StartWorkflow(
            definition_key="complaint-review", subject_type=WorkflowSubject.COMPLAINT, subject_id=uuid.uuid4()))
    assert err.value.field == ("subjectId",)


async def test_an_advance_payment_is_requested_once(store: OrdersAndWorkflowsStore, clock: FakeClock,
                                                    due: FakeDueDates, cast: Cast) -> None:
    order = await new_order(store, clock, cast)
    await start_advance(store, clock, due, cast, order.id)
    before = store.dump()
    with pytest.raises(ForbiddenTransition):
        await start_advance(store, clock, due, cast, order.id)
    assert store.dump() == before


async def test_start_is_idempotent(store: OrdersAndWorkflowsStore, clock: FakeClock, due: FakeDueDates,
                                   cast: Cast) -> None:
    order = await new_order(store, clock, cast)
    first = await start_advance(store, clock, due, cast, order.id, idempotency_key="k1")
    again = await start_advance(store, clock, due, cast, order.id, idempotency_key="k1")
    assert again.id == first.id and len(store.workflows) == 1
    with pytest.raises(InvalidInput) as err:
        await start_advance(store, clock, due, cast, order.id, idempotency_key="k1", context={"x": 1})
    assert err.value.field == ("idempotencyKey",)


# --------------------------------------------------------------------------- decide, delegate, cancel


async def test_the_order_follows_its_workflow_to_approval(store: OrdersAndWorkflowsStore, clock: FakeClock,
                                                         due: FakeDueDates, cast: Cast) -> None:
    order = await new_order(store, clock, cast, amount="80000")
    instance = await start_advance(store, clock, due, cast, order.id)
    clock.advance(hours=1)
    await decide(store, clock, due, cast["sales.manager"], instance.id, "sales-approval", "APPROVE")
    stored = store.workflow(instance.id)
    assert stored.step("finance-check").due_at == clock.now() + timedelta(days=480)
    assert stored.step("finance-manager-approval").status is StepStatus.ACTIVE
    await decide(store, clock, due, cast["finance.member"], instance.id, "finance-check", "APPROVE")
    await decide(store, clock, due, cast["finance.manager"], instance.id, "finance-manager-approval", "APPROVE")
    assert store.order(order.id).advance_payment is AdvancePaymentStatus.REQUESTED
    commits = store.commits
    done = await decide(store, clock, due, cast["warehouse.member"], instance.id, "release-goods", "COMPLETE")
    assert done.status is WorkflowStatus.COMPLETED and store.commits == commits + 1
    assert store.order(order.id).advance_payment is AdvancePaymentStatus.APPROVED
    types = [e.type for e in store.committed_events[-3:]]
    assert types == ["workflow.step_decided", "workflow.completed", "order.advance_payment_changed"]


async def test_rejection_and_cancellation_move_the_order(store: OrdersAndWorkflowsStore, clock: FakeClock,
                                                         due: FakeDueDates, cast: Cast) -> None:
    rejected_order, cancelled_order = await new_order(store, clock, cast), await new_order(store, clock, cast)
    rejected = await start_advance(store, clock, due, cast, rejected_order.id)
    await decide(store, clock, due, cast["sales.manager"], rejected.id, "sales-approval", "REJECT", comment="no")
    assert store.order(rejected_order.id).advance_payment is AdvancePaymentStatus.REJECTED
    assert store.workflow(rejected.id).step("release-goods").status is StepStatus.CANCELLED
    again = await start_advance(store, clock, due, cast, rejected_order.id)  # may be asked for again
    assert again.status is WorkflowStatus.RUNNING
    assert store.order(rejected_order.id).advance_payment is AdvancePaymentStatus.REQUESTED

    cancelled = await start_advance(store, clock, due, cast, cancelled_order.id)
    with pytest.raises(NotAuthorized):
        await wu.cancel_workflow(store.uow(), clock, cast["warehouse.member"],
                                 wu.CancelWorkflow(cancelled.id, reason="mine"))
    await wu.cancel_workflow(store.uow(), clock, cast["sales.member"], wu.CancelWorkflow(cancelled.id, "withdrawn"))
    assert store.order(cancelled_order.id).advance_payment is AdvancePaymentStatus.NONE
    assert store.workflow(cancelled.id).status is WorkflowStatus.CANCELLED


async def test_refused_decisions_write_nothing(store: OrdersAndWorkflowsStore, clock: FakeClock,
                                               due: FakeDueDates, cast: Cast) -> None:
    order = await new_order(store, clock, cast)
    instance = await start_advance(store, clock, due, cast, order.id)
    before = store.dump()
    cases: list[tuple[Staff, str, str, dict[str, Any], type]] = [
        (cast["finance.manager"], "sales-approval", "APPROVE", {}, NotAuthorized),  # wrong department
        (cast["sales.key"], "sales-approval", "APPROVE", {}, NotAuthorized),  # too low a role
        (cast["finance.member"], "finance-check", "APPROVE", {}, ForbiddenTransition),  # not active yet
        (cast["sales.manager"], "sales-approval", "COMPLETE", {}, InvalidInput),  # wrong decision for the kind
        (cast["sales.manager"], "sales-approval", "APPROVE", {"expected_version": 7}, Conflict),
        (cast["sales.manager"], "nope", "APPROVE", {}, NotFound),
    ]
    for who, key, decision, extra, error in cases:
        with pytest.raises(error):
            await decide(store, clock, due, who, instance.id, key, decision, **extra)
    with pytest.raises(NotFound) as err:
        await decide(store, clock, due, cast["sales.manager"], uuid.uuid4(), "sales-approval", "APPROVE")
    assert err.value.field == ("instanceId",)
    assert store.dump() == before


async def test_two_deciders_from_the_same_version_one_conflicts(
        store: OrdersAndWorkflowsStore, clock: FakeClock, due: FakeDueDates, cast: Cast) -> None:
    order = await new_order(store, clock, cast)
    instance = await start_advance(store, clock, due, cast, order.id)
    slow = store.uow()
    async with slow:
        loaded = await slow.workflows.get(instance.id)
        assert loaded is not None
        await decide(store, clock, due, cast.admin, instance.id, "sales-approval", "APPROVE")
        loaded.decide("sales-approval", "APPROVE", by=cast["sales.manager"], at=clock.now(),
                      due_at=lambda d, s, m: s)
        with pytest.raises(Conflict):
            await slow.workflows.save(loaded)
    assert store.workflow(instance.id).step("sales-approval").decided_by == cast.admin.id


async def test_delegation_checks_authority_before_the_delegate(
        store: OrdersAndWorkflowsStore, clock: FakeClock, due: FakeDueDates, cast: Cast) -> None:
    order = await new_order(store, clock, cast)
    instance = await start_advance(store, clock, due, cast, order.id)
    with pytest.raises(NotAuthorized):  # not NotFound: a refusal tells nothing about who exists
        await wu.delegate_step(store.uow(), clock, cast["sales.member"],
                               wu.DelegateStep(instance.id, "sales-approval", uuid.uuid4()))
    with pytest.raises(NotFound) as err:
        await wu.delegate_step(store.uow(), clock, cast["sales.manager"],
                               wu.DelegateStep(instance.id, "sales-approval", uuid.uuid4()))
    assert err.value.field == ("toStaffId",)
    await wu.delegate_step(store.uow(), clock, cast["sales.manager"],
                           wu.DelegateStep(instance.id, "sales-approval", cast["marketing.member"].id, "holiday"))
    done = await decide(store, clock, due, cast["marketing.member"], instance.id, "sales-approval", "APPROVE")
    assert done.step("sales-approval").decided_by == cast["marketing.member"].id

"""Overdue-step escalation (application/workflow_worker.py) and choosing a department's calendar
(application/organisation.py) through the in-memory fakes: who is told, exactly once, batches, refusals
that write nothing."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest

from application import organisation as org
from application import workflows as wu
from application.workflow_worker import NOTIFICATION_KIND, escalate_overdue_steps, run_workflow_worker
from domain.calendar import BusinessCalendar
from domain.customer import Customer, CustomerKind
from domain.organisation import Department, Role, Staff
from domain.shared import NotAuthorized, NotFound
from domain.workflow import StepDefinition, StepKind, WorkflowDefinition, WorkflowInstance, WorkflowSubject
from tests.application.fakes import FakeClock, OrdersAndWorkflowsStore


class ClockMinutes:
    async def due_at(self, department_id: uuid.UUID, start: datetime, minutes: int) -> datetime:
        return start + timedelta(minutes=minutes)


@pytest.fixture
def store() -> OrdersAndWorkflowsStore:
    return OrdersAndWorkflowsStore()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


class Org:
    def __init__(self, store: OrdersAndWorkflowsStore) -> None:
        self.sales, self.finance = store.add_department("SALES"), store.add_department("FINANCE")
        self.admin = store.add_staff(role=Role.ADMIN, department=self.sales)
        self.sales_managers = [store.add_staff(role=Role.MANAGER, department=self.sales) for _ in range(2)]
        self.retired_manager = store.add_staff(role=Role.MANAGER, department=self.sales, active=False)
        self.sales_key = store.add_staff(role=Role.KEY_USER, department=self.sales)
        self.finance_manager = store.add_staff(role=Role.MANAGER, department=self.finance)


@pytest.fixture
def people(store: OrdersAndWorkflowsStore) -> Org:
    return Org(store)


def define(store: OrdersAndWorkflowsStore, people: Org) -> WorkflowDefinition:
    definition = WorkflowDefinition.define(key="review", name="Review", subject=WorkflowSubject.CUSTOMER, steps=[
        StepDefinition("sales", "Sales review", people.sales.id, StepKind.APPROVAL, stage=1, due_within_minutes=60),
        StepDefinition("finance", "Finance review", people.finance.id, StepKind.APPROVAL, stage=1,
                       due_within_minutes=120),
        StepDefinition("release", "Release", people.sales.id, StepKind.TASK, stage=2, due_within_minutes=30),
    ])
    store.workflow_definitions[definition.id] = definition
    return definition


async def start(store: OrdersAndWorkflowsStore, clock: FakeClock, people: Org) -> WorkflowInstance:
    customer = Customer.register(code=f"C{uuid.uuid4().hex[:6]}".upper(), name="Acme", kind=CustomerKind.COMPANY,
                                 at=clock.now(), by=None)
    customer.collect_events()
    customer.version = 1
    store.customers[customer.id] = customer
    return await wu.start_workflow(store.uow(), clock, ClockMinutes(), people.sales_key, wu.StartWorkflow(
        definition_key="review", subject_type=WorkflowSubject.CUSTOMER, subject_id=customer.id))


async def test_overdue_steps_are_escalated_once_and_their_departments_managers_told(
        store: OrdersAndWorkflowsStore, clock: FakeClock, people: Org) -> None:
    define(store, people)
    instance = await start(store, clock, people)
    started = clock.now()

    clock.advance(minutes=60)
    tick = await escalate_overdue_steps(store.uow(), clock)
    assert tick.claimed == 0 and store.notifications == []  # due, not past

    clock.advance(minutes=1)
    tick = await escalate_overdue_steps(store.uow(), clock)
    assert (tick.claimed, tick.escalated, tick.notifications) == (1, 1, 2)
    assert {n.recipient_id for n in store.notifications} == {m.id for m in people.sales_managers}
    notice = store.notifications[0]
    assert notice.kind == NOTIFICATION_KIND and notice.subject_type == "WorkflowInstance"
    assert notice.subject_id == instance.id and notice.at == clock.now()
    assert notice.dedupe_key == f"workflow:{instance.id}:sales:overdue:{started.isoformat()}"
    stored = store.workflow(instance.id)
    assert stored.step("sales").escalated_at == clock.now() and stored.version == instance.version + 1
    assert [e.type for e in store.committed_events][-1] == "workflow.step_overdue"

    again = await escalate_overdue_steps(store.uow(), clock)
    assert again.claimed == 0 and len(store.notifications) == 2

    clock.advance(minutes=60)  # finance's step now: its one manager only
    tick = await escalate_overdue_steps(store.uow(), clock)
    assert (tick.escalated, tick.notifications) == (1, 1)
    assert store.notifications[-1].recipient_id == people.finance_manager.id
    assert sum(e.type == "workflow.step_overdue" for e in store.committed_events) == 2


async def test_a_department_without_managers_still_gets_the_escalation(
        store: OrdersAndWorkflowsStore, clock: FakeClock, people: Org) -> None:
    define(store, people)
    for manager in people.sales_managers:
        store.staff[manager.id].active = False
    instance = await start(store, clock, people)
    clock.advance(minutes=61)
    tick = await escalate_overdue_steps(store.uow(), clock)
    assert (tick.escalated, tick.notifications) == (1, 0)
    assert store.workflow(instance.id).step("sales").escalated_at is not None


async def test_the_worker_drains_in_batches(store: OrdersAndWorkflowsStore, clock: FakeClock, people: Org) -> None:
    define(store, people)
    instances = [await start(store, clock, people) for _ in range(5)]
    clock.advance(hours=3)
    total = await run_workflow_worker(store, clock, once=True, batch_size=3)
    # a claimed instance has all its overdue steps escalated at once, so fewer claims than escalations
    assert (total.escalated, total.notifications) == (10, 5 * (2 + 1)) and total.claimed < 10
    assert all(s.escalated_at == clock.now() for i in instances for s in store.workflow(i.id).active_steps)
    assert (await run_workflow_worker(store, clock, once=True)).claimed == 0


# --------------------------------------------------------------------------- the department's calendar


async def test_choosing_a_departments_calendar(store: OrdersAndWorkflowsStore, clock: FakeClock,
                                               people: Org) -> None:
    calendar = BusinessCalendar.define("Office", "Europe/Berlin", [(1, "09:00", "17:00")])
    store.calendars[calendar.id] = calendar
    cmd = org.SetDepartmentCalendar(people.sales.id, calendar.id)
    department = await org.set_department_calendar(store.uow(), clock, people.sales_managers[0], cmd)
    assert department.calendar_id == calendar.id and store.departments[people.sales.id].calendar_id == calendar.id
    commits = store.commits
    assert (await org.set_department_calendar(store.uow(), clock, people.admin, cmd)).calendar_id == calendar.id
    assert store.commits == commits  # nothing changed, nothing written
    cleared = await org.set_department_calendar(store.uow(), clock, people.admin,
                                                org.SetDepartmentCalendar(people.sales.id, None))
    assert cleared.calendar_id is None and store.departments[people.sales.id].calendar_id is None


@pytest.mark.parametrize("who", ["finance_manager", "sales_key", "retired_manager"])
async def test_others_may_not_choose_and_nothing_is_written(store: OrdersAndWorkflowsStore, clock: FakeClock,
                                                            people: Org, who: str) -> None:
    before = store.dump()
    actor: Staff = getattr(people, who)
    with pytest.raises(NotAuthorized):
        await org.set_department_calendar(store.uow(), clock, actor,
                                          org.SetDepartmentCalendar(people.sales.id, uuid.uuid4()))
    with pytest.raises(NotAuthorized):  # refused before looking anything up: tells nothing about departments
        await org.set_department_calendar(store.uow(), clock, actor,
                                          org.SetDepartmentCalendar(uuid.uuid4(), None))
    assert store.dump() == before


async def test_unknown_department_or_calendar(store: OrdersAndWorkflowsStore, clock: FakeClock, people: Org) -> None:
    before = store.dump()
    with pytest.raises(NotFound) as err:
        await org.set_department_calendar(store.uow(), clock, people.admin, org.SetDepartmentCalendar(uuid.uuid4(), None))
    assert err.value.field == ("departmentId",)
    with pytest.raises(NotFound) as err:
        await org.set_department_calendar(store.uow(), clock, people.admin,
                                          org.SetDepartmentCalendar(people.sales.id, uuid.uuid4()))
    assert err.value.field == ("calendarId",)
    assert store.dump() == before


def test_departments_start_without_a_calendar(people: Org) -> None:
    assert isinstance(people.sales, Department) and people.sales.calendar_id is None

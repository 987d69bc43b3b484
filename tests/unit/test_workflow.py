"""The workflow engine: definitions, conditions, stages, decisions, delegation, cancellation,
due dates and the advance-payment workflow. Pure domain: no database, no clock."""
from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.organisation import Role, Staff
from domain.shared import Conflict, ForbiddenTransition, InvalidInput, NotAuthorized, NotFound
from domain.workflow import (
    ADVANCE_PAYMENT_KEY,
    MAX_DUE_MINUTES,
    MAX_STEPS,
    ComparisonOp,
    Decision,
    StepCondition,
    StepDefinition,
    StepKind,
    StepNeedsItsDepartment,
    StepStatus,
    WorkflowDefinition,
    WorkflowInstance,
    WorkflowStatus,
    WorkflowSubject,
    advance_payment_definition,
    as_number,
    calendar_minutes,
    next_version,
)
from tests.conftest import examples

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
SALES = uuid.UUID("00000000-0000-0000-0000-0000000000a1")
FINANCE = uuid.UUID("00000000-0000-0000-0000-0000000000b2")
WAREHOUSE = uuid.UUID("00000000-0000-0000-0000-0000000000c3")
ORDER_ID = uuid.UUID("00000000-0000-0000-0000-00000000000d")
S = StepStatus
A, T = StepKind.APPROVAL, StepKind.TASK


def person(department: uuid.UUID, role: Role = Role.MEMBER, *, active: bool = True, name: str = "x") -> Staff:
    return Staff(id=uuid.uuid4(), name=name, email=f"{uuid.uuid4().hex[:8]}@example.com",
                 department_id=department, role=role, active=active)


class FakeCalendar:
    """A `DueAt` that records its calls and counts every business minute as an hour,
    so a due date obviously came from here and not from wall-clock arithmetic."""

    def __init__(self) -> None:
        self.calls: list[tuple[uuid.UUID, datetime, int]] = []

    def __call__(self, department_id: uuid.UUID, start: datetime, minutes: int) -> datetime:
        self.calls.append((department_id, start, minutes))
        return start + timedelta(hours=minutes)


DUE = FakeCalendar()


def step(key: str, stage: int = 1, *, kind: StepKind = A, department: uuid.UUID = SALES, role: Role = Role.MEMBER,
         due: int | None = None, condition: StepCondition | None = None, name: str | None = None) -> StepDefinition:
    return StepDefinition(key, name if name is not None else key.title(), department, kind, role, stage, due, condition)


def define(*steps: StepDefinition, key: str = "flow", previous: WorkflowDefinition | None = None,
           subject: WorkflowSubject = WorkflowSubject.ORDER, **kwargs: object) -> WorkflowDefinition:
    return WorkflowDefinition.define(key=key, name="Flow", subject=subject, steps=list(steps), previous=previous,
                                     **kwargs)  # type: ignore[arg-type]


def start(definition: WorkflowDefinition, context: dict[str, object] | None = None, *, by: Staff | None = None,
          at: datetime = T0, due_at: object = DUE) -> WorkflowInstance:
    return WorkflowInstance.start(definition, definition.subject, ORDER_ID, context or {},
                                  started_by=by or person(SALES), at=at, due_at=due_at)  # type: ignore[arg-type]


def statuses(instance: WorkflowInstance) -> dict[str, StepStatus]:
    return {s.key: s.status for s in instance.steps}


def event_types(instance: WorkflowInstance) -> list[str]:
    return [e.type for e in instance.collect_events()]


def state(instance: WorkflowInstance) -> object:
    """Everything that a refused command must leave untouched."""
    return (
        instance.status, instance.completed_at, instance.cancelled_at, instance.updated_at,
        len(instance.pending_events),
        [(s.status, s.decision, s.decided_by, s.decided_at, s.comment, s.assignee_id, s.activated_at, s.due_at,
          len(s.delegations)) for s in instance.steps],
    )


def field_of(err: pytest.ExceptionInfo[InvalidInput]) -> tuple[str, ...] | None:
    return err.value.field


# --------------------------------------------------------------------------- definitions


def test_define_normalises_and_defaults() -> None:
    d = WorkflowDefinition.define(
        key="  Advance-Payment ", name="  Advance payment ", subject="ORDER",
        steps=[StepDefinition(" Check ", "  Check it ", FINANCE, "TASK", None, 2, None,  # type: ignore[arg-type]
                              StepCondition(" amount ", "GT", " 10 "))],  # type: ignore[arg-type]
    )
    assert (d.key, d.name, d.version, d.active, d.subject) == ("advance-payment", "Advance payment", 1, True,
                                                               WorkflowSubject.ORDER)
    (s,) = d.steps
    assert (s.key, s.name, s.kind, s.required_role, s.stage) == ("check", "Check it", StepKind.TASK, Role.MEMBER, 2)
    assert s.condition == StepCondition("amount", ComparisonOp.GT, "10")
    assert d.stages == [2]
    assert d.step("CHECK") is s
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.name = "other"  # type: ignore[misc]


def test_a_workflow_needs_steps() -> None:
    with pytest.raises(InvalidInput) as err:
        define()
    assert field_of(err) == ("steps",)
    with pytest.raises(InvalidInput) as err:
        define(*[step(f"s{i}") for i in range(MAX_STEPS + 1)])
    assert field_of(err) == ("steps",)
    assert len(define(*[step(f"s{i}") for i in range(MAX_STEPS)]).steps) == MAX_STEPS


def test_duplicate_step_keys_are_refused_at_the_second_occurrence() -> None:
    with pytest.raises(InvalidInput) as err:
        define(step("a"), step("b"), step(" A "))
    assert field_of(err) == ("steps", "2", "key")


@pytest.mark.parametrize(("bad", "path"), [
    (step(""), ("steps", "1", "key")),
    (step("   "), ("steps", "1", "key")),
    (step("has space"), ("steps", "1", "key")),
    (step("-lead"), ("steps", "1", "key")),
    (step("k", name="  "), ("steps", "1", "name")),
    (step("k", name="x" * 201), ("steps", "1", "name")),
    (step("k", stage=0), ("steps", "1", "stage")),
    (step("k", stage=-1), ("steps", "1", "stage")),
    (step("k", stage=1000), ("steps", "1", "stage")),
    (step("k", stage=True), ("steps", "1", "stage")),
    (step("k", stage="1"), ("steps", "1", "stage")),  # type: ignore[arg-type]
    (step("k", due=0), ("steps", "1", "dueWithinMinutes")),
    (step("k", due=-5), ("steps", "1", "dueWithinMinutes")),
    (step("k", due=MAX_DUE_MINUTES + 1), ("steps", "1", "dueWithinMinutes")),
    (step("k", due=1.5), ("steps", "1", "dueWithinMinutes")),  # type: ignore[arg-type]
    (step("k", kind="VOTE"), ("steps", "1", "kind")),  # type: ignore[arg-type]
    (step("k", role="BOSS"), ("steps", "1", "requiredRole")),  # type: ignore[arg-type]
    (step("k", department="sales"), ("steps", "1", "departmentId")),  # type: ignore[arg-type]
    (step("k", condition=StepCondition("amount", ComparisonOp.GT, "abc")), ("steps", "1", "condition", "value")),
    (step("k", condition=StepCondition("amount", ComparisonOp.LTE, "NaN")), ("steps", "1", "condition", "value")),
    (step("k", condition=StepCondition("amount", ComparisonOp.EQ, " ")), ("steps", "1", "condition", "value")),
    (step("k", condition=StepCondition(" ", ComparisonOp.EQ, "x")), ("steps", "1", "condition", "field")),
    (step("k", condition=StepCondition("f", "LIKE", "x")), ("steps", "1", "condition", "op")),  # type: ignore[arg-type]
])
def test_invalid_steps_are_reported_with_their_path(bad: StepDefinition, path: tuple[str, ...]) -> None:
    with pytest.raises(InvalidInput) as err:
        define(step("first"), bad)
    assert field_of(err) == path


@pytest.mark.parametrize(("kwargs", "path"), [
    ({"key": ""}, ("key",)),
    ({"key": "no spaces"}, ("key",)),
    ({"name": "  "}, ("name",)),
    ({"subject": "INVOICE"}, ("subject",)),
])
def test_invalid_definition_fields(kwargs: dict[str, object], path: tuple[str, ...]) -> None:
    args: dict[str, object] = {"key": "flow", "name": "Flow", "subject": WorkflowSubject.ORDER, "steps": [step("a")]}
    args.update(kwargs)
    with pytest.raises(InvalidInput) as err:
        WorkflowDefinition.define(**args)  # type: ignore[arg-type]
    assert field_of(err) == path


def test_edge_values_are_accepted() -> None:
    d = define(step("a", stage=999, due=MAX_DUE_MINUTES), step("b", due=1),
               step("c", condition=StepCondition("amount", ComparisonOp.GTE, "-1e3")))
    assert [s.due_within_minutes for s in d.steps] == [MAX_DUE_MINUTES, 1, None]


def test_departments_are_checked_only_when_the_caller_knows_them() -> None:
    with pytest.raises(NotFound) as err:
        define(step("a", department=SALES), step("b", department=FINANCE), known_department_ids={SALES})
    assert field_of(err) == ("steps", "1", "departmentId")
    assert define(step("a"), step("b", department=FINANCE), known_department_ids={SALES, FINANCE}).version == 1
    assert define(step("b", department=uuid.uuid4())).version == 1


def test_defining_an_existing_key_creates_the_next_version() -> None:
    v1 = define(step("a"))
    v2 = define(step("a"), step("b", 2), previous=v1)
    assert (next_version(None), next_version(v1), v2.version, v2.key) == (1, 2, 2, "flow")
    assert v2.id != v1.id
    retired = v1.retired()
    assert (retired.active, retired.version, retired.id, v1.active) == (False, 1, v1.id, True)
    with pytest.raises(ValueError):
        define(step("a"), key="other", previous=v1)


# --------------------------------------------------------------------------- conditions


@pytest.mark.parametrize(("op", "value", "actual", "holds"), [
    ("GT", "50000", "50000.01", True),
    ("GT", "50000", "50000", False),
    ("GT", "50000", 50000.5, True),
    ("GT", "50000", Decimal("49999.99"), False),
    ("GTE", "50000", 50000, True),
    ("LT", "0.3", 0.1, True),
    ("LTE", "-2", "-2.0", True),
    ("GT", "1000", "1e3", False),
    ("GTE", "1000", "1e3", True),
    ("EQ", "50000", "50000.00", True),
    ("EQ", "0.1", 0.1, True),
    ("NE", "5", 5, False),
    ("EQ", "gold", "gold", True),
    ("EQ", "gold", "Gold", False),
    ("EQ", "gold", " gold", False),
    ("NE", "gold", "silver", True),
    ("NE", "gold", "gold", False),
    ("EQ", "true", True, True),
    ("EQ", "false", True, False),
    ("NE", "abc", 5, True),
    ("EQ", "abc", 5, False),
    ("GT", "5", "abc", False),
    ("LT", "5", "abc", False),
    ("GT", "5", True, False),
    ("GT", "5", "NaN", False),
    ("GT", "5", "Infinity", False),
    ("GT", "5", "1_000", False),
    ("GT", "5", "１２", False),
    ("EQ", "x", None, False),
    ("NE", "x", None, False),
    ("EQ", "1", [1], False),
    ("NE", "1", {"a": 1}, False),
])
def test_conditions_compare_typed_values(op: str, value: str, actual: object, holds: bool) -> None:
    condition = StepCondition.create("f", op, value)
    assert condition.holds({"f": actual}) is holds


@pytest.mark.parametrize("op", list(ComparisonOp))
def test_a_missing_field_means_the_condition_does_not_hold(op: ComparisonOp) -> None:
    assert StepCondition.create("amount", op, "5").holds({"other": 5}) is False


def test_ordering_needs_a_number_but_equality_takes_text() -> None:
    for op in ("GT", "GTE", "LT", "LTE"):
        with pytest.raises(InvalidInput) as err:
            StepCondition.create("f", op, "abc")
        assert field_of(err) == ("value",)
    assert StepCondition.create("f", "EQ", "abc").value == "abc"
    assert StepCondition.create("f", "GT", " 1e3 ").value == "1e3"
    assert StepCondition.create("f", "GT", "50000").describe() == "f GT 50000"


def test_as_number() -> None:
    assert as_number("50000.01") == Decimal("50000.01")
    assert as_number(7) == Decimal(7)
    assert as_number(0.1) == Decimal("0.1")
    assert as_number(" .5 ") == Decimal("0.5")
    for not_a_number in (True, None, "", "abc", "NaN", "inf", float("nan"), "1_0", "0x10",
                         "1e9999999999999999999", [1]):
        assert as_number(not_a_number) is None


@settings(max_examples=examples(200), deadline=None)
@given(st.decimals(allow_nan=False, allow_infinity=False, places=4), st.decimals(allow_nan=False, allow_infinity=False,
                                                                               places=4))
def test_numeric_conditions_agree_with_decimal_arithmetic(actual: Decimal, threshold: Decimal) -> None:
    expected = {"GT": actual > threshold, "GTE": actual >= threshold, "LT": actual < threshold,
                "LTE": actual <= threshold, "EQ": actual == threshold, "NE": actual != threshold}
    for op, result in expected.items():
        condition = StepCondition.create("amount", op, str(threshold))
        assert condition.holds({"amount": str(actual)}) is result
        assert condition.holds({"amount": actual}) is result


# --------------------------------------------------------------------------- starting


def test_start_snapshots_the_definition_and_activates_the_first_stage() -> None:
    calendar = FakeCalendar()
    d = define(step("a", 1, due=30), step("b", 1, department=FINANCE), step("c", 2))
    starter = person(SALES)
    wf = start(d, {"amount": 10}, by=starter, due_at=calendar)
    assert (wf.status, wf.definition_id, wf.definition_key, wf.definition_version) == (
        WorkflowStatus.RUNNING, d.id, "flow", 1)
    assert (wf.subject_type, wf.subject_id, wf.context, wf.started_by, wf.started_at) == (
        WorkflowSubject.ORDER, ORDER_ID, {"amount": 10}, starter.id, T0)
    assert statuses(wf) == {"a": S.ACTIVE, "b": S.ACTIVE, "c": S.WAITING}
    assert wf.current_stage == 1
    a, b, c = wf.steps
    assert (a.activated_at, a.due_at) == (T0, T0 + timedelta(hours=30))
    assert (b.activated_at, b.due_at) == (T0, None)
    assert (c.activated_at, c.due_at) == (None, None)
    assert calendar.calls == [(SALES, T0, 30)]
    events = wf.collect_events()
    assert [e.type for e in events] == ["workflow.started", "workflow.step_activated", "workflow.step_activated"]
    assert all(e.aggregate_type == "workflow" and e.aggregate_id == wf.id and e.actor_id == starter.id for e in events)
    assert events[0].payload["definitionKey"] == "flow"
    assert events[0].payload["subjectType"] == "ORDER"
    assert events[0].payload["subjectId"] == str(ORDER_ID)
    assert events[1].payload["stepKey"] == "a"
    assert events[1].payload["departmentId"] == str(SALES)
    assert events[1].payload["dueAt"] == (T0 + timedelta(hours=30)).isoformat()
    assert events[2].payload["departmentId"] == str(FINANCE)


def test_stages_run_in_ascending_order_whatever_the_step_order() -> None:
    d = define(step("late", 30), step("early", 2), step("middle", 7))
    wf = start(d)
    assert statuses(wf) == {"late": S.WAITING, "early": S.ACTIVE, "middle": S.WAITING}


def test_steps_whose_condition_fails_are_skipped_and_empty_stages_passed_over() -> None:
    big = StepCondition.create("amount", "GT", "1000")
    d = define(step("big-only", 1, condition=big), step("next", 2), step("also-big", 3, condition=big))
    wf = start(d, {"amount": "999.99"})
    assert statuses(wf) == {"big-only": S.SKIPPED, "next": S.ACTIVE, "also-big": S.SKIPPED}
    events = wf.collect_events()
    assert events[0].payload["skippedSteps"] == ["big-only", "also-big"]
    wf.decide("next", "APPROVE", by=person(SALES), at=T0, due_at=DUE)
    assert wf.status is WorkflowStatus.COMPLETED


def test_a_workflow_whose_every_step_is_skipped_completes_at_once() -> None:
    d = define(step("a", condition=StepCondition.create("vip", "EQ", "true")))
    wf = start(d, {})
    assert (wf.status, wf.completed_at, statuses(wf)) == (WorkflowStatus.COMPLETED, T0, {"a": S.SKIPPED})
    assert event_types(wf) == ["workflow.started", "workflow.completed"]


def test_starting_refusals() -> None:
    d = define(step("a"))
    with pytest.raises(NotAuthorized):
        start(d, by=person(SALES, Role.ADMIN, active=False))
    with pytest.raises(InvalidInput) as err:
        start(d.retired())
    assert field_of(err) == ("definitionKey",)
    with pytest.raises(InvalidInput) as err:
        WorkflowInstance.start(d, WorkflowSubject.CUSTOMER, ORDER_ID, {}, started_by=person(SALES), at=T0, due_at=DUE)
    assert field_of(err) == ("subjectId",)
    with pytest.raises(InvalidInput) as err:
        WorkflowInstance.start(d, "INVOICE", ORDER_ID, {}, started_by=person(SALES), at=T0, due_at=DUE)
    assert field_of(err) == ("subjectType",)
    for bad_context in (["amount"], {"x": float("nan")}, {("x",): 1}, {"x": "y" * 20_000}):
        with pytest.raises(InvalidInput) as err:
            WorkflowInstance.start(d, "ORDER", ORDER_ID, bad_context,  # type: ignore[arg-type]
                                   started_by=person(SALES), at=T0, due_at=DUE)
        assert field_of(err) == ("context",)


def test_the_context_is_stored_as_json_and_copied() -> None:
    context: dict[str, object] = {"amount": Decimal("50000.01"), "customer": ORDER_ID, "lines": [1, 2]}
    d = define(step("big", condition=StepCondition.create("amount", "GT", "50000")))
    wf = start(d, context)
    assert wf.context == {"amount": "50000.01", "customer": str(ORDER_ID), "lines": [1, 2]}
    assert wf.steps[0].status is S.ACTIVE
    context["amount"] = 1
    assert wf.context["amount"] == "50000.01"
    assert start(d, None).steps[0].status is S.SKIPPED


# --------------------------------------------------------------------------- deciding


def test_parallel_steps_must_all_finish_before_the_next_stage() -> None:
    d = define(step("a", 1), step("b", 2, department=FINANCE), step("c", 2, kind=T, department=FINANCE, due=5),
               step("d", 3, kind=T, department=WAREHOUSE))
    calendar = FakeCalendar()
    wf = start(d, due_at=calendar)
    wf.collect_events()
    at1, at2, at3 = T0 + timedelta(minutes=1), T0 + timedelta(minutes=2), T0 + timedelta(minutes=3)
    wf.decide("a", Decision.APPROVE, by=person(SALES), at=at1, due_at=calendar)
    assert statuses(wf) == {"a": S.APPROVED, "b": S.ACTIVE, "c": S.ACTIVE, "d": S.WAITING}
    assert wf.current_stage == 2
    assert wf.step("c").due_at == at1 + timedelta(hours=5)
    assert calendar.calls == [(FINANCE, at1, 5)]
    wf.decide("c", Decision.COMPLETE, by=person(FINANCE), at=at2, due_at=calendar)
    assert statuses(wf) == {"a": S.APPROVED, "b": S.ACTIVE, "c": S.DONE, "d": S.WAITING}
    wf.decide("b", "APPROVE", by=person(FINANCE), at=at3, due_at=calendar)
    assert statuses(wf) == {"a": S.APPROVED, "b": S.APPROVED, "c": S.DONE, "d": S.ACTIVE}
    assert wf.step("d").activated_at == at3
    assert event_types(wf) == [
        "workflow.step_decided", "workflow.step_activated", "workflow.step_activated",
        "workflow.step_decided",
        "workflow.step_decided", "workflow.step_activated",
    ]


def test_the_last_stage_completes_the_workflow_and_decisions_keep_who_when_and_why() -> None:
    d = define(step("a", 1), step("b", 2, kind=T, department=WAREHOUSE))
    wf = start(d)
    approver, worker = person(SALES), person(WAREHOUSE)
    at1, at2 = T0 + timedelta(hours=1), T0 + timedelta(hours=2)
    wf.decide("a", "APPROVE", by=approver, at=at1, due_at=DUE, comment="  fine  ")
    wf.collect_events()
    wf.decide("b", "COMPLETE", by=worker, at=at2, due_at=DUE)
    assert (wf.status, wf.completed_at, wf.updated_at, wf.current_stage) == (WorkflowStatus.COMPLETED, at2, at2, None)
    a, b = wf.steps
    assert (a.decision, a.decided_by, a.decided_at, a.comment) == (Decision.APPROVE, approver.id, at1, "fine")
    assert (b.decision, b.decided_by, b.decided_at, b.comment) == (Decision.COMPLETE, worker.id, at2, None)
    decided, completed = wf.collect_events()
    assert decided.type == "workflow.step_decided"
    assert decided.payload["decision"] == "COMPLETE" and decided.payload["stepKey"] == "b"
    assert decided.payload["departmentId"] == str(WAREHOUSE) and decided.actor_id == worker.id
    assert completed.type == "workflow.completed"
    assert completed.payload["status"] == "COMPLETED" and completed.payload["subjectId"] == str(ORDER_ID)


def test_a_rejection_rejects_the_workflow_and_cancels_everything_open() -> None:
    d = define(step("a", 1), step("b", 1), step("skipped", 2, condition=StepCondition.create("x", "EQ", "y")),
               step("c", 2), step("d", 3, kind=T))
    wf = start(d)
    wf.collect_events()
    rejecter = person(SALES)
    wf.decide("a", Decision.REJECT, by=rejecter, at=T0, due_at=DUE, comment="too risky")
    assert wf.status is WorkflowStatus.REJECTED
    assert statuses(wf) == {"a": S.REJECTED, "b": S.CANCELLED, "skipped": S.SKIPPED, "c": S.CANCELLED,
                            "d": S.CANCELLED}
    assert wf.completed_at is None and wf.active_steps == []
    decided, rejected = wf.collect_events()
    assert (decided.type, rejected.type) == ("workflow.step_decided", "workflow.rejected")
    assert rejected.payload["stepKey"] == "a" and rejected.payload["comment"] == "too risky"
    assert rejected.payload["cancelledSteps"] == ["b", "c", "d"]
    assert rejected.actor_id == rejecter.id
    with pytest.raises(ForbiddenTransition):
        wf.decide("b", "APPROVE", by=rejecter, at=T0, due_at=DUE)


def test_an_instance_keeps_its_snapshot_after_a_redefinition() -> None:
    v1 = define(step("a", 1), step("b", 2))
    old = start(v1)
    v2 = define(step("a", 1, department=FINANCE, role=Role.MANAGER), step("z", 2, kind=T), previous=v1)
    new = start(v2)
    assert (old.definition_version, old.definition_id, [s.key for s in old.steps]) == (1, v1.id, ["a", "b"])
    assert (new.definition_version, new.definition_id, [s.key for s in new.steps]) == (2, v2.id, ["a", "z"])
    old.decide("a", "APPROVE", by=person(SALES), at=T0, due_at=DUE)
    assert old.step("b").status is S.ACTIVE
    with pytest.raises(NotAuthorized):
        new.decide("a", "APPROVE", by=person(SALES), at=T0, due_at=DUE)
    new.decide("a", "APPROVE", by=person(FINANCE, Role.MANAGER), at=T0, due_at=DUE)
    assert new.step("z").status is S.ACTIVE


# --------------------------------------------------------------------------- refusals


def refused(wf: WorkflowInstance, error: type[Exception], key: str = "a", decision: object = "APPROVE",
            by: Staff | None = None, **kwargs: object) -> pytest.ExceptionInfo[Exception]:
    before = state(wf)
    with pytest.raises(error) as err:
        wf.decide(key, decision, by=by or person(SALES),  # type: ignore[arg-type]
                  at=T0 + timedelta(days=1), due_at=DUE, **kwargs)  # type: ignore[arg-type]
    assert state(wf) == before, "a refused decision changed the instance"
    return err


def test_only_the_steps_department_with_the_required_role_may_decide() -> None:
    wf = start(define(step("a", role=Role.KEY_USER), step("b", 2)))
    for outsider in (person(FINANCE), person(FINANCE, Role.MANAGER), person(FINANCE, Role.ADMIN),
                     person(SALES), person(SALES, Role.KEY_USER, active=False)):
        err = refused(wf, NotAuthorized, by=outsider)
        assert err.value.message == ("Step 'A' is decided by staff of its department with the KEY_USER role or "
                                     "higher, or by whoever it is delegated to.")  # the use case names it
        assert isinstance(err.value, StepNeedsItsDepartment) and err.value.department_id == SALES
        assert err.value.naming("SALES").message.startswith("Step 'A' is decided by staff of SALES with")
    # not even for a waiting step: authority is checked before the step's state leaks
    refused(wf, NotAuthorized, key="b", by=person(FINANCE))
    wf.decide("a", "APPROVE", by=person(SALES, Role.KEY_USER), at=T0, due_at=DUE)


@pytest.mark.parametrize("role", [Role.KEY_USER, Role.MANAGER, Role.ADMIN])
def test_a_higher_role_of_the_same_department_qualifies(role: Role) -> None:
    wf = start(define(step("a", role=Role.KEY_USER)))
    wf.decide("a", "APPROVE", by=person(SALES, role), at=T0, due_at=DUE)
    assert wf.status is WorkflowStatus.COMPLETED


def test_only_active_steps_are_decided() -> None:
    wf = start(define(step("a", 1), step("b", 2), step("c", 3, condition=StepCondition.create("x", "EQ", "y"))))
    err = refused(wf, ForbiddenTransition, key="b")
    assert err.value.field == ("stepKey",)
    refused(wf, ForbiddenTransition, key="c")
    wf.decide("a", "APPROVE", by=person(SALES), at=T0, due_at=DUE)
    refused(wf, ForbiddenTransition, key="a")


def test_approvals_are_approved_or_rejected_and_tasks_completed() -> None:
    wf = start(define(step("a", 1), step("t", 1, kind=T)))
    for key, decision in (("a", "COMPLETE"), ("t", "APPROVE"), ("t", Decision.REJECT)):
        err = refused(wf, InvalidInput, key=key, decision=decision)
        assert err.value.field == ("decision",)
    err = refused(wf, InvalidInput, decision="MAYBE")
    assert err.value.field == ("decision",)
    err = refused(wf, InvalidInput, comment="x" * 2001)
    assert err.value.field == ("comment",)


def test_a_stale_version_is_a_conflict_and_an_unknown_step_is_not_found() -> None:
    wf = start(define(step("a")))
    wf.version = 3
    err = refused(wf, Conflict, expected_version=2)
    assert err.value.field == ("expectedVersion",)
    err = refused(wf, NotFound, key="nope")
    assert err.value.field == ("stepKey",)
    wf.decide(" A ", "APPROVE", by=person(SALES), at=T0, due_at=DUE, expected_version=3)
    assert wf.status is WorkflowStatus.COMPLETED


def test_nothing_is_decided_once_the_workflow_has_ended() -> None:
    wf = start(define(step("a"), step("b")))
    wf.cancel(by=person(SALES, Role.ADMIN), at=T0, reason="duplicate")
    err = refused(wf, ForbiddenTransition, key="b")
    assert "CANCELLED" in err.value.message


# --------------------------------------------------------------------------- delegation


def test_a_delegate_becomes_the_assignee_and_may_decide() -> None:
    wf = start(define(step("a", role=Role.MANAGER)))
    wf.collect_events()
    manager, deputy = person(SALES, Role.MANAGER), person(FINANCE, Role.MEMBER)
    at = T0 + timedelta(minutes=5)
    refused(wf, NotAuthorized, by=deputy)
    wf.delegate("a", to=deputy, by=manager, at=at, comment=" holiday ")
    a = wf.step("a")
    assert a.assignee_id == deputy.id
    assert [(d.from_id, d.to_id, d.at, d.comment) for d in a.delegations] == [(manager.id, deputy.id, at, "holiday")]
    (event,) = wf.collect_events()
    assert event.type == "workflow.step_delegated"
    assert (event.payload["fromId"], event.payload["toId"], event.payload["stepKey"]) == (
        str(manager.id), str(deputy.id), "a")
    assert event.payload["departmentId"] == str(SALES)
    wf.decide("a", "APPROVE", by=deputy, at=at, due_at=DUE)
    assert (wf.status, a.decided_by) == (WorkflowStatus.COMPLETED, deputy.id)


def test_redelegation_moves_the_assignment_and_department_authority_stays() -> None:
    wf = start(define(step("a", role=Role.MANAGER), step("b", 2)))
    manager, first, second = person(SALES, Role.MANAGER), person(FINANCE), person(WAREHOUSE)
    wf.delegate("a", to=first, by=manager, at=T0)
    wf.delegate("a", to=second, by=first, at=T0)
    assert wf.step("a").assignee_id == second.id and len(wf.step("a").delegations) == 2
    refused(wf, NotAuthorized, by=first)
    assert wf.step("a").may_be_decided_by(manager)
    assert wf.step("a").may_be_decided_by(second)
    wf.decide("a", "APPROVE", by=manager, at=T0, due_at=DUE)
    assert wf.step("b").status is S.ACTIVE


def test_delegation_refusals() -> None:
    wf = start(define(step("a", role=Role.MANAGER), step("b", 2)))
    manager, member = person(SALES, Role.MANAGER), person(SALES)

    def delegate_refused(error: type[Exception], key: str = "a", *, to: Staff, by: Staff,
                         **kwargs: object) -> pytest.ExceptionInfo[Exception]:
        before = state(wf)
        with pytest.raises(error) as err:
            wf.delegate(key, to=to, by=by, at=T0, **kwargs)  # type: ignore[arg-type]
        assert state(wf) == before
        return err

    delegate_refused(NotAuthorized, to=member, by=member)  # a member may not decide a manager's step
    delegate_refused(NotAuthorized, to=member, by=person(FINANCE, Role.ADMIN))
    delegate_refused(NotAuthorized, to=member, by=person(SALES, Role.MANAGER, active=False))
    assert delegate_refused(InvalidInput, to=person(SALES, active=False), by=manager).value.field == ("toStaffId",)
    assert delegate_refused(ForbiddenTransition, "b", to=member, by=manager).value.field == ("stepKey",)
    wf.version = 2
    assert delegate_refused(Conflict, to=member, by=manager, expected_version=1).value.field == ("expectedVersion",)
    wf.delegate("a", to=manager, by=manager, at=T0, expected_version=2)  # claiming the step
    assert wf.step("a").assignee_id == manager.id
    assert delegate_refused(InvalidInput, to=manager, by=manager).value.field == ("toStaffId",)


# --------------------------------------------------------------------------- cancellation


def test_cancelling_cancels_every_open_step() -> None:
    wf = start(define(step("a", 1), step("b", 2), step("s", 2, condition=StepCondition.create("x", "EQ", "y"))))
    wf.collect_events()
    admin = person(WAREHOUSE, Role.ADMIN)
    wf.cancel(by=admin, at=T0 + timedelta(hours=1), reason="  order withdrawn ")
    assert (wf.status, wf.cancelled_by, wf.cancelled_at, wf.cancel_reason) == (
        WorkflowStatus.CANCELLED, admin.id, T0 + timedelta(hours=1), "order withdrawn")
    assert statuses(wf) == {"a": S.CANCELLED, "b": S.CANCELLED, "s": S.SKIPPED}
    (event,) = wf.collect_events()
    assert event.type == "workflow.cancelled"
    assert event.payload["reason"] == "order withdrawn" and event.payload["cancelledSteps"] == ["a", "b"]
    assert event.payload["definitionKey"] == "flow"
    with pytest.raises(ForbiddenTransition):
        wf.cancel(by=admin, at=T0, reason="again")


def test_who_may_cancel() -> None:
    starter = person(WAREHOUSE)
    d = define(step("a", department=SALES), step("b", 2, department=FINANCE))
    allowed = [starter, person(FINANCE, Role.MANAGER), person(SALES, Role.MANAGER), person(WAREHOUSE, Role.ADMIN)]
    refused_ = [person(WAREHOUSE, Role.MANAGER), person(SALES, Role.KEY_USER), person(SALES),
                person(SALES, Role.ADMIN, active=False), dataclasses.replace(starter, active=False)]
    for who in allowed:
        wf = start(d, by=starter)
        wf.cancel(by=who, at=T0, reason="r")
        assert wf.status is WorkflowStatus.CANCELLED
    for who in refused_:
        wf = start(d, by=starter)
        with pytest.raises(NotAuthorized):
            wf.cancel(by=who, at=T0, reason="r")
        assert wf.status is WorkflowStatus.RUNNING


def test_cancelling_needs_a_reason_and_the_current_version() -> None:
    wf = start(define(step("a")))
    admin = person(SALES, Role.ADMIN)
    for reason in ("", "   ", None):
        with pytest.raises(InvalidInput) as err:
            wf.cancel(by=admin, at=T0, reason=reason)  # type: ignore[arg-type]
        assert err.value.field == ("reason",)
    wf.version = 4
    with pytest.raises(Conflict):
        wf.cancel(by=admin, at=T0, reason="r", expected_version=3)
    assert wf.status is WorkflowStatus.RUNNING
    wf.cancel(by=admin, at=T0, reason="r", expected_version=4)
    assert wf.status is WorkflowStatus.CANCELLED


def test_completed_and_rejected_workflows_cannot_be_cancelled() -> None:
    admin = person(SALES, Role.ADMIN)
    for decision in ("APPROVE", "REJECT"):
        wf = start(define(step("a")))
        wf.decide("a", decision, by=admin, at=T0, due_at=DUE)
        with pytest.raises(ForbiddenTransition):
            wf.cancel(by=admin, at=T0, reason="r")


# --------------------------------------------------------------------------- due dates


def test_overdue_detection() -> None:
    d = define(step("a", 1, due=2), step("b", 1), step("c", 2, due=1))
    wf = start(d)  # FakeCalendar: 2 business minutes -> 2 hours
    a, b, c = wf.steps
    assert a.due_at == T0 + timedelta(hours=2)
    assert not a.overdue(T0 + timedelta(hours=2))
    assert a.overdue(T0 + timedelta(hours=2, seconds=1))
    assert not b.overdue(T0 + timedelta(days=365))
    assert not c.overdue(T0 + timedelta(days=365))  # not yet active
    assert wf.overdue_steps(T0 + timedelta(hours=3)) == [a]
    wf.decide("a", "APPROVE", by=person(SALES), at=T0 + timedelta(hours=3), due_at=DUE)
    assert not a.overdue(T0 + timedelta(hours=4))
    wf.decide("b", "APPROVE", by=person(SALES), at=T0 + timedelta(hours=3), due_at=DUE)
    assert c.due_at == T0 + timedelta(hours=4)
    assert wf.overdue_steps(T0 + timedelta(hours=5)) == [c]
    wf.cancel(by=person(SALES, Role.ADMIN), at=T0 + timedelta(hours=5), reason="stop")
    assert wf.overdue_steps(T0 + timedelta(hours=9)) == []


def test_calendar_minutes_is_plain_clock_arithmetic() -> None:
    assert calendar_minutes(SALES, T0, 90) == T0 + timedelta(minutes=90)


# --------------------------------------------------------------------------- advance payment


@pytest.fixture()
def advance() -> WorkflowDefinition:
    return advance_payment_definition(sales_department_id=SALES, finance_department_id=FINANCE,
                                      warehouse_department_id=WAREHOUSE)


def test_the_advance_payment_definition(advance: WorkflowDefinition) -> None:
    assert (advance.key, advance.subject, advance.version, advance.stages) == (
        ADVANCE_PAYMENT_KEY, WorkflowSubject.ORDER, 1, [1, 2, 3])
    shape = [(s.key, s.stage, s.department_id, s.kind, s.required_role, s.condition) for s in advance.steps]
    assert shape == [
        ("sales-approval", 1, SALES, A, Role.MANAGER, None),
        ("finance-check", 2, FINANCE, A, Role.MEMBER, None),
        ("finance-manager-approval", 2, FINANCE, A, Role.MANAGER, StepCondition("amount", ComparisonOp.GT, "50000")),
        ("release-goods", 3, WAREHOUSE, T, Role.MEMBER, None),
    ]
    revised = advance_payment_definition(sales_department_id=SALES, finance_department_id=FINANCE,
                                         warehouse_department_id=WAREHOUSE, previous=advance)
    assert revised.version == 2


@pytest.mark.parametrize("amount", ["12000", 50000, "50000.00"])
def test_advance_payment_up_to_50000_needs_no_finance_manager(advance: WorkflowDefinition, amount: object) -> None:
    wf = start(advance, {"amount": amount})
    assert statuses(wf) == {"sales-approval": S.ACTIVE, "finance-check": S.WAITING,
                            "finance-manager-approval": S.SKIPPED, "release-goods": S.WAITING}
    refused(wf, NotAuthorized, key="sales-approval", by=person(SALES))  # a sales member is not enough
    wf.decide("sales-approval", "APPROVE", by=person(SALES, Role.MANAGER), at=T0, due_at=DUE)
    assert wf.active_steps == [wf.step("finance-check")]
    wf.decide("finance-check", "APPROVE", by=person(FINANCE), at=T0 + timedelta(hours=1), due_at=DUE)
    assert wf.active_steps == [wf.step("release-goods")]
    wf.decide("release-goods", "COMPLETE", by=person(WAREHOUSE), at=T0 + timedelta(hours=2), due_at=DUE)
    assert (wf.status, wf.completed_at) == (WorkflowStatus.COMPLETED, T0 + timedelta(hours=2))
    assert event_types(wf) == [
        "workflow.started", "workflow.step_activated",
        "workflow.step_decided", "workflow.step_activated",
        "workflow.step_decided", "workflow.step_activated",
        "workflow.step_decided", "workflow.completed",
    ]


def test_advance_payment_above_50000_needs_the_finance_manager_too(advance: WorkflowDefinition) -> None:
    wf = start(advance, {"amount": "50000.01"})
    wf.decide("sales-approval", "APPROVE", by=person(SALES, Role.MANAGER), at=T0, due_at=DUE)
    assert {s.key for s in wf.active_steps} == {"finance-check", "finance-manager-approval"}
    finance_member = person(FINANCE)
    refused(wf, NotAuthorized, key="finance-manager-approval", by=finance_member)
    wf.decide("finance-check", "APPROVE", by=finance_member, at=T0, due_at=DUE)
    assert wf.step("release-goods").status is S.WAITING
    wf.decide("finance-manager-approval", "APPROVE", by=person(FINANCE, Role.MANAGER), at=T0, due_at=DUE)
    assert wf.step("release-goods").status is S.ACTIVE
    wf.decide("release-goods", "COMPLETE", by=person(WAREHOUSE), at=T0, due_at=DUE)
    assert wf.status is WorkflowStatus.COMPLETED
    assert all(s.status is S.APPROVED for s in wf.steps[:3])


def test_advance_payment_rejected_by_the_finance_manager(advance: WorkflowDefinition) -> None:
    wf = start(advance, {"amount": 80000})
    wf.decide("sales-approval", "APPROVE", by=person(SALES, Role.MANAGER), at=T0, due_at=DUE)
    wf.decide("finance-manager-approval", "REJECT", by=person(FINANCE, Role.MANAGER), at=T0, due_at=DUE,
              comment="customer over credit limit")
    assert wf.status is WorkflowStatus.REJECTED
    assert statuses(wf) == {"sales-approval": S.APPROVED, "finance-check": S.CANCELLED,
                            "finance-manager-approval": S.REJECTED, "release-goods": S.CANCELLED}


# --------------------------------------------------------------------------- property


DEPARTMENTS = [SALES, FINANCE]
ADMINS = {dept: person(dept, Role.ADMIN) for dept in DEPARTMENTS}
OUTSIDER = person(WAREHOUSE, Role.ADMIN)
CONDITIONS = [None, StepCondition("amount", ComparisonOp.GT, "100"), StepCondition("tier", ComparisonOp.EQ, "gold")]

step_specs = st.tuples(st.integers(1, 3), st.sampled_from(list(StepKind)), st.sampled_from(CONDITIONS),
                       st.sampled_from(DEPARTMENTS))
contexts = st.fixed_dictionaries({}, optional={"amount": st.integers(0, 200), "tier": st.sampled_from(["gold", "tin"])})
commands = st.one_of(
    st.tuples(st.just("decide"), st.integers(0, 5), st.sampled_from(list(Decision))),
    st.tuples(st.just("outsider"), st.integers(0, 5), st.sampled_from(list(Decision))),
    st.tuples(st.just("cancel"), st.just(0), st.just(Decision.APPROVE)),
)


def check_invariants(wf: WorkflowInstance, rejected: bool, cancelled: bool) -> None:
    all_finished = all(s.status.finished for s in wf.steps)
    assert (wf.status is WorkflowStatus.COMPLETED) == all_finished
    assert (wf.status is WorkflowStatus.REJECTED) == rejected == any(s.status is S.REJECTED for s in wf.steps)
    assert (wf.status is WorkflowStatus.CANCELLED) == cancelled
    assert (wf.completed_at is not None) == (wf.status is WorkflowStatus.COMPLETED)
    if wf.status is WorkflowStatus.RUNNING:
        active = wf.active_steps
        assert active, "a running workflow always has something to do"
        stage = {s.stage for s in active}
        assert len(stage) == 1
        (current,) = stage
        assert all(s.stage > current for s in wf.steps if s.status is S.WAITING)
        assert all(s.stage <= current for s in wf.steps if s.status in (S.APPROVED, S.DONE))
    else:
        assert not any(s.status.open for s in wf.steps), "an ended workflow has no open step"
    types = [e.type for e in wf.pending_events]
    assert types.count("workflow.completed") + types.count("workflow.rejected") + types.count("workflow.cancelled") \
        == (0 if wf.status is WorkflowStatus.RUNNING else 1)


@settings(max_examples=examples(300), deadline=None)
@given(st.lists(step_specs, min_size=1, max_size=6), contexts, st.lists(commands, max_size=25))
def test_random_decisions_keep_the_instance_consistent(
    specs: list[tuple[int, StepKind, StepCondition | None, uuid.UUID]],
    context: dict[str, object],
    script: list[tuple[str, int, Decision]],
) -> None:
    """Completed iff every non-skipped step finished; rejected iff a step was rejected; nothing
    open once the workflow ended; refusals change nothing; legal decisions are never refused."""
    d = define(*[step(f"s{i}", stage, kind=kind, department=dept, condition=cond)
                 for i, (stage, kind, cond, dept) in enumerate(specs)])
    wf = start(d, context, by=ADMINS[SALES])
    for s in wf.steps:
        assert (s.status is S.SKIPPED) == (s.definition.condition is not None
                                           and not s.definition.condition.holds(context))
    rejected = cancelled = False
    check_invariants(wf, rejected, cancelled)
    for n, (command, index, decision) in enumerate(script):
        at = T0 + timedelta(minutes=n)
        target = wf.steps[index % len(wf.steps)]
        before = state(wf)
        try:
            if command == "cancel":
                wf.cancel(by=ADMINS[SALES], at=at, reason="stop")
                cancelled = True
            elif command == "outsider":
                with pytest.raises(NotAuthorized):
                    wf.decide(target.key, decision, by=OUTSIDER, at=at, due_at=DUE)
            else:
                wf.decide(target.key, decision, by=ADMINS[target.department_id], at=at, due_at=DUE)
                rejected = rejected or decision is Decision.REJECT
        except (ForbiddenTransition, InvalidInput):
            assert state(wf) == before
            legal = wf.status is WorkflowStatus.RUNNING and target.status is S.ACTIVE \
                and decision in {A: {Decision.APPROVE, Decision.REJECT}, T: {Decision.COMPLETE}}[target.kind]
            assert not legal or command == "cancel"
        check_invariants(wf, rejected, cancelled)

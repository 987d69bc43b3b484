"""Use cases for cross-department workflows: define, start, decide, delegate, cancel.

Choices (see also domain/workflow/):

- Who defines: an ADMIN, or a KEY_USER or MANAGER of a department that owns at least one of the
  new version's steps and, when the key exists already, at least one of the current version's steps
  (so no department can take over another's workflow). Redefining creates the next version and
  retires the previous one; running instances keep the steps they started with.
- Starting takes the current version of the key. The context starts from the subject's facts (for
  an order: `amount` = its total as a decimal string, `currency`, `customerTier`, `orderNumber`,
  `customerCode`); the starter may add keys but not contradict a fact.
- The advance-payment workflow drives its order in the same transaction: starting it REQUESTs the
  advance payment, completion APPROVEs it, a rejection REJECTs it, cancelling withdraws the request
  (`order_follows_its_advance_payment`, a handler of the workflow's events on the message bus).
- Due dates come from the `DueDates` port (department calendars). The engine asks synchronously,
  so the use case asks the port beforehand for every step the command could activate.
"""
from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, AsyncIterator, Awaitable, Callable, Iterable

from application.idempotency import replay_or_create
from application.ports import Clock, DueDates, UnitOfWork
from domain.organisation import Role, Staff
from domain.shared import InvalidInput, NotFound
from domain.workflow.definition import definition_key
from domain.workflow import (
    ADVANCE_PAYMENT_KEY,
    DueAt,
    StepCondition,
    StepDefinition,
    StepNeedsItsDepartment,
    StepStatus,
    WorkflowDefinition,
    WorkflowInstance,
    WorkflowSubject,
)
from domain.order import Order
from domain.workflow.instance import (
    WorkflowCancelled,
    WorkflowCompleted,
    WorkflowEvent,
    WorkflowRejected,
    WorkflowStarted,
)

# --------------------------------------------------------------------------- commands


@dataclass(frozen=True)
class ConditionData:
    field: str
    op: str
    value: str


@dataclass(frozen=True)
class StepData:
    key: str
    name: str
    department_id: uuid.UUID
    kind: str
    stage: int
    required_role: str | None = None
    due_within_minutes: int | None = None
    condition: ConditionData | None = None


@dataclass(frozen=True)
class DefineWorkflow:
    key: str
    name: str
    subject: str
    steps: tuple[StepData, ...]


@dataclass(frozen=True)
class StartWorkflow:
    definition_key: str
    subject_type: WorkflowSubject
    subject_id: uuid.UUID
    context: Any = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class DecideStep:
    instance_id: uuid.UUID
    step_key: str
    decision: str
    comment: str | None = None
    expected_version: int | None = None


@dataclass(frozen=True)
class DelegateStep:
    instance_id: uuid.UUID
    step_key: str
    to_staff_id: uuid.UUID
    comment: str | None = None
    expected_version: int | None = None


@dataclass(frozen=True)
class CancelWorkflow:
    instance_id: uuid.UUID
    reason: str
    expected_version: int | None = None


# --------------------------------------------------------------------------- define


def _step_definitions(steps: Iterable[StepData]) -> list[StepDefinition]:
    return [
        StepDefinition(
            key=s.key, name=s.name, department_id=s.department_id, kind=s.kind,  # type: ignore[arg-type]
            required_role=s.required_role if s.required_role is not None else Role.MEMBER,  # type: ignore[arg-type]
            stage=s.stage, due_within_minutes=s.due_within_minutes,
            condition=StepCondition(s.condition.field, s.condition.op, s.condition.value)  # type: ignore[arg-type]
            if s.condition is not None else None)
        for s in steps
    ]


async def define_workflow(uow: UnitOfWork, clock: Clock, actor: Staff, cmd: DefineWorkflow) -> WorkflowDefinition:
    """Define a workflow, or the next version of an existing key (the previous version is retired).

    The definition checks itself (`WorkflowDefinition.define`, authority first); this looks up what it needs.
    Raises NotAuthorized (see `domain.workflow.definition.may_define`), NotFound (a step's department:
    steps.<i>.departmentId), InvalidInput (field paths such as steps.1.condition.value), Conflict (a
    concurrent redefinition).
    """
    async with uow:
        wanted = {s.department_id for s in cmd.steps if isinstance(s.department_id, uuid.UUID)}
        known = {d for d in wanted if await uow.departments.get(d) is not None}
        key = definition_key(cmd.key)
        previous = await uow.workflow_definitions.latest(key) if key is not None else None
        definition = WorkflowDefinition.define(key=cmd.key, name=cmd.name, subject=cmd.subject,
                                               steps=_step_definitions(cmd.steps), previous=previous,
                                               known_department_ids=known, by=actor)
        if previous is not None and previous.active:
            await uow.workflow_definitions.retire(previous)
        await uow.workflow_definitions.add(definition, by=actor.id, at=clock.now())
        await uow.commit()
    return definition


# --------------------------------------------------------------------------- start


async def prepared_due_at(due_dates: DueDates, steps: Iterable[StepDefinition], at: datetime) -> DueAt:
    """A synchronous `DueAt` for the engine, answered from the port beforehand: every step a command can
    activate is activated at the command's time `at`, so asking for each (department, minutes) suffices."""
    answers: dict[tuple[uuid.UUID, int], datetime] = {}
    for step in steps:
        minutes = step.due_within_minutes
        if minutes and (step.department_id, minutes) not in answers:
            answers[(step.department_id, minutes)] = await due_dates.due_at(step.department_id, at, minutes)

    def due_at(department_id: uuid.UUID, start: datetime, minutes: int) -> datetime:
        if start != at or (department_id, minutes) not in answers:
            raise RuntimeError(f"due date for {department_id} +{minutes} from {start} was not prepared")
        return answers[(department_id, minutes)]

    return due_at


Facts = Callable[[UnitOfWork, uuid.UUID], Awaitable[dict[str, Any] | None]]


async def _order_facts(uow: UnitOfWork, order_id: uuid.UUID) -> dict[str, Any] | None:
    order = await uow.orders.get(order_id)
    if order is None:
        return None
    customer = await uow.customers.get(order.customer_id)
    assert customer is not None, "an order's customer exists (foreign key)"
    return {"amount": f"{order.total.amount:f}", "currency": order.currency, "customerTier": customer.tier.value,
            "orderNumber": order.number, "customerCode": customer.code}


async def _customer_facts(uow: UnitOfWork, customer_id: uuid.UUID) -> dict[str, Any] | None:
    customer = await uow.customers.get(customer_id)
    if customer is None:
        return None
    return {"customerTier": customer.tier.value, "lifecycleStage": customer.stage.value,
            "customerCode": customer.code}


# What a workflow knows about its subject when it starts. Complaints add theirs with their feature.
SUBJECT_FACTS: dict[WorkflowSubject, Facts] = {
    WorkflowSubject.ORDER: _order_facts,
    WorkflowSubject.CUSTOMER: _customer_facts,
}


def _merge_context(facts: dict[str, Any], given: Any) -> dict[str, Any]:
    """The subject's facts plus what the starter adds; a fact cannot be contradicted."""
    if given is None:
        return dict(facts)
    if not isinstance(given, dict):
        raise InvalidInput("context must be a JSON object.", field=("context",))
    for name, value in given.items():
        if name in facts and facts[name] != value:
            raise InvalidInput(f"{name} comes from the subject ({facts[name]!r}); leave it out.",
                               field=("context", str(name)))
    return {**given, **facts}


async def start_workflow(uow: UnitOfWork, clock: Clock, due_dates: DueDates, actor: Staff,
                         cmd: StartWorkflow) -> WorkflowInstance:
    """Start the current version of a workflow on an order, customer or complaint.

    Raises NotFound (definitionKey, subjectId), InvalidInput (subjectId of the wrong kind, context,
    idempotencyKey), ForbiddenTransition (an advance payment already requested), NotAuthorized
    (inactive staff), Conflict.
    """

    async def create() -> uuid.UUID:
        definition = await uow.workflow_definitions.latest(cmd.definition_key or "")
        if definition is None or not definition.active:
            raise NotFound("No workflow is defined with this key.", field=("definitionKey",))
        if cmd.subject_type is not definition.subject:
            raise InvalidInput(f"Workflow {definition.key!r} runs on a {definition.subject.value}, "
                               f"not a {cmd.subject_type.value}.", field=("subjectId",))
        facts_of = SUBJECT_FACTS.get(cmd.subject_type)
        if facts_of is None:
            raise InvalidInput(f"Workflows cannot run on a {cmd.subject_type.value} yet.", field=("subjectId",))
        facts = await facts_of(uow, cmd.subject_id)
        if facts is None:
            raise NotFound(f"No such {cmd.subject_type.value.lower()}.", field=("subjectId",))
        context = _merge_context(facts, cmd.context)
        at = clock.now()
        instance = WorkflowInstance.start(definition, cmd.subject_type, cmd.subject_id, context, started_by=actor,
                                          at=at, due_at=await prepared_due_at(due_dates, definition.steps, at))
        await uow.workflows.add(instance)
        return instance.id

    async with uow:
        instance_id, _ = await replay_or_create(uow, scope=f"startWorkflow:{actor.id}", key=cmd.idempotency_key,
                                                command=cmd, create=create)
        instance = await uow.workflows.get(instance_id)  # as written (or as first written, for a replay), before the commit
        await uow.commit()
    assert instance is not None
    return instance


# --------------------------------------------------------------------------- decide, delegate, cancel


async def _load(uow: UnitOfWork, instance_id: uuid.UUID) -> WorkflowInstance:
    instance = await uow.workflows.get(instance_id)
    if instance is None:
        raise NotFound("No such workflow instance.", field=("instanceId",))
    return instance


async def decide_step(uow: UnitOfWork, clock: Clock, due_dates: DueDates, actor: Staff,
                      cmd: DecideStep) -> WorkflowInstance:
    """APPROVE or REJECT an approval step, COMPLETE a task; the workflow moves on (next stage, completion,
    or rejection with everything open cancelled) and its subject follows.

    Raises NotFound (instanceId, stepKey), NotAuthorized (not the step's department with the required
    role, nor its assignee), Conflict (stale expectedVersion, or someone decided at the same time),
    ForbiddenTransition (the step is not ACTIVE), InvalidInput (a decision the step's kind does not take).
    """
    async with uow:
        instance = await _load(uow, cmd.instance_id)
        at = clock.now()
        waiting = [s.definition for s in instance.steps if s.status is StepStatus.WAITING]
        async with _naming_the_department(uow):
            instance.decide(cmd.step_key, cmd.decision, by=actor, at=at, comment=cmd.comment,
                            expected_version=cmd.expected_version,
                            due_at=await prepared_due_at(due_dates, waiting, at))
        await uow.workflows.save(instance)
        await uow.commit()
    return instance


@contextlib.asynccontextmanager
async def _naming_the_department(uow: UnitOfWork) -> AsyncIterator[None]:
    """A refusal to decide a step names the department it needs (the domain knows only its id)."""
    try:
        yield
    except StepNeedsItsDepartment as refusal:
        department = await uow.departments.get(refusal.department_id)
        raise refusal.naming(department.code if department else None) from None


async def delegate_step(uow: UnitOfWork, clock: Clock, actor: Staff, cmd: DelegateStep) -> WorkflowInstance:
    """Hand an active step to someone (any department), who may then decide it.

    Raises NotFound (instanceId, stepKey, toStaffId), NotAuthorized (the actor may not decide the step),
    Conflict, ForbiddenTransition (the step is not ACTIVE), InvalidInput (inactive delegate, already theirs).
    """
    async with uow:
        instance = await _load(uow, cmd.instance_id)
        async with _naming_the_department(uow):  # before looking the delegate up: a refusal tells nothing of staff
            instance.step(cmd.step_key).require_decider(actor)
        delegate = await uow.staff.get(cmd.to_staff_id)
        if delegate is None:
            raise NotFound("No such staff member.", field=("toStaffId",))
        instance.delegate(cmd.step_key, to=delegate, by=actor, at=clock.now(), comment=cmd.comment,
                          expected_version=cmd.expected_version)
        await uow.workflows.save(instance)
        await uow.commit()
    return instance


async def cancel_workflow(uow: UnitOfWork, clock: Clock, actor: Staff, cmd: CancelWorkflow) -> WorkflowInstance:
    """Stop a running workflow (every open step is CANCELLED); its subject follows.

    Raises NotFound (instanceId), NotAuthorized (not the starter, an ADMIN, or a MANAGER of a department
    with a step in it), Conflict, ForbiddenTransition (the workflow has ended), InvalidInput (no reason).
    """
    async with uow:
        instance = await _load(uow, cmd.instance_id)
        instance.cancel(by=actor, at=clock.now(), reason=cmd.reason, expected_version=cmd.expected_version)
        await uow.workflows.save(instance)
        await uow.commit()
    return instance


# --------------------------------------------------------------------------- the subject follows (handlers)


_ORDER_FOLLOWS: dict[type[WorkflowEvent], Callable[..., None]] = {
    WorkflowStarted: Order.request_advance_payment,
    WorkflowCompleted: Order.approve_advance_payment,
    WorkflowRejected: Order.reject_advance_payment,
    WorkflowCancelled: Order.withdraw_advance_payment,
}


async def order_follows_its_advance_payment(uow: UnitOfWork, event: WorkflowEvent) -> None:
    """The advance-payment workflow drives its order, in the same transaction: starting it REQUESTs the
    advance payment, completion APPROVEs it, a rejection REJECTs it, cancelling withdraws the request.
    Raises NotFound (the order is gone), ForbiddenTransition (e.g. an advance payment already requested)."""
    if event.definition_key != ADVANCE_PAYMENT_KEY or event.subject_type is not WorkflowSubject.ORDER:
        return
    order = await uow.orders.get(event.subject_id)
    if order is None:
        raise NotFound("The workflow's order no longer exists.", field=("subjectId",))
    _ORDER_FOLLOWS[type(event)](order, at=event.occurred_at, by=event.actor_id, workflow_id=event.aggregate_id)
    await uow.orders.save(order)


ADVANCE_PAYMENT_HANDLERS = {kind: [order_follows_its_advance_payment] for kind in _ORDER_FOLLOWS}

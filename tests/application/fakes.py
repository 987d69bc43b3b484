"""In-memory fakes of the ports in application/ports.py, for driving use cases without I/O.

`InMemoryStore` is the "database": committed state shared by every `FakeUnitOfWork` made from
it (`store.uow()`, or call the store itself: it is a `UnitOfWorkFactory`).

`FakeUnitOfWork` behaves like the SQL one where the use cases can tell:

- it must be used inside `async with`; repositories refuse to work outside it;
- reads hand out *copies* of stored aggregates, so mutating one changes nothing until it is
  saved and the unit of work commits;
- writes (`add`, `save`, `remember`, `next_value`) are staged; `commit()` applies them to the
  store; leaving `async with` without committing throws them away (rollback unless commit);
- `add` sets version 1; `save` checks the aggregate's version against the stored one, raises
  `domain.shared.Conflict` when it moved on, and bumps it; commit re-checks (another unit of
  work may have committed in between) and then applies everything or nothing;
- unique business keys are enforced like database constraints (customer code, staff e-mail,
  idempotency (scope, key)): a clash raises `Conflict`;
- on commit, the message bus's handlers run first (application/messagebus.py, the same bus as
  the SQL unit of work's), then the events of every aggregate the unit of work touched (read,
  added or saved) are collected, appended to `committed_events` (on the unit of work and on the store) and handed
  to the publisher, if any.

Complaints are aggregates like customers (unique `number`); categories, SLA policies and
calendars are staged and committed like rows (unique category code and calendar name);
`notifier.notify` stages a notification, and a second one with the same (dedupe_key, recipient)
raises Conflict like the table's unique constraint.

Sequences are transactional here (like the SQLite adapter); the port allows gaps, so tests
must not rely on a failed use case consuming or not consuming a number.
"""
from __future__ import annotations

import copy
import dataclasses
import uuid
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any, Callable, Self

from application.activity import ActivityRecord, Subject
from application.messagebus import BUS, MessageBus
from application.ports import Notification
from domain.calendar import BusinessCalendar
from domain.complaint import Complaint, ComplaintCategory
from domain.customer import Customer, Interaction
from domain.organisation import Department, Role, Staff
from domain.shared import AggregateRoot, Conflict, DomainEvent
from domain.sla import SlaPolicy

# --------------------------------------------------------------------------- clock


class FakeClock:
    """A clock that stands still until told otherwise."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2025, 3, 3, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        self._now += delta if delta is not None else timedelta(**kwargs)
        return self._now


class RecordingPublisher:
    """EventPublisher fake: remembers what it was asked to publish."""

    def __init__(self) -> None:
        self.published: list[list[DomainEvent]] = []

    async def publish(self, events: list[DomainEvent]) -> None:
        self.published.append(list(events))


# --------------------------------------------------------------------------- the store


def _detached(aggregate: Any) -> Any:
    """A deep copy without pending events: what the 'database' holds."""
    clone = copy.deepcopy(aggregate)
    if isinstance(clone, AggregateRoot):
        clone.pending_events = []
    return clone


def _row(aggregate: Any) -> dict[str, Any]:
    data = asdict(aggregate)
    data.pop("pending_events", None)
    return data


class InMemoryStore:
    """Committed state. Tests seed it directly and inspect it; use cases only see it through a unit of work."""

    def __init__(self, publisher: RecordingPublisher | None = None) -> None:
        self.customers: dict[uuid.UUID, Customer] = {}
        self.staff: dict[uuid.UUID, Staff] = {}
        self.departments: dict[uuid.UUID, Department] = {}
        self.interactions: dict[uuid.UUID, Interaction] = {}
        self.idempotency: dict[tuple[str, str], tuple[str, uuid.UUID]] = {}
        self.sequences: dict[str, int] = {}
        self.complaints: dict[uuid.UUID, Complaint] = {}
        self.complaint_categories: dict[uuid.UUID, ComplaintCategory] = {}
        self.sla_policies: dict[uuid.UUID, SlaPolicy] = {}
        self.calendars: dict[uuid.UUID, BusinessCalendar] = {}
        self.notifications: list[Notification] = []
        self.activity: list[ActivityRecord] = []  # the customer activity feed
        self.committed_events: list[DomainEvent] = []
        self.commits = 0  # commits that wrote something (state or events)
        self.publisher = publisher
        self.bus: MessageBus = BUS  # the service's handlers, as the SQL unit of work has them

    # -- factory
    def uow(self) -> "FakeUnitOfWork":
        return FakeUnitOfWork(self)

    __call__ = uow

    # -- seeding (bypasses use cases; records no events)
    def add_department(self, code: str, name: str | None = None) -> Department:
        department = Department(id=uuid.uuid4(), code=code.upper(), name=name or code.title())
        self.departments[department.id] = department
        return department

    def add_staff(self, *, role: Role, department: Department, name: str | None = None, email: str | None = None,
                  active: bool = True) -> Staff:
        staff = Staff(id=uuid.uuid4(), name=name or f"{role.value.title()} {uuid.uuid4().hex[:4]}",
                      email=(email or f"{uuid.uuid4().hex[:10]}@example.com").lower(),
                      department_id=department.id, role=role, active=active, version=1)
        self.staff[staff.id] = _detached(staff)
        return staff

    # -- inspection
    def customer(self, customer_id: uuid.UUID) -> Customer:
        """A copy of the committed customer."""
        return _detached(self.customers[customer_id])

    def customer_by_code(self, code: str) -> Customer | None:
        return next((_detached(c) for c in self.customers.values() if c.code == code), None)

    def complaint(self, complaint_id: uuid.UUID) -> Complaint:
        """A copy of the committed complaint."""
        return _detached(self.complaints[complaint_id])

    def dump(self) -> dict[str, Any]:
        """Everything written so far, as plain comparable data ("nothing written" = equal dumps)."""
        return {
            "customers": {k: _row(v) for k, v in self.customers.items()},
            "staff": {k: _row(v) for k, v in self.staff.items()},
            "departments": {k: asdict(v) for k, v in self.departments.items()},
            "interactions": {k: _row(v) for k, v in self.interactions.items()},
            "idempotency": dict(self.idempotency),
            "sequences": dict(self.sequences),
            "complaints": {k: _row(v) for k, v in self.complaints.items()},
            "complaint_categories": dict(self.complaint_categories),
            "sla_policies": dict(self.sla_policies),
            "calendars": dict(self.calendars),
            "notifications": list(self.notifications),
            "activity": list(self.activity),
            "events": [e.id for e in self.committed_events],
            "commits": self.commits,
        }


# --------------------------------------------------------------------------- unit of work


_TABLES = ("customers", "staff", "interactions", "complaints")
_CONFIG = ("complaint_categories", "sla_policies", "calendars", "departments")
_UPDATABLE_CONFIG = ("sla_policies", "departments")  # rows re-staged when they change (retire, calendar)


class FakeUnitOfWork:
    def __init__(self, store: InMemoryStore) -> None:
        self.store = store
        self.committed_events: list[DomainEvent] = []
        self._active = False
        self.customers = FakeCustomerRepository(self)
        self.staff = FakeStaffRepository(self)
        self.departments = FakeDepartmentRepository(self)
        self.interactions = FakeInteractionRepository(self)
        self.idempotency = FakeIdempotencyStore(self)
        self.sequences = FakeSequences(self)
        self.complaints = FakeComplaintRepository(self)
        self.complaint_categories = FakeComplaintCategoryRepository(self)
        self.sla_policies = FakeSlaPolicyRepository(self)
        self.calendars = FakeCalendarRepository(self)
        self.notifier = FakeNotifier(self)
        self.activity = FakeActivityFeed(self)
        self._reset()

    def _reset(self) -> None:
        self._staged: dict[str, dict[uuid.UUID, AggregateRoot]] = {t: {} for t in _TABLES}
        self._base: dict[tuple[str, uuid.UUID], int | None] = {}  # stored version when first staged; None = new
        self._staged_keys: dict[tuple[str, str], tuple[str, uuid.UUID]] = {}
        self._staged_sequences: dict[str, int] = {}
        self._staged_config: dict[str, dict[uuid.UUID, Any]] = {name: {} for name in _CONFIG}
        self._staged_notifications: list[Notification] = []
        self._staged_activity: list[ActivityRecord] = []
        self._seen: list[AggregateRoot] = []
        self._flushed_events: list[DomainEvent] = []

    async def __aenter__(self) -> Self:
        if self._active:
            raise RuntimeError("FakeUnitOfWork entered twice")
        self._active = True
        self._reset()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._reset()  # rollback: whatever was not committed is gone
        self._active = False

    def require_active(self) -> None:
        if not self._active:
            raise RuntimeError("use the unit of work inside `async with`")

    async def flush(self, *, write_events: bool = True) -> None:
        """Like SqlUnitOfWork.flush: events so far are kept for the commit (or dropped) and the
        aggregates seen so far are forgotten."""
        self.require_active()
        if write_events:
            await self.store.bus.dispatch(self)
        events = [e for aggregate in self._seen for e in aggregate.collect_events()]
        self._seen = []
        if write_events:
            self._flushed_events.extend(events)

    def track(self, aggregate: AggregateRoot) -> None:
        if not any(a is aggregate for a in self._seen):
            self._seen.append(aggregate)

    def recorded_events(self) -> list[DomainEvent]:
        return [event for aggregate in self._seen for event in aggregate.pending_events]

    # -- staged view of a table
    def current(self, table: str, key: uuid.UUID) -> AggregateRoot | None:
        staged = self._staged[table]
        if key in staged:
            return staged[key]
        return getattr(self.store, table).get(key)

    def rows(self, table: str) -> list[AggregateRoot]:
        merged = {**getattr(self.store, table), **self._staged[table]}
        return list(merged.values())

    def read(self, table: str, aggregate: AggregateRoot | None) -> Any:
        if aggregate is None:
            return None
        clone = _detached(aggregate)
        self.track(clone)
        return clone

    def stage_new(self, table: str, aggregate: AggregateRoot, unique: Callable[[Any], object] | None = None) -> None:
        self.require_active()
        if self.current(table, aggregate.id) is not None:
            raise Conflict(f"{aggregate.aggregate_type} {aggregate.id} exists already.")
        if unique is not None and any(unique(row) == unique(aggregate) for row in self.rows(table)):
            raise Conflict(f"unique constraint on {table}: {unique(aggregate)!r}")
        aggregate.version = 1
        self._base[(table, aggregate.id)] = None
        self._staged[table][aggregate.id] = _detached(aggregate)
        self.track(aggregate)

    def stage_save(self, table: str, aggregate: AggregateRoot,
                   unique: Callable[[Any], object] | None = None) -> None:
        self.require_active()
        stored = self.current(table, aggregate.id)
        if stored is None or stored.version != aggregate.version:
            raise Conflict(f"{aggregate.aggregate_type} was changed by someone else; reload and retry.",
                           field=("expectedVersion",))
        if unique is not None and any(
            row.id != aggregate.id and unique(row) == unique(aggregate) for row in self.rows(table)
        ):
            raise Conflict(f"unique constraint on {table}: {unique(aggregate)!r}")
        self._base.setdefault((table, aggregate.id), stored.version)
        aggregate.version += 1
        self._staged[table][aggregate.id] = _detached(aggregate)
        self.track(aggregate)

    async def commit(self) -> None:
        """The message bus's handlers first (like the SQL unit of work), then `_commit`."""
        self.require_active()
        await self.store.bus.dispatch(self)
        await self._commit()

    async def _commit(self) -> None:
        self.require_active()
        try:
            for table in _TABLES:
                committed = getattr(self.store, table)
                for key in self._staged[table]:
                    base = self._base[(table, key)]
                    now = committed.get(key)
                    if (base is None and now is not None) or (base is not None and (now is None or now.version != base)):
                        raise Conflict("Someone else wrote the same thing at the same time; reload and retry.")
            for key in self._staged_keys:
                if key in self.store.idempotency:
                    raise Conflict("Someone else wrote the same thing at the same time; reload and retry.")
            for name in _CONFIG:
                committed = getattr(self.store, name)
                if any(key in committed and name not in _UPDATABLE_CONFIG for key in self._staged_config[name]):
                    raise Conflict("Someone else wrote the same thing at the same time; reload and retry.")
            told = {(n.dedupe_key, n.recipient_id) for n in self.store.notifications}
            if any((n.dedupe_key, n.recipient_id) in told for n in self._staged_notifications):
                raise Conflict("Someone else wrote the same thing at the same time; reload and retry.")
        except Conflict:
            self._reset()
            raise
        events = [*self._flushed_events, *(e for aggregate in self._seen for e in aggregate.collect_events())]
        wrote = (any(self._staged[t] for t in _TABLES) or bool(self._staged_keys) or bool(self._staged_sequences)
                 or any(self._staged_config.values()) or bool(self._staged_notifications))
        for name in _CONFIG:
            getattr(self.store, name).update(self._staged_config[name])
        self.store.notifications.extend(self._staged_notifications)
        self.store.activity.extend(self._staged_activity)
        for table in _TABLES:
            getattr(self.store, table).update(self._staged[table])
        self.store.idempotency.update(self._staged_keys)
        for name, value in self._staged_sequences.items():
            self.store.sequences[name] = max(value, self.store.sequences.get(name, 0))
        self.store.committed_events.extend(events)
        self.committed_events.extend(events)
        if wrote or events:
            self.store.commits += 1
        seen = self._seen
        self._reset()
        self._seen = seen  # still the same transaction scope for tracking, like the SQL unit of work
        if events and self.store.publisher is not None:
            await self.store.publisher.publish(events)


# --------------------------------------------------------------------------- repositories


class _Repository:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow

    def _find(self, table: str, predicate: Callable[[Any], bool]) -> list[Any]:
        self._uow.require_active()
        return [row for row in self._uow.rows(table) if predicate(row)]


class FakeCustomerRepository(_Repository):
    async def get(self, customer_id: uuid.UUID, *, for_update: bool = False) -> Customer | None:
        self._uow.require_active()
        return self._uow.read("customers", self._uow.current("customers", customer_id))

    async def get_by_code(self, code: str) -> Customer | None:
        found = self._find("customers", lambda c: c.code == code.upper())
        return self._uow.read("customers", found[0]) if found else None

    async def get_many_by_code(self, codes: list[str], *, for_update: bool = False) -> dict[str, Customer]:
        wanted = {c.upper() for c in codes}
        return {c.code: self._uow.read("customers", c) for c in self._find("customers", lambda c: c.code in wanted)}

    async def add(self, customer: Customer) -> None:
        self._uow.stage_new("customers", customer, unique=lambda c: c.code)

    async def add_many(self, batch: list[Customer]) -> None:
        """All or nothing, like one multi-row INSERT."""
        self._uow.require_active()
        codes = [c.code for c in batch]
        taken = {c.code for c in self._uow.rows("customers")}
        if len(set(codes)) != len(codes) or taken & set(codes):
            raise Conflict("unique constraint on customers: code")
        for customer in batch:
            self._uow.stage_new("customers", customer, unique=lambda c: c.code)

    async def save(self, customer: Customer) -> None:
        self._uow.stage_save("customers", customer, unique=lambda c: c.code)


class FakeStaffRepository(_Repository):
    async def get(self, staff_id: uuid.UUID, *, for_update: bool = False) -> Staff | None:
        self._uow.require_active()
        return self._uow.read("staff", self._uow.current("staff", staff_id))

    async def get_by_email(self, email: str) -> Staff | None:
        found = self._find("staff", lambda s: s.email == email.lower())
        return self._uow.read("staff", found[0]) if found else None

    async def get_many_by_email(self, emails: list[str]) -> dict[str, Staff]:
        wanted = {e.lower() for e in emails}
        return {s.email: self._uow.read("staff", s) for s in self._find("staff", lambda s: s.email in wanted)}

    async def add(self, staff: Staff) -> None:
        self._uow.stage_new("staff", staff, unique=lambda s: s.email)

    async def save(self, staff: Staff) -> None:
        self._uow.stage_save("staff", staff, unique=lambda s: s.email)

    async def active_in_department(self, department_id: uuid.UUID, role: Role | None = None) -> list[Staff]:
        found = self._find("staff", lambda s: s.department_id == department_id and s.active
                           and (role is None or s.role is role))
        return [self._uow.read("staff", s) for s in sorted(found, key=lambda s: s.email)]


class FakeDepartmentRepository(_Repository):
    """Departments are rows like the configuration: `save` stages one, commit applies it."""

    def _all(self) -> dict[uuid.UUID, Department]:
        self._uow.require_active()
        return {**self._uow.store.departments, **self._uow._staged_config["departments"]}

    async def get(self, department_id: uuid.UUID) -> Department | None:
        return self._all().get(department_id)

    async def get_by_code(self, code: str) -> Department | None:
        return next((d for d in self._all().values() if d.code == code.upper()), None)

    async def save(self, department: Department) -> None:
        self._uow.require_active()
        self._uow._staged_config["departments"][department.id] = department


class FakeInteractionRepository(_Repository):
    async def add(self, interaction: Interaction) -> None:
        self._uow.stage_new("interactions", interaction)

    async def get(self, interaction_id: uuid.UUID) -> Interaction | None:
        self._uow.require_active()
        return self._uow.read("interactions", self._uow.current("interactions", interaction_id))


class FakeIdempotencyStore(_Repository):
    async def lookup(self, scope: str, key: str) -> tuple[str, uuid.UUID] | None:
        self._uow.require_active()
        return self._uow._staged_keys.get((scope, key)) or self._uow.store.idempotency.get((scope, key))

    async def remember(self, scope: str, key: str, fingerprint: str, result_id: uuid.UUID) -> None:
        self._uow.require_active()
        if (scope, key) in self._uow._staged_keys or (scope, key) in self._uow.store.idempotency:
            raise Conflict("unique constraint on idempotency keys")
        self._uow._staged_keys[(scope, key)] = (fingerprint, result_id)


class FakeSequences(_Repository):
    async def advance_past(self, name: str, value: int) -> None:
        self._uow.require_active()
        current = self._uow._staged_sequences.get(name, self._uow.store.sequences.get(name, 0))
        self._uow._staged_sequences[name] = max(current, value)

    async def next_value(self, name: str) -> int:
        self._uow.require_active()
        value = self._uow._staged_sequences.get(name, self._uow.store.sequences.get(name, 0)) + 1
        self._uow._staged_sequences[name] = value
        return value


class FakeComplaintRepository(_Repository):
    async def get(self, complaint_id: uuid.UUID) -> Complaint | None:
        self._uow.require_active()
        return self._uow.read("complaints", self._uow.current("complaints", complaint_id))

    async def add(self, complaint: Complaint) -> None:
        self._uow.stage_new("complaints", complaint, unique=lambda c: c.number)

    async def save(self, complaint: Complaint) -> None:
        self._uow.stage_save("complaints", complaint, unique=lambda c: c.number)

    async def claim_due(self, now: datetime, limit: int) -> list[uuid.UUID]:
        due = self._find("complaints", lambda c: c.sla_next_deadline is not None and c.sla_next_deadline <= now)
        return [c.id for c in sorted(due, key=lambda c: c.sla_next_deadline)[:limit]]


class _ConfigRepository(_Repository):
    table = ""

    def _all(self) -> dict[uuid.UUID, Any]:
        self._uow.require_active()
        return {**getattr(self._uow.store, self.table), **self._uow._staged_config[self.table]}

    def _stage(self, item: Any) -> None:
        self._uow.require_active()
        self._uow._staged_config[self.table][item.id] = item

    async def get(self, item_id: uuid.UUID) -> Any:
        return self._all().get(item_id)


class FakeComplaintCategoryRepository(_ConfigRepository):
    table = "complaint_categories"

    async def get_by_code(self, code: str) -> ComplaintCategory | None:
        return next((c for c in self._all().values() if c.code == code.strip().upper()), None)

    async def parents(self) -> dict[uuid.UUID, uuid.UUID | None]:
        return {c.id: c.parent_id for c in self._all().values()}

    async def add(self, category: ComplaintCategory, *, at: datetime) -> None:
        if await self.get_by_code(category.code) is not None:
            raise Conflict("unique constraint on complaint_categories: code")
        self._stage(category)


class FakeSlaPolicyRepository(_ConfigRepository):
    table = "sla_policies"

    async def active(self) -> list[SlaPolicy]:
        return [p for p in self._all().values() if p.active]

    async def add(self, policy: SlaPolicy, *, by: uuid.UUID | None, at: datetime) -> None:
        self._stage(policy)

    async def retire(self, policy: SlaPolicy) -> None:
        stored = self._all().get(policy.id)
        if stored is None or not stored.active:
            raise Conflict("The policy was changed by someone else; reload and retry.")
        self._stage(dataclasses.replace(stored, active=False))


class FakeCalendarRepository(_ConfigRepository):
    table = "calendars"

    async def get_by_name(self, name: str) -> BusinessCalendar | None:
        return next((c for c in self._all().values() if c.name == name.strip()), None)

    async def add(self, calendar: BusinessCalendar, *, by: uuid.UUID | None, at: datetime) -> None:
        if await self.get_by_name(calendar.name) is not None:
            raise Conflict("unique constraint on business_calendars: name")
        self._stage(calendar)


class FakeActivityFeed(_Repository):
    """Staged like the other writes; a subject's customer is looked up in the staged view of its table."""

    async def customers_of(self, subjects: set[Subject]) -> dict[Subject, uuid.UUID]:
        self._uow.require_active()
        tables = {"ORDER": "orders", "COMPLAINT": "complaints"}
        found: dict[Subject, uuid.UUID] = {}
        for kind, subject_id in subjects:
            table = tables.get(kind)
            row = self._uow.current(table, subject_id) if table in self._uow._staged else None
            if row is not None:
                found[(kind, subject_id)] = row.customer_id  # type: ignore[attr-defined]
        return found

    async def add(self, records: list[ActivityRecord]) -> None:
        self._uow.require_active()
        for record in records:
            if record.department_id is None and record.actor_id is not None:
                actor = self._uow.current("staff", record.actor_id)
                record = dataclasses.replace(record, department_id=actor.department_id if actor else None)  # type: ignore[attr-defined]
            self._uow._staged_activity.append(record)


class FakeNotifier(_Repository):
    async def notify(self, notification: Notification) -> None:
        self._uow.require_active()
        key = (notification.dedupe_key, notification.recipient_id)
        if any((n.dedupe_key, n.recipient_id) == key
               for n in [*self._uow.store.notifications, *self._uow._staged_notifications]):
            raise Conflict("unique constraint on notifications")
        self._uow._staged_notifications.append(notification)


__all__ = [
    "FakeClock", "FakeUnitOfWork", "InMemoryStore", "RecordingPublisher",
    "FakeCustomerRepository", "FakeStaffRepository", "FakeDepartmentRepository", "FakeInteractionRepository",
    "FakeIdempotencyStore", "FakeSequences", "FakeComplaintRepository", "FakeComplaintCategoryRepository",
    "FakeSlaPolicyRepository", "FakeCalendarRepository", "FakeNotifier",
]


# --------------------------------------------------------------------------- orders and workflows
#
# A store and unit of work that add orders, workflow instances (versioned aggregates, staged like
# customers) and workflow definitions (immutable versions: unique (key, version); `retire` refuses a
# version that is retired already, like the SQL adapter's guarded UPDATE) to the ones above.

from domain.order import Order  # noqa: E402
from domain.workflow import WorkflowDefinition, WorkflowInstance  # noqa: E402

_WORKFLOW_TABLES = ("orders", "workflows")


class OrdersAndWorkflowsStore(InMemoryStore):
    def __init__(self, publisher: RecordingPublisher | None = None) -> None:
        super().__init__(publisher)
        self.orders: dict[uuid.UUID, Order] = {}
        self.workflows: dict[uuid.UUID, WorkflowInstance] = {}
        self.workflow_definitions: dict[uuid.UUID, WorkflowDefinition] = {}

    def uow(self) -> "OrdersAndWorkflowsUnitOfWork":
        return OrdersAndWorkflowsUnitOfWork(self)

    __call__ = uow

    def order(self, order_id: uuid.UUID) -> Order:
        return _detached(self.orders[order_id])

    def workflow(self, instance_id: uuid.UUID) -> WorkflowInstance:
        return _detached(self.workflows[instance_id])

    def dump(self) -> dict[str, Any]:
        return {**super().dump(), "orders": {k: _row(v) for k, v in self.orders.items()},
                "workflows": {k: _row(v) for k, v in self.workflows.items()},
                "workflow_definitions": dict(self.workflow_definitions)}


class OrdersAndWorkflowsUnitOfWork(FakeUnitOfWork):
    store: OrdersAndWorkflowsStore

    def __init__(self, store: OrdersAndWorkflowsStore) -> None:
        super().__init__(store)
        self.orders = FakeOrderRepository(self)
        self.workflows = FakeWorkflowRepository(self)
        self.workflow_definitions = FakeWorkflowDefinitionRepository(self)

    def _reset(self) -> None:
        super()._reset()
        for table in _WORKFLOW_TABLES:
            self._staged[table] = {}  # so stage_new / stage_save / current / rows serve these tables too
        self._staged_definitions: dict[uuid.UUID, WorkflowDefinition] = {}

    async def _commit(self) -> None:
        """Checks these tables like the base checks its own, then lets the base commit; applies them only
        when that succeeded (all or nothing)."""
        self.require_active()
        staged = {table: dict(self._staged[table]) for table in _WORKFLOW_TABLES}
        bases = {key: base for key, base in self._base.items() if key[0] in _WORKFLOW_TABLES}
        definitions = dict(self._staged_definitions)
        try:
            for table in _WORKFLOW_TABLES:
                committed = getattr(self.store, table)
                for key in staged[table]:
                    base, now = bases[(table, key)], committed.get(key)
                    if (base is None and now is not None) or (base is not None and (now is None or now.version != base)):
                        raise Conflict("Someone else wrote the same thing at the same time; reload and retry.")
            for definition in definitions.values():
                stored = self.store.workflow_definitions.get(definition.id)
                clash = any(d.key == definition.key and d.version == definition.version and d.id != definition.id
                            for d in self.store.workflow_definitions.values())
                if clash or (stored is not None and not stored.active):
                    raise Conflict("Someone else wrote the same thing at the same time; reload and retry.")
        except Conflict:
            self._reset()
            raise
        commits = self.store.commits
        await super()._commit()
        for table in _WORKFLOW_TABLES:
            getattr(self.store, table).update(staged[table])
        self.store.workflow_definitions.update(definitions)
        if self.store.commits == commits and (any(staged.values()) or definitions):
            self.store.commits += 1


class FakeOrderRepository(_Repository):
    async def get(self, order_id: uuid.UUID) -> Order | None:
        self._uow.require_active()
        return self._uow.read("orders", self._uow.current("orders", order_id))

    async def add(self, order: Order) -> None:
        self._uow.stage_new("orders", order, unique=lambda o: o.number)

    async def save(self, order: Order) -> None:
        stored = self._uow.current("orders", order.id)
        self._uow.stage_save("orders", order, unique=lambda o: o.number)
        if stored is not None and stored.versioned_state == order.versioned_state:  # the advance payment alone
            order.version -= 1
            self._uow.current("orders", order.id).version = order.version  # type: ignore[union-attr]


class FakeWorkflowRepository(_Repository):
    async def get(self, instance_id: uuid.UUID) -> WorkflowInstance | None:
        self._uow.require_active()
        return self._uow.read("workflows", self._uow.current("workflows", instance_id))

    async def add(self, instance: WorkflowInstance) -> None:
        self._uow.stage_new("workflows", instance)

    async def save(self, instance: WorkflowInstance) -> None:
        self._uow.stage_save("workflows", instance)

    async def claim_overdue(self, now: datetime, limit: int) -> list[tuple[uuid.UUID, str]]:
        """Like the SQL adapter's query (there is one worker at a time here: no locks to skip)."""
        overdue = [(step.due_at, instance.id, step.key) for instance in self._find("workflows", lambda _: True)
                   for step in instance.steps if step.overdue(now) and step.escalated_at is None]
        return [(instance_id, key) for _, instance_id, key in sorted(overdue)[:limit]]


class FakeWorkflowDefinitionRepository(_Repository):
    _uow: OrdersAndWorkflowsUnitOfWork

    def _all(self) -> dict[uuid.UUID, WorkflowDefinition]:
        self._uow.require_active()
        return {**self._uow.store.workflow_definitions, **self._uow._staged_definitions}

    async def get(self, definition_id: uuid.UUID) -> WorkflowDefinition | None:
        return self._all().get(definition_id)

    async def latest(self, key: str) -> WorkflowDefinition | None:
        versions = [d for d in self._all().values() if d.key == key.strip().lower()]
        return max(versions, key=lambda d: d.version, default=None)

    async def add(self, definition: WorkflowDefinition, *, by: uuid.UUID | None, at: datetime) -> None:
        if any(d.key == definition.key and d.version == definition.version for d in self._all().values()):
            raise Conflict(f"unique constraint on workflow_definitions: ({definition.key}, {definition.version})")
        self._uow._staged_definitions[definition.id] = definition

    async def retire(self, definition: WorkflowDefinition) -> None:
        stored = self._all().get(definition.id)
        if stored is None or not stored.active:
            raise Conflict(f"Someone else redefined {definition.key!r} at the same time; reload and retry.")
        self._uow._staged_definitions[definition.id] = stored.retired()


__all__ += [
    "OrdersAndWorkflowsStore", "OrdersAndWorkflowsUnitOfWork", "FakeOrderRepository", "FakeWorkflowRepository",
    "FakeWorkflowDefinitionRepository",
]

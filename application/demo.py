"""Idempotent demo data: the five departments' people, a few dozen customers with history, the
departments' business calendar (office hours with a lunch break), the advance-payment workflow, a few
orders with advance-payment approvals in different states, complaints with their configuration
(application/complaint_demo.py), two marketing campaigns with members at every status (application/campaign_demo.py),
the sales pipeline with deals in every stage (application/pipeline_demo.py), and the departments' staggered rollout
(application/rollout_demo.py).

Runs through the use cases, so demo data obeys the same rules (and emits the same events)
as real work. Running it again adds nothing.
"""
from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta

from application import customers as cu
from application.campaign_demo import seed_campaigns
from application import complaints
from application.rollout_demo import seed_rollout
from application.complaint_demo import CALENDAR as DEMO_CALENDAR, HOLIDAYS, OFFICE_HOURS, seed_complaints
from application import orders as ord_
from application.pipeline_demo import seed_pipeline
from application import organisation as org
from application import workflows as wf
from application.ports import Clock, ComplaintReads, DueDates, UnitOfWorkFactory
from domain.customer import CustomerKind, CustomerTier, InteractionKind, LifecycleStage
from domain.order import RESPONSIBLE_DEPARTMENT, Order, OrderStatus
from domain.organisation import Role, Staff, StaffCreated
from domain.workflow import ADVANCE_PAYMENT_KEY, StepStatus, WorkflowSubject, advance_payment_definition, \
    calendar_minutes

DEPARTMENTS = ("SALES", "MARKETING", "SERVICE", "FINANCE", "WAREHOUSE")
ADMIN_EMAIL = "admin@example.com"
ROLES = (("manager", Role.MANAGER), ("key", Role.KEY_USER), ("member", Role.MEMBER))
COMPANIES = [
    "Acme Tools", "Birch & Sons", "Cobalt Logistics", "Delta Foods", "Elm Street Bakery", "Fjord Shipping",
    "Granite Works", "Harbor Optics", "Iris Textiles", "Juniper Health", "Kestrel Air", "Lumen Lighting",
    "Maple Furniture", "Nimbus Cloud", "Orchid Cosmetics", "Pioneer Farms", "Quartz Electronics",
    "Redwood Builders", "Summit Outdoor", "Tidal Energy", "Umber Coffee", "Vertex Robotics", "Willow Books",
    "Xenon Labs",
]
PEOPLE = ["Ana Silva", "Ben Okafor", "Chen Wei", "Dana Novak", "Emil Larsen", "Fatima Zahra", "Gus Moreau",
          "Hana Sato", "Ivan Petrov", "Julia Rossi", "Kofi Mensah", "Lena Berg"]
# A path through the life cycle for each target stage.
PATHS = {
    LifecycleStage.LEAD: [],
    LifecycleStage.PROSPECT: [LifecycleStage.PROSPECT],
    LifecycleStage.ACTIVE: [LifecycleStage.PROSPECT, LifecycleStage.ACTIVE],
    LifecycleStage.LOYAL: [LifecycleStage.PROSPECT, LifecycleStage.ACTIVE, LifecycleStage.LOYAL],
    LifecycleStage.AT_RISK: [LifecycleStage.PROSPECT, LifecycleStage.ACTIVE, LifecycleStage.AT_RISK],
    LifecycleStage.CHURNED: [LifecycleStage.PROSPECT, LifecycleStage.ACTIVE, LifecycleStage.AT_RISK,
                             LifecycleStage.CHURNED],
}


async def seed_demo(uow_factory: UnitOfWorkFactory, clock: Clock, due_dates: DueDates | None = None,
                    reads: ComplaintReads | None = None) -> dict[str, int]:
    """Returns how many staff, customers and orders it added. `due_dates` defaults to plain clock minutes; with
    `reads`, sales staff read their customers' complaints (the caller flushes it)."""
    added = {"staff": 0, "customers": 0, "orders": 0}
    admin = await _ensure_admin(uow_factory, clock)
    added["staff"] += admin[1]
    staff_by_email: dict[str, Staff] = {ADMIN_EMAIL: admin[0]}
    for code in DEPARTMENTS:
        async with uow_factory() as uow:
            department = await uow.departments.get_by_code(code)
        if department is None:
            continue
        for suffix, role in ROLES:
            email = f"{code.lower()}.{suffix}@example.com"
            async with uow_factory() as uow:
                existing = await uow.staff.get_by_email(email)
            if existing is None:
                existing = await org.create_staff(uow_factory(), clock, admin[0], org.CreateStaff(
                    name=f"{code.title()} {suffix.replace('key', 'key user').title()}", email=email,
                    department_id=department.id, role=role))
                added["staff"] += 1
            staff_by_email[email] = existing
    added["customers"] = await _seed_customers(uow_factory, clock, staff_by_email)
    await _ensure_department_calendars(uow_factory, clock, admin[0])
    await _ensure_advance_payment(uow_factory, clock, admin[0])
    added["orders"] = await _seed_orders(uow_factory, clock, due_dates or _ClockMinutes(), staff_by_email)
    added["complaints"] = await seed_complaints(uow_factory, clock, staff_by_email, reads)
    added["campaigns"] = await seed_campaigns(uow_factory, clock, staff_by_email)
    added["rollouts"] = await seed_rollout(uow_factory, clock, admin[0], staff_by_email)
    added["opportunities"] = await seed_pipeline(uow_factory, clock, staff_by_email, admin[0])
    return added


async def _ensure_admin(uow_factory: UnitOfWorkFactory, clock: Clock) -> tuple[Staff, int]:
    async with uow_factory() as uow:
        existing = await uow.staff.get_by_email(ADMIN_EMAIL)
        if existing is not None:
            return existing, 0
        department = await uow.departments.get_by_code("SALES")
        if department is None:
            raise RuntimeError("The standard departments are missing: run `crm migrate` first.")
        admin = Staff(id=uuid.uuid4(), name="Demo Administrator", email=ADMIN_EMAIL, department_id=department.id,
                      role=Role.ADMIN)
        admin.record(StaffCreated(**admin._state(clock.now(), None)))
        await uow.staff.add(admin)
        await uow.commit()
        return admin, 1


async def _seed_customers(uow_factory: UnitOfWorkFactory, clock: Clock, staff: dict[str, Staff]) -> int:
    rnd = random.Random(20261128)
    owners = [staff[e] for e in ("sales.member@example.com", "sales.key@example.com", "sales.manager@example.com")
              if e in staff]
    others = [s for s in staff.values() if s not in owners] or owners
    stages = list(PATHS)
    tiers = list(CustomerTier)
    added = 0
    names = COMPANIES + PEOPLE
    for n, name in enumerate(names, start=1):
        code = f"DEMO-{n:04d}"
        async with uow_factory() as uow:
            if await uow.customers.get_by_code(code) is not None:
                continue
        kind = CustomerKind.COMPANY if name in COMPANIES else CustomerKind.PERSON
        owner = owners[n % len(owners)] if owners else None
        slug = name.lower().replace(" & ", "-").replace(" ", "-")
        contacts = (cu.ContactData(name=rnd.choice(PEOPLE), email=f"contact@{slug}.example", phone="+49 30 1234 56",
                                   title="Purchasing"),) if kind is CustomerKind.COMPANY else (
            cu.ContactData(name=name, email=f"{slug}@mail.example"),)
        customer = await cu.create_customer(uow_factory(), clock, owner or others[0], cu.CreateCustomer(
            code=code, name=name, kind=kind, tier=tiers[n % len(tiers)], owner_id=owner.id if owner else None,
            contacts=contacts, tags=tuple(rnd.sample(["wholesale", "retail", "export", "vip", "newsletter"], 2)),
            attributes={"industry": rnd.choice(["manufacturing", "retail", "services", "food"]),
                        "employees": rnd.randint(5, 5000)} if kind is CustomerKind.COMPANY else {}))
        actor = owner or others[0]
        for stage in PATHS[stages[n % len(stages)]]:
            reason = "Lost to a competitor on price" if stage is LifecycleStage.CHURNED else None
            customer = await cu.change_lifecycle_stage(uow_factory(), clock, actor, cu.ChangeLifecycleStage(
                customer_id=customer.id, to=stage, reason=reason))
        for k in range(rnd.randint(1, 4)):
            author = rnd.choice([actor, *others])
            kind_ = rnd.choice(list(InteractionKind))
            await cu.log_interaction(uow_factory(), clock, author, cu.LogInteraction(
                customer_id=customer.id, kind=kind_, rating=rnd.randint(2, 5) if kind_ is InteractionKind.FEEDBACK else None,
                summary=rnd.choice(["Discussed the spring catalogue", "Asked about delivery times",
                                    "Sent the updated price list", "Quarterly review meeting",
                                    "Happy with the last delivery", "Complained about packaging"]),
                occurred_at=clock.now() - timedelta(days=rnd.randint(1, 90), minutes=k)))
        added += 1
    return added


async def _ensure_department_calendars(uow_factory: UnitOfWorkFactory, clock: Clock, admin: Staff) -> None:
    """Every department without a calendar counts its workflow due times on the demo office calendar
    (Berlin, 08:00-12:00 and 13:00-17:00 on weekdays, public holidays off). A choice made since is kept."""
    async with uow_factory() as uow:
        calendar = await uow.calendars.get_by_name(DEMO_CALENDAR)
        departments = [await uow.departments.get_by_code(code) for code in DEPARTMENTS]
    if calendar is None:
        calendar = await complaints.define_calendar(uow_factory(), clock, admin, complaints.DefineCalendar(
            name=DEMO_CALENDAR, timezone="Europe/Berlin", working_hours=OFFICE_HOURS, holidays=HOLIDAYS))
    for department in departments:
        if department is not None and department.calendar_id is None:
            await org.set_department_calendar(uow_factory(), clock, admin, org.SetDepartmentCalendar(
                department_id=department.id, calendar_id=calendar.id))


class _ClockMinutes:
    async def due_at(self, department_id: uuid.UUID, start: datetime, minutes: int) -> datetime:
        return calendar_minutes(department_id, start, minutes)


async def _ensure_advance_payment(uow_factory: UnitOfWorkFactory, clock: Clock, admin: Staff) -> None:
    """Migration 0002 installs it; a database that lost it gets it back here."""
    async with uow_factory() as uow:
        if await uow.workflow_definitions.latest(ADVANCE_PAYMENT_KEY) is not None:
            return
        departments = {code: await uow.departments.get_by_code(code) for code in ("SALES", "FINANCE", "WAREHOUSE")}
    if any(d is None for d in departments.values()):
        return
    definition = advance_payment_definition(
        sales_department_id=departments["SALES"].id, finance_department_id=departments["FINANCE"].id,  # type: ignore[union-attr]
        warehouse_department_id=departments["WAREHOUSE"].id)  # type: ignore[union-attr]
    await wf.define_workflow(uow_factory(), clock, admin, wf.DefineWorkflow(
        key=definition.key, name=definition.name, subject=definition.subject.value, steps=tuple(
            wf.StepData(key=s.key, name=s.name, department_id=s.department_id, kind=s.kind.value, stage=s.stage,
                        required_role=s.required_role.value, due_within_minutes=s.due_within_minutes,
                        condition=wf.ConditionData(s.condition.field, s.condition.op.value, s.condition.value)
                        if s.condition else None)
            for s in definition.steps)))


S = OrderStatus
# (customer code, currency, lines (sku, description, quantity, unit price, discount %), advance payment to reach,
#  status to reach): the demo Kanban has something in every column but INVOICED
DEMO_ORDERS = [
    ("DEMO-0001", "EUR", [("TOOL-100", "Cordless drill", "12", "189.90", "5"),
                          ("TOOL-220", "Drill bit set", "40", "24.50", None)], None, S.SHIPPED),
    ("DEMO-0002", "EUR", [("FURN-010", "Office chair", "60", "210.00", "10")], "REQUESTED", S.DRAFT),
    ("DEMO-0003", "EUR", [("LOG-500", "Pallet racking bay", "25", "1180.00", "2.5")], "AT_FINANCE", S.CONFIRMED),
    ("DEMO-0004", "USD", [("ROBO-7", "Welding robot cell", "2", "41250.00", None)], "AT_FINANCE_MANAGER",
     S.CONFIRMED),
    ("DEMO-0005", "EUR", [("FOOD-33", "Cold-room panels", "80", "95.75", "0")], "APPROVED", S.IN_FULFILLMENT),
    ("DEMO-0006", "GBP", [("OPT-12", "Laboratory microscope", "6", "3890.00", "7.5")], "REJECTED", S.CANCELLED),
    ("DEMO-0007", "JPY", [("TEX-88", "Silk roll", "30", "42000", None)], None, S.PAID),
]
# the way from DRAFT to each status, and who in the responsible department takes each step
FORWARD = (S.CONFIRMED, S.IN_FULFILLMENT, S.SHIPPED, S.INVOICED, S.PAID)
PATH_TO = {S.DRAFT: (), S.CANCELLED: (S.CANCELLED,), **{s: FORWARD[:i + 1] for i, s in enumerate(FORWARD)}}
# Who decides each step of the advance-payment workflow, and with what.
ADVANCE_PAYMENT_SCRIPT = {
    "REQUESTED": [],
    "AT_FINANCE": [("sales-approval", "sales.manager", "APPROVE")],
    "AT_FINANCE_MANAGER": [("sales-approval", "sales.manager", "APPROVE"), ("finance-check", "finance.member", "APPROVE")],
    "APPROVED": [("sales-approval", "sales.manager", "APPROVE"), ("finance-check", "finance.member", "APPROVE"),
                 ("finance-manager-approval", "finance.manager", "APPROVE"),
                 ("release-goods", "warehouse.member", "COMPLETE")],
    "REJECTED": [("sales-approval", "sales.manager", "APPROVE"), ("finance-check", "finance.member", "REJECT")],
}


async def _seed_orders(uow_factory: UnitOfWorkFactory, clock: Clock, due_dates: DueDates,
                       staff: dict[str, Staff]) -> int:
    """Idempotent through idempotency keys; decisions are made only while their step is still ACTIVE."""
    taker = staff.get("sales.member@example.com")
    if taker is None:
        return 0
    added = 0
    for n, (code, currency, lines, target, status) in enumerate(DEMO_ORDERS, start=1):
        async with uow_factory() as uow:
            customer = await uow.customers.get_by_code(code)
            known = await uow.idempotency.lookup(f"createOrder:{taker.id}", f"demo-order-{n}")
        if customer is None:
            continue
        order: Order = await ord_.create_order(uow_factory(), clock, taker, ord_.CreateOrder(
            customer_id=customer.id, currency=currency, idempotency_key=f"demo-order-{n}", lines=tuple(
                ord_.OrderLineData(sku=sku, description=text, quantity=qty, unit_price=price, discount_percent=discount)
                for sku, text, qty, price, discount in lines)))
        added += known is None
        if target is not None:
            await _advance_payment(uow_factory, clock, due_dates, staff, taker, order, n, target)
        await _move_to(uow_factory, clock, staff, order, status)
    return added


async def _move_to(uow_factory: UnitOfWorkFactory, clock: Clock, staff: dict[str, Staff], order: Order,
                   status: OrderStatus) -> None:
    """Along PATH_TO[status], each move by a member of the department whose work it is; the moves an earlier
    seeding made are not made again."""
    async with uow_factory() as uow:
        current = await uow.orders.get(order.id)
    path = PATH_TO[status]
    done = path.index(current.status) + 1 if current is not None and current.status in path else 0
    for to in path[done:]:
        mover = staff.get(f"{RESPONSIBLE_DEPARTMENT[to].lower()}.member@example.com")
        if mover is not None:
            await ord_.transition_order(uow_factory(), clock, mover, ord_.TransitionOrder(order_id=order.id, to=to))


async def _advance_payment(uow_factory: UnitOfWorkFactory, clock: Clock, due_dates: DueDates,
                           staff: dict[str, Staff], taker: Staff, order: Order, n: int, target: str) -> None:
    instance = await wf.start_workflow(uow_factory(), clock, due_dates, taker, wf.StartWorkflow(
        definition_key=ADVANCE_PAYMENT_KEY, subject_type=WorkflowSubject.ORDER, subject_id=order.id,
        idempotency_key=f"demo-order-{n}-advance-payment"))
    for step_key, who, decision in ADVANCE_PAYMENT_SCRIPT[target]:
        step = next((s for s in instance.steps if s.key == step_key), None)
        decider = staff.get(f"{who}@example.com")
        if step is None or step.status is not StepStatus.ACTIVE or decider is None:
            continue
        instance = await wf.decide_step(uow_factory(), clock, due_dates, decider, wf.DecideStep(
            instance_id=instance.id, step_key=step_key, decision=decision,
            comment="Customer is over its credit limit" if decision == "REJECT" else None))

"""Idempotent demo data: the five departments' people and a few dozen customers with history.

Runs through the use cases, so demo data obeys the same rules (and emits the same events)
as real work. Running it again adds nothing.
"""
from __future__ import annotations

import random
import uuid
from datetime import timedelta

from application import customers as cu
from application import organisation as org
from application.ports import Clock, UnitOfWorkFactory
from domain.customer import CustomerKind, CustomerTier, InteractionKind, LifecycleStage
from domain.organisation import Role, Staff

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


async def seed_demo(uow_factory: UnitOfWorkFactory, clock: Clock) -> dict[str, int]:
    """Returns how many staff and customers it added."""
    added = {"staff": 0, "customers": 0}
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
        admin.record("created", clock.now(), admin.snapshot(), None)
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

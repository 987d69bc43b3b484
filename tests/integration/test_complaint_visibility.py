"""Who sees a complaint is written twice: as the domain's rule (domain/complaint.py `sees_all_complaints` and
`Complaint.visible_to`, used before every change) and as SQL (infrastructure/db/queries/complaints.py
`visible_to`, the WHERE clause of every read). This property test generates small worlds of staff, customers
(with or without an owner) and complaints (filed, assigned and handled by anyone) and asks both, for every
reader, which complaints they see: on SQLite and on PostgreSQL the answers must be the same.

Each world is written in one transaction that is rolled back, so the examples leave nothing behind.
"""
from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from application.queries.complaints import ComplaintScope
from domain.complaint import Channel, Complaint, ComplaintCategory, Priority, sees_all_complaints
from domain.customer import Customer, CustomerKind
from domain.organisation import Role, Staff
from infrastructure.container import Container
from infrastructure.db.complaint_tables import complaints as complaint_rows
from infrastructure.db.queries.complaints import visible_to
from infrastructure.db.unit_of_work import SqlUnitOfWork
from tests.conftest import examples

AT = datetime(2024, 2, 5, 10, 0, tzinfo=UTC)
DEPARTMENTS = ("SALES", "MARKETING", "SERVICE", "FINANCE")
NUMBERS = itertools.count(70_000_000)  # far above the demo's CMP- numbers; each world is rolled back anyway


@dataclass(frozen=True)
class PersonSpec:
    role: Role
    department: int  # index into DEPARTMENTS


@dataclass(frozen=True)
class ComplaintSpec:
    department: int
    filer: int  # index into the staff
    assignee: int | None
    customer: int


@dataclass(frozen=True)
class World:
    staff: list[PersonSpec]
    owners: list[int | None]  # per customer: index into the staff, or nobody
    complaints: list[ComplaintSpec]


@st.composite
def worlds(draw: st.DrawFn) -> World:
    staff = draw(st.lists(st.builds(PersonSpec, st.sampled_from(list(Role)), st.integers(0, len(DEPARTMENTS) - 1)),
                          min_size=1, max_size=6))
    person = st.integers(0, len(staff) - 1)
    owners = draw(st.lists(st.none() | person, min_size=1, max_size=3))
    complaints = draw(st.lists(st.builds(ComplaintSpec, st.integers(0, len(DEPARTMENTS) - 1), person,
                                         st.none() | person, st.integers(0, len(owners) - 1)),
                               min_size=1, max_size=6))
    return World(staff, owners, complaints)


@settings(max_examples=examples(40), deadline=None, suppress_health_check=list(HealthCheck))
@given(world=worlds())
async def test_the_domain_rule_and_the_sql_agree_on_who_sees_which_complaint(container: Container,
                                                                           world: World) -> None:
    async with SqlUnitOfWork(container.core.engine()) as uow:
        departments = [await uow.departments.get_by_code(code) for code in DEPARTMENTS]
        assert all(departments)
        department_ids = [d.id for d in departments]  # type: ignore[union-attr]
        code_of = {d.id: d.code for d in departments}  # type: ignore[union-attr]
        staff = [Staff(id=uuid.uuid4(), name=f"Reader {i}", email=f"reader-{uuid.uuid4().hex[:12]}@example.com",
                       department_id=department_ids[p.department], role=p.role) for i, p in enumerate(world.staff)]
        for member in staff:
            await uow.staff.add(member)
        customers = [Customer.register(code=f"VIS-{uuid.uuid4().hex[:10]}", name="Visible", kind=CustomerKind.COMPANY,
                                       at=AT, by=None, owner_id=staff[owner].id if owner is not None else None)
                     for owner in world.owners]
        await uow.customers.add_many(customers)
        category = ComplaintCategory.define(code=f"vis-{uuid.uuid4().hex[:10]}", name="Visibility")
        await uow.complaint_categories.add(category, at=AT)
        filed: list[Complaint] = []
        for spec in world.complaints:
            complaint = Complaint.file(
                number=next(NUMBERS), customer_id=customers[spec.customer].id, category=category,
                priority=Priority.NORMAL, channel=Channel.EMAIL, subject="Who sees me", description="-",
                department_id=department_ids[spec.department], by=staff[spec.filer], at=AT)
            complaint.assignee_id = staff[spec.assignee].id if spec.assignee is not None else None
            await uow.complaints.add(complaint)
            filed.append(complaint)
        owner_of = {c.id: c.owner_id for c in customers}
        for reader in staff:
            code = code_of[reader.department_id]
            by_domain = {c.id for c in filed if c.visible_to(reader, sees_all=sees_all_complaints(reader, code),
                                                             customer_owner_id=owner_of[c.customer_id])}
            rows = await uow.connection.execute(
                select(complaint_rows.c.id).where(complaint_rows.c.id.in_([c.id for c in filed]),
                                                  visible_to(ComplaintScope.of(reader, code))))
            by_sql = {row.id for row in rows}
            assert by_sql == by_domain, (reader.role, code)
        # leaving without commit rolls the world back

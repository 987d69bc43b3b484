"""Use cases for departments and staff."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from application.idempotency import replay_or_create
from application.ports import Clock, UnitOfWork
from domain.organisation import Department, Role, Staff, may_choose_calendar, normalise_email
from domain.shared import Duplicate, NotAuthorized, NotFound


@dataclass(frozen=True)
class CreateStaff:
    name: str
    email: str
    department_id: uuid.UUID
    role: Role
    idempotency_key: str | None = None


@dataclass(frozen=True)
class UpdateStaff:
    staff_id: uuid.UUID
    expected_version: int | None = None
    name: str | None = None
    department_id: uuid.UUID | None = None
    role: Role | None = None
    active: bool | None = None


async def _require_department(uow: UnitOfWork, department_id: uuid.UUID) -> None:
    if await uow.departments.get(department_id) is None:
        raise NotFound("No such department.", field=("departmentId",))


async def create_staff(uow: UnitOfWork, clock: Clock, actor: Staff, cmd: CreateStaff) -> Staff:
    """Add a person. Raises NotAuthorized (not an admin), NotFound (department),
    Duplicate (e-mail taken), InvalidInput."""

    async def create() -> uuid.UUID:
        await _require_department(uow, cmd.department_id)
        staff = Staff.hire(by=actor, name=cmd.name, email=cmd.email, department_id=cmd.department_id,
                           role=cmd.role, at=clock.now())
        if await uow.staff.get_by_email(staff.email) is not None:
            raise Duplicate("Someone already has this e-mail address.", field=("email",))
        await uow.staff.add(staff)
        return staff.id

    async with uow:
        if not actor.is_admin:  # checked before the idempotency lookup so a replay leaks nothing
            Staff.hire(by=actor, name=cmd.name, email=cmd.email, department_id=cmd.department_id,
                       role=cmd.role, at=clock.now())
        staff_id, _ = await replay_or_create(uow, scope=f"createStaff:{actor.id}", key=cmd.idempotency_key,
                                             command=cmd, create=create)
        found = await uow.staff.get(staff_id)  # as written (or as first written, for a replay), before the commit
        await uow.commit()
    assert found is not None
    return found


async def update_staff(uow: UnitOfWork, clock: Clock, actor: Staff, cmd: UpdateStaff) -> Staff:
    """Change a person's name, department, role or activity. Raises NotAuthorized, NotFound,
    Conflict (stale expectedVersion), InvalidInput."""
    async with uow:
        staff = await uow.staff.get(cmd.staff_id, for_update=True)
        if staff is None:
            raise NotFound("No such staff member.", field=("id",))
        # authority first: a refusal must not reveal versions or which departments exist
        changed = staff.update(by=actor, at=clock.now(), name=cmd.name, department_id=cmd.department_id,
                               role=cmd.role, active=cmd.active)
        staff.check_version(cmd.expected_version)
        if cmd.department_id is not None:
            await _require_department(uow, cmd.department_id)
        if changed:
            await uow.staff.save(staff)
            await uow.commit()
    return staff


@dataclass(frozen=True)
class SetDepartmentCalendar:
    department_id: uuid.UUID
    calendar_id: uuid.UUID | None  # None: back to the default calendar


async def set_department_calendar(uow: UnitOfWork, clock: Clock, actor: Staff, cmd: SetDepartmentCalendar) -> Department:
    """Choose the business calendar a department's workflow steps count their due times on. Steps already
    active keep the due time they were given; the next activations use the new calendar.

    Raises NotAuthorized (not an ADMIN nor the department's MANAGER; checked before anything is looked up
    for non-admins, so a refusal tells nothing), NotFound (departmentId, calendarId).
    """
    if not may_choose_calendar(actor, cmd.department_id):
        raise NotAuthorized()
    async with uow:
        department = await uow.departments.get(cmd.department_id)
        if department is None:
            raise NotFound("No such department.", field=("departmentId",))
        if cmd.calendar_id is not None and await uow.calendars.get(cmd.calendar_id) is None:
            raise NotFound("No such calendar.", field=("calendarId",))
        changed = department.with_calendar(cmd.calendar_id, by=actor)
        if changed != department:
            await uow.departments.save(changed)
            await uow.commit()
    return changed


async def find_active_staff_by_email(uow: UnitOfWork, email: str) -> Staff | None:
    async with uow:
        staff = await uow.staff.get_by_email(normalise_email(email))
    return staff if staff is not None and staff.active else None

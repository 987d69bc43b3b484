"""Use cases of the rollout by department: move a department's phase, set its checklist targets, mark its staff
trained (domain/rollout.py has the rules)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from application.ports import Clock, UnitOfWork
from domain.organisation import Role, Staff
from domain.rollout import DepartmentRollout, RolloutPhase, require_rollout_runner
from domain.shared import NotAuthorized, NotFound


@dataclass(frozen=True)
class SetRolloutPhase:
    department_id: uuid.UUID
    phase: RolloutPhase
    note: str | None = None
    expected_version: int | None = None


@dataclass(frozen=True)
class SetChecklistTarget:
    department_id: uuid.UUID
    key: str
    target: int | None = None
    done: bool | None = None
    expected_version: int | None = None


@dataclass(frozen=True)
class MarkTrained:
    staff_id: uuid.UUID
    trained_at: datetime | None = None  # None: now


async def _rollout(uow: UnitOfWork, department_id: uuid.UUID) -> DepartmentRollout:
    rollout = await uow.rollouts.get(department_id, for_update=True)
    if rollout is None:
        raise NotFound("No such department.", field=("departmentId",))
    return rollout


async def _change(uow: UnitOfWork, actor: Staff, department_id: uuid.UUID,
                  change: Callable[[DepartmentRollout], bool]) -> DepartmentRollout:
    """The department's rollout after `change` (authority checked before the department is looked up); saved and
    committed if it changed anything."""
    require_rollout_runner(actor, department_id)
    async with uow:
        rollout = await _rollout(uow, department_id)
        if change(rollout):
            await uow.rollouts.save(rollout)
            await uow.commit()
    return rollout


async def set_rollout_phase(uow: UnitOfWork, clock: Clock, actor: Staff, cmd: SetRolloutPhase) -> DepartmentRollout:
    """Move a department's rollout one phase on (or back, with a note). Raises NotAuthorized (checked before the
    department is looked up), NotFound (departmentId), Conflict (stale expectedVersion), ForbiddenTransition
    (skipping a phase), InvalidInput (a step back without a note)."""
    return await _change(uow, actor, cmd.department_id, lambda rollout: rollout.move_to(
        cmd.phase, by=actor, at=clock.now(), note=cmd.note, expected_version=cmd.expected_version))


async def set_checklist_target(uow: UnitOfWork, clock: Clock, actor: Staff,
                               cmd: SetChecklistTarget) -> DepartmentRollout:
    """Set the target count of an item of a department's checklist, or mark it done. Raises NotAuthorized (first),
    NotFound (departmentId), Conflict, InvalidInput (key not on the checklist, target out of range)."""
    return await _change(uow, actor, cmd.department_id, lambda rollout: rollout.set_target(
        cmd.key, target=cmd.target, done=cmd.done, by=actor, at=clock.now(), expected_version=cmd.expected_version))


async def mark_trained(uow: UnitOfWork, clock: Clock, actor: Staff, cmd: MarkTrained) -> DepartmentRollout:
    """Record that a staff member was trained (at `trained_at`, default now), by an ADMIN or a MANAGER or KEY_USER
    of the staff member's department; returns that department's rollout. Raises NotAuthorized (a MEMBER before
    anything is looked up; otherwise once the staff member's department is known), NotFound (staffId),
    InvalidInput (inactive, trainedAt in the future)."""
    if not actor.active or not (actor.is_admin or actor.role in (Role.MANAGER, Role.KEY_USER)):
        raise NotAuthorized()
    async with uow:
        staff = await uow.staff.get(cmd.staff_id)
        if staff is None:
            raise NotFound("No such staff member.", field=("staffId",))
        require_rollout_runner(actor, staff.department_id)
        rollout = await _rollout(uow, staff.department_id)
        rollout.mark_trained(staff, by=actor, at=clock.now(), trained_at=cmd.trained_at)
        await uow.rollouts.save(rollout)
        await uow.commit()
    return rollout

"""Use case: an ADMIN sets who reads a guarded money field (rules in domain/field_access.py)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from application.ports import Clock, FieldAccessPolicy, UnitOfWork
from domain.field_access import FieldAccessRule, GuardedField
from domain.organisation import Role, Staff
from domain.shared import InvalidInput, NotAuthorized


@dataclass(frozen=True)
class SetFieldAccess:
    field: GuardedField
    roles: tuple[Role, ...]
    department_ids: tuple[uuid.UUID, ...]
    owner: bool


async def set_field_access(policy: FieldAccessPolicy, uow: UnitOfWork, clock: Clock, actor: Staff,
                           cmd: SetFieldAccess) -> FieldAccessRule:
    """Raises NotAuthorized (not an ADMIN) and InvalidInput (departmentIds[i] names no department)."""
    if not (actor.active and actor.is_admin):
        raise NotAuthorized("Only an ADMIN decides who reads money fields.")
    async with uow:
        for i, department_id in enumerate(cmd.department_ids):
            if await uow.departments.get(department_id) is None:
                raise InvalidInput("No such department.", field=("departmentIds", str(i)))
    rule = FieldAccessRule.set(by=actor, field=cmd.field, roles=cmd.roles, department_ids=cmd.department_ids,
                               owner=cmd.owner)
    await policy.save(rule, actor, clock.now())
    return rule

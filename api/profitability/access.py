"""Field permissions as data: `fieldAccess` and `setFieldAccess` (ADMINs). Every resolver of a guarded money field
calls `require` (api/profitability/guard.py) first. Rules: domain/field_access.py."""
from __future__ import annotations

import uuid
from typing import Awaitable

import strawberry
from strawberry.types import Info

from api.common.errors import UserError, forbidden
from api.common.payloads import write
from api.common.relay import decode_id
from api.context import Context
from api.organisation.enums import RoleEnum
from api.organisation.types import Department, load_department
from application.field_access import SetFieldAccess, set_field_access
from domain.field_access import FieldAccessRule as Rule
from domain.field_access import GuardedField
from domain.organisation import Role

GuardedFieldEnum = strawberry.enum(GuardedField, name="GuardedField",
                                   description="Money fields whose readers a company decides")


@strawberry.type(description="Who may read one guarded field: roles anywhere, whole departments, and the order's "
                             "or customer's owner")
class FieldAccessRule:
    field: GuardedFieldEnum  # type: ignore[valid-type]
    roles: list[RoleEnum]  # type: ignore[valid-type]
    owner: bool
    department_ids: strawberry.Private[list[uuid.UUID]]

    @strawberry.field
    async def departments(self, info: Info[Context, None]) -> list[Department]:
        found = [await load_department(info, d) for d in self.department_ids]
        return [d for d in found if d is not None]

    @classmethod
    def from_rule(cls, rule: Rule) -> "FieldAccessRule":
        return cls(field=rule.field, roles=sorted(rule.roles, key=list(Role).index), owner=rule.owner,
                   department_ids=sorted(rule.department_ids, key=str))


@strawberry.input
class SetFieldAccessInput:
    field: GuardedFieldEnum  # type: ignore[valid-type]
    roles: list[RoleEnum]  # type: ignore[valid-type]
    department_ids: list[strawberry.ID]
    owner: bool


@strawberry.type
class FieldAccessPayload:
    rule: FieldAccessRule | None
    user_errors: list[UserError]


@strawberry.type
class FieldAccessQuery:
    @strawberry.field(description="Who reads each guarded money field; for admins")
    async def field_access(self, info: Info[Context, None]) -> list[FieldAccessRule]:
        if not info.context.admin:
            raise forbidden()
        rules = await info.context.field_access.rules()
        return [FieldAccessRule.from_rule(rules[f]) for f in GuardedField]


@strawberry.type
class FieldAccessMutation:
    @strawberry.mutation(description="Decide who reads a guarded money field (admins); ADMINs always do")
    async def set_field_access(self, info: Info[Context, None], input: SetFieldAccessInput) -> FieldAccessPayload:
        def decide(ctx: Context) -> Awaitable[Rule]:
            if not info.context.admin:
                raise forbidden()
            departments = tuple(decode_id(d, "Department", "departmentIds") for d in input.department_ids)
            return set_field_access(ctx.field_access, ctx.uow(), ctx.clock, ctx.actor, SetFieldAccess(
                GuardedField(input.field.value), tuple(Role(r.value) for r in input.roles), departments, input.owner))

        rule, errors = await write(info, decide)
        return FieldAccessPayload(rule=FieldAccessRule.from_rule(rule) if rule else None, user_errors=errors)

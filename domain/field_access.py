"""Who reads the money fields is a company's decision, kept as data (rule WhoReadsMoneyIsAPolicy).

A guarded field (unit costs, an order's profitability, a customer's receivables, the profitability report)
has one rule: roles anywhere, whole departments, and optionally the owner (of the order, or of the customer).
An ADMIN sets it (OnlyAdminsSetFieldAccess) and always reads the field. Without a stored rule the default
holds: FINANCE, MANAGERs, ADMINs, and the owner for their own orders and customers.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from domain.organisation import Role, Staff
from domain.shared import NotAuthorized

DEFAULT_DEPARTMENT = "FINANCE"


class GuardedField(StrEnum):
    UNIT_COST = "UNIT_COST"
    ORDER_PROFITABILITY = "ORDER_PROFITABILITY"
    RECEIVABLES = "RECEIVABLES"
    PROFITABILITY_REPORT = "PROFITABILITY_REPORT"


@dataclass(frozen=True)
class FieldAccessRule:
    field: GuardedField
    roles: frozenset[Role]
    department_ids: frozenset[uuid.UUID]
    owner: bool

    @classmethod
    def default(cls, field: GuardedField, finance_department_id: uuid.UUID | None) -> "FieldAccessRule":
        return cls(field, frozenset({Role.MANAGER, Role.ADMIN}),
                   frozenset({finance_department_id} if finance_department_id else ()), owner=True)

    @classmethod
    def set(cls, *, by: Staff, field: GuardedField, roles: list[Role] | tuple[Role, ...],
            department_ids: list[uuid.UUID] | tuple[uuid.UUID, ...], owner: bool) -> "FieldAccessRule":
        """Raises NotAuthorized (OnlyAdminsSetFieldAccess)."""
        if not (by.active and by.is_admin):
            raise NotAuthorized("Only an ADMIN decides who reads money fields.")
        return cls(GuardedField(field), frozenset(Role(r) for r in roles), frozenset(department_ids), bool(owner))

    def allows(self, staff: Staff, owner_id: uuid.UUID | None = None) -> bool:
        """Whether `staff` reads the field (of a thing `owner_id` owns, when it has an owner)."""
        return staff.active and (staff.is_admin or staff.role in self.roles
                                 or staff.department_id in self.department_ids
                                 or (self.owner and owner_id is not None and owner_id == staff.id))

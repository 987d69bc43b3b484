"""Departments and the staff who work in them, with who may change whom."""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from domain.shared import AggregateRoot, DomainEvent, InvalidInput, NotAuthorized, require_text

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Role(StrEnum):
    MEMBER = "MEMBER"
    KEY_USER = "KEY_USER"
    MANAGER = "MANAGER"
    ADMIN = "ADMIN"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def at_least(self, other: "Role") -> bool:
        return self.rank >= other.rank


@dataclass(frozen=True)
class Department:
    id: uuid.UUID
    code: str
    name: str
    calendar_id: uuid.UUID | None = None  # the business calendar its workflow steps' due times count on

    def with_calendar(self, calendar_id: uuid.UUID | None, *, by: "Staff") -> "Department":
        """This department counting on another calendar (None: the default one); NotAuthorized unless
        `may_choose_calendar`."""
        if not may_choose_calendar(by, self.id):
            raise NotAuthorized()
        return replace(self, calendar_id=calendar_id)


def may_choose_calendar(staff: "Staff", department_id: uuid.UUID) -> bool:
    """Rule: AdminsOrTheDepartmentsManagerChooseItsCalendar (active staff only)."""
    return staff.active and (staff.is_admin or (staff.role is Role.MANAGER and staff.department_id == department_id))


def normalise_email(value: str, field_name: str = "email") -> str:
    email = (require_text(value, field_name, max_length=254) or "").lower()
    if not EMAIL.match(email):
        raise InvalidInput(f"{value!r} is not an e-mail address.", field=(field_name,))
    return email


@dataclass(eq=False, kw_only=True)
class Staff(AggregateRoot):
    aggregate_type = "staff"

    name: str
    email: str
    department_id: uuid.UUID
    role: Role
    active: bool = True
    # rule TokensDieWithTheDeactivation: tokens issued before this moment are dead, also once reactivated
    tokens_valid_after: datetime | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @classmethod
    def hire(
        cls, *, by: "Staff", name: str, email: str, department_id: uuid.UUID, role: Role, at: datetime
    ) -> "Staff":
        """Rule: OnlyAdminsAddStaff."""
        if not by.is_admin:
            raise NotAuthorized("Only administrators add staff.")
        staff = cls(
            id=uuid.uuid4(),
            name=require_text(name, "name", max_length=200) or "",
            email=normalise_email(email),
            department_id=department_id,
            role=Role(role),
        )
        staff.record(StaffCreated(**staff._state(at, by.id)))
        return staff

    def _state(self, at: datetime, by: uuid.UUID | None) -> dict[str, Any]:
        """The envelope and the staff member's state as every StaffEvent carries it."""
        return {"aggregate_id": self.id, "occurred_at": at, "actor_id": by, "name": self.name, "email": self.email,
                "department_id": self.department_id, "role": self.role, "active": self.active}

    def update(
        self,
        *,
        by: "Staff",
        at: datetime,
        name: str | None = None,
        department_id: uuid.UUID | None = None,
        role: Role | None = None,
        active: bool | None = None,
    ) -> bool:
        """Apply an update if `by` may make it; False (nothing recorded) when nothing differs.

        Authority is checked before anything else, so a refusal tells nothing about the target.
        Rules: AdminsManageEveryone; AManagerNamesKeyUsersOfTheirOwnDepartmentOnly
        (MEMBER <-> KEY_USER, nothing else); NobodyLocksThemselvesOut.
        """
        changes: dict[str, object] = {}
        if name is not None and name.strip() != self.name:
            changes["name"] = require_text(name, "name", max_length=200)
        if department_id is not None and department_id != self.department_id:
            changes["department_id"] = department_id
        if role is not None and Role(role) is not self.role:
            changes["role"] = Role(role)
        if active is not None and active != self.active:
            changes["active"] = active
        if not by.is_admin:
            self._check_manager_may(by, changes)
        if not changes:
            return False
        if by.id == self.id and (changes.get("active") is False or "role" in changes):
            raise InvalidInput("You cannot deactivate yourself or change your own role.", field=("active" if "active" in changes else "role",))
        for key, value in changes.items():
            setattr(self, key, value)
        if changes.get("active") is False:
            self.tokens_valid_after = at
        self.record(StaffUpdated(**self._state(at, by.id)))
        return True

    def accepts_token_issued_at(self, issued_at: datetime) -> bool:
        """Rule TokensDieWithTheDeactivation: an active member's token counts unless it was issued before their
        last deactivation (a reactivation does not bring the old tokens back)."""
        return self.active and (self.tokens_valid_after is None or issued_at >= self.tokens_valid_after)

    def _check_manager_may(self, by: "Staff", changes: dict[str, object]) -> None:
        allowed = {Role.MEMBER, Role.KEY_USER}
        if (
            by.role is not Role.MANAGER
            or not by.active
            or by.department_id != self.department_id
            or not set(changes) <= {"role"}
            or self.role not in allowed
            or changes.get("role", self.role) not in allowed
        ):
            raise NotAuthorized("Only administrators, or a department's manager naming its key users, may change staff.")


@dataclass(frozen=True, kw_only=True)
class StaffEvent(DomainEvent):
    """The staff member as they are once the event happened."""

    aggregate_type = "staff"

    name: str
    email: str
    department_id: uuid.UUID
    role: Role
    active: bool


@dataclass(frozen=True, kw_only=True)
class StaffCreated(StaffEvent):
    event_name = "created"


@dataclass(frozen=True, kw_only=True)
class StaffUpdated(StaffEvent):
    event_name = "updated"

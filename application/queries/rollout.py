"""Read model of the rollout by department: every department's phase and checklist targets (`RolloutView`), its
phase history, the current counts of its checklist (computed from the data) and its staff counts."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from application.queries.views import DepartmentView


@dataclass(frozen=True, kw_only=True)
class ChecklistTargetView:
    target: int | None
    done: bool


@dataclass(frozen=True, kw_only=True)
class RolloutView:
    id: uuid.UUID  # the department's
    department_code: str
    phase: str
    version: int
    checklist: dict[str, ChecklistTargetView]


@dataclass(frozen=True, kw_only=True)
class PhaseChangeView:
    from_phase: str | None
    to_phase: str
    at: datetime
    by_id: uuid.UUID | None
    note: str | None


@dataclass(frozen=True, kw_only=True)
class StaffCountsView:
    active: int
    trained: int  # active staff marked trained


@dataclass(frozen=True, kw_only=True)
class DepartmentRolloutView:
    department: DepartmentView
    rollout: RolloutView


class RolloutQueries(Protocol):
    async def rollouts(self) -> list[DepartmentRolloutView]:
        """Every department (by code) with its rollout: one statement however many departments there are."""

    async def rollouts_by_department(self, ids: list[uuid.UUID]) -> list[RolloutView | None]: ...

    async def history(self, department_ids: list[uuid.UUID]) -> list[list[PhaseChangeView]]:
        """Each department's phase changes, oldest first, in one statement."""

    async def checklist_counts(self, department_ids: list[uuid.UUID]) -> list[dict[str, int]]:
        """Each department's checklist counts by item key (domain/rollout.py), computed from the data in a
        constant number of statements whatever the number of departments."""

    async def staff_counts(self, department_ids: list[uuid.UUID]) -> list[StaffCountsView]: ...

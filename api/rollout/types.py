"""DepartmentRollout as the API shows it: the phase and its history from the rollout's row, the checklist's counts
and the staff counts from their loaders (one batch each for every department of the response)."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from api.context import Context, Loaders
from api.organisation.types import Department, Staff, load_department, load_staff
from api.rollout.enums import RolloutPhaseEnum
from application.queries.rollout import PhaseChangeView, RolloutView
from application.queries.written import rollout_view
from domain.rollout import RolloutPhase, checklist_for, item_done

__all__ = ["DepartmentRollout", "RolloutChecklistItem", "RolloutPhaseChange"]


@strawberry.type
class RolloutPhaseChange:
    from_: RolloutPhaseEnum | None = strawberry.field(name="from")  # type: ignore[valid-type]
    to: RolloutPhaseEnum  # type: ignore[valid-type]
    at: datetime
    note: str | None
    _by_id: strawberry.Private[uuid.UUID | None]

    @classmethod
    def from_view(cls, v: PhaseChangeView) -> "RolloutPhaseChange":
        return cls(from_=RolloutPhase(v.from_phase) if v.from_phase else None, to=RolloutPhase(v.to_phase), at=v.at,
                   note=v.note, _by_id=v.by_id)

    @strawberry.field
    async def by(self, info: Info[Context, None]) -> Staff | None:
        return await load_staff(info, self._by_id)


@strawberry.type(description="One item of a department's basic-data checklist")
class RolloutChecklistItem:
    key: str
    label: str
    current: int = strawberry.field(description="Computed from the data where it can be (e.g. customers owned by "
                                                "the department's staff); see the README's rollout section")
    target: int | None
    done: bool = strawberry.field(description="Marked done, or current has reached target")


@strawberry.type(description="A department's rollout: its phase (SURVEY -> DATA_COLLECTION -> TRAINING -> LIVE, one "
                             "step at a time; a step back needs a note), key users, basic-data checklist and training")
class DepartmentRollout:
    phase: RolloutPhaseEnum  # type: ignore[valid-type]
    version: int = strawberry.field(description="For setRolloutPhase's expectedVersion; 0 until the first change")
    _view: strawberry.Private[RolloutView]

    @classmethod
    def from_view(cls, view: RolloutView) -> "DepartmentRollout":
        return cls(phase=RolloutPhase(view.phase), version=view.version, _view=view)

    # a mutation's payload: the rollout as the write left it (api/common/payloads.py)
    @classmethod
    def prime(cls, loaders: Loaders, written: Any) -> None:
        loaders.rollout_by_department.prime(written.id, rollout_view(written))

    @classmethod
    async def written(cls, info: Info[Context, None], raw_id: Any) -> "DepartmentRollout | None":
        view = await info.context.loaders.rollout_by_department.load(raw_id) if raw_id is not None else None
        return cls.from_view(view) if view is not None else None

    @strawberry.field
    async def department(self, info: Info[Context, None]) -> Department:
        department = await load_department(info, self._view.id)
        assert department is not None
        return department

    @strawberry.field(description="Oldest first")
    async def history(self, info: Info[Context, None]) -> list[RolloutPhaseChange]:
        return [RolloutPhaseChange.from_view(v)
                for v in await info.context.loaders.rollout_history_by_department.load(self._view.id)]

    @strawberry.field(name="keyUsers", description="The department's active staff with the role KEY_USER")
    async def key_users(self, info: Info[Context, None]) -> list[Staff]:
        return [Staff.from_view(v) for v in await info.context.loaders.key_users_by_department.load(self._view.id)]

    @strawberry.field
    async def checklist(self, info: Info[Context, None]) -> list[RolloutChecklistItem]:
        counts = await info.context.loaders.checklist_counts_by_department.load(self._view.id)
        items = []
        for item in checklist_for(self._view.department_code):
            current, set_ = counts.get(item.key, 0), self._view.checklist.get(item.key)
            items.append(RolloutChecklistItem(key=item.key, label=item.label, current=current,
                                              target=set_.target if set_ else None,
                                              done=item_done(current, set_.target if set_ else None,
                                                             set_.done if set_ else False)))
        return items

    @strawberry.field(name="trainedStaff", description="Active staff of the department marked trained")
    async def trained_staff(self, info: Info[Context, None]) -> int:
        return (await info.context.loaders.staff_counts_by_department.load(self._view.id)).trained

    @strawberry.field(name="activeStaff")
    async def active_staff(self, info: Info[Context, None]) -> int:
        return (await info.context.loaders.staff_counts_by_department.load(self._view.id)).active

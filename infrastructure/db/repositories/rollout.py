"""A department's rollout: its row (phase, checklist targets, version), its phase history and its staff's
trainings. A department without a row is in SURVEY at version 0; its first save inserts the row."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.rollout import ChecklistTarget, DepartmentRollout, RolloutPhase
from infrastructure.db import tables as t
from infrastructure.db.repositories.organisation import Tracker, save_versioned

d, r = t.departments, t.department_rollouts


def checklist_from_json(stored: dict[str, Any] | None) -> dict[str, ChecklistTarget]:
    return {key: ChecklistTarget(value.get("target"), bool(value.get("done"))) for key, value in (stored or {}).items()}


def checklist_to_json(checklist: dict[str, ChecklistTarget]) -> dict[str, Any]:
    return {key: {"target": value.target, "done": value.done} for key, value in checklist.items()}


class SqlRolloutRepository:
    def __init__(self, conn: AsyncConnection, tracker: Tracker) -> None:
        self._conn = conn
        self._tracker = tracker

    async def get(self, department_id: uuid.UUID, *, for_update: bool = False) -> DepartmentRollout | None:
        """None when there is no such department. `for_update` (PostgreSQL): the department's row is locked first,
        until the transaction ends, so writers of one department's rollout take turns; the rollout is read after
        the lock (a statement of its own: its snapshot has what the writer before committed, its first row too)."""
        if for_update and self._conn.dialect.name == "postgresql":
            await self._conn.execute(select(d.c.id).where(d.c.id == department_id).with_for_update())
        stmt = (select(d.c.id, d.c.code, r.c.phase, r.c.checklist, r.c.version)
                .select_from(d.outerjoin(r, r.c.department_id == d.c.id)).where(d.c.id == department_id))
        row = (await self._conn.execute(stmt)).first()
        if row is None:
            return None
        rollout = DepartmentRollout(id=row.id, department_code=row.code, version=row.version or 0,
                                    phase=RolloutPhase(row.phase) if row.phase else RolloutPhase.SURVEY,
                                    checklist=checklist_from_json(row.checklist))
        self._tracker.track(rollout)
        return rollout

    async def save(self, rollout: DepartmentRollout) -> None:
        """Persist the phase, the checklist, the new history entries and trainings; Conflict when the stored
        version moved on (or a concurrent first write inserted the row: the unit of work's IntegrityError)."""
        now = datetime.now(UTC)
        values = {"phase": rollout.phase.value, "checklist": checklist_to_json(rollout.checklist), "updated_at": now}
        if rollout.version == 0:
            await self._conn.execute(insert(r).values(department_id=rollout.id, version=1, **values))
            rollout.version = 1
        else:
            await save_versioned(self._conn, r, rollout, values, key=r.c.department_id)
        if rollout.unsaved_changes:
            await self._conn.execute(insert(t.rollout_phase_changes), [
                {"department_id": rollout.id, "from_phase": c.from_phase.value if c.from_phase else None,
                 "to_phase": c.to_phase.value, "at": c.at, "by_id": c.by_id, "note": c.note}
                for c in rollout.unsaved_changes])
        if rollout.unsaved_trainings:
            tr = t.staff_trainings
            await self._conn.execute(delete(tr).where(tr.c.staff_id.in_(
                [x.staff_id for x in rollout.unsaved_trainings])))
            await self._conn.execute(insert(tr), [
                {"staff_id": x.staff_id, "trained_at": x.trained_at, "marked_by": x.marked_by,
                 "marked_at": x.marked_at} for x in dict((x.staff_id, x) for x in rollout.unsaved_trainings).values()])
        rollout.unsaved_changes, rollout.unsaved_trainings = [], []
        self._tracker.track(rollout)

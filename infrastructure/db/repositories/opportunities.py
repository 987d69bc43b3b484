"""Opportunity stages and opportunities with their stage history."""
from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.money import Money
from domain.opportunity import Opportunity, OpportunityStage, OpportunityStageKind, StageChange
from infrastructure.db.opportunity_tables import opportunities, opportunity_stage_changes, opportunity_stages
from infrastructure.db.repositories.organisation import Tracker, locked, save_versioned

op, sc, st = opportunities, opportunity_stage_changes, opportunity_stages


def stage_from_row(row: Any) -> OpportunityStage:
    return OpportunityStage(id=row.id, name=row.name, position=row.position, probability=row.probability,
                            kind=OpportunityStageKind(row.kind))


class SqlOpportunityStageRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, stage_id: uuid.UUID) -> OpportunityStage | None:
        row = (await self._conn.execute(select(st).where(st.c.id == stage_id))).first()
        return stage_from_row(row) if row else None

    async def get_by_name(self, name: str) -> OpportunityStage | None:
        row = (await self._conn.execute(select(st).where(st.c.name == name))).first()
        return stage_from_row(row) if row else None

    async def all(self) -> list[OpportunityStage]:
        rows = await self._conn.execute(select(st).order_by(st.c.position, st.c.name))
        return [stage_from_row(row) for row in rows]

    async def add(self, stage: OpportunityStage, *, at: datetime) -> None:
        await self._conn.execute(insert(st).values(id=stage.id, name=stage.name, position=stage.position,
                                                   probability=stage.probability, kind=stage.kind.value,
                                                   created_at=at))


def _values(o: Opportunity) -> dict[str, Any]:
    return {"name": o.name, "owner_id": o.owner_id, "department_id": o.department_id, "stage_id": o.stage.id,
            "currency": o.amount.currency, "amount": o.amount.amount, "probability": o.probability,
            "weighted_amount": o.weighted_amount.amount, "expected_close_date": o.expected_close_date,
            "lost_reason": o.lost_reason, "order_id": o.order_id, "updated_at": o.updated_at}


class SqlOpportunityRepository:
    def __init__(self, conn: AsyncConnection, tracker: Tracker) -> None:
        self._conn = conn
        self._tracker = tracker
        self._read: dict[uuid.UUID, tuple[tuple[Any, ...], int]] = {}  # state and history length as loaded

    async def get(self, opportunity_id: uuid.UUID) -> Opportunity | None:
        found = await self._load(op.c.id == opportunity_id)
        return found[0] if found else None

    async def get_many_by_number(self, numbers: list[str]) -> dict[str, Opportunity]:
        if not numbers:
            return {}
        return {o.number: o for o in await self._load(op.c.number.in_(numbers))}

    async def _load(self, where: Any) -> list[Opportunity]:
        # the row alone FOR NO KEY UPDATE: joined to its stage, PostgreSQL would re-check the join against the row a
        # concurrent move committed (another stage) and find nothing; the stages are read after the lock
        rows = (await self._conn.execute(locked(self._conn, select(op).where(where)))).all()
        if not rows:
            return []
        stages = {row.id: stage_from_row(row) for row in await self._conn.execute(
            select(st).where(st.c.id.in_({r.stage_id for r in rows})))}
        history: dict[uuid.UUID, list[StageChange]] = defaultdict(list)
        for h in await self._conn.execute(select(sc).where(sc.c.opportunity_id.in_([r.id for r in rows]))
                                          .order_by(sc.c.opportunity_id, sc.c.position)):
            history[h.opportunity_id].append(StageChange(from_stage_id=h.from_stage_id, to_stage_id=h.to_stage_id,
                                                         at=h.at, by=h.by))
        found = []
        for row in rows:
            stage = stages[row.stage_id]
            o = Opportunity(id=row.id, version=row.version, number=row.number, name=row.name,
                            customer_id=row.customer_id, owner_id=row.owner_id, department_id=row.department_id,
                            stage=stage, amount=Money(row.amount, row.currency), probability=row.probability,
                            expected_close_date=row.expected_close_date, campaign_id=row.campaign_id,
                            lost_reason=row.lost_reason, order_id=row.order_id, history=history[row.id],
                            created_at=row.created_at, updated_at=row.updated_at)
            self._remember(o)
            self._tracker.track(o)
            found.append(o)
        return found

    def _remember(self, o: Opportunity) -> None:
        self._read[o.id] = (o.versioned_state, len(o.history))

    async def add(self, o: Opportunity) -> None:
        await self.add_many([o])

    async def add_many(self, batch: list[Opportunity]) -> None:
        if not batch:
            return
        for o in batch:
            o.version = 1
        await self._conn.execute(insert(op), [
            {**_values(o), "id": o.id, "number": o.number, "customer_id": o.customer_id,
             "campaign_id": o.campaign_id, "version": 1, "created_at": o.created_at} for o in batch])
        await self._conn.execute(insert(sc), [_change_row(o, i, c) for o in batch for i, c in enumerate(o.history)])
        for o in batch:
            self._remember(o)
            self._tracker.track(o)

    async def save(self, o: Opportunity) -> None:
        """Guarded by the version read (Conflict when another writer came first); bumps it when anything changed."""
        state, seen = self._read[o.id]
        if o.versioned_state != state:
            await save_versioned(self._conn, op, o, _values(o))
        if len(o.history) > seen:
            await self._conn.execute(insert(sc), [_change_row(o, i, o.history[i]) for i in range(seen, len(o.history))])
        self._remember(o)
        self._tracker.track(o)


def _change_row(o: Opportunity, position: int, change: StageChange) -> dict[str, Any]:
    return {"opportunity_id": o.id, "position": position, "from_stage_id": change.from_stage_id,
            "to_stage_id": change.to_stage_id, "at": change.at, "by": change.by}

"""Customers (with contacts, tags and stage history) and interactions."""
from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any, Iterable

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.customer import (
    Contact,
    Customer,
    CustomerKind,
    CustomerTier,
    Interaction,
    InteractionKind,
    LifecycleStage,
    StageChange,
)
from infrastructure.db import tables as t
from infrastructure.db.repositories.organisation import Tracker, locked, save_versioned


def _contact_rows(customer: Customer) -> list[dict[str, Any]]:
    return [
        {"id": c.id, "customer_id": customer.id, "position": i, "name": c.name, "email": c.email,
         "phone": c.phone, "title": c.title, "is_primary": c.primary}
        for i, c in enumerate(customer.contacts)
    ]


def _stage_rows(customer: Customer, changes: Iterable[StageChange]) -> list[dict[str, Any]]:
    return [
        {"customer_id": customer.id, "from_stage": c.from_stage.value if c.from_stage else None,
         "to_stage": c.to_stage.value, "at": c.at, "by_id": c.by, "reason": c.reason}
        for c in changes
    ]


class SqlCustomerRepository:
    def __init__(self, conn: AsyncConnection, tracker: Tracker) -> None:
        self._conn = conn
        self._tracker = tracker
        self._loaded: dict[uuid.UUID, tuple[int, list[Contact], list[str]]] = {}

    async def _load(self, *where: Any, for_update: bool = False) -> list[Customer]:
        stmt = select(t.customers).where(*where)
        if for_update:  # locked in id order, so two writers of several customers (imports) cannot deadlock
            stmt = locked(self._conn, stmt.order_by(t.customers.c.id))
        rows = (await self._conn.execute(stmt)).all()
        if not rows:
            return []
        ids = [r.id for r in rows]
        contacts: dict[uuid.UUID, list[Contact]] = defaultdict(list)
        for c in await self._conn.execute(
            select(t.customer_contacts).where(t.customer_contacts.c.customer_id.in_(ids))
            .order_by(t.customer_contacts.c.customer_id, t.customer_contacts.c.position)
        ):
            contacts[c.customer_id].append(Contact(c.name, c.email, c.phone, c.title, c.is_primary, c.id))
        tags: dict[uuid.UUID, list[str]] = defaultdict(list)
        for tag in await self._conn.execute(
            select(t.customer_tags).where(t.customer_tags.c.customer_id.in_(ids)).order_by(t.customer_tags.c.tag)
        ):
            tags[tag.customer_id].append(tag.tag)
        history: dict[uuid.UUID, list[StageChange]] = defaultdict(list)
        sc = t.customer_stage_changes
        for h in await self._conn.execute(select(sc).where(sc.c.customer_id.in_(ids)).order_by(sc.c.at, sc.c.id)):
            history[h.customer_id].append(StageChange(
                LifecycleStage(h.from_stage) if h.from_stage else None, LifecycleStage(h.to_stage), h.at, h.by_id,
                h.reason))
        found = []
        for r in rows:
            customer = Customer(
                id=r.id, version=r.version, code=r.code, name=r.name, kind=CustomerKind(r.kind),
                tier=CustomerTier(r.tier), stage=LifecycleStage(r.stage), owner_id=r.owner_id,
                contacts=contacts[r.id], tags=tags[r.id], attributes=r.attributes or {},
                stage_history=history[r.id], created_at=r.created_at, updated_at=r.updated_at,
            )
            self._loaded[customer.id] = (len(customer.stage_history), list(customer.contacts), list(customer.tags))
            self._tracker.track(customer)
            found.append(customer)
        return found

    def forget(self) -> None:
        """Drop what was remembered about the customers seen so far (SqlUnitOfWork.flush)."""
        self._loaded.clear()

    async def get(self, customer_id: uuid.UUID, *, for_update: bool = False) -> Customer | None:
        found = await self._load(t.customers.c.id == customer_id, for_update=for_update)
        return found[0] if found else None

    async def get_by_code(self, code: str) -> Customer | None:
        found = await self._load(t.customers.c.code == code.upper())
        return found[0] if found else None

    async def get_many_by_code(self, codes: list[str], *, for_update: bool = False) -> dict[str, Customer]:
        if not codes:
            return {}
        return {c.code: c for c in await self._load(t.customers.c.code.in_([c.upper() for c in codes]),
                                                    for_update=for_update)}

    async def add(self, customer: Customer) -> None:
        await self.add_many([customer])

    async def add_many(self, batch: list[Customer]) -> None:
        """Insert new customers with a handful of multi-row statements (bulk import)."""
        if not batch:
            return
        for customer in batch:
            customer.version = 1
        await self._conn.execute(insert(t.customers), [
            {"id": c.id, "code": c.code, "name": c.name, "kind": c.kind.value, "tier": c.tier.value,
             "stage": c.stage.value, "owner_id": c.owner_id, "attributes": c.attributes, "version": 1,
             "created_at": c.created_at, "updated_at": c.updated_at} for c in batch])
        contacts = [row for c in batch for row in _contact_rows(c)]
        if contacts:
            await self._conn.execute(insert(t.customer_contacts), contacts)
        tags = [{"customer_id": c.id, "tag": tag} for c in batch for tag in c.tags]
        if tags:
            await self._conn.execute(insert(t.customer_tags), tags)
        stages = [row for c in batch for row in _stage_rows(c, c.stage_history)]
        if stages:
            await self._conn.execute(insert(t.customer_stage_changes), stages)
        for customer in batch:
            self._loaded[customer.id] = (len(customer.stage_history), list(customer.contacts), list(customer.tags))
            self._tracker.track(customer)

    async def save(self, customer: Customer) -> None:
        history_len, old_contacts, old_tags = self._loaded.get(customer.id, (0, [], []))
        await save_versioned(self._conn, t.customers, customer, {
            "name": customer.name, "tier": customer.tier.value, "stage": customer.stage.value,
            "owner_id": customer.owner_id, "attributes": customer.attributes, "updated_at": customer.updated_at})
        if customer.contacts != old_contacts:
            await self._conn.execute(
                delete(t.customer_contacts).where(t.customer_contacts.c.customer_id == customer.id))
            if customer.contacts:
                await self._conn.execute(insert(t.customer_contacts), _contact_rows(customer))
        if customer.tags != old_tags:
            await self._conn.execute(delete(t.customer_tags).where(t.customer_tags.c.customer_id == customer.id))
            if customer.tags:
                await self._conn.execute(insert(t.customer_tags),
                                         [{"customer_id": customer.id, "tag": tag} for tag in customer.tags])
        new_changes = customer.stage_history[history_len:]
        if new_changes:
            await self._conn.execute(insert(t.customer_stage_changes), _stage_rows(customer, new_changes))
        self._loaded[customer.id] = (len(customer.stage_history), list(customer.contacts), list(customer.tags))
        self._tracker.track(customer)


class SqlInteractionRepository:
    def __init__(self, conn: AsyncConnection, tracker: Tracker) -> None:
        self._conn = conn
        self._tracker = tracker

    async def add(self, interaction: Interaction) -> None:
        interaction.version = 1
        await self._conn.execute(insert(t.interactions).values(
            id=interaction.id, customer_id=interaction.customer_id, kind=interaction.kind.value,
            occurred_at=interaction.occurred_at, author_id=interaction.author_id,
            department_id=interaction.department_id, summary=interaction.summary, rating=interaction.rating,
            recorded_at=interaction.recorded_at))
        self._tracker.track(interaction)

    async def get(self, interaction_id: uuid.UUID) -> Interaction | None:
        row = (await self._conn.execute(select(t.interactions).where(t.interactions.c.id == interaction_id))).first()
        if row is None:
            return None
        return Interaction(
            id=row.id, version=1, customer_id=row.customer_id, kind=InteractionKind(row.kind),
            occurred_at=row.occurred_at, author_id=row.author_id, department_id=row.department_id,
            summary=row.summary, rating=row.rating, recorded_at=row.recorded_at)

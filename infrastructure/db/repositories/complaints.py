"""Complaints (with timeline and fired SLA events), categories, SLA policies, business calendars,
and the Notifier that records notifications in the unit of work's transaction."""
from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from application.ports import Notification
from domain.calendar import BusinessCalendar
from domain.complaint import (
    Channel,
    Complaint,
    ComplaintCategory,
    ComplaintStatus,
    Priority,
    SlaTerms,
    TimelineEntry,
    TimelineKind,
    Visibility,
)
from domain.customer import CustomerTier
from domain.shared import Conflict
from domain.sla import ClockName, SlaEventKey, SlaEventKind, SlaPolicy
from infrastructure.db import tables as t
from infrastructure.db.repositories.organisation import Tracker, locked, save_versioned

c = t.complaints


# ------------------------------------------------------------------------------------- mapping


def calendar_from_row(row: Any) -> BusinessCalendar:
    return BusinessCalendar.define(row.name, row.timezone, [tuple(w) for w in row.working_hours],
                                   [date.fromisoformat(d) for d in row.holidays], id=row.id)


def calendar_values(calendar: BusinessCalendar) -> dict[str, Any]:
    return {"id": calendar.id, "name": calendar.name, "timezone": calendar.timezone,
            "working_hours": [[w.weekday, w.start, w.end] for w in calendar.windows],
            "holidays": [d.isoformat() for d in calendar.sorted_holidays]}


def policy_from_row(row: Any) -> SlaPolicy:
    return SlaPolicy(
        id=row.id, name=row.name, calendar_id=row.calendar_id, first_response_minutes=row.first_response_minutes,
        resolution_minutes=row.resolution_minutes, category_id=row.category_id,
        priority=Priority(row.priority) if row.priority else None,
        customer_tier=CustomerTier(row.customer_tier) if row.customer_tier else None,
        update_interval_minutes=row.update_interval_minutes, warn_at=row.warn_at,
        escalate_to_id=row.escalate_to_id, active=row.active)


def terms_snapshot(policy: SlaPolicy) -> dict[str, Any]:
    """The targets a complaint keeps from its policy (JSON)."""
    return {"policyId": str(policy.id), "name": policy.name, "calendarId": str(policy.calendar_id),
            "firstResponseMinutes": policy.first_response_minutes, "resolutionMinutes": policy.resolution_minutes,
            "updateIntervalMinutes": policy.update_interval_minutes, "warnAt": policy.warn_at,
            "escalateToId": str(policy.escalate_to_id) if policy.escalate_to_id else None}


def policy_from_snapshot(data: dict[str, Any]) -> SlaPolicy:
    return SlaPolicy(
        id=uuid.UUID(data["policyId"]), name=data["name"], calendar_id=uuid.UUID(data["calendarId"]),
        first_response_minutes=int(data["firstResponseMinutes"]), resolution_minutes=int(data["resolutionMinutes"]),
        update_interval_minutes=data.get("updateIntervalMinutes"), warn_at=float(data["warnAt"]),
        escalate_to_id=uuid.UUID(data["escalateToId"]) if data.get("escalateToId") else None)


def category_from_row(row: Any) -> ComplaintCategory:
    return ComplaintCategory(id=row.id, code=row.code, name=row.name, parent_id=row.parent_id, active=row.active)


def entry_from_row(row: Any) -> TimelineEntry:
    return TimelineEntry(
        id=row.id, position=row.position, at=row.at, kind=TimelineKind(row.kind), author_id=row.author_id,
        department_id=row.department_id, visibility=Visibility(row.visibility), message=row.message,
        from_status=ComplaintStatus(row.from_status) if row.from_status else None,
        to_status=ComplaintStatus(row.to_status) if row.to_status else None, late=row.late)


def _entry_rows(complaint: Complaint, entries: list[TimelineEntry]) -> list[dict[str, Any]]:
    return [{"id": e.id, "complaint_id": complaint.id, "position": e.position, "at": e.at, "kind": e.kind.value,
             "author_id": e.author_id, "department_id": e.department_id, "visibility": e.visibility.value,
             "message": e.message, "from_status": e.from_status.value if e.from_status else None,
             "to_status": e.to_status.value if e.to_status else None, "late": e.late} for e in entries]


def _complaint_values(complaint: Complaint) -> dict[str, Any]:
    """The columns that change over a complaint's life."""
    return {
        "status": complaint.status.value, "department_id": complaint.department_id,
        "assignee_id": complaint.assignee_id, "resolution": complaint.resolution,
        "satisfaction": complaint.satisfaction, "resolved_at": complaint.resolved_at,
        "resolution_minutes": complaint.resolution_minutes, "escalation_level": complaint.escalation_level,
        "sla_next_deadline": complaint.sla_next_deadline, "sla_at_risk_at": complaint.sla_at_risk_at,
        "first_response_breached": complaint.first_response_breached,
        "resolution_breached": complaint.resolution_breached, "updated_at": complaint.updated_at,
    }


# ---------------------------------------------------------------------------------- complaints


class SqlComplaintRepository:
    def __init__(self, conn: AsyncConnection, tracker: Tracker) -> None:
        self._conn = conn
        self._tracker = tracker
        self._loaded: dict[uuid.UUID, tuple[int, frozenset[SlaEventKey]]] = {}

    @property
    def _postgres(self) -> bool:
        return self._conn.dialect.name == "postgresql"

    async def get(self, complaint_id: uuid.UUID) -> Complaint | None:
        row = (await self._conn.execute(locked(self._conn, select(c).where(c.c.id == complaint_id)))).first()
        if row is None:
            return None
        tl = t.complaint_timeline
        timeline = [entry_from_row(r) for r in await self._conn.execute(
            select(tl).where(tl.c.complaint_id == complaint_id).order_by(tl.c.position))]
        ev = t.complaint_sla_events
        fired = {SlaEventKey(ClockName(r.clock), SlaEventKind(r.kind), r.cycle_start) for r in await self._conn.execute(
            select(ev.c.clock, ev.c.kind, ev.c.cycle_start).where(ev.c.complaint_id == complaint_id))}
        terms = None
        if row.sla_terms:
            policy = policy_from_snapshot(row.sla_terms)
            calendar_row = (await self._conn.execute(
                select(t.business_calendars).where(t.business_calendars.c.id == policy.calendar_id))).one()
            terms = SlaTerms(policy, calendar_from_row(calendar_row))
        complaint = Complaint(
            id=row.id, version=row.version, number=row.number, customer_id=row.customer_id, order_id=row.order_id,
            category_id=row.category_id, priority=Priority(row.priority), channel=Channel(row.channel),
            subject=row.subject, description=row.description, status=ComplaintStatus(row.status),
            department_id=row.department_id, assignee_id=row.assignee_id, filed_by=row.filed_by,
            resolution=row.resolution, satisfaction=row.satisfaction, resolved_at=row.resolved_at,
            resolution_minutes=row.resolution_minutes, terms=terms, fired=fired,
            escalation_level=row.escalation_level, sla_next_deadline=row.sla_next_deadline,
            sla_at_risk_at=row.sla_at_risk_at, first_response_breached=row.first_response_breached,
            resolution_breached=row.resolution_breached, timeline=timeline, created_at=row.created_at,
            updated_at=row.updated_at)
        self._remember(complaint)
        return complaint

    def _remember(self, complaint: Complaint) -> None:
        last = complaint.timeline[-1].position if complaint.timeline else 0
        self._loaded[complaint.id] = (last, frozenset(complaint.fired))
        self._tracker.track(complaint)

    async def add(self, complaint: Complaint) -> None:
        complaint.version = 1
        await self._conn.execute(insert(c).values(
            id=complaint.id, number=complaint.number, customer_id=complaint.customer_id, order_id=complaint.order_id,
            category_id=complaint.category_id, priority=complaint.priority.value, channel=complaint.channel.value,
            subject=complaint.subject, description=complaint.description, filed_by=complaint.filed_by,
            sla_policy_id=complaint.terms.policy.id if complaint.terms else None,
            sla_terms=terms_snapshot(complaint.terms.policy) if complaint.terms else None,
            version=1, created_at=complaint.created_at, **_complaint_values(complaint)))
        await self._insert_new(complaint, 0, frozenset())
        self._remember(complaint)

    async def save(self, complaint: Complaint) -> None:
        last, fired = self._loaded.get(complaint.id, (0, frozenset()))
        await save_versioned(self._conn, c, complaint, _complaint_values(complaint))
        await self._insert_new(complaint, last, fired)
        self._remember(complaint)

    async def _insert_new(self, complaint: Complaint, last: int, fired: frozenset[SlaEventKey]) -> None:
        entries = [e for e in complaint.timeline if e.position > last]
        if entries:
            await self._conn.execute(insert(t.complaint_timeline), _entry_rows(complaint, entries))
        new_keys = complaint.fired - fired
        if new_keys:
            await self._conn.execute(insert(t.complaint_sla_events), [
                {"complaint_id": complaint.id, "clock": k.clock.value, "kind": k.kind.value,
                 "cycle_start": k.cycle_start, "fired_at": complaint.updated_at} for k in new_keys])

    async def claim_due(self, now: datetime, limit: int) -> list[uuid.UUID]:
        stmt = select(c.c.id).where(c.c.sla_next_deadline <= now).order_by(c.c.sla_next_deadline).limit(limit)
        if self._postgres:
            # FOR NO KEY UPDATE: the worker never changes a complaint's key, and a plain FOR UPDATE would also
            # skip a complaint whose row a concurrent insert referencing it holds FOR KEY SHARE (a read note
            # written behind a read, a timeline entry), leaving it unfired until the next tick
            stmt = stmt.with_for_update(skip_locked=True, key_share=True)
        return list((await self._conn.execute(stmt)).scalars())


# ---------------------------------------------------------------------- configuration


async def _insert_unique(conn: AsyncConnection, stmt: Any, what: str) -> None:
    """INSERT inside a savepoint so a unique clash becomes Conflict without ending the transaction."""
    try:
        async with conn.begin_nested():
            await conn.execute(stmt)
    except IntegrityError as err:
        raise Conflict(f"Someone defined the same {what} at the same time; reload and retry.") from err


class SqlComplaintCategoryRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, category_id: uuid.UUID) -> ComplaintCategory | None:
        cc = t.complaint_categories
        row = (await self._conn.execute(select(cc).where(cc.c.id == category_id))).first()
        return category_from_row(row) if row else None

    async def get_by_code(self, code: str) -> ComplaintCategory | None:
        cc = t.complaint_categories
        row = (await self._conn.execute(select(cc).where(cc.c.code == code.strip().upper()))).first()
        return category_from_row(row) if row else None

    async def parents(self) -> dict[uuid.UUID, uuid.UUID | None]:
        cc = t.complaint_categories
        return {r.id: r.parent_id for r in await self._conn.execute(select(cc.c.id, cc.c.parent_id))}

    async def add(self, category: ComplaintCategory, *, at: datetime) -> None:
        await _insert_unique(self._conn, insert(t.complaint_categories).values(
            id=category.id, code=category.code, name=category.name, parent_id=category.parent_id,
            active=category.active, created_at=at), "category code")


class SqlSlaPolicyRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, policy_id: uuid.UUID) -> SlaPolicy | None:
        p = t.sla_policies
        row = (await self._conn.execute(select(p).where(p.c.id == policy_id))).first()
        return policy_from_row(row) if row else None

    async def active(self) -> list[SlaPolicy]:
        p = t.sla_policies
        return [policy_from_row(r) for r in await self._conn.execute(select(p).where(p.c.active.is_(True)))]

    async def add(self, policy: SlaPolicy, *, by: uuid.UUID | None, at: datetime) -> None:
        await self._conn.execute(insert(t.sla_policies).values(
            id=policy.id, name=policy.name, category_id=policy.category_id,
            priority=policy.priority.value if policy.priority else None,
            customer_tier=policy.customer_tier.value if policy.customer_tier else None,
            first_response_minutes=policy.first_response_minutes, resolution_minutes=policy.resolution_minutes,
            update_interval_minutes=policy.update_interval_minutes, warn_at=policy.warn_at,
            calendar_id=policy.calendar_id, escalate_to_id=policy.escalate_to_id, active=policy.active,
            created_by=by, created_at=at))

    async def retire(self, policy: SlaPolicy) -> None:
        p = t.sla_policies
        result = await self._conn.execute(
            update(p).where(p.c.id == policy.id, p.c.active.is_(True)).values(active=False))
        if result.rowcount != 1:
            raise Conflict("The policy was changed by someone else; reload and retry.")


class SqlCalendarRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, calendar_id: uuid.UUID) -> BusinessCalendar | None:
        bc = t.business_calendars
        row = (await self._conn.execute(select(bc).where(bc.c.id == calendar_id))).first()
        return calendar_from_row(row) if row else None

    async def get_by_name(self, name: str) -> BusinessCalendar | None:
        bc = t.business_calendars
        row = (await self._conn.execute(select(bc).where(bc.c.name == name.strip()))).first()
        return calendar_from_row(row) if row else None

    async def add(self, calendar: BusinessCalendar, *, by: uuid.UUID | None, at: datetime) -> None:
        await _insert_unique(self._conn, insert(t.business_calendars).values(
            **calendar_values(calendar), created_by=by, created_at=at), "calendar name")


class SqlNotifier:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def notify(self, notification: Notification) -> None:
        await self._conn.execute(insert(t.notifications).values(
            id=uuid.uuid4(), recipient_id=notification.recipient_id, kind=notification.kind,
            subject_type=notification.subject_type, subject_id=notification.subject_id,
            message=notification.message, dedupe_key=notification.dedupe_key, created_at=notification.at))

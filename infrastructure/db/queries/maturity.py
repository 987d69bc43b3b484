"""SQL read model of the maturity figures (domain/maturity.py defines them), each statement grouped by department
whatever the number of departments and records: the departmental figures in three (the staff's, the creations',
the customers' data quality); the collaborative in two, one `UNION ALL` of every count and one of every median's
samples, the median taken in SQL the portable way (the middle row, or the mean of the two middle rows, by
`row_number()` over the sorted samples: SQLite has no `percentile_cont`); the enterprise in two, the company's
(outbox, deliveries, health samples) and the departments' own (orders and customers as the integration sync found
them in the ERP and finance).

Every statement counts the whole period and each of its weeks at once: it joins a small derived table of the spans
(`_spans`: one row per span, index, start and end as bind parameters, a `UNION ALL` of literals on both databases)
and groups by the span too, so the weekly trend costs no statement more.

Minutes between two instants: `minutes_between`, `EXTRACT(EPOCH ...)` on PostgreSQL, `julianday` on SQLite."""
from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Float, Integer, String, and_, case, cast, exists, func, literal, or_, select, true, union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from application.queries.integrations import HealthState
from application.queries.maturity import CompanyRecords
from domain.api_key import FEDERATION
from domain.complaint import TimelineKind
from domain.maturity import (
    LATE_PROGRESS,
    MINUTES_TO_READ,
    OWNED_COMPLAINTS,
    OWNER_READ,
    PROGRESS_ENTRIES,
    RECORD_MODULES,
    SLA_COMPLAINTS,
    SLA_MET,
    STEP_WAIT,
    STEPS_DECIDED,
    STEPS_OVERDUE,
    DepartmentalCounts,
    JoinedCounts,
    Measured,
    Span,
)
from domain.sla import ClockName, SlaEventKind
from domain.workflow.instance import StepStatus
from domain.organisation import Role
from infrastructure.db import tables as t
from infrastructure.db.reads import SqlReadModel
from infrastructure.db.workflow_tables import overdue_steps
from infrastructure.db.types import UTCDateTime

s, a, c, cc, tr = t.staff, t.audit_log, t.customers, t.customer_contacts, t.staff_trainings
cp, tl, ev, rd, ws = t.complaints, t.complaint_timeline, t.complaint_sla_events, t.complaint_reads, t.workflow_steps
GENERATED_CODE = "C-______"  # application/customers.py next_customer_code: C-000123
ORDERS_LOOKED_UP, ORDERS_COSTED = "orders_looked_up", "orders_costed"
CUSTOMERS_LOOKED_UP, CUSTOMERS_KNOWN = "customers_looked_up", "customers_known"  # the joined figures' counts
DECIDED = (StepStatus.APPROVED.value, StepStatus.REJECTED.value, StepStatus.DONE.value)


class minutes_between(FunctionElement[float]):
    """Wall-clock minutes from the first instant to the second (a float)."""

    type = Float()
    inherit_cache = True


@compiles(minutes_between, "postgresql")
def _minutes_postgres(element: minutes_between, compiler: SQLCompiler, **kw: Any) -> str:
    first, second = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"(EXTRACT(EPOCH FROM ({second} - {first})) / 60.0)"


@compiles(minutes_between, "sqlite")
def _minutes_sqlite(element: minutes_between, compiler: SQLCompiler, **kw: Any) -> str:
    first, second = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"((julianday({second}) - julianday({first})) * 1440.0)"


def _ones(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _spans(spans: list[Span]) -> Any:
    """The spans as a derived table (span, span_start, span_end)."""
    return union_all(*(select(literal(sp.index, Integer).label("span"), literal(sp.start, UTCDateTime).label(
        "span_start"), literal(sp.end, UTCDateTime).label("span_end")) for sp in spans)).subquery("spans")


def _within(column: Any, w: Any) -> Any:
    return and_(column >= w.c.span_start, column < w.c.span_end)


def _staff(ids: list[uuid.UUID], w: Any) -> Any:
    wrote = exists().where(a.c.actor_id == s.c.id, _within(a.c.at, w))
    trained = exists().where(tr.c.staff_id == s.c.id, tr.c.trained_at < w.c.span_end)
    return (select(s.c.department_id, w.c.span, func.count().label("active"),
                   _ones(s.c.role == Role.KEY_USER.value).label("key_users"),
                   _ones(trained).label("trained"), _ones(wrote).label("recording"))
            .select_from(s.join(w, true()))
            .where(s.c.department_id.in_(ids), s.c.active.is_(True)).group_by(s.c.department_id, w.c.span))


def _created(ids: list[uuid.UUID], w: Any) -> Any:
    return (select(s.c.department_id, w.c.span, a.c.aggregate_type, func.count().label("n"))
            .select_from(a.join(s, s.c.id == a.c.actor_id).join(w, _within(a.c.at, w)))
            .where(a.c.kind == "CREATE", a.c.aggregate_type.in_(RECORD_MODULES), s.c.department_id.in_(ids))
            .group_by(s.c.department_id, w.c.span, a.c.aggregate_type))


def _customers_of_departments() -> tuple[Any, Any]:
    """The customers joined to their department (the one whose staff created them, as the audit log has it, else
    their owner's), and that department's id."""
    creators = (select(a.c.aggregate_id, s.c.department_id)
                .select_from(a.join(s, s.c.id == a.c.actor_id))
                .where(a.c.aggregate_type == "customer", a.c.kind == "CREATE").subquery("creators"))
    owner = s.alias("owner")
    return (c.outerjoin(creators, creators.c.aggregate_id == c.c.id).outerjoin(owner, owner.c.id == c.c.owner_id),
            func.coalesce(creators.c.department_id, owner.c.department_id))


def _quality(ids: list[uuid.UUID], w: Any) -> Any:
    customers, department = _customers_of_departments()
    name_of = func.lower(func.trim(c.c.name))
    other = c.alias("other")
    other_name = func.lower(func.trim(other.c.name))
    names_twice = select(other_name).group_by(other_name).having(func.count() > 1)  # one pass, hashed
    mine, any_contact = cc.alias("mine"), cc.alias("any_contact")
    email_of = func.lower(any_contact.c.email)
    emails_twice = (select(email_of).where(any_contact.c.email.is_not(None)).group_by(email_of)
                    .having(func.count(func.distinct(any_contact.c.customer_id)) > 1))
    mailed_twice = exists().where(mine.c.customer_id == c.c.id, func.lower(mine.c.email).in_(emails_twice))
    named_twice = name_of.in_(names_twice)
    primary = exists().where(cc.c.customer_id == c.c.id, cc.c.is_primary.is_(True))
    return (select(department.label("department_id"), w.c.span, func.count().label("customers"),
                   _ones(c.c.owner_id.is_(None)).label("without_owner"),
                   _ones(~primary).label("without_primary_contact"),
                   _ones(c.c.code.like(GENERATED_CODE)).label("without_code"),
                   _ones(or_(named_twice, mailed_twice)).label("likely_duplicates"))
            .select_from(customers.join(w, c.c.created_at < w.c.span_end))
            .where(department.in_(ids)).group_by(department, w.c.span))


def _counted(measure: str, department: Any, w: Any, where: Any, *froms: Any) -> Any:
    query = select(department.label("department_id"), w.c.span, literal(measure).label("measure"),
                   func.count().label("n"))
    return query.select_from(*froms).where(where).group_by(department, w.c.span)


def _term(key: str) -> Any:
    """One of the SLA targets a complaint keeps (JSON): SQL NULL without a policy (its `sla_terms` a JSON null)."""
    return cp.c.sla_terms[key].as_integer()


def _collaborative_counts(ids: list[uuid.UUID], w: Any, now: datetime) -> Any:
    """One row per (department, span, measure) with its count, for every count of the collaborative figures (a step
    still waiting is overdue once its due time is before `now`)."""
    with_interval = and_(tl.c.kind == TimelineKind.PROGRESS.value, tl.c.department_id.in_(ids),
                         _term("updateIntervalMinutes").is_not(None))
    between = tl.alias("between")
    breached = exists().where(  # the entry's cycle had breached: a NEXT_UPDATE breach before it, no progress since
        ev.c.complaint_id == tl.c.complaint_id, ev.c.clock == ClockName.NEXT_UPDATE.value,
        ev.c.kind == SlaEventKind.BREACH.value, ev.c.cycle_start < tl.c.at, ev.c.fired_at <= tl.c.at,
        ~exists().where(between.c.complaint_id == tl.c.complaint_id, between.c.kind == TimelineKind.PROGRESS.value,
                        between.c.at > ev.c.cycle_start, between.c.at < tl.c.at).correlate_except(between))
    # judged when recorded (the entry's `late`); an entry from before that column by the SLA worker's breaches
    late = or_(tl.c.late.is_(True), and_(tl.c.late.is_(None), breached))
    progress = tl.join(cp, cp.c.id == tl.c.complaint_id).join(w, _within(tl.c.at, w))
    filed = cp.join(w, _within(cp.c.created_at, w))
    handled = and_(cp.c.department_id.in_(ids), _term("resolutionMinutes").is_not(None))
    met = ~or_(cp.c.first_response_breached, cp.c.resolution_breached)
    owner = s.alias("owner")
    owned = filed.join(c, c.c.id == cp.c.customer_id).join(owner, owner.c.id == c.c.owner_id)
    read = exists().where(rd.c.complaint_id == cp.c.id, rd.c.staff_id == owner.c.id, rd.c.first_read_at < w.c.span_end)
    mine = owner.c.department_id.in_(ids)
    steps = ws.c.department_id.in_(ids)
    decided = ws.join(w, _within(ws.c.decided_at, w))
    due = ws.join(w, _within(ws.c.due_at, w))
    overdue = or_(ws.c.decided_at > ws.c.due_at, overdue_steps(now))  # decided late, or still waiting past it
    return union_all(
        _counted(PROGRESS_ENTRIES, tl.c.department_id, w, with_interval, progress),
        _counted(LATE_PROGRESS, tl.c.department_id, w, and_(with_interval, late), progress),
        _counted(SLA_COMPLAINTS, cp.c.department_id, w, handled, filed),
        _counted(SLA_MET, cp.c.department_id, w, and_(handled, met), filed),
        _counted(OWNED_COMPLAINTS, owner.c.department_id, w, mine, owned),
        _counted(OWNER_READ, owner.c.department_id, w, and_(mine, read), owned),
        _counted(STEPS_DECIDED, ws.c.department_id, w, and_(steps, ws.c.status.in_(DECIDED)), decided),
        _counted(STEPS_OVERDUE, ws.c.department_id, w, and_(steps, overdue), due))


def _collaborative_medians(ids: list[uuid.UUID], w: Any) -> Any:
    """One row per (department, span, measure) with the median of its samples: minutes until the owner first read
    a complaint filed in the span, a step decided in it waited."""
    owner = s.alias("owner")
    first_read = (select(owner.c.department_id.label("department_id"), w.c.span,
                         literal(MINUTES_TO_READ).label("measure"),
                         minutes_between(cp.c.created_at, func.min(rd.c.first_read_at)).label("minutes"))
                  .select_from(cp.join(w, _within(cp.c.created_at, w)).join(c, c.c.id == cp.c.customer_id)
                               .join(owner, owner.c.id == c.c.owner_id)
                               .join(rd, and_(rd.c.complaint_id == cp.c.id, rd.c.staff_id == owner.c.id)))
                  .where(owner.c.department_id.in_(ids), rd.c.first_read_at < w.c.span_end)
                  .group_by(cp.c.id, owner.c.department_id, w.c.span, cp.c.created_at))
    waits = (select(ws.c.department_id, w.c.span, literal(STEP_WAIT).label("measure"),
                    minutes_between(ws.c.activated_at, ws.c.decided_at).label("minutes"))
             .select_from(ws.join(w, _within(ws.c.decided_at, w)))
             .where(ws.c.department_id.in_(ids), ws.c.status.in_(DECIDED), ws.c.activated_at.is_not(None)))
    samples = union_all(first_read, waits).subquery("samples")
    within = (samples.c.department_id, samples.c.span, samples.c.measure)
    ranked = select(samples, func.row_number().over(partition_by=within, order_by=samples.c.minutes).label("rn"),
                    func.count().over(partition_by=within).label("cnt")).subquery("ranked")
    return (select(ranked.c.department_id, ranked.c.span, ranked.c.measure, func.avg(ranked.c.minutes).label("median"))
            .where(ranked.c.rn.in_([(ranked.c.cnt + 1) // 2, (ranked.c.cnt + 2) // 2]))
            .group_by(ranked.c.department_id, ranked.c.span, ranked.c.measure))


def _enterprise(w: Any) -> Any:
    """The company's outbox, deliveries and health samples, a row per span: the oldest event behind the slowest
    destination, how many destinations (the same in every row: as they are now), the deliveries parked in the span,
    the health samples taken in it (DISABLED ones left out) and how many of them were UP, the partner systems (API
    keys with the federation scope) that called since the span began."""
    o, rc, wd, hs, k = t.outbox, t.relay_cursors, t.webhook_deliveries, t.integration_health_samples, t.api_keys
    slowest = select(func.min(rc.c.position)).scalar_subquery()
    sampled = and_(_within(hs.c.sampled_at, w), hs.c.state != HealthState.DISABLED.value)
    return (select(w.c.span,
                   select(func.min(o.c.occurred_at)).where(o.c.position > slowest).scalar_subquery().label("oldest"),
                   select(func.count()).select_from(rc).scalar_subquery().label("destinations"),
                   select(func.count()).where(sampled).scalar_subquery().label("samples"),
                   select(func.count()).where(sampled, hs.c.state == HealthState.UP.value).scalar_subquery()
                   .label("samples_up"),
                   select(func.count()).select_from(k).where(  # the JSON list's text names the scope
                       cast(k.c.scopes, String).like(f'%"{FEDERATION}"%'), k.c.created_at < w.c.span_end,
                       k.c.last_used_at >= w.c.span_start,
                       or_(k.c.revoked_at.is_(None), k.c.revoked_at >= w.c.span_start)).scalar_subquery()
                   .label("partners"),
                   func.count(wd.c.webhook_id).label("parked"))
            .select_from(w.outerjoin(wd, and_(wd.c.state == "PARKED", _within(wd.c.parked_at, w))))
            .group_by(w.c.span, w.c.span_start, w.c.span_end))


def _joined(ids: list[uuid.UUID], w: Any) -> Any:
    """One row per (department, span, measure) with its count: the department's orders created in the span whose
    every line the integration sync looked up in the ERP, those with a cost for every line; its customers (created
    before the span's end) looked up in finance, those finance knows."""
    o, ol, k, fr = t.orders, t.order_lines, t.erp_unit_costs, t.finance_receivables
    owner = s.alias("owner")

    def lines_without(cost_missing: Any) -> Any:
        return ~exists().select_from(ol.outerjoin(k, and_(k.c.sku == ol.c.sku, k.c.currency == o.c.currency))) \
            .where(ol.c.order_id == o.c.id, cost_missing)

    orders = o.join(owner, owner.c.id == o.c.owner_id).join(w, _within(o.c.created_at, w))
    looked_up = and_(owner.c.department_id.in_(ids), lines_without(k.c.sku.is_(None)))
    customers, department = _customers_of_departments()
    asked = customers.join(fr, fr.c.customer_id == c.c.id).join(w, c.c.created_at < w.c.span_end)
    return union_all(
        _counted(ORDERS_LOOKED_UP, owner.c.department_id, w, looked_up, orders),
        _counted(ORDERS_COSTED, owner.c.department_id, w, and_(looked_up, lines_without(k.c.amount.is_(None))),
                 orders),
        _counted(CUSTOMERS_LOOKED_UP, department, w, department.in_(ids), asked),
        _counted(CUSTOMERS_KNOWN, department, w, and_(department.in_(ids), fr.c.known.is_(True)), asked))


Counted = dict[tuple[uuid.UUID, int], Any]


class SqlMaturityQueries(SqlReadModel):
    async def departmental(self, department_ids: list[uuid.UUID],
                           spans: list[Span]) -> list[list[DepartmentalCounts]]:
        if not department_ids:
            return [[] for _ in spans]
        w = _spans(spans)
        staff: Counted = {(r.department_id, r.span): r for r in await self._all(_staff(department_ids, w))}
        created: dict[tuple[uuid.UUID, int], dict[str, int]] = defaultdict(dict)
        for r in await self._all(_created(department_ids, w)):
            created[r.department_id, r.span][r.aggregate_type] = int(r.n)
        quality: Counted = {(r.department_id, r.span): r for r in await self._all(_quality(department_ids, w))}

        def counts(key: tuple[uuid.UUID, int]) -> DepartmentalCounts:
            st, q = staff.get(key), quality.get(key)
            return DepartmentalCounts(
                active_staff=int(st.active) if st else 0, key_users=int(st.key_users) if st else 0,
                trained_staff=int(st.trained) if st else 0, recording_staff=int(st.recording) if st else 0,
                created=created.get(key, {}), customers=int(q.customers) if q else 0,
                without_owner=int(q.without_owner) if q else 0,
                without_primary_contact=int(q.without_primary_contact) if q else 0,
                without_code=int(q.without_code) if q else 0, likely_duplicates=int(q.likely_duplicates) if q else 0)

        return [[counts((i, sp.index)) for i in department_ids] for sp in spans]

    async def collaborative(self, department_ids: list[uuid.UUID], spans: list[Span],
                           now: datetime) -> list[list[Measured]]:
        if not department_ids:
            return [[] for _ in spans]
        w = _spans(spans)
        counts: dict[tuple[uuid.UUID, int], dict[str, int]] = defaultdict(dict)
        for r in await self._all(_collaborative_counts(department_ids, w, now)):
            counts[r.department_id, r.span][r.measure] = int(r.n)
        medians: dict[tuple[uuid.UUID, int], dict[str, float | None]] = defaultdict(dict)
        for r in await self._all(_collaborative_medians(department_ids, w)):
            medians[r.department_id, r.span][r.measure] = None if r.median is None else round(float(r.median), 1)
        return [[Measured(counts=counts.get((i, sp.index), {}), medians=medians.get((i, sp.index), {}))
                 for i in department_ids] for sp in spans]

    async def enterprise(self, spans: list[Span]) -> CompanyRecords:
        rows = {r.span: r for r in await self._all(_enterprise(_spans(spans)))}
        first = rows[spans[0].index]
        oldest = first.oldest
        if isinstance(oldest, str):  # SQLite hands a scalar subquery's datetime back as text
            oldest = datetime.fromisoformat(oldest)
        ordered = [rows[sp.index] for sp in spans]
        return CompanyRecords(
            oldest_waiting_at=None if oldest is None else oldest.replace(tzinfo=UTC) if oldest.tzinfo is None
            else oldest, destinations=int(first.destinations), parked=[int(r.parked) for r in ordered],
            samples=[int(r.samples) for r in ordered], samples_up=[int(r.samples_up) for r in ordered],
            partners=[int(r.partners) for r in ordered])

    async def joined(self, department_ids: list[uuid.UUID], spans: list[Span]) -> list[list[JoinedCounts]]:
        if not department_ids:
            return [[] for _ in spans]
        counts: dict[tuple[uuid.UUID, int], dict[str, int]] = defaultdict(dict)
        for r in await self._all(_joined(department_ids, _spans(spans))):
            counts[r.department_id, r.span][r.measure] = int(r.n)

        def joined(found: dict[str, int]) -> JoinedCounts:
            return JoinedCounts(orders_looked_up=found.get(ORDERS_LOOKED_UP, 0),
                                orders_costed=found.get(ORDERS_COSTED, 0),
                                customers_looked_up=found.get(CUSTOMERS_LOOKED_UP, 0),
                                customers_known=found.get(CUSTOMERS_KNOWN, 0))

        return [[joined(counts.get((i, sp.index), {})) for i in department_ids] for sp in spans]

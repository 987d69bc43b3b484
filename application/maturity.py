"""The maturity report (measured from the read model, judged by domain/maturity.py's rules), which the API's
`maturity` and `crm report maturity` both show; and the use case by which an ADMIN adjusts a threshold."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime
from typing import Sequence

from application.ports import Clock, MaturityThresholdStore
from application.queries.integrations import HealthReporter, HealthState
from application.queries.maturity import MaturityQueries
from application.queries.views import DepartmentView
from domain.maturity import (
    Assessment,
    EnterpriseCounts,
    Gap,
    MaturityLevel,
    Span,
    assess,
    check_period,
    check_threshold,
    collaborative_figures,
    company_gaps,
    company_level,
    departmental_figures,
    enterprise_figures,
    limits_with,
    spans,
)
from domain.organisation import Staff
from domain.shared import NotAuthorized


@dataclass(frozen=True, kw_only=True)
class DepartmentReport:
    department: DepartmentView
    period: Assessment
    weeks: list[tuple[date, Assessment]]  # each week's Monday, first week first


@dataclass(frozen=True, kw_only=True)
class MaturityReport:
    start: datetime
    end: datetime
    company: MaturityLevel
    company_gaps: list[Gap]
    departments: list[DepartmentReport]


async def measure(queries: MaturityQueries, thresholds: MaturityThresholdStore, reporters: Sequence[HealthReporter],
                  clock: Clock, departments: list[DepartmentView], start: datetime, end: datetime) -> MaturityReport:
    """The departments' figures, levels and gaps over [start, end) and per week: a constant number of statements
    whatever the number of departments, records and weeks. Raises InvalidInput for a period that is none."""
    check_period(start, end)
    periods = spans(start, end)  # the period, then its weeks
    ids = [d.id for d in departments]
    counts = await queries.departmental(ids, periods)
    measured = await queries.collaborative(ids, periods, clock.now())
    joined = await queries.joined(ids, periods)
    company = await _enterprise(queries, reporters, clock, periods)
    limits = limits_with(await thresholds.stored())
    assessed = [[assess(d.name, [*departmental_figures(c), *collaborative_figures(m), *enterprise_figures(e, j)],
                        limits)
                 for d, c, m, j in zip(departments, span_counts, span_measured, span_joined)]
                for span_counts, span_measured, span_joined, e in zip(counts, measured, joined, company)]
    period = assessed[0]
    return MaturityReport(start=start, end=end, company=company_level([a.level for a in period]),
                          company_gaps=company_gaps(period), departments=[
                              DepartmentReport(department=d, period=a, weeks=[
                                  (sp.week_start, week[i]) for sp, week in zip(periods[1:], assessed[1:])
                                  if sp.week_start is not None])
                              for i, (d, a) in enumerate(zip(departments, period))])


async def _enterprise(queries: MaturityQueries, reporters: Sequence[HealthReporter], clock: Clock,
                      periods: list[Span]) -> list[EnterpriseCounts]:
    """The company's, per span: the health samples taken in it (and the integrations' health as they report it
    now, as one more sample of the spans that include now), the outbox and the deliveries from SQL (the lag as it
    is now in every span; the parked deliveries of each)."""
    now = clock.now()
    reports = await asyncio.gather(*(r.health() for r in reporters))
    states = [v.state for report in reports for v in report if v.state is not HealthState.DISABLED]
    found = await queries.enterprise(periods)
    return [EnterpriseCounts(samples=samples + (len(states) if sp.start <= now < sp.end else 0),
                             samples_up=up + (states.count(HealthState.UP) if sp.start <= now < sp.end else 0),
                             oldest_waiting_at=found.oldest_waiting_at, destinations=found.destinations, parked=parked,
                             now=now, partners=partners)
            for sp, parked, samples, up, partners in zip(periods, found.parked, found.samples, found.samples_up,
                                                         found.partners)]


async def set_maturity_threshold(store: MaturityThresholdStore, clock: Clock, actor: Staff, key: str,
                                 value: float | None) -> dict[str, float]:
    """Every threshold's value after setting `key`'s (None: back to its default). Raises NotAuthorized (not an
    active ADMIN) and InvalidInput (no such key; a negative value, a share above 1)."""
    if not (actor.active and actor.is_admin):
        raise NotAuthorized("Only an ADMIN adjusts the maturity thresholds.")
    checked = check_threshold(key, value)
    await store.save(key, checked, actor, clock.now())
    return limits_with(await store.stored())

"""Prometheus metrics: what the service does, for `/metrics` (api/common/metrics.py serves them).

Three kinds, by where the figure lives:

- **Per request and per call**, counted where it happens, in every process: requests by operation type, name
  and outcome, their latency, SQL statements per request (api/common/request_log.py), ERP and finance calls'
  latency by outcome (infrastructure/resilience.py), what `crm worker`'s ticks did (api/cli.py).
- **Per process, sampled** once a second (`Sampler`, started by the app's lifespan): database pool connections
  in use and requests waiting for one, active subscriptions, the ERP's and the finance system's breaker state.
- **Of the whole installation, read from the database** when scraped (`installation_metrics`): outbox events
  waiting per destination and the age of the oldest, webhook failures in a row and parked deliveries, SLA
  clocks due that the worker has not fired yet and how late the oldest is.

With several API processes (`crm serve --workers N`) each writes its figures into PROMETHEUS_MULTIPROC_DIR
(api/serving.py makes one), and a scrape of any of them adds them up (prometheus-client's multiprocess mode).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
from datetime import datetime
from typing import Any, Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, values
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from application.queries.integrations import HealthState, IntegrationHealthView

log = logging.getLogger("crm.metrics")
_pid = [os.getpid()]  # this process's id, kept current across fork() (below) instead of asked for on every count
os.register_at_fork(after_in_child=lambda: _pid.__setitem__(0, os.getpid()))
if getattr(values.ValueClass, "_multiprocess", False):
    # Multiprocess values check the pid on every inc() to notice a fork; by default that is a getpid() system call
    # per figure (five per request), which is dear on a virtual machine. The same check, against the cached id.
    values.ValueClass = values.MultiProcessValue(process_identifier=lambda: _pid[0])
SECONDS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
OPERATION_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,63}")
NAMES_KEPT = 200  # distinct operation names a process labels; later ones count as "other"

REQUESTS = Counter("crm_http_requests", "HTTP requests by GraphQL operation type, operation name and outcome "
                   "(ok, errors, refused, failed)", ["operation_type", "operation", "outcome"])
LATENCY = Histogram("crm_http_request_duration_seconds", "Time to answer an HTTP request", ["operation_type"],
                    buckets=SECONDS)
STATEMENTS = Histogram("crm_sql_statements_per_request", "SQL statements an HTTP request ran",
                       buckets=(0, 1, 2, 3, 5, 8, 13, 21, 50, 100))
EXTERNAL = Histogram("crm_external_call_duration_seconds", "Calls to the ERP and the finance system",
                     ["system", "outcome"], buckets=SECONDS)
WORKER = Counter("crm_worker_tick_items", "What `crm worker`'s ticks did, by worker (sla, workflows, relay) and "
                 "figure (claimed, warnings, breaches, escalated, delivered, parked, published ...)", ["worker", "figure"])
POOL = Gauge("crm_db_pool_connections", "Database connections of the pools, by engine and state (in_use, idle) and "
             "requests waiting for one (waiting)", ["engine", "state"], multiprocess_mode="livesum")
SUBSCRIPTIONS = Gauge("crm_active_subscriptions", "GraphQL subscriptions open", multiprocess_mode="livesum")
BREAKER = Gauge("crm_external_breaker_state", "Circuit breaker of an external system: 0 closed, 1 half-open, "
                "2 open (the worst of the processes)", ["system"], multiprocess_mode="max")
BREAKER_STATES = {"CLOSED": 0, "HALF_OPEN": 1, "OPEN": 2}

_names: set[str] = set()


def operation_label(name: str | None) -> str:
    if not name:
        return ""
    if name in _names:
        return name
    if OPERATION_NAME.fullmatch(name) and len(_names) < NAMES_KEPT:
        _names.add(name)
        return name
    return "other"


_series: dict[tuple[str | None, str | None, str], tuple[Any, Any]] = {}  # labels -> (count, latency) series


def request_done(operation_type: str | None, operation: str | None, outcome: str, seconds: float,
                 statements: int) -> None:
    series = _series.get((operation_type, operation, outcome))
    if series is None:  # `labels` checks and locks on every call: once per label set is enough
        series = (REQUESTS.labels(operation_type or "", operation_label(operation), outcome),
                  LATENCY.labels(operation_type or ""))
        if len(_series) < NAMES_KEPT * 8:
            _series[(operation_type, operation, outcome)] = series
    series[0].inc()
    series[1].observe(seconds)
    STATEMENTS.observe(statements)


def external_call_done(system: str, outcome: str, seconds: float, breaker_state: str) -> None:
    EXTERNAL.labels(system, outcome).observe(seconds)
    BREAKER.labels(system).set(BREAKER_STATES.get(breaker_state, 0))


def worker_tick(worker: str, figures: dict[str, int]) -> None:
    for figure, count in figures.items():
        if count:
            WORKER.labels(worker, figure).inc(count)


def pool_figures(engine: AsyncEngine) -> tuple[int, int, int]:
    """(in use, idle, waiting) of `engine`'s pool; 0s for a pool that does not say (SQLite's)."""
    pool: Any = engine.sync_engine.pool
    try:
        in_use, idle = int(pool.checkedout()), int(pool.checkedin())
    except (AttributeError, TypeError):
        return 0, 0, 0
    queue = getattr(getattr(getattr(pool, "_pool", None), "_queue", None), "_getters", None)  # asyncio.Queue's waiters
    return in_use, idle, len(queue) if queue is not None else 0


class Sampler:
    """Samples this process's figures every `every` seconds (see the module's docstring)."""

    def __init__(self, engines: Callable[[], dict[str, AsyncEngine]], subscribers: Callable[[], int],
                 breakers: Callable[[], dict[str, str]], every: float = 1.0) -> None:
        self._engines, self._subscribers, self._breakers = engines, subscribers, breakers
        self._every = every
        self._task: asyncio.Task[None] | None = None

    def sample(self) -> None:
        pools = set()
        for name, engine in self._engines().items():  # one pool may serve two engines (PostgreSQL's reads)
            if id(engine.sync_engine.pool) in pools:
                continue
            pools.add(id(engine.sync_engine.pool))
            for state, value in zip(("in_use", "idle", "waiting"), pool_figures(engine)):
                POOL.labels(name, state).set(value)
        SUBSCRIPTIONS.set(self._subscribers())
        for system, state in self._breakers().items():
            BREAKER.labels(system).set(BREAKER_STATES.get(state, 0))

    async def _run(self) -> None:
        while True:
            try:
                self.sample()
            except Exception:  # noqa: BLE001 - a figure missing is no reason to stop sampling the others
                log.debug("sampling failed", exc_info=True)
            await asyncio.sleep(self._every)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def process_metrics() -> bytes:
    """Every process's figures in the text format: added up over PROMETHEUS_MULTIPROC_DIR when there is one."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return generate_latest(registry)
    from prometheus_client import REGISTRY

    return generate_latest(REGISTRY)


class _Figures:
    """A collector of figures read just now (a registry of its own for one scrape)."""

    def __init__(self, families: Iterable[GaugeMetricFamily]) -> None:
        self._families = list(families)

    def collect(self) -> Iterable[GaugeMetricFamily]:
        return self._families


STATE_VALUES = {HealthState.UP: 1.0, HealthState.DEGRADED: 0.5, HealthState.DOWN: 0.0}


async def installation_metrics(engine: AsyncEngine, integrations: list[IntegrationHealthView],
                               now: datetime) -> bytes:
    """The installation's figures (the module's docstring), read from the database and the health reports."""
    from infrastructure.db.complaint_tables import complaints
    from infrastructure.db.relay_tables import relay_cursors as rc
    from infrastructure.db.relay_tables import webhook_deliveries as d
    from infrastructure.db.tables import outbox as ob
    from infrastructure.outbox.store import broker_cursor_name
    from infrastructure.db.relay_tables import webhooks as w

    pending = GaugeMetricFamily("crm_outbox_pending_events", "Events not yet delivered, per destination",
                                labels=["destination", "kind"])
    health = GaugeMetricFamily("crm_integration_health", "1 up, 0.5 degraded, 0 down, per joined system",
                               labels=["name", "kind"])
    for view in integrations:
        if view.state is not HealthState.DISABLED:
            health.add_metric([view.name, view.kind.value], STATE_VALUES[view.state])
        if view.kind.value in ("WEBHOOK", "EVENT_BROKER"):
            pending.add_metric([view.name, view.kind.value], view.pending_events)
    oldest = GaugeMetricFamily("crm_outbox_oldest_undelivered_seconds", "Age of the oldest event a destination (a "
                               "webhook, or the broker's exchange) has not been handed yet", labels=["destination"])
    failures = GaugeMetricFamily("crm_webhook_consecutive_failures", "Failed deliveries in a row", labels=["webhook"])
    parked = GaugeMetricFamily("crm_webhook_parked_deliveries", "Deliveries given up on", labels=["webhook"])
    due = GaugeMetricFamily("crm_sla_clocks_due", "SLA warnings and breaches due that the worker has not fired yet")
    lag = GaugeMetricFamily("crm_sla_worker_lag_seconds", "How long the oldest due SLA warning or breach has waited")
    async with engine.connect() as conn:
        hooks = (await conn.execute(select(w.c.id, w.c.url, w.c.consecutive_failures).where(w.c.active))).all()
        given_up = {row[0]: row[1] for row in await conn.execute(
            select(d.c.webhook_id, func.count()).where(d.c.state == "PARKED").group_by(d.c.webhook_id))}
        first_owed = {row[0]: row[1] for row in await conn.execute(
            select(d.c.webhook_id, func.min(d.c.created_at)).where(d.c.state == "PENDING").group_by(d.c.webhook_id))}
        first_waiting = select(func.min(ob.c.occurred_at)).where(ob.c.position > rc.c.position).scalar_subquery()
        brokers = (await conn.execute(select(rc.c.name, first_waiting)
                                      .where(rc.c.name.like(broker_cursor_name("%"))))).all()
        late = (await conn.execute(select(func.count(), func.min(complaints.c.sla_next_deadline))
                                   .where(complaints.c.sla_next_deadline <= now))).one()
    from infrastructure.outbox.health import display_url

    for hook_id, url, in_a_row in hooks:
        name = display_url(url)
        failures.add_metric([name], in_a_row)
        parked.add_metric([name], given_up.get(hook_id, 0))
        since = first_owed.get(hook_id)
        oldest.add_metric([name], max(0.0, (now - since).total_seconds()) if since else 0.0)
    for name, since in brokers:
        oldest.add_metric([name], max(0.0, (now - since).total_seconds()) if since else 0.0)
    due.add_metric([], late[0])
    lag.add_metric([], max(0.0, (now - late[1]).total_seconds()) if late[1] else 0.0)
    registry = CollectorRegistry()
    registry.register(_Figures([pending, health, oldest, failures, parked, due, lag]))  # type: ignore[arg-type]
    return generate_latest(registry)

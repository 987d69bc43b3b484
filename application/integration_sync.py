"""The integration sync: what `crm worker` learns, every CRM_INTEGRATION_SYNC_INTERVAL seconds, of the systems
joined to the CRM, so that the maturity report can say how far the company's work is joined to them over a period
(domain/maturity.py's ENTERPRISE figures):

- each joined system's health (the `integrations` query's reporters), one sample per system and pass;
- for every (SKU, currency) of the orders' lines, whether the ERP knows its unit cost (and what it is);
- for every customer, whether finance knows its code (and what it owes).

Costs and receivables are asked through the same guarded ports the API uses (a timeout, a cache, a circuit
breaker), in batches of `batch_size`, each pair or customer again once its record is older than `refresh`. A
system that does not answer ends that part of the pass (its health sample says so); the next pass goes on where
this one stopped. Several workers may run it: the records are upserts and a duplicate sample changes no share."""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Awaitable, Callable, Sequence, TypeVar

from application.periodic import run_batches_periodically
from application.ports import Clock, DependencyUnavailable, IntegrationRecords, ProductCosts, Receivables
from application.queries.integrations import HealthReporter

log = logging.getLogger("crm.integration_sync")
SAMPLES_KEPT = timedelta(weeks=110)  # a little more than the longest maturity period (two years)
K = TypeVar("K")


@dataclass
class SyncTick:
    claimed: int = 0  # the periodic loop's measure: a pass drains everything itself, so always 0
    samples: int = 0
    costs_checked: int = 0
    customers_checked: int = 0
    unavailable: list[str] = field(default_factory=list)  # systems that did not answer in this pass

    def __add__(self, other: "SyncTick") -> "SyncTick":
        return SyncTick(0, self.samples + other.samples, self.costs_checked + other.costs_checked,
                        self.customers_checked + other.customers_checked, [*self.unavailable, *other.unavailable])

    @property
    def busy(self) -> bool:
        return bool(self.costs_checked or self.customers_checked or self.unavailable)


async def sync_integrations(records: IntegrationRecords, costs: ProductCosts, receivables: Receivables,
                            reporters: Sequence[HealthReporter], clock: Clock, *, batch_size: int = 500,
                            refresh: timedelta = timedelta(days=1)) -> SyncTick:
    """One pass: a health sample of every joined system, then every cost and customer due, batch by batch."""
    now = clock.now()
    reports = await asyncio.gather(*(r.health() for r in reporters))
    views = [view for report in reports for view in report]
    await records.sample_health(views, now)
    await records.forget_samples(now - SAMPLES_KEPT)
    due, unavailable = now - refresh, list[str]()
    costs_checked = await _drain(lambda: records.costs_to_check(due, batch_size), costs.unit_costs,
                                 lambda keys, found: records.save_costs(keys, found, costs.source, clock.now()),
                                 batch_size, unavailable)
    customers_checked = await _drain(
        lambda: records.customers_to_check(due, batch_size),
        lambda customers: receivables.receivables([code for _, code in customers]),
        lambda customers, owed: records.save_receivables(customers, owed, receivables.source, clock.now()),
        batch_size, unavailable)
    return SyncTick(samples=len(views), costs_checked=costs_checked, customers_checked=customers_checked,
                    unavailable=unavailable)


async def _drain(due: Callable[[], Awaitable[list[K]]], ask: Callable[[list[K]], Awaitable[Any]],
                 save: Callable[[list[K], Any], Awaitable[None]], batch_size: int, unavailable: list[str]) -> int:
    """Ask for what is due batch by batch and save each answer; stop at the first batch the system does not
    answer (noted in `unavailable`). How many were checked."""
    checked = 0
    while keys := await due():
        try:
            answer = await ask(keys)
        except DependencyUnavailable as err:
            unavailable.append(err.system)
            log.warning("integration sync: %s", err)
            break
        await save(keys, answer)
        checked += len(keys)
        if len(keys) < batch_size:
            break
    return checked


async def run_integration_sync(records: IntegrationRecords, costs: ProductCosts, receivables: Receivables,
                               reporters: Sequence[HealthReporter], clock: Clock, *, interval: float = 300.0,
                               once: bool = False, batch_size: int = 500, refresh: timedelta = timedelta(days=1),
                               stop: asyncio.Event | None = None,
                               on_tick: Callable[[SyncTick], Awaitable[None] | None] | None = None) -> SyncTick:
    """A pass every `interval` seconds until `stop` is set (or one pass with `once`)."""
    return await run_batches_periodically(
        lambda: sync_integrations(records, costs, receivables, reporters, clock, batch_size=batch_size,
                                  refresh=refresh),
        SyncTick, batch_size=1, log=log, interval=interval, once=once, stop=stop, on_tick=on_tick)

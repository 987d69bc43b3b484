"""The demo data a newcomer meets after `make run`: a Kanban with something in (nearly) every column, and complaints
whose SLA history is kept whenever the demo is seeded."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from dependency_injector import providers

from application.demo import seed_demo
from application.maturity import measure
from infrastructure.container import build_container, dispose
from infrastructure.db.migrate import upgrade
from tests.application.fakes import FakeClock
from tests.conftest import BACKENDS, Api, fresh_database, settings_for

ORDERS = """query($code: String) { customer(code: $code) { orders(first: 5) { edges { node {
  number status advancePayment workflows { status } } } } } }"""


async def demo_orders(api: Api) -> dict[str, tuple[str, str]]:
    found = {}
    for n in range(1, 8):
        [edge] = (await api(ORDERS, {"code": f"DEMO-{n:04d}"}))["customer"]["orders"]["edges"]
        found[f"DEMO-{n:04d}"] = (edge["node"]["status"], edge["node"]["advancePayment"])
    return found


async def test_the_demo_orders_spread_over_the_board_and_seeding_again_moves_nothing(api: Api) -> None:
    expected = {"DEMO-0001": ("SHIPPED", "NONE"), "DEMO-0002": ("DRAFT", "REQUESTED"),
                "DEMO-0003": ("CONFIRMED", "REQUESTED"), "DEMO-0004": ("CONFIRMED", "REQUESTED"),
                "DEMO-0005": ("IN_FULFILLMENT", "APPROVED"), "DEMO-0006": ("CANCELLED", "REJECTED"),
                "DEMO-0007": ("PAID", "NONE")}
    assert await demo_orders(api) == expected  # all seven were DRAFT: the demo Kanban was one full column
    added = await seed_demo(api.container.services.uow, api.container.gateways.clock())
    assert added["orders"] == 0 and await demo_orders(api) == expected


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seeded_at", [
    datetime(2026, 12, 2, 7, 0, tzinfo=UTC),  # 08:00 in Berlin, the demo calendar's: every hour after filing counts
    datetime(2026, 12, 2, 10, 30, tzinfo=UTC),  # the hour a CI run found the urgent complaint's clocks breached
    datetime(2026, 12, 6, 23, 0, tzinfo=UTC),  # a Sunday night
], ids=["business-morning", "late-morning", "sunday-night"])
async def test_the_demo_complaints_keep_their_slas_whenever_they_are_seeded(backend: str, seeded_at: datetime) -> None:
    """SERVICE is the demo's ENTERPRISE department (application/rollout_demo.py): each progress note within its
    update interval and every handled complaint within its SLA, at any time of day it is seeded."""
    db, cleanup = await fresh_database(backend)
    container = build_container(settings_for(db.url))
    try:
        await upgrade(container.core.engine())
        container.gateways.clock.override(providers.Object(FakeClock(seeded_at)))
        await seed_demo(container.services.uow, container.gateways.clock())
        services = container.services
        service = [d for d in await services.organisation_queries().departments() if d.code == "SERVICE"]
        report = await measure(services.maturity_queries(), services.maturity_thresholds(), [],
                               container.gateways.clock(), service, seeded_at - timedelta(days=14),
                               seeded_at + timedelta(days=1))
        figures = {f.key: f.value for f in report.departments[0].period.figures}
        assert (figures["progress_entries"], figures["timely_progress_share"], figures["sla_compliance"]) == (
            2, 1.0, 1.0)
    finally:
        await dispose(container)
        await cleanup()

"""/metrics (infrastructure/metrics.py): requests, latency and statements per request after a few requests, the
ERP and finance calls, the sampled pool and subscription figures, the installation's figures read from the
database, and production's token."""
from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from infrastructure.settings import Settings
from tests.conftest import Api, Database, app_with, unique
from tests.e2e.queries import CREATE_CUSTOMER
from tests.e2e.test_webhooks import receiver, register, registered  # noqa: F401 - fixtures


async def scrape(client: httpx.AsyncClient, **headers: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def value(figures: dict, name: str, **labels: str) -> float:
    return figures.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_requests_are_counted_by_operation_and_outcome(api: Api) -> None:
    name = f"Metrics{unique('op').replace('-', '')}"
    before = await scrape(api.client)
    for _ in range(3):
        await api(f"query {name} {{ me {{ id }} }}")
    await api.errors(f"query {name} {{ customer(id: \"nope\") {{ id }} }}")
    refused = await api.client.post("/graphql", json={"query": "{ me { id } }"})
    assert refused.status_code == 401
    after = await scrape(api.client)
    assert value(after, "crm_http_requests_total", operation_type="query", operation=name, outcome="ok") == 3
    assert value(after, "crm_http_requests_total", operation_type="query", operation=name, outcome="errors") == 1
    # refused before its body was read: no operation to name
    assert value(after, "crm_http_requests_total", operation_type="", operation="", outcome="refused") == \
        value(before, "crm_http_requests_total", operation_type="", operation="", outcome="refused") + 1
    assert value(after, "crm_http_request_duration_seconds_count", operation_type="query") >= \
        value(before, "crm_http_request_duration_seconds_count", operation_type="query") + 4
    assert value(after, "crm_sql_statements_per_request_count") >= value(before, "crm_sql_statements_per_request_count") + 5
    assert value(after, "crm_sql_statements_per_request_sum") > value(before, "crm_sql_statements_per_request_sum")


async def test_calls_to_the_erp_and_finance_are_timed(api: Api) -> None:
    code = unique("MET").upper()
    await api(CREATE_CUSTOMER, {"input": {"code": code, "name": "Metrics Ltd", "kind": "COMPANY"}})
    before = await scrape(api.client)
    await api("query($code: String!) { customer(code: $code) { receivables { asOf } } }", {"code": code})
    after = await scrape(api.client)
    # (a scrape may probe the systems too, for their health)
    assert value(after, "crm_external_call_duration_seconds_count", system="FINANCE", outcome="ok") >= \
        value(before, "crm_external_call_duration_seconds_count", system="FINANCE", outcome="ok") + 1
    assert value(after, "crm_external_breaker_state", system="FINANCE") == 0


async def test_the_sampled_and_the_installations_figures_are_there(api: Api, app: object) -> None:
    figures = await scrape(api.client)
    # the write engine's pool (PostgreSQL's reads share it; SQLite's have one of their own)
    assert ("crm_db_pool_connections", (("engine", "write"), ("state", "in_use"))) in figures
    assert ("crm_db_pool_connections", (("engine", "write"), ("state", "waiting"))) in figures
    assert ("crm_active_subscriptions", ()) in figures
    assert value(figures, "crm_sla_clocks_due") >= 0 and ("crm_sla_worker_lag_seconds", ()) in figures
    assert any(name == "crm_integration_health" and dict(labels)["kind"] == "ERP" for name, labels in figures)


async def test_production_serves_metrics_only_to_its_token(database: Database) -> None:
    base = {"CRM_ENV": "production", "CRM_SECRET_KEY": "m" * 40, "CRM_DATABASE_URL": database.url,
            "CRM_DB_POOL_SIZE": "2", "CRM_DB_MAX_OVERFLOW": "0"}
    async with app_with(Settings.from_env(base)) as (_, client):
        assert (await client.get("/metrics")).status_code == 404
    async with app_with(Settings.from_env({**base, "CRM_METRICS_TOKEN": "scrape-" + "t" * 20})) as (_, client):
        assert (await client.get("/metrics")).status_code == 404
        assert (await client.get("/metrics", headers={"Authorization": "Bearer wrong"})).status_code == 404
        figures = await scrape(client, Authorization="Bearer scrape-" + "t" * 20)
        assert ("crm_sla_clocks_due", ()) in figures


def test_several_processes_add_up(tmp_path: Path) -> None:
    """As `crm serve --workers N` runs them (api/serving.py): each process counts into PROMETHEUS_MULTIPROC_DIR, and
    whichever is scraped reports the sum (and a live gauge of a process that died no longer counts)."""
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    count = textwrap.dedent("""
        from infrastructure.metrics import SUBSCRIPTIONS, request_done
        for _ in range(2):
            request_done("query", "Added", "ok", 0.01, 1)
        SUBSCRIPTIONS.set(3)
    """)
    pids = [subprocess.run([sys.executable, "-c", count + "import os; print(os.getpid())"], env=env, check=True,
                           capture_output=True, text=True).stdout.strip() for _ in range(2)]
    report = textwrap.dedent(f"""
        from prometheus_client import multiprocess
        from infrastructure.metrics import process_metrics
        print(process_metrics().decode())
        multiprocess.mark_process_dead({pids[0]})
        print("--")
        print(process_metrics().decode())
    """)
    text = subprocess.run([sys.executable, "-c", report], env=env, check=True, capture_output=True, text=True).stdout
    alive, after = text.split("--")
    assert re.search(r'crm_http_requests_total\{operation="Added",operation_type="query",outcome="ok"\} 4\.0', alive)
    assert re.search(r"crm_active_subscriptions 6\.0", alive)
    assert re.search(r"crm_active_subscriptions 3\.0", after)


def test_a_forked_process_counts_in_its_own_file(tmp_path: Path) -> None:
    """The pid behind each process's file is cached (infrastructure/metrics.py), not asked for on every count: a
    fork's child must still count apart from its parent, and the parent's later counts keep the child's."""
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    script = textwrap.dedent("""
        import os
        from infrastructure.metrics import SUBSCRIPTIONS, process_metrics, request_done
        request_done("query", "Forked", "ok", 0.01, 1)
        request_done("query", "Forked", "ok", 0.01, 1)
        SUBSCRIPTIONS.set(3)
        child = os.fork()
        if child == 0:
            request_done("query", "Forked", "ok", 0.01, 1)
            SUBSCRIPTIONS.set(5)
            os._exit(0)
        os.waitpid(child, 0)
        request_done("query", "Forked", "ok", 0.01, 1)
        print(child)
        print(process_metrics().decode())
    """)
    child, text = subprocess.run([sys.executable, "-c", script], env=env, check=True, capture_output=True,
                                 text=True).stdout.split("\n", 1)
    assert (tmp_path / f"gauge_livesum_{child}.db").exists()
    assert re.search(r'crm_http_requests_total\{operation="Forked",operation_type="query",outcome="ok"\} 4\.0', text)
    assert re.search(r"crm_active_subscriptions 8\.0", text)


async def test_a_workers_tick_is_counted_and_logged(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    """What `crm worker` reports after each tick (api/cli.py `_reporter`): its figures in the metrics, and one
    line (the sentence in development, JSON with the figures in production)."""
    from api.cli import _reporter
    from api.common.request_log import JsonLines, Readable
    from application.sla_worker import SlaTick

    before = await scrape(api.client)
    caplog.set_level(logging.INFO, logger="crm.worker")
    report = _reporter("sla", lambda t: t.claimed and f"sla: {t.claimed} complaints")
    report(SlaTick(claimed=3, warnings=2))
    report(SlaTick())  # an idle tick says nothing
    after = await scrape(api.client)
    assert value(after, "crm_worker_tick_items_total", worker="sla", figure="claimed") == \
        value(before, "crm_worker_tick_items_total", worker="sla", figure="claimed") + 3
    assert value(after, "crm_worker_tick_items_total", worker="sla", figure="warnings") == \
        value(before, "crm_worker_tick_items_total", worker="sla", figure="warnings") + 2
    [line] = [r for r in caplog.records if r.name == "crm.worker"]
    assert Readable().format(line).endswith("sla: 3 complaints")
    written = json.loads(JsonLines().format(line))
    assert written["message"] == "sla: 3 complaints" and written["worker"] == "sla" and written["claimed"] == 3


async def test_a_relay_batch_of_crm_worker_counts_in_the_metrics(api: Api, receiver: Any, registered: list[str]) -> None:
    """A real tick of the relay `crm worker` runs (api/cli.py `run_relay_worker`): its deliveries are counted."""
    import asyncio

    from api.cli import run_relay_worker

    await register(api, registered, receiver.url(unique("metrics")), ["customer.created"])
    await api(CREATE_CUSTOMER, {"input": {"code": unique("MRL").upper(), "name": "Relayed", "kind": "COMPANY"}})
    before = await scrape(api.client)
    await run_relay_worker(api.container, once=True, stop=asyncio.Event())  # the receiver knows no endpoint: a retry
    after = await scrape(api.client)
    for figure in ("queued", "retrying"):  # fanned out to the webhook, and tried once
        assert value(after, "crm_worker_tick_items_total", worker="relay", figure=figure) >= \
            value(before, "crm_worker_tick_items_total", worker="relay", figure=figure) + 1, figure


async def test_the_broker_exchanges_oldest_waiting_event_is_reported(api: Api) -> None:
    """A broker's cursor (the relay's, per exchange) behind the outbox's head: the age of the first event after it."""
    from datetime import UTC, datetime

    from sqlalchemy import delete, insert

    from infrastructure.db.relay_tables import relay_cursors
    from infrastructure.outbox.store import broker_cursor_name

    name = broker_cursor_name(unique("metrics-exchange"))
    async with api.container.core.engine().begin() as conn:
        await conn.execute(insert(relay_cursors).values(name=name, position=0, failures=0,
                                                        updated_at=datetime.now(UTC)))
    try:
        figures = await scrape(api.client)
    finally:
        async with api.container.core.engine().begin() as conn:
            await conn.execute(delete(relay_cursors).where(relay_cursors.c.name == name))
    assert value(figures, "crm_outbox_oldest_undelivered_seconds", destination=name) > 0  # the demo's first event

"""Traces (infrastructure/tracing.py) exported to an in-memory exporter: a request's span continues the client's
trace, its statements and resolvers are its children, an outgoing call to the ERP is traced, the request's log
line names the trace, and without an exporter or an OTLP endpoint nothing is traced at all."""
from __future__ import annotations

import logging
from typing import Any, AsyncIterator

import httpx
import pytest
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from api.app import create_app
from application.organisation import find_active_staff_by_email
from infrastructure.settings import Settings
from tests.conftest import Database, lifespan

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
HOT = "query Traced($id: ID!) { customer(id: $id) { id name contacts { email } } }"


@pytest.fixture
async def traced(database: Database, monkeypatch: pytest.MonkeyPatch
                 ) -> AsyncIterator[tuple[Any, httpx.AsyncClient, InMemorySpanExporter]]:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    exporter = InMemorySpanExporter()
    settings = Settings.from_env({"CRM_ENV": "test", "CRM_DATABASE_URL": database.url, "CRM_DB_POOL_SIZE": "2",
                                  "CRM_DB_MAX_OVERFLOW": "0", "CRM_ERP": "tryton", "CRM_ERP_URL": "http://127.0.0.1:9/",
                                  "CRM_ERP_TIMEOUT": "1", "CRM_FINANCE": "static"})
    app = create_app(settings, span_exporter=exporter)
    async with lifespan(app):  # its end stops tracing (the instrumentation is the process's)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            yield app, client, exporter


async def auth(app: Any) -> dict[str, str]:
    staff = await find_active_staff_by_email(app.state.container.services.uow(), "admin@example.com")
    return {"Authorization": f"Bearer {app.state.container.services.tokens().issue(staff.id)}",
            "traceparent": TRACEPARENT}


async def test_a_request_continues_the_clients_trace_with_its_statements_and_resolvers(
        traced: tuple[Any, httpx.AsyncClient, InMemorySpanExporter], caplog: pytest.LogCaptureFixture) -> None:
    app, client, exporter = traced
    headers = await auth(app)
    first = await client.post("/graphql", json={"query": "{ customers(first: 1) { edges { node { id } } } }"},
                              headers=headers)
    customer = first.json()["data"]["customers"]["edges"][0]["node"]["id"]
    caplog.set_level(logging.INFO, logger="crm.request")
    for _ in range(2):  # the regular way (resolvers), then the hot lane (one statement on the driver)
        exporter.clear()
        response = await client.post("/graphql", json={"query": HOT, "variables": {"id": customer}}, headers=headers)
        assert response.status_code == 200, response.text
        spans = exporter.get_finished_spans()
        [server] = [s for s in spans if s.kind is SpanKind.SERVER and s.name == "POST /graphql"]
        assert format(server.context.trace_id, "032x") == TRACE_ID and server.parent.span_id == 0x00f067aa0ba902b7
        assert server.name == "POST /graphql" and server.attributes["http.response.status_code"] == 200
        statements = [s for s in spans if s.kind is SpanKind.CLIENT and s.name.startswith("SELECT")]
        assert statements and all(s.context.trace_id == server.context.trace_id for s in statements)
        assert all(s.parent is not None for s in statements)
    resolvers = [s.name for s in spans if s.name.startswith("GraphQL Resolving")]
    assert resolvers == []  # the lane answered the second without resolving a field
    [line] = [r for r in caplog.records if r.name == "crm.request"][-1:]
    assert line.fields["trace_id"] == TRACE_ID  # type: ignore[attr-defined]


async def test_resolvers_that_do_work_get_spans(traced: tuple[Any, httpx.AsyncClient, InMemorySpanExporter]) -> None:
    app, client, exporter = traced
    exporter.clear()
    response = await client.post("/graphql", json={"query": "{ me { id name } departments { code } }"},
                                 headers=await auth(app))
    assert response.status_code == 200, response.text
    names = {s.name for s in exporter.get_finished_spans() if s.kind is SpanKind.INTERNAL}
    assert {"GraphQL Resolving: me", "GraphQL Resolving: departments"} <= names, names
    assert not any(name.endswith(": name") or name.endswith(": code") for name in names)  # fields read off objects


async def test_an_outgoing_call_is_traced(traced: tuple[Any, httpx.AsyncClient, InMemorySpanExporter]) -> None:
    app, _, exporter = traced
    exporter.clear()
    with pytest.raises(Exception):
        await app.state.container.services.product_costs().unit_costs([("TOOL-100", "EUR")])  # nobody at port 9
    [call] = [s for s in exporter.get_finished_spans() if s.kind is SpanKind.CLIENT and (
        "http.request.method" in s.attributes or "http.method" in s.attributes)]
    assert not call.status.is_ok


async def test_nothing_is_traced_without_an_exporter_or_an_endpoint(database: Database,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    app = create_app(Settings.from_env({"CRM_ENV": "test", "CRM_DATABASE_URL": database.url}))
    try:
        stack = app.build_middleware_stack()
        while type(stack).__name__ != "Edge":
            stack = stack.app
        assert stack.log._tracer is None
        assert not SQLAlchemyInstrumentor().is_instrumented_by_opentelemetry
    finally:
        from infrastructure.container import dispose

        await dispose(app.state.container)

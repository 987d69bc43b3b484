"""OpenTelemetry traces: a span per HTTP request (api/common/request_log.py, its trace id in the request's log
line), per resolver that does work (strawberry's OpenTelemetryExtension; fields read off an object are not
traced), per SQL statement (SQLAlchemy's instrumentation, the fast path's statements on the driver included) and
per outgoing HTTP call (httpx's: the ERP, the finance system, webhooks).

Exported over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set (OTEL_SERVICE_NAME names the service, `crm` by
default; the exporter reads the other OTEL_* variables itself), and free when it is not: no provider, no span,
no instrumentation. A client's `traceparent` header makes the request's span a child of the client's.
"""
from __future__ import annotations

import os
from typing import Iterable

from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from sqlalchemy.ext.asyncio import AsyncEngine

ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"


def tracer_provider(exporter: SpanExporter | None = None) -> TracerProvider | None:
    """A provider exporting to `exporter` span by span (tests), or to OTLP in batches when the endpoint is
    set; None when neither: nothing is traced."""
    if exporter is None and not os.environ.get(ENDPOINT):
        return None
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: os.environ.get("OTEL_SERVICE_NAME", "crm")}))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def instrument(provider: TracerProvider, engines: Iterable[AsyncEngine]) -> None:
    """Spans for the statements of `engines` (each pool once) and for every outgoing httpx call."""
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    pooled = {id(e.sync_engine.pool): e.sync_engine for e in engines}  # PostgreSQL's reads share the writes' pool
    # skip_dep_check: the instrumentation declares SQLAlchemy < 2.1; the cursor events it listens to are 2.1's too
    # (tests/e2e/test_tracing.py sees every statement traced)
    SQLAlchemyInstrumentor().instrument(engines=list(pooled.values()), tracer_provider=provider, enable_commenter=False,
                                        skip_dep_check=True)
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)


def stop(provider: TracerProvider | None) -> None:
    """Send what is left and stop tracing outgoing calls (the process is ending, or a test's app)."""
    if provider is None:
        return
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    HTTPXClientInstrumentor().uninstrument()
    SQLAlchemyInstrumentor().uninstrument()
    provider.shutdown()

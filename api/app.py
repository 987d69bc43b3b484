"""The composition root: `create_app(settings)` wires the container into a Starlette app."""
from __future__ import annotations

import asyncio
import contextlib
import gc
import hmac
import json
import logging

import orjson
from typing import Any, AsyncIterator, Callable

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.types import ASGIApp, Receive, Scope, Send
from cross_web import HTTPException as CrossWebHTTPException
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult

from api import graphiql
from api.common.browsers import DEVELOPMENT_ORIGINS, Browsers
from api.common.edge import Edge
from api.common.exposure import Exposure
from api.common.media_types import GraphQLResponseMediaType
from api.common.persisted_queries import PersistedQueries
from api.common.trusted_documents import load_manifest
from api.common.limits import OperationChecker, RequestGuard, carries_upload
from api.common.request_log import RequestLog, lean_log_records
from api.common.rate_limits import RateLimit, buckets, client_ip, principal
from api.common.sign_in import PendingSignIn
from api.context import Context
from api.fast_path import FastPath
from api.hot_lane import HotLane
from api.schema import build_schema
from api.websocket import SignInHandler
from domain.organisation import Staff
from infrastructure.auth import InvalidToken
from infrastructure.db.faults import database_fault
from infrastructure.container import Container, build_container, dispose
from infrastructure.db.reads import request_connection
from infrastructure.metrics import Sampler, installation_metrics, process_metrics
from infrastructure.tracing import instrument, tracer_provider
from infrastructure.tracing import stop as stop_tracing
from infrastructure.settings import Settings

log = logging.getLogger("crm.api")


def _error_body(message: str, code: str) -> bytes:
    return json.dumps({"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}).encode()


def _unauthenticated(refusal: InvalidToken) -> Response:
    """401 saying no more than `refusal.public` (an expired token says it expired)."""
    return Response(_error_body(refusal.public, "UNAUTHENTICATED"), 401,
                    headers={"WWW-Authenticate": 'Bearer realm="crm"'}, media_type="application/json")


# seconds a client is asked to wait (Retry-After) when the database is away, or failed in passing
RETRY_AFTER = {"SERVICE_UNAVAILABLE": 5, "TRANSIENT": 1}
READY_WITHIN = 1.5  # seconds /readyz waits for the database before answering 503


def _unavailable(err: Exception) -> Response:
    """503 with Retry-After for the database away (or failing in passing) while signing in; re-raises a fault."""
    fault = database_fault(err)
    if fault is None:
        raise err
    log.warning("sign-in: %s (%s)", fault, err)
    return Response(_error_body(str(fault), fault.code), 503, headers={"Retry-After": str(RETRY_AFTER[fault.code])},
                    media_type="application/json")


def _refusal(err: Exception) -> Response:
    """A sign-in that failed: 401 for a token refused, else the database's fault as a coded answer."""
    return _unauthenticated(err) if isinstance(err, InvalidToken) else _unavailable(err)


class GraphQLApp(GraphQL):
    """strawberry's ASGI view with our context, and a code on every error."""

    graphql_transport_ws_handler_class = SignInHandler

    def __init__(self, container: Container, tracer_provider: TracerProvider | None = None, **kwargs: Any) -> None:
        settings = container.core.settings()
        kwargs.setdefault("subscription_protocols", (GRAPHQL_TRANSPORT_WS_PROTOCOL,))
        kwargs.setdefault("graphql_ide", "graphiql" if settings.describes("graphiql") else None)
        exposure = Exposure(introspection=settings.describes("introspection"),
                            suggestions=settings.describes("suggestions"),
                            federation_sdl=settings.describes("federation_sdl"))
        super().__init__(build_schema(settings.max_query_depth, federation=True, exposure=exposure,
                                      tracer_provider=tracer_provider),
                         multipart_uploads_enabled=True, **kwargs)
        self.container = container
        self.fast_path = FastPath(self.schema._schema, lambda: container.core.settings().max_query_cost)
        self.checker = OperationChecker(self.schema._schema)  # RequestGuard's too: one check for every way in

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """As strawberry's, but a malformed HTTP request gets a JSON error with a code, not plain text, and a
        document the database answers whole goes by the fast path (api/fast_path.py)."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        state = scope.get("state", {})
        body = state.get("json_body")  # a JSON POST's body, as RequestGuard parsed it
        if body is not None:
            answered = await self._fast(scope, body)
            if answered is not None:
                await Response(answered, 200, media_type="application/json")(scope, receive, send)
                return
        sign_in: PendingSignIn | None = state.pop("sign_in", None)
        if sign_in is not None:  # nothing runs for a request before its sign-in is confirmed
            try:
                state["actor"] = await sign_in.confirmed()
            except Exception as err:  # noqa: BLE001 - refused, or the database away: a coded answer, never a 500
                await _refusal(err)(scope, receive, send)
                return
        try:
            response = await self.run(Request(scope=scope, receive=receive))
        except CrossWebHTTPException as err:
            response = Response(_error_body(err.reason, "BAD_REQUEST"), err.status_code, media_type="application/json")
        retry_after = scope.get("state", {}).pop("retry_after", None)
        if retry_after is not None:  # the database was away or failed in passing: 503, ask to retry
            response.status_code = 503
            response.headers["Retry-After"] = str(retry_after)
        await response(scope, receive, send)

    async def _fast(self, scope: Scope, body: object) -> bytes | None:
        """The fast path's answer, or None; a document it does not know yet is learnt from the regular path."""
        state = scope.get("state", {})
        sign_in: PendingSignIn | None = state.get("sign_in")
        actor = state.get("actor") or (sign_in.last_known if sign_in is not None else None)
        if not isinstance(body, dict) or not isinstance(body.get("query"), str) or actor is None:
            return None
        name = body.get("operationName") if isinstance(body.get("operationName"), str) else None
        if not self.fast_path.knows(body["query"], name):
            scope["state"]["learn"] = (body["query"], name)
            return None
        return await self.fast_answer(body, actor, sign_in)

    async def fast_answer(self, body: dict[str, Any], actor: Staff, sign_in: PendingSignIn | None) -> bytes | None:
        """The fast path's answer to a JSON request body as `actor` (pending `sign_in`), or None: the regular
        path answers (an unknown document, one the fast path declines, or a fault it reports as it does)."""
        services = self.container.services
        try:
            return await self.fast_path.answer(body, actor, services.organisation_queries(), services.document_reads(),
                                               sign_in)
        except Exception:  # noqa: BLE001 - the regular path answers, and reports a fault as it does
            log.debug("fast path declined on a fault", exc_info=True)
            return None

    async def render_graphql_ide(self, request: Any) -> Response:  # type: ignore[override]
        return HTMLResponse(graphiql.PAGE)  # served from the package, no CDN (api/graphiql/)

    async def parse_http_body(self, request: Any) -> Any:  # type: ignore[override]
        """As strawberry's, and GET parameters and multipart operations are checked as JSON bodies are (those
        RequestGuard has checked already); multipart is for uploads only."""
        data = await super().parse_http_body(request)
        if request.method == "GET" or "multipart/" in (request.content_type or ""):
            items = data if isinstance(data, list) else [data]
            flaw = self.checker.flaw([{"query": d.query, "variables": d.variables, "extensions": d.extensions}
                                      for d in items])
            if flaw is None and request.method != "GET" and not any(carries_upload(d.variables) for d in items):
                flaw = "multipart/form-data is for uploads; send other operations as application/json."
            if flaw:
                raise CrossWebHTTPException(400, flaw)
        return data

    def encode_json(self, data: object) -> str:
        """orjson: fast, and writes the JSON the database built (api/common/compiled.py) as it is. Text, not
        bytes: WebSocket messages must go out as text frames."""
        return orjson.dumps(data).decode()

    async def get_context(self, request: Any, response: Any) -> Context:  # type: ignore[override]
        """The one door from the resolvers to the application (api/context.py), filled from the container per
        request, so a provider a test overrides takes effect at the next request."""
        services = self.container.services
        return Context(
            request=request, response=response,
            # absent only when rendering the GraphiQL page, which resolves nothing
            actor=request.scope.get("state", {}).get("actor"),
            settings=self.container.core.settings(), clock=self.container.gateways.clock(), uow=services.uow,
            customers=services.customer_queries(), organisation=services.organisation_queries(),
            orders=services.order_queries(), campaigns=services.campaign_queries(),
            opportunities=services.opportunity_queries(), workflows=services.workflow_queries(),
            complaints=services.complaint_queries(), documents=services.document_reads(),
            events=services.events(), event_queries=services.event_queries(), audit=services.audit_queries(),
            due_dates=services.due_dates(), field_access=services.field_access(),
            api_keys=services.api_key_registry(), webhooks=services.webhook_registry(),
            webhook_queries=services.webhook_queries(), profitability=services.profitability_queries(),
            rollout=services.rollout_queries(), maturity=services.maturity_queries(),
            maturity_thresholds=services.maturity_thresholds(),
            complaint_reads=services.complaint_reads(),
            product_costs=services.product_costs(), receivables=services.receivables(),
            health_reporters=services.health_reporters(),
        )

    async def on_ws_connect(self, context: Context) -> Any:  # type: ignore[override]
        """WebSockets (graphql-transport-ws) sign in with the connection_init payload
        {"Authorization": "Bearer ..."}; anything else closes the socket with 4403."""
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        authorization = params.get("Authorization", params.get("authorization"))
        try:
            context.actor = await self.container.services.authenticator().authenticate(
                authorization if isinstance(authorization, str) else None)
        except InvalidToken:
            raise ConnectionRejectionError() from None
        return await super().on_ws_connect(context)

    async def process_result(self, request: Any, result: ExecutionResult) -> GraphQLHTTPResponse:  # type: ignore[override]
        learn = request.scope.get("state", {}).pop("learn", None)
        if learn is not None and not result.errors and result.data is not None:
            self.fast_path.learn(*learn)
        response = await super().process_result(request, result)
        for error in response.get("errors") or []:
            ext = error.setdefault("extensions", {})  # type: ignore[union-attr]
            if "code" not in ext:
                # request-level errors (syntax, validation, variables) have no path; resolver faults do
                ext["code"] = "INTERNAL_ERROR" if error.get("path") else "GRAPHQL_VALIDATION_FAILED"  # type: ignore[union-attr]
            if ext["code"] in RETRY_AFTER:
                state = request.scope.setdefault("state", {})
                state["retry_after"] = max(state.get("retry_after", 0), RETRY_AFTER[ext["code"]])
        return response


class Authenticate:
    """Every GraphQL request needs a valid bearer token of an active staff member: 401 otherwise.

    The GraphiQL page itself (a GET for HTML without a query) is served without one; it holds no data.
    """

    def __init__(self, app: ASGIApp, container: Container) -> None:
        self.app = app
        self.container = container

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if request.method == "GET" and "query" not in request.query_params and \
                "text/html" in request.headers.get("accept", ""):
            await self.app(scope, receive, send)
            return
        limit = self.container.core.settings().max_upload_bytes
        if int(request.headers.get("content-length") or 0) > limit:
            await Response(_error_body("Request too large.", "LIMIT_EXCEEDED"), 413,
                           media_type="application/json")(scope, receive, send)
            return
        # one database connection for the whole request: authentication and every resolver's reads
        core = self.container.core
        async with request_connection(core.read_engine(), core.kept_connections()):
            authenticator = self.container.services.authenticator()
            state = scope.setdefault("state", {})
            try:
                bearer = authenticator.bearer(request.headers.get("authorization"))
                known = authenticator.last_known(bearer.staff_id) if request.method == "POST" else None
                if known is not None:  # checked with the first read (api/common/sign_in.py)
                    state["sign_in"] = PendingSignIn(authenticator, bearer, known)
                else:
                    state["actor"] = await authenticator.confirm(bearer)
                    # an API key's scopes (api/integrations/api_keys.py), and the key for the audit log
                    state["scopes"], state["api_key_id"] = authenticator.scopes_of(bearer), bearer.api_key
            except Exception as err:  # noqa: BLE001 - refused, or the database away: a coded answer, never a 500
                await _refusal(err)(scope, receive, send)
                return
            await self.app(scope, receive, send)


class Service(Starlette):
    """Starlette with `front` (api/app.py `create_app`) in front of its own stack: the edge and the hot lane
    come before Starlette's error and exception layers and its router."""

    def __init__(self, *, front: Callable[[ASGIApp], ASGIApp], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.front = front

    def build_middleware_stack(self) -> ASGIApp:
        return self.front(super().build_middleware_stack())


def create_app(settings: Settings | None = None, container: Container | None = None,
               span_exporter: SpanExporter | None = None) -> Starlette:
    """`span_exporter`: where spans go (a test's); else OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set, or none
    (infrastructure/tracing.py)."""
    settings = settings or Settings.from_env()
    container = container or build_container(settings)
    lean_log_records()
    traces = tracer_provider(span_exporter)
    if traces is not None:
        instrument(traces, [container.core.engine(), container.core.read_engine()])

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        try:
            async with asyncio.timeout(READY_WITHIN):  # a hanging database is not ready either
                async with container.core.engine().connect() as conn:
                    await conn.execute(text("SELECT 1"))
        except Exception as err:  # noqa: BLE001 - any failure means not ready
            log.warning("database not reachable: %s", err)
            return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "up"})

    async def metrics(request: Request) -> Response:
        """Prometheus' text format (infrastructure/metrics.py); production: only for CRM_METRICS_TOKEN, and not
        at all without one."""
        token, given = settings.metrics_token, request.headers.get("authorization", "")
        if (token is None and settings.is_production) or (
                token is not None and not hmac.compare_digest(given.encode(), f"Bearer {token}".encode())):
            return Response(status_code=404)
        body = process_metrics()
        try:
            async with asyncio.timeout(READY_WITHIN):
                reports = [view for reporter in container.services.health_reporters()
                           for view in await reporter.health()]
                body += await installation_metrics(container.core.read_engine(), reports,
                                                   container.gateways.clock().now())
        except Exception as err:  # noqa: BLE001 - the process's figures are still worth having
            log.warning("metrics: the installation's figures could not be read: %s", err)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    sampler = Sampler(lambda: {"write": container.core.engine(), "read": container.core.read_engine()},
                      lambda: getattr(container.gateways.publisher(), "subscribers", 0),
                      lambda: {c.call.system: c.call.breaker.state.name for c in (
                          container.services.product_costs(), container.services.receivables())
                          if hasattr(c, "call")})

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        log.warning("CRM_ENV=%s; bearer tokens are signed with %s", settings.env, settings.secret_source)
        relay = container.services.event_relay()  # cross-process live updates on PostgreSQL
        if relay is not None:
            await relay.start()
        # what start-up built (schema, modules, the container) lives as long as the process: out of the
        # collector's way, so a full collection under load scans only what requests made (shorter pauses)
        gc.collect()
        gc.freeze()
        sampler.start()
        try:
            yield
        finally:
            await sampler.stop()
            await container.services.complaint_reads().flush()  # the reads noted but not written yet
            if relay is not None:
                await relay.stop()
            await dispose(container)
            stop_tracing(traces)

    trusted = load_manifest(settings.trusted_documents) if settings.trusted_documents else None  # or fail here
    served = GraphQLApp(container, traces)
    view = PersistedQueries(served, trusted=trusted)
    guarded = RequestGuard(view, settings.max_json_bytes, settings.max_upload_bytes, served.checker)
    store = container.gateways.rate_limit_store()  # shared buckets, or None: each process its own
    member_limit = RateLimit(guarded, buckets(settings.rate_limit("principal"), store, "principal"), principal)
    ip_limit = RateLimit(Authenticate(member_limit, container), buckets(settings.rate_limit("ip"), store, "ip"),
                         client_ip)
    graphql = GraphQLResponseMediaType(ip_limit)
    request_log = RequestLog(engines=lambda: [container.core.engine(), container.core.read_engine()],
                             tracer=traces.get_tracer("crm") if traces is not None else None)
    browsers = Browsers(settings.cors_origins if settings.cors_origins is not None
                        else () if settings.is_production else DEVELOPMENT_ORIGINS)

    def front(stack: ASGIApp) -> ASGIApp:
        """The edge (request log, CORS, security headers, CRM_REQUEST_TIMEOUT: api/common/edge.py) in front of
        everything; then the hot lane, except with trusted documents, where only the regular way checks the
        manifest (api/hot_lane.py)."""
        if trusted is None:
            stack = HotLane(stack, served=served, guard=guarded, ip_limit=ip_limit, member_limit=member_limit,
                            authenticator=container.services.authenticator, engine=container.core.read_engine,
                            kept=container.core.kept_connections)
        return Edge(stack, log=request_log, browsers=browsers, timeout=settings.request_timeout)

    app = Service(
        front=front,
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Mount(graphiql.ASSETS_PATH, StaticFiles(directory=graphiql.ASSETS)),  # public: GraphiQL's code
            WebSocketRoute("/graphql", graphql),
        ],
        lifespan=lifespan,
    )
    app.state.container = container
    return app

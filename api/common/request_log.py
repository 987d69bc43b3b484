"""One log line per HTTP request, with the request id that ties it to the client and to a masked fault.

The request id is the client's `X-Request-Id` when it is a sane one (1 to 128 of `A-Z a-z 0-9 . _ : -`; a load
balancer's or a client's own), else a new one; it goes back in the response's `X-Request-Id`, into the message of
a masked fault ("Internal error (request ...)", api/common/exposure.py) and into this line:

    request_id, method, path (never the query string: a GET's variables may hold personal data), status,
    duration_ms, principal (the staff id, never a token or an e-mail), api_key (its id, when one was used),
    operation (the operation's name, given or the document's) and operation_type, sql (statements the request ran), outcome (ok,
    errors: GraphQL errors in a 200, refused: 4xx, failed: 5xx) and codes (the errors' `extensions.code`s, never
    their messages, which may quote input), trace_id (when tracing, infrastructure/tracing.py)

Every response, and the handshake of a WebSocket (subscriptions), also says which process answered:
`X-Served-By: <hostname>:<pid>` (one header fixed when the app is built; behind a load balancer it tells the API
processes apart, docs/deployment.md, and the local cluster's test checks the balancing with it).

Production writes each line as one JSON object (`JsonLines`), development as readable text (`Readable`);
`crm serve` sets this up (`logging_config`) in place of uvicorn's access log. The request lines are written in
batches (`BatchedLines`: at most a quarter of a second, or 64 KiB, after they were logged; everything else at
once), as nginx's `access_log ... buffer= flush=` does: one write per line cost a fifth of a hot read's time.
/healthz and /readyz are logged only when they do not answer 200 (a load balancer asks them every few seconds), /metrics likewise (Prometheus).
Every /graphql request also counts in the metrics (infrastructure/metrics.py `request_done`).
"""
from __future__ import annotations

import logging
import os
import random
import re
import socket
import threading
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Callable

import orjson
from opentelemetry.propagate import extract
from opentelemetry.trace import SpanKind, Tracer
from starlette.types import Message, Scope, Send

from api.common.exposure import REQUEST_ID
from api.common.rate_limits import principal
from infrastructure.db.statements import STATEMENTS, count_statements
from infrastructure.metrics import request_done

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger("crm.request")
SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
QUIET_PATHS = ("/healthz", "/readyz", "/metrics")
_OPERATION = re.compile(r"\b(query|mutation|subscription)\b\s*([_A-Za-z][_0-9A-Za-z]*)?")
_KINDS: OrderedDict[tuple[str, str | None], tuple[str, str | None]] = OrderedDict()  # -> (type, name)
KINDS_KEPT = 1000


def operation_of(document: str, name: str | None) -> tuple[str, str | None]:
    """The operation's type (query, mutation or subscription; `{ ... }` is a query) and name: the one `name` picks,
    or the document's first."""
    key = (document, name)
    known = _KINDS.get(key)
    if known is None:
        known = ("query", name)
        for found in _OPERATION.finditer(document):
            if name is None or found.group(2) == name:
                known = (found.group(1), found.group(2))
                break
        _KINDS[key] = known
        if len(_KINDS) > KINDS_KEPT:
            _KINDS.popitem(last=False)
    return known


@dataclass(slots=True)
class RequestLine:
    """One HTTP request's line while it runs (`RequestLog.begin` to `RequestLog.end`)."""

    request_id: str
    started: float
    headers: tuple[tuple[bytes, bytes], tuple[bytes, bytes]]  # X-Request-Id and X-Served-By, for the answer
    counter: list[int]  # the statements it ran (infrastructure/db/statements.py)
    tokens: tuple[Any, Any]
    span: Any = None
    status: int = 500  # until an answer starts
    codes: tuple[str, ...] = ()


class RequestLog:
    """The request id in and out, the line and the request's metrics (see the module's docstring); the edge
    (api/common/edge.py) calls it for every HTTP request, and for a WebSocket's handshake (`accepting`)."""

    def __init__(self, engines: Callable[[], list[AsyncEngine]], tracer: Tracer | None = None) -> None:
        self._engines = engines
        self._counting = False
        self._tracer = tracer  # a span per request when tracing (infrastructure/tracing.py)
        self._served_by = served_by()

    def begin(self, scope: Scope, given: bytes) -> RequestLine:
        """The request's line, `given` its X-Request-Id header (b"" for none)."""
        if not self._counting:
            pools = set()
            for engine in self._engines():  # PostgreSQL's read engine is the write engine's, in autocommit
                if id(engine.sync_engine.pool) not in pools:
                    pools.add(id(engine.sync_engine.pool))
                    count_statements(engine)
            self._counting = True
        text = given.decode("latin-1")
        # a new id only has to be unique, not secret: 64 random bits of the (fork-safe) Mersenne twister, without
        # the system call for each of secrets' bytes
        request_id = text if text and SANE_ID.fullmatch(text) else f"{random.getrandbits(64):016x}"
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        counter = [0]
        line = RequestLine(request_id, time.perf_counter(), ((b"x-request-id", request_id.encode()), self._served_by),
                           counter, (REQUEST_ID.set(request_id), STATEMENTS.set(counter)))
        if self._tracer is not None:
            carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            line.span = self._tracer.start_span(f"{scope['method']} {scope['path']}", context=extract(carrier),
                                                kind=SpanKind.SERVER, attributes={"crm.request_id": request_id})
            state["trace_id"] = format(line.span.get_span_context().trace_id, "032x")
        return line

    @staticmethod
    def errors_in(line: RequestLine, body: bytes) -> None:
        """Notes the errors' codes of an answer's body."""
        if b'"errors"' in body:
            line.codes = _codes(body)

    def end(self, scope: Scope, line: RequestLine) -> None:
        REQUEST_ID.reset(line.tokens[0])
        STATEMENTS.reset(line.tokens[1])
        if line.span is not None:
            line.span.set_attribute("http.response.status_code", line.status)
            line.span.end()
        if line.status != 200 or scope["path"] not in QUIET_PATHS:
            self._done(scope, scope["state"], line.request_id, line.status, line.codes, line.counter[0],
                       time.perf_counter() - line.started)

    def accepting(self, send: Send) -> Send:
        """`send`, with X-Served-By in the WebSocket handshake's answer."""
        async def accepting(message: Message) -> None:
            if message["type"] == "websocket.accept":
                message = {**message, "headers": [*message.get("headers", ()), self._served_by]}
            await send(message)
        return accepting

    @staticmethod
    def _done(scope: Scope, state: dict[str, Any], request_id: str, status: int, codes: tuple[str, ...],
              statements: int, seconds: float) -> None:
        """The request's metrics (infrastructure/metrics.py), and its line."""
        body = state.get("json_body")
        name = body.get("operationName") if isinstance(body, dict) else None
        name = name if isinstance(name, str) else None
        document = body.get("query") if isinstance(body, dict) else None
        kind, name = operation_of(document, name) if isinstance(document, str) else (None, name)
        outcome = "failed" if status >= 500 else "refused" if status >= 400 else "errors" if codes else "ok"
        if scope["path"] == "/graphql":
            request_done(kind, name, outcome, seconds, statements)
        if not log.isEnabledFor(logging.INFO):
            return
        who = principal(scope)  # the staff member signed in, as the member's rate limit keys them
        fields = {
            "request_id": request_id, "method": scope["method"], "path": scope["path"], "status": status,
            "duration_ms": round(seconds * 1000, 2), "principal": str(who) if who else None,
            "api_key": str(state["api_key_id"]) if state.get("api_key_id") else None,
            "operation": name, "operation_type": kind, "sql": statements, "outcome": outcome,
            "codes": list(codes), "trace_id": state.get("trace_id")}
        lines = _batched_json_lines()
        if lines is None:
            log.info("request", extra={"fields": fields})
        else:
            lines.add(JsonLines.request_line(time.time(), fields) + lines.terminator)


def _batched_json_lines() -> BatchedLines | None:
    """The request lines' one handler when it is `crm serve`'s (BatchedLines writing JsonLines) and nothing else
    would see a record (no filters): then a line is written as that handler would write the record, without
    making one (the LogRecord and its dispatch were half of the line's cost). Anything else gets records."""
    handlers = log.handlers
    if len(handlers) != 1 or log.filters:
        return None
    handler = handlers[0]
    if type(handler) is BatchedLines and type(handler.formatter) is JsonLines and not handler.filters \
            and handler.level <= logging.INFO:
        return handler
    return None


def lean_log_records() -> None:
    """Records without the caller's file and line, the thread's and the process's names: no formatter of ours
    writes them, and finding them was half the cost of a request's line (the logging HOWTO's "Optimization")."""
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


def served_by() -> tuple[bytes, bytes]:
    """The X-Served-By header of this process: `<hostname>:<pid>`."""
    return b"x-served-by", f"{socket.gethostname()}:{os.getpid()}".encode()


def _codes(body: bytes) -> tuple[str, ...]:
    try:
        errors = orjson.loads(body).get("errors") or []
    except (orjson.JSONDecodeError, AttributeError):
        return ()
    found = {e.get("extensions", {}).get("code") for e in errors if isinstance(e, dict)}
    return tuple(sorted(str(code) for code in found if code))


class JsonLines(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and a request line's fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {"at": _at(record.created), "level": record.levelname.lower(), "logger": record.name}
        fields = getattr(record, "fields", None)
        if fields is None or "request_id" not in fields:  # a request's line is its fields; others say something
            line["message"] = record.getMessage()
        if fields is not None:
            line.update(fields)
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return orjson.dumps(line).decode()

    @staticmethod
    def request_line(created: float, fields: dict[str, Any]) -> str:
        """What `format` makes of the request line logged at `created` (time.time()) with `fields`."""
        return orjson.dumps({"at": _at(created), "level": "info", "logger": log.name, **fields}).decode()


def _at(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")


class Readable(logging.Formatter):
    """A request line as `200 POST /graphql query Hot 1.3 ms 1 sql ok principal=... id=...`; others as usual
    (a worker's tick says what it did in a sentence)."""

    def __init__(self) -> None:
        super().__init__("%(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        f = getattr(record, "fields", None)
        if f is None or "request_id" not in f:
            return super().format(record)
        what = " ".join(p for p in (f["operation_type"], f["operation"]) if p)
        codes = f" [{', '.join(f['codes'])}]" if f["codes"] else ""
        return (f"{f['status']} {f['method']} {f['path']}{' ' + what if what else ''} {f['duration_ms']} ms "
                f"{f['sql']} sql {f['outcome']}{codes} principal={f['principal'] or '-'} id={f['request_id']}"
                + (f" trace={f['trace_id']}" if f.get("trace_id") else ""))


class BatchedLines(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that writes its records in batches: once `capacity` characters are waiting, or at the
    latest `interval` seconds after the first of them (a daemon thread of this process), and at exit
    (`logging.shutdown` flushes every handler). A record at `flush_level` or above is written at once, with
    whatever waits before it. A process killed outright loses at most the last `interval`'s lines."""

    def __init__(self, stream: Any = None, interval: float = 0.25, capacity: int = 64 * 1024,
                 flush_level: int = logging.WARNING) -> None:
        super().__init__(stream)
        self.interval, self.capacity, self.flush_level = interval, capacity, flush_level
        self._waiting: list[str] = []
        self._size = 0
        self._flushing = False  # whether this process's flusher thread runs (a forked child starts its own)
        self._due = threading.Event()
        handler = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _forked(handler()))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + self.terminator
        except Exception:  # noqa: BLE001 - as StreamHandler: reported by handleError, never raised
            self.handleError(record)
            return
        self.add(line, urgent=record.levelno >= self.flush_level)

    def add(self, line: str, urgent: bool = False) -> None:
        """A formatted line (with its terminator) to write with the next batch, or at once with it if `urgent`."""
        with self.lock:  # type: ignore[union-attr]
            self._waiting.append(line)
            self._size += len(line)
            if urgent or self._size >= self.capacity:
                self.flush()
            elif not self._flushing:
                self._flushing = True
                threading.Thread(target=self._flush_soon, name="crm-log-lines", daemon=True).start()
            elif len(self._waiting) == 1:
                self._due.set()

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            waiting, self._waiting, self._size = self._waiting, [], 0
            try:
                if waiting:
                    self.stream.write("".join(waiting))
                if hasattr(self.stream, "flush"):
                    self.stream.flush()
            except Exception:  # noqa: BLE001 - a closed or full stream: as StreamHandler, reported, not raised
                self.handleError(logging.LogRecord("crm", logging.ERROR, __file__, 0, "lines lost", None, None))

    def _flush_soon(self) -> None:
        self._due.set()
        while True:
            self._due.wait()
            self._due.clear()
            time.sleep(self.interval)
            self.flush()


def _forked(handler: BatchedLines | None) -> None:
    """In a forked child: the parent's flusher thread is not in it, and the lines waiting at the fork are the
    parent's to write (the child writing its copy too would write them twice)."""
    if handler is not None:
        handler._flushing = False
        handler._waiting, handler._size = [], 0


def logging_config(json_lines: bool, requests: bool = True) -> dict[str, Any]:
    """uvicorn's logging configuration, with the request lines (unless not `requests`) and every `crm.*` logger's
    warnings in the mode's format on standard output; uvicorn's own access log is replaced by these lines."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = {**LOGGING_CONFIG, "formatters": {**LOGGING_CONFIG["formatters"]},
                              "handlers": {**LOGGING_CONFIG["handlers"]}, "loggers": {**LOGGING_CONFIG["loggers"]}}
    config["formatters"]["crm"] = {"()": JsonLines if json_lines else Readable}
    config["handlers"]["crm"] = {"class": "logging.StreamHandler", "formatter": "crm", "stream": "ext://sys.stdout"}
    config["handlers"]["crm.request"] = {"()": BatchedLines, "formatter": "crm", "stream": "ext://sys.stdout"}
    config["loggers"]["crm"] = {"handlers": ["crm"], "level": "WARNING", "propagate": False}
    config["loggers"]["crm.request"] = {"handlers": ["crm.request"], "level": "INFO" if requests else "WARNING",
                                        "propagate": False}
    config["loggers"]["crm.worker"] = {"level": "INFO"}  # what each tick of `crm worker` did
    if json_lines:
        for name in ("default", "access"):
            config["handlers"][name] = {**config["handlers"][name], "formatter": "crm"}
    return config

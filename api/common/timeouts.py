"""A per-request timeout (`CRM_REQUEST_TIMEOUT`, 30 s): an HTTP GraphQL request still running then is cancelled,
its database work with it, and answered with HTTP 503, `Retry-After` and `extensions.code: TIMEOUT`.

The edge (api/common/edge.py), the one layer in front of the hot lane (api/hot_lane.py) and the router, keeps the
deadline, so every door is covered: the hot lane, the fast path, strawberry's execution, the sign-in and the guards in front
(and /readyz, /metrics, which answer far sooner). Cancelling the request's task cancels the statement it awaits: asyncpg sends
PostgreSQL a cancel request, and the request's connection is given back (or dropped) as on any other failure; a
unit of work that had not committed rolls back, so a timed-out mutation wrote nothing, unless it had committed
already, which a retry with the same `idempotencyKey` finds. On SQLite a statement already running in the
driver's thread finishes there, but nothing waits for it. WebSockets are not timed: a subscription lives long.
"""
from __future__ import annotations

import json
import logging

from starlette.types import Message, Scope

log = logging.getLogger("crm.api")

RETRY_AFTER = 5  # seconds a client is asked to wait before trying again


def timed_out(scope: Scope, seconds: float) -> tuple[Message, Message]:
    """The answer to a request cancelled after `seconds`: 503, Retry-After, `extensions.code: TIMEOUT`."""
    log.warning("request cancelled after %s s (CRM_REQUEST_TIMEOUT): %s", seconds, scope.get("path"))
    body = json.dumps({"data": None, "errors": [{
        "message": f"The request took longer than {seconds:g} s and was cancelled; nothing it had not "
                   "committed was written. Retry later.",
        "extensions": {"code": "TIMEOUT", "retryAfter": RETRY_AFTER}}]}).encode()
    return ({"type": "http.response.start", "status": 503, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(RETRY_AFTER).encode())]}, {"type": "http.response.body", "body": body})

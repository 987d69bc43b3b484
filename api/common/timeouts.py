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

import asyncio
import json
import logging
import os
import threading
from types import TracebackType

from starlette.types import Message, Scope

log = logging.getLogger("crm.api")
_running: list[object] = [None, None]  # (the loop running_loop() found, the thread it runs in)
os.register_at_fork(after_in_child=lambda: _running.__setitem__(slice(None), [None, None]))


def running_loop() -> asyncio.AbstractEventLoop:
    """`asyncio.get_running_loop()`, which on CPython 3.11 makes a getpid() system call on every call (to notice a
    fork): here once per loop. The loop found last is the running one while it runs in this thread (two loops never
    run at once in one thread), and a fork forgets it."""
    loop, thread = _running
    if loop is not None and thread == threading.get_ident() and loop.is_running():  # type: ignore[attr-defined]
        return loop  # type: ignore[return-value]
    found = asyncio.get_running_loop()
    _running[:] = [found, threading.get_ident()]
    return found


class Deadline:
    """`async with Deadline(seconds)` does what `async with asyncio.timeout(seconds)` does (None: no deadline): past
    it the task is cancelled and the block raises TimeoutError, unless someone else cancelled the task as well.
    Written out for the edge, which keeps one per request: CPython 3.11's asks for the running loop three times, and
    each ask is a system call."""

    __slots__ = ("_seconds", "_task", "_handle", "_cancelling", "_expired")

    def __init__(self, seconds: float | None) -> None:
        self._seconds = seconds
        self._task: asyncio.Task[object] | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._cancelling = 0
        self._expired = False

    def expired(self) -> bool:
        return self._expired

    async def __aenter__(self) -> Deadline:
        if self._seconds is not None:
            loop = running_loop()
            task = asyncio.current_task(loop)
            if task is None:
                raise RuntimeError("Deadline should be used inside a task")
            self._task, self._cancelling = task, task.cancelling()
            self._handle = loop.call_at(loop.time() + self._seconds, self._expire)
        return self

    def _expire(self) -> None:
        self._handle = None
        self._expired = True
        assert self._task is not None
        self._task.cancel()

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        _: TracebackType | None) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self._expired and self._task is not None:
            if self._task.uncancel() <= self._cancelling and kind is asyncio.CancelledError:
                raise TimeoutError from error  # no other cancellation came meanwhile: ours to answer


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

"""The edge: the one ASGI layer every request passes first, in front of the hot lane and of Starlette's own stack.

It does, for every HTTP request and in this order, what four layers of middleware did before:

- the request id and the request's line and metrics (api/common/request_log.py), and its trace span;
- CORS: a preflight is answered here, before any token is asked for (api/common/browsers.py);
- the request's deadline, CRM_REQUEST_TIMEOUT (api/common/timeouts.py): past it the request is cancelled and
  answered 503 TIMEOUT;
- on the answer's way out, one pass over its headers: X-Request-Id, X-Served-By, the security headers, CORS's.

Folded because each layer wrapped `send` and re-read the request's headers of its own: for a hot read
(`customer(id) { contacts }`), the four took about a fifth of the process's time for the request. A fault that
escapes everything below it is answered here, as a coded JSON 500 carrying the request id (Starlette's own error
layer, which sits below, answers the routes' faults first), and raised on for the server to log.

A WebSocket's handshake gets X-Served-By; the lifespan passes through.
"""
from __future__ import annotations

from contextlib import nullcontext

import orjson
from opentelemetry.trace import use_span
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.common.browsers import Browsers
from api.common.exposure import FAULT_MESSAGE
from api.common.request_log import RequestLog
from api.common.timeouts import Deadline, timed_out


class Edge:
    def __init__(self, app: ASGIApp, *, log: RequestLog, browsers: Browsers, timeout: float | None) -> None:
        self.app = app
        self.log = log
        self.browsers = browsers
        self.timeout = timeout if timeout else None  # 0 or None: no deadline

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, self.log.accepting(send) if scope["type"] == "websocket" else send)
            return
        headers = dict(scope["headers"])
        origin = headers.get(b"origin")
        tls = scope.get("scheme") == "https"
        preflight = self.browsers.is_preflight(scope, origin, headers)
        line = self.log.begin(scope, headers.get(b"x-request-id", b""))
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                line.status = message["status"]
                answer = list(message.get("headers") or ())
                message = {**message, "headers": [*self.browsers.headers(answer, origin, tls, preflight),
                                                  *line.headers]}
            elif message["type"] == "http.response.body":
                self.log.errors_in(line, message.get("body", b""))
            await send(message)

        deadline = Deadline(self.timeout)  # None: never
        try:
            if preflight:
                await self.browsers.preflight(scope)(scope, receive, sending)
            else:
                with nullcontext() if line.span is None else use_span(line.span, end_on_exit=False):
                    async with deadline:
                        await self.app(scope, receive, sending)
        except TimeoutError:
            if not deadline.expired():  # a timeout of something inside, not ours
                raise
            if started:  # half an answer went out (nothing of ours streams, but never two starts)
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            else:
                for message in timed_out(scope, self.timeout or 0):
                    await sending(message)
        except Exception:
            if not started:
                body = orjson.dumps({"data": None, "errors": [{
                    "message": FAULT_MESSAGE.format(request_id=line.request_id),
                    "extensions": {"code": "INTERNAL_ERROR", "requestId": line.request_id}}]})
                await sending({"type": "http.response.start", "status": 500, "headers": [
                    (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
                await sending({"type": "http.response.body", "body": body})
            raise
        finally:
            self.log.end(scope, line)

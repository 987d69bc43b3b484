"""A guard in front of the GraphQL view for JSON bodies the database or the parser would choke on.

PostgreSQL refuses NUL characters in text (SQLite would store them), and a deeply nested body makes
Python's JSON parser run out of recursion. Both are the client's mistake: 400 with a code, never a
fault. Multipart uploads are left to the import readers, which check their own rows.
"""
from __future__ import annotations

import json
from starlette.types import ASGIApp, Message, Receive, Scope, Send

NUL_ESCAPES = (b"\\u0000", b"\\U0000", b"\x00")


def _error(message: str) -> bytes:
    return json.dumps({"data": None, "errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]}).encode()


class RequestGuard:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers") or [])
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if scope["type"] != "http" or scope.get("method") != "POST" or content_type != b"application/json":
            await self.app(scope, receive, send)
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                await self._refuse(send, 413, "Request too large.")
                return
        problem, parsed = self._parsed(bytes(body))
        if problem:
            await self._refuse(send, 400, problem)
            return
        scope.setdefault("state", {})["json_body"] = parsed  # parsed once: the fast path (api/app.py) reads it
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)

    @staticmethod
    def _parsed(body: bytes) -> tuple[str | None, object]:
        """What is wrong with the body, if anything; else the parsed JSON (None when it is not JSON at all:
        the GraphQL view answers that itself)."""
        if any(escape in body for escape in NUL_ESCAPES):
            return "Text may not contain NUL characters.", None
        try:
            return None, json.loads(body)
        except RecursionError:
            return "The request is nested too deeply.", None
        except ValueError:
            return None, None

    @staticmethod
    async def _refuse(send: Send, status: int, message: str) -> None:
        body = _error(message)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


__all__ = ["RequestGuard"]

"""GraphQL over HTTP: the media type a response goes out as, and the status codes that come with it.

`application/json` is what older clients know and what a request without an Accept header (or with `*/*`) gets,
exactly as before: a request error (a document that does not parse, say) is HTTP 200 with `"data": null`.
`application/graphql-response+json` (Apollo Client 4, urql ... ask for it) follows the spec
(graphql.github.io/graphql-over-http): a request that could not be executed -- unparsable JSON, no or a
malformed query, a document that does not parse or validate, variables that do not coerce, a document refused
before it ran -- is 4xx without `data` (a response without `data` is never 200); one that ran is 200, field
errors included; 401 and 413 keep their codes, without `data`. The client gets the type it asked for from every
door of the endpoint (the fast path, strawberry, the guards in front), since this wraps them all.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
GRAPHQL_RESPONSE_TYPE = f"{GRAPHQL_RESPONSE}; charset=utf-8".encode()  # the content-type header it goes out with


def prefers_graphql_response(accept: str | None) -> bool:
    """Whether the Accept header ranks application/graphql-response+json at least as high as application/json
    (by q; wildcards count for application/json, the type older clients get)."""
    # a client sends the same Accept header with every request: a short one is read once per value
    return _kept_preference(accept) if accept is None or len(accept) <= KEPT_ACCEPT_LENGTH else _prefers(accept)


KEPT_ACCEPT_LENGTH = 256


@lru_cache(maxsize=256)
def _kept_preference(accept: str | None) -> bool:
    return _prefers(accept)


def _prefers(accept: str | None) -> bool:
    if not accept:
        return False
    ranks = {GRAPHQL_RESPONSE: 0.0, JSON: 0.0}
    for item in accept.split(","):
        media, *params = item.split(";")
        media = media.strip().lower()
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        key = JSON if media in ("*/*", "application/*") else media
        if key in ranks:
            ranks[key] = max(ranks[key], q)
    return ranks[GRAPHQL_RESPONSE] > 0 and ranks[GRAPHQL_RESPONSE] >= ranks[JSON]


def as_graphql_response(status: int, body: bytes) -> tuple[int, bytes]:
    """The spec's status and body for an application/json answer of `status` with `body`."""
    if status == 200 and body.startswith((b'{"data":{', b'{"data": {')):
        return status, body  # executed (the usual case): nothing to look at
    try:
        result: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return status, body
    if not isinstance(result, dict) or not result.get("errors") or result.get("data") is not None:
        return status, body
    if status == 200 and "data" in result and any("path" in error for error in result["errors"]
                                                  if isinstance(error, dict)):
        return status, body  # it ran: a field error nulled the data
    result.pop("data", None)
    return (400 if status == 200 else status), orjson.dumps(result)


class GraphQLResponseMediaType:
    """ASGI middleware around the GraphQL endpoint: for a client that prefers application/graphql-response+json,
    every application/json answer becomes one (status and body as `as_graphql_response` says); anything else
    (GraphiQL's HTML, WebSockets, clients that did not ask) passes untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        accept = dict(scope.get("headers") or []).get(b"accept", b"").decode("latin-1")
        if scope["type"] != "http" or not prefers_graphql_response(accept):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def rewrite(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                content_type = dict(message.get("headers") or []).get(b"content-type", b"")
                if content_type.split(b";")[0].strip().lower() == JSON.encode():
                    start = message  # held until the body is known
                    return
            elif message["type"] == "http.response.body" and start is not None:
                chunks.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                status, body = as_graphql_response(start["status"], b"".join(chunks))
                headers = [(name, value) for name, value in start.get("headers") or []
                           if name.lower() not in (b"content-type", b"content-length")]
                headers += [(b"content-type", GRAPHQL_RESPONSE_TYPE), (b"content-length", str(len(body)).encode())]
                await send({**start, "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        await self.app(scope, receive, rewrite)

"""Automatic persisted queries (Apollo's protocol): a client sends `extensions.persistedQuery.sha256Hash` instead
of the document; an unknown hash answers PERSISTED_QUERY_NOT_FOUND, and the client sends the document once more
with its hash, which is checked and kept. Mobile and partner clients then send a hash, not kilobytes of text, on
every request (GET included, so a CDN can cache it).

It sits inside RequestGuard (which parsed the JSON body) and in front of the GraphQL view: a known hash becomes
the document in the request the view and the fast path see, so nothing behind it knows about hashes. Documents
are kept per process, at most `size` of them (each up to MAX_KEPT), least recently used first out (another process or a restart just
costs one more round trip: the protocol is made for that)."""
from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Receive, Scope, Send

from api.common.limits import replaying

MAX_KEPT = 64 * 1024  # characters: a longer document runs but is not kept (at most size x this in memory)
NOT_FOUND = {"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}


def _error(message: str) -> dict[str, Any]:
    return {"message": message, "extensions": {"code": "BAD_REQUEST"}}


class PersistedQueries:
    """`trusted`: the trusted documents' manifest ({sha256: document}, api/common/trusted_documents.py) when only
    they may run: their hashes are known from the start, and no other document is kept."""

    def __init__(self, app: ASGIApp, size: int = 10_000, trusted: dict[str, str] | None = None) -> None:
        self.app = app
        self.size = size
        self.trusted = trusted
        self._documents: OrderedDict[str, str] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope.get("method") == "GET":
            params = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
            request = {"query": params.get("query"), "extensions": _json(params.get("extensions"))}
        else:
            request = scope.get("state", {}).get("json_body")
        if not isinstance(request, dict) or not isinstance(request.get("extensions"), dict) \
                or "persistedQuery" not in request["extensions"]:
            await self.app(scope, receive, send)
            return
        document, problem = self._resolve(request.get("query"), request["extensions"]["persistedQuery"])
        if problem is not None:
            await _answer(send, problem)
            return
        if scope.get("method") == "GET":
            params["query"] = document  # type: ignore[index]
            scope = {**scope, "query_string": urlencode(params).encode()}
            await self.app(scope, receive, send)
            return
        request["query"] = document  # the parsed body the fast path reads, and the bytes the view reads
        body = json.dumps(request).encode()
        headers = [(k, v) for k, v in scope.get("headers") or [] if k != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await self.app({**scope, "headers": headers}, replaying(body, receive), send)

    def _resolve(self, query: Any, persisted: Any) -> tuple[str | None, dict[str, Any] | None]:
        """(the document, None), or (None, the error to answer with)."""
        if not isinstance(persisted, dict) or persisted.get("version") != 1 \
                or not isinstance(persisted.get("sha256Hash"), str):
            return None, _error("extensions.persistedQuery must be {version: 1, sha256Hash: <hex>}.")
        digest = persisted["sha256Hash"].lower()
        if query is None:
            if self.trusted is not None:
                document = self.trusted.get(digest)
                return (document, None) if document is not None else (None, NOT_FOUND)
            document = self._documents.get(digest)
            if document is None:
                return None, NOT_FOUND
            self._documents.move_to_end(digest)
            return document, None
        if not isinstance(query, str):
            return None, _error("query must be a string.")
        if hashlib.sha256(query.encode()).hexdigest() != digest:
            return None, _error("extensions.persistedQuery.sha256Hash is not the SHA-256 of the query.")
        if self.trusted is None and len(query) <= MAX_KEPT:  # trusted documents: the manifest is the store
            self._documents[digest] = query
            self._documents.move_to_end(digest)
            while len(self._documents) > self.size:
                self._documents.popitem(last=False)
        return query, None


def _json(text: str | None) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


async def _answer(send: Send, error: dict[str, Any]) -> None:
    """As a GraphQL response (200, no data), which is what Apollo's link looks for; a client that asked for
    application/graphql-response+json gets it as a 400 without data (api/common/media_types.py)."""
    body = json.dumps({"errors": [error]}).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})

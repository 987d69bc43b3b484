"""The hot lane: the endpoint's shortest way for the request a client repeats most.

A POST of a JSON document that this process has answered whole by the fast path before (api/fast_path.py), from
a member this process has admitted before, is answered here, in front of Starlette's router and the endpoint's
chain of middleware (rate limits, sign-in, the body guard, persisted queries, the GraphQL view). Each of those
layers wraps `send`, re-reads the headers and builds request and response objects of its own; for a hot read
(`customer(id) { contacts }`, about 0.2 ms of Python in all) they cost about a third of the request.

The lane runs the same checks, by the same objects, in the same order: the client IP's rate limit, the token
(`Authenticator.bearer`), the member's rate limit, the body's size and checks (`RequestGuard.parsed`), then the
fast path with the sign-in pending (api/common/sign_in.py). The edge (api/common/edge.py: the request log, CORS,
the security headers, the deadline) wraps it as it wraps every route; Starlette's own layers come after it. Whatever it does not answer itself it hands on, body and all, to the regular
way, which then decides as it always did: a token refused, a member not known yet, a body too large or flawed,
a persisted or unknown document, an answer the fast path declines. A rate limit counts a request once, whichever
door it came through (`RateLimit.admits`). Not used with trusted documents (CRM_TRUSTED_DOCUMENTS): there only
the manifest's documents may run, and the regular way checks that.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.common.limits import RequestGuard, replaying
from api.common.media_types import GRAPHQL_RESPONSE_TYPE, prefers_graphql_response
from api.common.rate_limits import RateLimit
from api.common.sign_in import PendingSignIn
from infrastructure.auth import Authenticator, InvalidToken
from infrastructure.db.reads import request_connection

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from infrastructure.db.reads import KeptConnections

    from api.app import GraphQLApp



class HotLane:
    """ASGI middleware in front of the router (see the module's docstring); `app` is the regular way."""

    def __init__(self, app: ASGIApp, *, served: "GraphQLApp", guard: RequestGuard, ip_limit: RateLimit,
                 member_limit: RateLimit, authenticator: Callable[[], Authenticator],
                 engine: Callable[[], "AsyncEngine"], kept: Callable[[], "KeptConnections"]) -> None:
        self.app = app
        self.served = served
        self.guard = guard
        self.ip_limit = ip_limit
        self.member_limit = member_limit
        self.authenticator = authenticator  # the container's providers, asked per request as Authenticate does
        self.engine = engine
        self.kept = kept
        self.answered = 0  # requests the lane answered itself (a figure for tests and metrics)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != "/graphql":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"")
        authorization = headers.get(b"authorization")
        if headers.get(b"content-type", b"").split(b";")[0].strip().lower() != b"application/json" \
                or authorization is None or not declared.isdigit() or int(declared) > self.guard.max_json_bytes:
            await self.app(scope, receive, send)
            return
        if not await self.ip_limit.admits(scope, send):
            return
        try:
            authenticator = self.authenticator()
            bearer = authenticator.bearer(authorization.decode("latin-1"))
        except InvalidToken:
            await self.app(scope, receive, send)  # refused there, with the answer it gets there
            return
        known = authenticator.last_known(bearer.staff_id) if bearer.staff_id is not None else None
        if known is None:
            await self.app(scope, receive, send)
            return
        state = scope["state"]
        sign_in = state["sign_in"] = PendingSignIn(authenticator, bearer, known)
        if not await self.member_limit.admits(scope, send):
            return
        body, more = await self._body(receive)
        answer = None
        if not more:
            problem, request = self.guard.parsed(body)
            if problem is None and isinstance(request, dict) and "extensions" not in request:
                state["json_body"] = request  # as RequestGuard leaves it: what the request log names
                async with request_connection(self.engine(), self.kept()):
                    answer = await self.served.fast_answer(request, known, sign_in)
        if answer is None:
            del state["sign_in"]  # the regular way signs in for itself
            await self.app(scope, replaying(body, receive, more), send)
            return
        self.answered += 1
        media = GRAPHQL_RESPONSE_TYPE if prefers_graphql_response(headers.get(b"accept", b"").decode("latin-1")) \
            else b"application/json"
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", media), (b"content-length", str(len(answer)).encode())]})
        await send({"type": "http.response.body", "body": answer})

    async def _body(self, receive: Receive) -> tuple[bytes, bool]:
        """The body, read until it ends or passes the JSON limit (the regular way then reads the rest, and
        refuses it), and whether more is to come."""
        message: Message = await receive()
        body, more = message.get("body", b""), message.get("more_body", False)
        if not more:
            return body, False
        chunks = bytearray(body)
        while more and len(chunks) <= self.guard.max_json_bytes:
            message = await receive()
            chunks += message.get("body", b"")
            more = message.get("more_body", False)
        return bytes(chunks), more


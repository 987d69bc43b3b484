"""What browsers are told: which other origins may call the API (CORS), and the security headers.

- CORS: an explicit allow-list, CRM_CORS_ORIGINS (comma-separated origins; `*` is refused: a CRM's data is
  not for any web page). Unset, development allows the usual local dev servers' origins and production none.
  Preflights are answered before authentication and cached by the browser (`max_age`). Tokens travel in the
  Authorization header, never in cookies, so no credentials mode is offered.
- Every response: `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`; the HTML page (GraphiQL) a
  Content-Security-Policy that lets it load its scripts and styles from this origin only (its own inline
  start-up script included), talk only to this origin, and be framed by nobody; `Strict-Transport-Security` when the request came over TLS.
"""
from __future__ import annotations

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEVELOPMENT_ORIGINS = ("http://localhost:3000", "http://127.0.0.1:3000", "http://localhost:5173",
                       "http://127.0.0.1:5173", "http://localhost:8080", "http://127.0.0.1:8080")
PREFLIGHT_MAX_AGE = 600
GRAPHIQL_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
                "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
                "base-uri 'none'; form-action 'self'")  # the page's assets are this service's (api/graphiql/)
ALWAYS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tls = scope.get("scheme") == "https"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                headers += ALWAYS
                if tls:
                    headers.append(HSTS)
                if any(k.lower() == b"content-type" and v.startswith(b"text/html") for k, v in headers):
                    headers.append((b"content-security-policy", GRAPHIQL_CSP.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


def browser_middleware(origins: tuple[str, ...]) -> list[Middleware]:
    """CORS for `origins` (outermost: a preflight needs no token), then the security headers."""
    return [Middleware(CORSMiddleware, allow_origins=list(origins), allow_methods=["GET", "POST"],
                       allow_headers=["Authorization", "Content-Type", "Accept"], allow_credentials=False,
                       max_age=PREFLIGHT_MAX_AGE),
            Middleware(SecurityHeaders)]

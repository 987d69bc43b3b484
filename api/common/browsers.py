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

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

DEVELOPMENT_ORIGINS = ("http://localhost:3000", "http://127.0.0.1:3000", "http://localhost:5173",
                       "http://127.0.0.1:5173", "http://localhost:8080", "http://127.0.0.1:8080")
PREFLIGHT_MAX_AGE = 600
GRAPHIQL_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
                "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
                "base-uri 'none'; form-action 'self'")  # the page's assets are this service's (api/graphiql/)
ALWAYS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
CSP = (b"content-security-policy", GRAPHIQL_CSP.encode())


class Browsers:
    """The CORS policy for `origins` and the security headers, applied by the edge (api/common/edge.py) to every
    HTTP answer. Preflights are judged by Starlette's CORS rules (`CORSMiddleware`, used here for its decisions,
    not as a layer); a simple request's answer gets the same headers that middleware would give it."""

    def __init__(self, origins: tuple[str, ...]) -> None:
        self._cors = CORSMiddleware(_no_app, allow_origins=list(origins), allow_methods=["GET", "POST"],
                                    allow_headers=["Authorization", "Content-Type", "Accept"],
                                    allow_credentials=False, max_age=PREFLIGHT_MAX_AGE)
        self._simple = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in self._cors.simple_headers.items()]

    @staticmethod
    def is_preflight(scope: Scope, origin: bytes | None, headers: dict[bytes, bytes]) -> bool:
        return origin is not None and scope["method"] == "OPTIONS" and b"access-control-request-method" in headers

    def preflight(self, scope: Scope) -> Response:
        """The answer to a CORS preflight: allowed (cached by the browser for `max_age`) or 400."""
        return self._cors.preflight_response(request_headers=Headers(scope=scope))

    def headers(self, answer: list[tuple[bytes, bytes]], origin: bytes | None, tls: bool,
                preflight: bool = False) -> list[tuple[bytes, bytes]]:
        """`answer`'s headers with the security headers and, unless it answers a `preflight` (which has them),
        CORS's: the origin mirrored when it is allowed, and `Vary: Origin` (joined to any Vary it has) either way."""
        headers = [*answer, *ALWAYS]
        if not preflight:
            vary = [v for k, v in answer if k.lower() == b"vary"]
            if vary:
                headers = [(k, v) for k, v in headers if k.lower() != b"vary"]
            if origin is not None:
                headers += self._simple
                if self._cors.is_allowed_origin(origin.decode("latin-1")):
                    headers.append((b"access-control-allow-origin", origin))
            headers.append((b"vary", b", ".join([*vary, b"Origin"])))
        if tls:
            headers.append(HSTS)
        if any(k.lower() == b"content-type" and v.startswith(b"text/html") for k, v in answer):
            headers.append(CSP)
        return headers


async def _no_app(scope: Scope, receive: Receive, send: Send) -> None:  # pragma: no cover - never called
    raise RuntimeError("Browsers' CORS rules are not a layer")

"""OpenID Connect end to end: an identity provider served by the test on loopback (its JWKS), tokens it signs
(RS256 and ES256) accepted for the staff member their email names, and refused when anything is off: another
issuer or audience, expired, not yet valid, an unknown key, a symmetric algorithm, too long a lifetime, an
unknown member, no email. A rotated key is fetched when a token first names it."""
from __future__ import annotations

import asyncio
import json
import socket
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, AsyncIterator

import httpx
import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from infrastructure.settings import Settings
from tests.conftest import Database, app_with

ME = {"query": "{ me { email } }"}


class Provider:
    """An identity provider's JWKS on 127.0.0.1, and tokens signed with its keys."""

    def __init__(self) -> None:
        self.keys: dict[str, tuple[Any, str]] = {}  # kid -> (private key, algorithm)
        self.fetches = 0
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    def add_key(self, kid: str, algorithm: str = "RS256") -> None:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048) if algorithm == "RS256" \
            else ec.generate_private_key(ec.SECP256R1())
        self.keys[kid] = (private, algorithm)

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def token(self, email: str, *, kid: str = "k1", issuer: str | None = None, audience: str = "crm-api",
              lifetime: timedelta = timedelta(hours=1), starts: timedelta = timedelta(0), **extra: Any) -> str:
        private, algorithm = self.keys[kid]
        now = datetime.now(UTC)
        claims = {"iss": issuer or self.issuer, "aud": audience, "sub": uuid.uuid4().hex, "email": email,
                  "iat": now, "nbf": now + starts, "exp": now + lifetime, **extra}
        return jwt.encode(claims, private, algorithm=algorithm, headers={"kid": kid})

    async def _jwks(self, _: Request) -> JSONResponse:
        self.fetches += 1
        keys = []
        for kid, (private, algorithm) in self.keys.items():
            jwk = (RSAAlgorithm if algorithm == "RS256" else ECAlgorithm).to_jwk(private.public_key(), as_dict=True)
            keys.append({**jwk, "kid": kid, "alg": algorithm, "use": "sig"})
        return JSONResponse({"keys": keys})

    async def start(self) -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        app = Starlette(routes=[Route("/.well-known/jwks.json", self._jwks)])
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        assert self._server is not None and self._task is not None
        self._server.should_exit = True
        await asyncio.wait_for(self._task, 10)


@pytest.fixture(scope="module")
async def provider() -> AsyncIterator[Provider]:
    found = Provider()
    found.add_key("k1")
    found.add_key("ec1", "ES256")
    await found.start()
    yield found
    await found.stop()


@pytest.fixture(scope="module")
async def client(database: Database, provider: Provider) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(database_url=database.url, env="test", oidc_issuer=provider.issuer, db_pool_size=2,
                        db_max_overflow=0)
    async with app_with(settings) as (_, http):
        yield http


async def me(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/graphql", json=ME, headers={"Authorization": f"Bearer {token}"})


async def test_a_providers_token_signs_in_the_member_its_email_names(client: httpx.AsyncClient,
                                                                     provider: Provider) -> None:
    for kid in ("k1", "ec1"):
        response = await me(client, provider.token("Finance.Key@example.com", kid=kid))
        assert response.status_code == 200, response.text
        assert response.json()["data"]["me"]["email"] == "finance.key@example.com"
    fetched = provider.fetches
    await me(client, provider.token("finance.key@example.com"))
    assert provider.fetches == fetched  # the keys are cached


@pytest.mark.parametrize("bad", ["issuer", "audience", "expired", "not yet", "lifetime", "nobody", "no email",
                                 "hs256", "unknown key"])
async def test_anything_off_is_refused(client: httpx.AsyncClient, provider: Provider, bad: str) -> None:
    email = "finance.key@example.com"
    token = {
        "issuer": lambda: provider.token(email, issuer="http://127.0.0.1:1"),
        "audience": lambda: provider.token(email, audience="someone-else"),
        "expired": lambda: provider.token(email, lifetime=timedelta(minutes=-5)),
        "not yet": lambda: provider.token(email, starts=timedelta(minutes=5)),
        "lifetime": lambda: provider.token(email, lifetime=timedelta(days=30)),
        "nobody": lambda: provider.token("nobody@example.com"),
        "no email": lambda: jwt.encode({"iss": provider.issuer, "aud": "crm-api", "iat": datetime.now(UTC),
                                        "exp": datetime.now(UTC) + timedelta(hours=1)},
                                       provider.keys["k1"][0], algorithm="RS256", headers={"kid": "k1"}),
        "hs256": lambda: jwt.encode({"iss": provider.issuer, "aud": "crm-api", "email": email,
                                     "iat": datetime.now(UTC), "exp": datetime.now(UTC) + timedelta(hours=1)},
                                    "a-shared-secret-anybody-could-guess", algorithm="HS256",
                                    headers={"kid": "k1"}),
        "unknown key": lambda: jwt.encode({"iss": provider.issuer, "aud": "crm-api", "email": email,
                                           "iat": datetime.now(UTC), "exp": datetime.now(UTC) + timedelta(hours=1)},
                                          rsa.generate_private_key(public_exponent=65537, key_size=2048),
                                          algorithm="RS256", headers={"kid": "forged"}),
    }[bad]()
    response = await me(client, token)
    assert response.status_code == 401, (bad, response.text)
    assert json.loads(response.text)["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_rotated_key_is_fetched_when_a_token_first_names_it(client: httpx.AsyncClient,
                                                                    provider: Provider) -> None:
    assert (await me(client, provider.token("sales.key@example.com"))).status_code == 200
    provider.add_key("k2")
    await asyncio.sleep(2.1)  # the JWKS client fetches again at most every 2 s
    response = await me(client, provider.token("sales.key@example.com", kid="k2"))
    assert response.status_code == 200, response.text

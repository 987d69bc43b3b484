"""Bearer tokens (signed JWTs via PyJWT) and resolving them to an active staff member."""
from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from datetime import UTC, datetime, timedelta

import jwt
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.organisation import Staff
from infrastructure.db import tables as t
from infrastructure.db.reads import Reads
from infrastructure.db.repositories.organisation import staff_from_row

ISSUER = "crm"
STAFF_BY_ID = select(t.staff).where(t.staff.c.id == bindparam("staff_id"))  # built once: it runs every request
AUDIENCE = "crm-api"
ALGORITHM = "HS256"


class InvalidToken(Exception):
    pass


VERIFIED_KEPT = 4096


class TokenService:
    def __init__(self, secret: str, default_ttl_seconds: int) -> None:
        self._secret = secret
        self._ttl = default_ttl_seconds
        # tokens whose signature and claims were checked: their subject and expiry. Checking a signature is the
        # same work for the same token every time (a client sends one token with every request); its expiry
        # is checked again on every use, and whether its holder is still active is the Authenticator's.
        self._verified: OrderedDict[str, tuple[uuid.UUID, float]] = OrderedDict()

    def issue(self, staff_id: uuid.UUID, ttl: timedelta | None = None, now: datetime | None = None) -> str:
        now = now or datetime.now(UTC)
        claims = {
            "sub": str(staff_id),
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + (ttl if ttl is not None else timedelta(seconds=self._ttl)),
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def subject(self, token: str) -> uuid.UUID:
        known = self._verified.get(token)
        if known is not None:
            if known[1] > time.time():
                return known[0]
            del self._verified[token]
        try:
            claims = jwt.decode(token, self._secret, algorithms=[ALGORITHM], audience=AUDIENCE, issuer=ISSUER,
                                options={"require": ["exp", "iat", "sub"]})
            subject = uuid.UUID(claims["sub"])
        except (jwt.PyJWTError, ValueError, TypeError) as err:
            raise InvalidToken(str(err)) from None
        self._verified[token] = (subject, float(claims["exp"]))
        if len(self._verified) > VERIFIED_KEPT:
            self._verified.popitem(last=False)
        return subject


class Authenticator:
    """Turns an Authorization header into the acting Staff, checking activity on every request
    so a deactivated person's tokens stop working at once."""

    def __init__(self, tokens: TokenService, engine: AsyncEngine) -> None:
        self._tokens = tokens
        self._reads = Reads(engine)  # on the request's connection, which its resolvers then reuse

    async def authenticate(self, authorization: str | None) -> Staff:
        if not authorization:
            raise InvalidToken("missing Authorization header")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise InvalidToken("expected a Bearer token")
        staff_id = self._tokens.subject(token.strip())
        rows = await self._reads.all(STAFF_BY_ID, {"staff_id": staff_id})
        row = rows[0] if rows else None
        if row is None or not row.active:
            raise InvalidToken("unknown or deactivated staff member")
        return staff_from_row(row)

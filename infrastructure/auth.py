"""Bearer tokens (signed JWTs via PyJWT) and resolving them to an active staff member.

A token lives at most `max_ttl_seconds` (CRM_TOKEN_MAX_TTL, 12 h): longer ones are neither issued nor accepted,
whoever signed them. Its `iat` (to the microsecond) is checked against the member's stored row on every use
(`Staff.accepts_token_issued_at`): tokens issued before a deactivation stay dead after a reactivation.

An API key (`crmk_<key id>_<secret>`, application/api_keys.py) goes in the same header. It is checked in one
statement with the staff row it acts as: its secret's hash, not revoked, and the member as for a token (a key
issued before their deactivation stays dead too). Its scopes go with the request (`scopes_of`)."""
from __future__ import annotations

import hmac
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncEngine

from application.api_keys import hash_secret, key_id_of
from domain.organisation import Staff
from infrastructure.db import tables as t
from infrastructure.db.repositories.api_keys import SqlApiKeyRegistry
from infrastructure.db.security_tables import api_keys
from infrastructure.oidc import OidcVerifier
from infrastructure.db.reads import Reads
from infrastructure.db.repositories.organisation import staff_from_row

ISSUER = "crm"
STAFF_BY_ID = select(t.staff).where(t.staff.c.id == bindparam("staff_id"))  # built once: it runs every request
STAFF_BY_EMAIL = select(t.staff).where(t.staff.c.email == bindparam("email"))  # an OpenID Connect token's
STAFF_BY_API_KEY = select(t.staff, api_keys.c.secret_hash.label("key_hash"), api_keys.c.scopes.label("key_scopes"),
                          api_keys.c.revoked_at.label("key_revoked_at"), api_keys.c.created_at.label("key_created_at")
                          ).join(api_keys, api_keys.c.acts_as == t.staff.c.id).where(api_keys.c.id == bindparam("key_id"))
KEY_USE_RECORDED_EVERY = 60.0  # seconds: lastUsedAt is that precise, and costs a write at most once a minute
AUDIENCE = "crm-api"
ALGORITHM = "HS256"


class InvalidToken(Exception):
    """No valid token: what the client is told (`public`) says no more than that."""

    public = "Authentication required."


class ExpiredToken(InvalidToken):
    """A token this service signed, past its expiry: saying so leaks nothing (only its holder had it) and tells a
    GraphiQL user why a session that worked a minute ago stopped."""

    public = "The token has expired: get a new one (`crm token EMAIL`) and send it as Authorization: Bearer <token>."


class LifetimeTooLong(ValueError):
    pass


@dataclass(frozen=True)
class Bearer:
    """What a checked token says: whom it names, and when it was issued; or, for an API key, the key and its
    secret's hash (whom it acts as is stored with it)."""

    staff_id: uuid.UUID | None
    issued_at: datetime
    api_key: uuid.UUID | None = None
    secret_hash: str = ""
    oidc_token: str = ""  # an OpenID Connect token, checked by `confirm` (its keys may have to be fetched)


VERIFIED_KEPT = 4096
DEFAULT_MAX_TTL_SECONDS = 12 * 3600
CLOCK_SKEW_SECONDS = 1  # exp is whole seconds, iat not


class TokenService:
    def __init__(self, secret: str, default_ttl_seconds: int, max_ttl_seconds: int = DEFAULT_MAX_TTL_SECONDS) -> None:
        self._secret = secret
        self._ttl = default_ttl_seconds
        self.max_ttl = timedelta(seconds=max_ttl_seconds)
        # tokens whose signature and claims were checked: what they say and their expiry. Checking a signature is
        # the same work for the same token every time (a client sends one token with every request); its expiry
        # is checked again on every use, and whether its holder may still use it is the Authenticator's.
        self._verified: OrderedDict[str, tuple[Bearer, float]] = OrderedDict()

    def issue(self, staff_id: uuid.UUID, ttl: timedelta | None = None, now: datetime | None = None) -> str:
        """Raises LifetimeTooLong beyond the maximum lifetime."""
        now = now or datetime.now(UTC)
        ttl = ttl if ttl is not None else min(timedelta(seconds=self._ttl), self.max_ttl)
        if ttl > self.max_ttl:
            raise LifetimeTooLong(f"a token lives at most {self.max_ttl} (CRM_TOKEN_MAX_TTL), not {ttl}")
        claims = {
            "sub": str(staff_id),
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now.timestamp(),  # to the microsecond: compared with a deactivation's moment
            "exp": (now + ttl).timestamp(),
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def subject(self, token: str) -> uuid.UUID:
        return self.bearer(token).staff_id

    def bearer(self, token: str) -> Bearer:
        known = self._verified.get(token)
        if known is not None:
            if known[1] > time.time():
                return known[0]
            del self._verified[token]
            raise ExpiredToken("token expired")
        try:
            claims = jwt.decode(token, self._secret, algorithms=[ALGORITHM], audience=AUDIENCE, issuer=ISSUER,
                                options={"require": ["exp", "iat", "sub"]})
            bearer = Bearer(uuid.UUID(claims["sub"]), datetime.fromtimestamp(float(claims["iat"]), UTC))
            lifetime = float(claims["exp"]) - float(claims["iat"])
        except jwt.ExpiredSignatureError:  # raised only once the signature checked out
            raise ExpiredToken("token expired") from None
        except (jwt.PyJWTError, ValueError, TypeError, OverflowError, OSError) as err:
            raise InvalidToken(str(err)) from None
        if lifetime > self.max_ttl.total_seconds() + CLOCK_SKEW_SECONDS:
            raise InvalidToken("the token lives longer than the maximum lifetime")
        self._verified[token] = (bearer, float(claims["exp"]))
        if len(self._verified) > VERIFIED_KEPT:
            self._verified.popitem(last=False)
        return bearer


KNOWN_KEPT = 4096


class Authenticator:
    """Turns an Authorization header into the acting Staff, checking the stored row on every request so a
    deactivated person's tokens stop working at once.

    The row is read by `confirm`, or (on the hot read paths) in the same statement as the request's answer: the
    API then proceeds with the member as last admitted (`last_known`) and hands the row to `admit` before the
    answer is used (application/queries/documents.py `SignIn`)."""

    def __init__(self, tokens: TokenService, engine: AsyncEngine, keys: SqlApiKeyRegistry | None = None,
                 oidc: OidcVerifier | None = None) -> None:
        self._tokens = tokens
        self._oidc = oidc
        self._reads = Reads(engine)  # on the request's connection, which its resolvers then reuse
        self._known: OrderedDict[uuid.UUID, Staff] = OrderedDict()
        self._keys = keys
        self._key_scopes: dict[uuid.UUID, tuple[str, ...]] = {}
        self._key_use_recorded: dict[uuid.UUID, float] = {}

    async def authenticate(self, authorization: str | None) -> Staff:
        return await self.confirm(self.bearer(authorization))

    def bearer(self, authorization: str | None) -> Bearer:
        """What a well-formed, signed and unexpired bearer token says (no database read)."""
        if not authorization:
            raise InvalidToken("missing Authorization header")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise InvalidToken("expected a Bearer token")
        key_id = key_id_of(token.strip())
        if key_id is not None:
            return Bearer(None, datetime.now(UTC), api_key=key_id, secret_hash=hash_secret(token.strip()))
        if self._oidc is not None and self._oidc.issued(token.strip()):
            return Bearer(None, datetime.now(UTC), oidc_token=token.strip())
        return self._tokens.bearer(token.strip())

    async def confirm(self, bearer: Bearer) -> Staff:
        if bearer.api_key is not None:
            return await self._confirm_key(bearer)
        if bearer.oidc_token:
            return await self._confirm_oidc(bearer.oidc_token)
        rows = await self._reads.all(STAFF_BY_ID, {"staff_id": bearer.staff_id})
        return self.admit(staff_from_row(rows[0]) if rows else None, bearer)

    async def _confirm_key(self, bearer: Bearer) -> Staff:
        assert bearer.api_key is not None
        rows = await self._reads.all(STAFF_BY_API_KEY, {"key_id": bearer.api_key})
        row = rows[0] if rows else None
        if row is None or row.key_revoked_at is not None or not hmac.compare_digest(row.key_hash, bearer.secret_hash):
            raise InvalidToken("unknown or revoked API key")
        actor = self.admit(staff_from_row(row), Bearer(row.id, row.key_created_at))
        self._key_scopes[bearer.api_key] = tuple(row.key_scopes)
        await self._record_use(bearer.api_key)
        return actor

    async def _confirm_oidc(self, token: str) -> Staff:
        assert self._oidc is not None
        try:
            claims = await self._oidc.claims(token)
        except (jwt.PyJWTError, OSError) as err:
            raise InvalidToken(str(err)) from None
        if float(claims["exp"]) - float(claims["iat"]) > self._tokens.max_ttl.total_seconds() + CLOCK_SKEW_SECONDS:
            raise InvalidToken("the token lives longer than the maximum lifetime")
        rows = await self._reads.all(STAFF_BY_EMAIL, {"email": str(claims["email"]).strip().lower()})
        staff = staff_from_row(rows[0]) if rows else None
        return self.admit(staff, Bearer(staff.id if staff else None,
                                        datetime.fromtimestamp(float(claims["iat"]), UTC)))

    def scopes_of(self, bearer: Bearer) -> tuple[str, ...] | None:
        """An API key's scopes once confirmed (None for a person's token: all their rights)."""
        return self._key_scopes.get(bearer.api_key) if bearer.api_key is not None else None

    async def _record_use(self, key_id: uuid.UUID) -> None:
        now = time.monotonic()
        if self._keys is None or now - self._key_use_recorded.get(key_id, -KEY_USE_RECORDED_EVERY) \
                < KEY_USE_RECORDED_EVERY:
            return
        self._key_use_recorded[key_id] = now
        await self._keys.used(key_id, datetime.now(UTC))

    def admit(self, staff: Staff | None, bearer: Bearer) -> Staff:
        """The stored staff member a token names, if they may act with it: active, and the token issued after
        their last deactivation."""
        if staff is None or not staff.accepts_token_issued_at(bearer.issued_at):
            raise InvalidToken("unknown or deactivated staff member, or a token from before a deactivation")
        self._known[staff.id] = staff
        self._known.move_to_end(staff.id)
        if len(self._known) > KNOWN_KEPT:
            self._known.popitem(last=False)
        return staff

    def last_known(self, staff_id: uuid.UUID) -> Staff | None:
        """The member as this process last admitted them (not a permission: `admit` must see the row again)."""
        return self._known.get(staff_id)

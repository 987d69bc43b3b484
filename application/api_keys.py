"""Use cases for API keys (rules in domain/api_key.py): issue one (the secret shown once), revoke one."""
from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass

from application.ports import ApiKeyRegistry, Clock, UnitOfWork
from domain.api_key import ApiKey
from domain.organisation import Staff
from domain.shared import InvalidInput, NotAuthorized

SECRET_PREFIX = "crmk_"  # tells a key from a bearer token (a JWT starts "eyJ")
SECRET_BYTES = 32


def hash_secret(secret: str) -> str:
    """What is stored of a secret: a random 256-bit secret needs no slow hash, a SHA-256 cannot be reversed."""
    return hashlib.sha256(secret.encode()).hexdigest()


def key_id_of(secret: str) -> uuid.UUID | None:
    """The key a secret names (`crmk_<key id>_<random>`), or None when it is not one."""
    if not secret.startswith(SECRET_PREFIX):
        return None
    key_id, _, rest = secret[len(SECRET_PREFIX):].partition("_")
    try:
        return uuid.UUID(hex=key_id) if rest else None
    except ValueError:
        return None


@dataclass(frozen=True)
class CreateApiKey:
    name: str
    scopes: tuple[str, ...]
    acts_as_id: uuid.UUID


@dataclass(frozen=True)
class IssuedApiKey:
    api_key: ApiKey
    secret: str  # handed out here, once, and never again


async def create_api_key(registry: ApiKeyRegistry, uow: UnitOfWork, clock: Clock, actor: Staff,
                         cmd: CreateApiKey) -> IssuedApiKey:
    """Raises NotAuthorized (not an ADMIN) and InvalidInput (name, scopes[i], actsAsId)."""
    if not (actor.active and actor.is_admin):
        raise NotAuthorized("Only an ADMIN manages API keys.")  # before telling whether the member exists
    async with uow:
        acts_as = await uow.staff.get(cmd.acts_as_id)
    if acts_as is None:
        raise InvalidInput("No such staff member.", field=("actsAsId",))
    key = ApiKey.issue(name=cmd.name, scopes=cmd.scopes, acts_as=acts_as, by=actor, at=clock.now())
    secret = f"{SECRET_PREFIX}{key.id.hex}_{secrets.token_urlsafe(SECRET_BYTES)}"
    await registry.add(key, hash_secret(secret))
    return IssuedApiKey(key, secret)


async def revoke_api_key(registry: ApiKeyRegistry, clock: Clock, actor: Staff, key_id: uuid.UUID) -> ApiKey:
    """Raises NotAuthorized (not an ADMIN) and InvalidInput (apiKeyId: unknown or revoked already)."""
    if not (actor.active and actor.is_admin):
        raise NotAuthorized("Only an ADMIN manages API keys.")
    key = await registry.get(key_id)
    if key is None:
        raise InvalidInput("No such API key.", field=("apiKeyId",))
    revoked = key.revoke(by=actor, at=clock.now())
    await registry.revoke(revoked)
    return revoked

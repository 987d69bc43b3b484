"""API keys: credentials for partner systems (a gateway, an integration) that act as one staff member.

Rules:
- OnlyAdminsManageApiKeys: an ADMIN issues, lists and revokes them.
- AKeyActsAsAnActiveMember: its rights are that member's (checked on every use, as for their tokens: a
  deactivated member's keys stop working), narrowed by its scopes.
- ScopesNarrowTheRights: `read` (queries and subscriptions; every key has it) and `write` (mutations);
  `federation` lets a gateway's key read the federation SDL (`_service`) where it is otherwise off.
- ARevokedKeyStaysRevoked: revoking is final; a new key is issued instead.
The secret is shown once at issue and stored only as a hash (application/api_keys.py).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from domain.organisation import Staff
from domain.shared import InvalidInput, NotAuthorized, require_text

READ, WRITE, FEDERATION = "read", "write", "federation"
SCOPES = (READ, WRITE, FEDERATION)
MAX_NAME_LENGTH = 100


def check_scopes(values: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Known scopes, de-duplicated in SCOPES order; `read` is implied."""
    chosen = {READ}
    for i, raw in enumerate(values):
        scope = raw.strip().lower()
        if scope not in SCOPES:
            raise InvalidInput(f"{raw!r} is not a scope; the scopes are {', '.join(SCOPES)}.", field=("scopes", str(i)))
        chosen.add(scope)
    return tuple(s for s in SCOPES if s in chosen)


@dataclass(frozen=True)
class ApiKey:
    id: uuid.UUID
    name: str
    scopes: tuple[str, ...]
    acts_as: uuid.UUID
    created_at: datetime
    created_by: uuid.UUID | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    @classmethod
    def issue(cls, *, name: str, scopes: list[str] | tuple[str, ...], acts_as: Staff, by: Staff,
              at: datetime) -> "ApiKey":
        """Raises NotAuthorized (OnlyAdminsManageApiKeys) or InvalidInput (name, scopes[i], actsAsId)."""
        _admin(by)
        if not acts_as.active:
            raise InvalidInput("A key acts as an active staff member.", field=("actsAsId",))
        return cls(id=uuid.uuid4(), name=require_text(name, "name", max_length=MAX_NAME_LENGTH) or "",
                   scopes=check_scopes(scopes), acts_as=acts_as.id, created_at=at, created_by=by.id)

    def revoke(self, *, by: Staff, at: datetime) -> "ApiKey":
        _admin(by)
        if self.revoked_at is not None:
            raise InvalidInput("The key was revoked already.", field=("apiKeyId",))
        return replace(self, revoked_at=at)

    def allows(self, scope: str) -> bool:
        return self.revoked_at is None and scope in self.scopes


def _admin(by: Staff) -> None:
    if not (by.active and by.is_admin):
        raise NotAuthorized("Only an ADMIN manages API keys.")

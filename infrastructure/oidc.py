"""OpenID Connect bearer tokens (CRM_OIDC_ISSUER): an identity provider's signed ID or access tokens, accepted
beside the CRM's own. The keys come from the provider's JWKS (CRM_OIDC_JWKS_URL, by default
`<issuer>/.well-known/jwks.json`), cached for JWKS_LIFESPAN seconds and fetched again when a token names a key
not seen yet (a rotation), at most every REFRESH_COOLDOWN seconds. Signature (RS256 or ES256 only), issuer,
audience, expiry and not-before are checked; the token's `email` names the staff member, who must be active
(and the token issued after their last deactivation), as for the CRM's own tokens (infrastructure/auth.py)."""
from __future__ import annotations

import asyncio
from typing import Any

import jwt

ALGORITHMS = ["RS256", "ES256"]
JWKS_LIFESPAN = 300.0
REFRESH_COOLDOWN = 2.0
LEEWAY_SECONDS = 30
FETCH_TIMEOUT = 5.0


class OidcVerifier:
    def __init__(self, issuer: str, audience: str, jwks_url: str | None = None) -> None:
        self.issuer = issuer
        self.audience = audience
        self._keys = jwt.PyJWKClient(jwks_url or issuer.rstrip("/") + "/.well-known/jwks.json", cache_keys=True,
                                     lifespan=JWKS_LIFESPAN, timeout=FETCH_TIMEOUT,
                                     cooldown_duration=REFRESH_COOLDOWN)

    def issued(self, token: str) -> bool:
        """Whether the token says it comes from this provider (not yet checked: `claims` does)."""
        try:
            return jwt.decode(token, options={"verify_signature": False}).get("iss") == self.issuer
        except jwt.PyJWTError:
            return False

    async def claims(self, token: str) -> dict[str, Any]:
        """The token's checked claims; raises jwt.PyJWTError. A key not cached yet is fetched in a thread (the
        JWKS client is synchronous), so the event loop never waits for the provider."""
        key = await asyncio.to_thread(self._keys.get_signing_key_from_jwt, token)
        return jwt.decode(token, key.key, algorithms=ALGORITHMS, audience=self.audience, issuer=self.issuer,
                          leeway=LEEWAY_SECONDS, options={"require": ["exp", "iat", "iss", "aud", "email"]})


def oidc_verifier(issuer: str | None, audience: str, jwks_url: str | None) -> OidcVerifier | None:
    return OidcVerifier(issuer, audience, jwks_url) if issuer else None

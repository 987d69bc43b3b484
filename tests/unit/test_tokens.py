"""Bearer tokens: a token checked once is not checked again until it expires, and then it is refused."""
from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from infrastructure.auth import InvalidToken, LifetimeTooLong, TokenService


def test_a_verified_token_still_expires() -> None:
    tokens = TokenService("s" * 40, 3600)
    staff = uuid.uuid4()
    token = tokens.issue(staff, timedelta(seconds=1))
    assert tokens.subject(token) == staff
    assert tokens.subject(token) == staff  # from what was verified
    time.sleep(1.1)
    with pytest.raises(InvalidToken):
        tokens.subject(token)


def test_another_secret_or_a_tampered_token_is_refused_even_after_a_good_one() -> None:
    tokens = TokenService("s" * 40, 3600)
    token = tokens.issue(uuid.uuid4())
    assert tokens.subject(token)
    with pytest.raises(InvalidToken):
        TokenService("t" * 40, 3600).subject(token)
    with pytest.raises(InvalidToken):
        tokens.subject(token[:-2] + ("AA" if not token.endswith("AA") else "BB"))


def test_no_token_lives_longer_than_the_maximum() -> None:
    tokens = TokenService("s" * 40, 3600, max_ttl_seconds=12 * 3600)
    with pytest.raises(LifetimeTooLong):
        tokens.issue(uuid.uuid4(), timedelta(hours=12, seconds=1))
    assert tokens.subject(tokens.issue(uuid.uuid4(), timedelta(hours=12)))
    now = datetime.now(UTC)
    century = jwt.encode({"sub": str(uuid.uuid4()), "iss": "crm", "aud": "crm-api", "iat": now,
                          "exp": now + timedelta(days=36500)}, "s" * 40, algorithm="HS256")
    with pytest.raises(InvalidToken, match="maximum lifetime"):  # signed with the right key, but for a century
        tokens.subject(century)


def test_the_default_lifetime_never_passes_the_maximum() -> None:
    tokens = TokenService("s" * 40, 8 * 3600, max_ttl_seconds=3600)
    claims = jwt.decode(tokens.issue(uuid.uuid4()), options={"verify_signature": False})
    assert round(claims["exp"] - claims["iat"]) == 3600


def test_a_token_says_when_it_was_issued_to_the_microsecond() -> None:
    """A deactivation's moment is compared with it: whole seconds would let a token issued just before pass."""
    tokens = TokenService("s" * 40, 3600)
    now = datetime.now(UTC)
    assert abs(tokens.bearer(tokens.issue(uuid.uuid4(), now=now)).issued_at - now) < timedelta(microseconds=2)

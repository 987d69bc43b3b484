"""Bearer tokens: a token checked once is not checked again until it expires, and then it is refused."""
from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest

from infrastructure.auth import InvalidToken, TokenService


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

"""`integrations` lists every joined system's health, for key users and above."""
from __future__ import annotations

from tests.conftest import Api

QUERY = "{ integrations { name kind state lastSuccessAt lastError pendingEvents } }"


async def test_members_may_not_see_integration_health(api: Api) -> None:
    errors = await api.errors(QUERY, as_="sales.member@example.com")
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"


async def test_key_users_see_a_list(api: Api) -> None:
    data = await api(QUERY, as_="finance.key@example.com")
    assert isinstance(data["integrations"], list)

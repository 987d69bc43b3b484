"""Authentication: a valid bearer token of an active staff member, or 401 with nothing leaked."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from api.common.relay import parse_global_id
from infrastructure.auth import InvalidToken
from tests.conftest import Api, unique

ME = "{ me { email role department { code } } }"
ADMIN = "admin@example.com"


async def test_requests_without_a_token_get_401_and_no_data(api: Api) -> None:
    response = await api.post(ME, as_=None)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json() == {"data": None, "errors": [
        {"message": "Authentication required.", "extensions": {"code": "UNAUTHENTICATED"}}]}


async def test_garbage_expired_and_foreign_tokens_get_401(api: Api) -> None:
    tokens = api.container.services.tokens()
    admin = await api.token_for("admin@example.com")
    me_id = (await api("{ me { id } }"))["me"]["id"]
    assert me_id
    expired = tokens.issue(__import__("uuid").uuid4(), timedelta(seconds=1), now=datetime.now(UTC) - timedelta(hours=1))
    for bad in ("nonsense", admin[:-4] + "AAAA", expired):
        response = await api.post(ME, token=bad)
        assert response.status_code == 401, bad


async def test_an_expired_token_says_it_expired(api: Api) -> None:
    """Distinct from an invalid one (both UNAUTHENTICATED): the user knows to get a new token, not to debug."""
    tokens = api.container.services.tokens()
    me = (await api.container.services.authenticator().authenticate(f"Bearer {await api.token_for(ADMIN)}"))
    expired = tokens.issue(me.id, timedelta(minutes=1), now=datetime.now(UTC) - timedelta(hours=9))
    response = await api.post(ME, token=expired)
    assert response.status_code == 401
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "UNAUTHENTICATED"} and "expired" in error["message"]
    forged = expired[:-4] + ("AAAA" if not expired.endswith("AAAA") else "BBBB")
    assert (await api.post(ME, token=forged)).json()["errors"][0]["message"] == "Authentication required."

    # a token that expires while it is in use (its check is remembered) says so too
    short = tokens.issue(me.id, timedelta(seconds=2))
    assert (await api.post(ME, token=short)).status_code == 200
    await asyncio.sleep(2.1)
    assert "expired" in (await api.post(ME, token=short)).json()["errors"][0]["message"]


async def test_introspection_needs_a_token_too(api: Api) -> None:
    response = await api.post("{ __schema { types { name } } }", as_=None)
    assert response.status_code == 401


async def test_health_endpoints_need_no_token(api: Api) -> None:
    assert (await api.client.get("/healthz")).json() == {"status": "ok"}
    ready = await api.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["database"] == "up"


async def test_me_is_the_token_holder(api: Api) -> None:
    data = await api(ME, as_="finance.key@example.com")
    assert data["me"] == {"email": "finance.key@example.com", "role": "KEY_USER", "department": {"code": "FINANCE"}}


async def test_a_deactivated_persons_token_stops_working_at_once(api: Api) -> None:
    email = f"{unique('leaver')}@example.com"
    departments = (await api("{ departments { id code } }"))["departments"]
    sales = next(d["id"] for d in departments if d["code"] == "SALES")
    created = await api("""mutation($input: CreateStaffInput!) { createStaff(input: $input) {
        staff { id version } userErrors { code } } }""",
                        {"input": {"name": "Leaver", "email": email, "departmentId": sales, "role": "MEMBER"}})
    staff = created["createStaff"]["staff"]
    assert (await api(ME, as_=email))["me"]["email"] == email
    await api("""mutation($input: UpdateStaffInput!) { updateStaff(input: $input) { staff { active } } }""",
              {"input": {"id": staff["id"], "active": False}})
    response = await api.post(ME, as_=email)
    assert response.status_code == 401


async def test_the_graphiql_page_is_served_without_a_token_and_holds_no_data(api: Api) -> None:
    response = await api.client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200 and "graphiql" in response.text.lower()
    assert "example.com" not in response.text


async def test_tokens_from_before_a_deactivation_stay_dead_after_the_reactivation(api: Api) -> None:
    """Over the regular path and the fast path (a member the process admitted before) alike, and on a
    WebSocket's connection_init: only a token issued after the reactivation works."""
    email = f"{unique('returner')}@example.com"
    departments = (await api("{ departments { id code } }"))["departments"]
    sales = next(d["id"] for d in departments if d["code"] == "SALES")
    created = await api("""mutation($input: CreateStaffInput!) { createStaff(input: $input) { staff { id } } }""",
                        {"input": {"name": "Returner", "email": email, "departmentId": sales, "role": "MEMBER"}})
    staff_id = created["createStaff"]["staff"]["id"]
    old = await api.token_for(email)
    assert (await api(ME, as_=email))["me"]["email"] == email  # admitted: the next request takes the fast path
    for active in (False, True):
        await api("""mutation($input: UpdateStaffInput!) { updateStaff(input: $input) { userErrors { code } } }""",
                  {"input": {"id": staff_id, "active": active}})
    for query in (ME, '{ customer(code: "DEMO-0001") { contacts { name } } }'):
        response = await api.post(query, token=old)
        assert response.status_code == 401, response.text
    with pytest.raises(InvalidToken):
        await api.container.services.authenticator().authenticate(f"Bearer {old}")  # the WebSocket's sign-in
    api.forget_token(email)
    assert (await api(ME, as_=email))["me"]["email"] == email


async def test_a_token_for_longer_than_the_maximum_lifetime_is_refused(api: Api) -> None:
    """Even signed with the right key (as `crm token --ttl 3650d` once made them)."""
    admin = (await api("{ me { id } }"))["me"]["id"]
    staff_id = str(parse_global_id(admin)[1])
    now = datetime.now(UTC)
    century = jwt.encode({"sub": staff_id, "iss": "crm", "aud": "crm-api", "iat": now,
                          "exp": now + timedelta(days=36500)}, api.container.core.settings().secret_key,
                         algorithm="HS256")
    response = await api.post(ME, token=century)
    assert response.status_code == 401
    assert api.container.core.settings().token_max_ttl_seconds == 12 * 3600

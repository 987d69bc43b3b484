"""Browsers: CORS by an explicit allow-list (the local dev origins in development, none in production unless
CRM_CORS_ORIGINS names them), preflights answered without a token and cached; security headers on every
response, a CSP on the GraphiQL page, HSTS over TLS."""
from __future__ import annotations

import httpx
import pytest

from infrastructure.settings import Settings, SettingsError
from tests.conftest import Api, Database, app_with

PREFLIGHT = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}


async def preflight(client: httpx.AsyncClient, origin: str) -> httpx.Response:
    return await client.options("/graphql", headers={"Origin": origin, **PREFLIGHT})


async def test_a_local_dev_origin_may_call_the_api_in_development(api: Api) -> None:
    response = await preflight(api.client, "http://localhost:5173")
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert "authorization" in response.headers["access-control-allow-headers"].lower()
    assert response.headers["access-control-max-age"] == "600"
    assert "access-control-allow-credentials" not in response.headers
    token = await api.token_for("admin@example.com")
    answered = await api.client.post("/graphql", json={"query": "{ me { email } }"},
                                     headers={"Origin": "http://localhost:5173", "Authorization": f"Bearer {token}"})
    assert answered.headers["access-control-allow-origin"] == "http://localhost:5173"


async def test_another_origin_is_not_allowed(api: Api) -> None:
    response = await preflight(api.client, "https://evil.example")
    assert response.status_code == 400 and "access-control-allow-origin" not in response.headers
    token = await api.token_for("admin@example.com")
    answered = await api.client.post("/graphql", json={"query": "{ me { email } }"},
                                     headers={"Origin": "https://evil.example", "Authorization": f"Bearer {token}"})
    assert "access-control-allow-origin" not in answered.headers


@pytest.mark.parametrize(("origins", "allowed", "refused"), [
    (None, [], ["http://localhost:5173", "https://crm.example.com"]),
    ("https://crm.example.com, https://app.example.com/", ["https://crm.example.com", "https://app.example.com"],
     ["http://localhost:5173", "https://evil.example"]),
])
async def test_production_allows_only_the_origins_it_is_given(database: Database, origins: str | None,
                                                              allowed: list[str], refused: list[str]) -> None:
    env = {"CRM_ENV": "production", "CRM_SECRET_KEY": "p" * 40, "CRM_DATABASE_URL": database.url}
    async with app_with(Settings.from_env(env | ({"CRM_CORS_ORIGINS": origins} if origins is not None
                                                 else {}))) as (_, client):
        for origin in allowed:
            assert (await preflight(client, origin)).headers.get("access-control-allow-origin") == origin
        for origin in refused:
            assert "access-control-allow-origin" not in (await preflight(client, origin)).headers


@pytest.mark.parametrize("origins", ["*", "crm.example.com", "https://crm.example.com/app", "ftp://x.example"])
def test_only_origins_are_taken(origins: str) -> None:
    with pytest.raises(SettingsError, match="CRM_CORS_ORIGINS"):
        Settings.from_env({"CRM_CORS_ORIGINS": origins, "CRM_SECRET_KEY": "s" * 40})


async def test_every_response_carries_the_security_headers(api: Api) -> None:
    for response in (await api.post("{ me { email } }"), await api.post("{ me { email } }", as_=None),
                     await api.client.get("/healthz")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "strict-transport-security" not in response.headers  # plain HTTP here
        assert "content-security-policy" not in response.headers  # JSON: nothing to run
    page = await api.client.get("/graphql", headers={"Accept": "text/html"})
    policy = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "connect-src 'self'" in policy
    assert "https:" not in policy  # its assets are this service's own: no other origin runs code in it


async def test_hsts_over_tls(api: Api) -> None:
    response = await api.client.get("https://test/healthz")
    assert response.headers["strict-transport-security"].startswith("max-age=31536000")

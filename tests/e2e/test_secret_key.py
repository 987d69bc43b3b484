"""No public signing key: a development start signs with a random key of its own (kept under var/), so a token
signed with the key that used to be built in is refused, and the start-up log says which mode and key source."""
from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jwt
import pytest

from api.app import create_app
from application.organisation import find_active_staff_by_email
from infrastructure.settings import Settings
from tests.conftest import Database, lifespan

FORMER_BUILT_IN_KEY = "dev-secret-change-me-dev-secret-change-me"  # what a default install signed with, once
WEBHOOKS = {"query": "{ webhooks { id } }"}


async def test_a_development_start_signs_with_its_own_random_key(database: Database, tmp_path: Path,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    key_file = tmp_path / "var" / "secret_key"
    settings = Settings.from_env({"CRM_DATABASE_URL": database.url, "CRM_SECRET_KEY_FILE": str(key_file),
                                  "CRM_DB_POOL_SIZE": "2", "CRM_DB_MAX_OVERFLOW": "0"})
    app = create_app(settings)
    container = app.state.container
    with caplog.at_level(logging.WARNING, logger="crm.api"):
        async with lifespan(app), httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                                           base_url="http://test") as client:
            admin = await find_active_staff_by_email(container.services.uow(), "admin@example.com")
            now = datetime.now(UTC)
            forged = jwt.encode({"sub": str(admin.id), "iss": "crm", "aud": "crm-api", "iat": now,
                                 "exp": now + timedelta(hours=1)}, FORMER_BUILT_IN_KEY, algorithm="HS256")
            refused = await client.post("/graphql", json=WEBHOOKS, headers={"Authorization": f"Bearer {forged}"})
            assert refused.status_code == 401 and refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
            genuine = container.services.tokens().issue(admin.id)
            answered = await client.post("/graphql", json=WEBHOOKS, headers={"Authorization": f"Bearer {genuine}"})
            assert answered.status_code == 200 and "errors" not in answered.json()
    assert key_file.read_text().strip() == settings.secret_key
    [line] = [r.getMessage() for r in caplog.records if "signed with" in r.getMessage()]
    assert "CRM_ENV=development" in line and f"generated and kept in {key_file}" in line

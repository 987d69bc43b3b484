"""Settings: safe development defaults, and production refuses to start with the default secret."""
from __future__ import annotations

import pytest

from infrastructure.settings import DEFAULT_SECRET, Settings, SettingsError


def test_development_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.database_url == "sqlite+aiosqlite:///var/crm.db"
    assert settings.env == "development" and settings.secret_key == DEFAULT_SECRET


@pytest.mark.parametrize("secret", [None, DEFAULT_SECRET, "short"])
def test_production_refuses_a_weak_or_default_secret(secret: str | None) -> None:
    env = {"CRM_ENV": "production"} | ({"CRM_SECRET_KEY": secret} if secret else {})
    with pytest.raises(SettingsError, match="CRM_SECRET_KEY"):
        Settings.from_env(env)


def test_production_with_a_real_secret() -> None:
    settings = Settings.from_env({"CRM_ENV": "production", "CRM_SECRET_KEY": "x" * 40,
                                  "CRM_DATABASE_URL": "postgresql+asyncpg://crm@db/crm"})
    assert settings.is_production and not settings.is_sqlite


@pytest.mark.parametrize("env", [{"CRM_ENV": "staging"}, {"CRM_DATABASE_URL": "mysql://x"}])
def test_unknown_values_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        Settings.from_env(env)

"""Settings: safe development defaults, a random development key kept under var/, and production refusing to
start without a real secret."""
from __future__ import annotations

import stat
from pathlib import Path

import pytest

from infrastructure.settings import TEST_SECRET, Settings, SettingsError


def test_development_defaults(tmp_path: Path) -> None:
    settings = Settings.from_env({"CRM_SECRET_KEY_FILE": str(tmp_path / "key")})
    assert settings.database_url == "sqlite+aiosqlite:///var/crm.db"
    assert settings.env == "development"


def test_development_generates_a_random_key_once_and_keeps_it_private(tmp_path: Path) -> None:
    path = tmp_path / "var" / "secret_key"
    first = Settings.from_env({"CRM_SECRET_KEY_FILE": str(path)})
    assert len(first.secret_key) >= 32 and first.secret_key != TEST_SECRET
    assert path.read_text().strip() == first.secret_key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "generated" in first.secret_source and str(path) in first.secret_source
    again = Settings.from_env({"CRM_SECRET_KEY_FILE": str(path)})
    assert again.secret_key == first.secret_key and "generated" not in again.secret_source
    elsewhere = Settings.from_env({"CRM_SECRET_KEY_FILE": str(tmp_path / "other")})
    assert elsewhere.secret_key != first.secret_key  # no two installations share a key
    assert sorted(p.name for p in path.parent.iterdir()) == ["secret_key"]  # no draft left behind


def test_a_kept_key_readable_by_others_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "secret_key"
    path.write_text("k" * 40)
    path.chmod(0o644)
    assert Settings.from_env({"CRM_SECRET_KEY_FILE": str(path)}).secret_key == "k" * 40
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_kept_key_too_short_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "secret_key"
    path.write_text("short\n")
    with pytest.raises(SettingsError, match="shorter than 32"):
        Settings.from_env({"CRM_SECRET_KEY_FILE": str(path)})


def test_a_configured_key_wins(tmp_path: Path) -> None:
    settings = Settings.from_env({"CRM_SECRET_KEY": "y" * 40, "CRM_SECRET_KEY_FILE": str(tmp_path / "key")})
    assert (settings.secret_key, settings.secret_source) == ("y" * 40, "CRM_SECRET_KEY")
    assert not (tmp_path / "key").exists()


@pytest.mark.parametrize("mode", ["development", "production"])
def test_the_test_suites_key_signs_nothing_outside_tests(mode: str) -> None:
    with pytest.raises(SettingsError, match="CRM_SECRET_KEY"):
        Settings.from_env({"CRM_ENV": mode, "CRM_SECRET_KEY": TEST_SECRET})


@pytest.mark.parametrize("secret", [None, TEST_SECRET, "short"])
def test_production_refuses_a_weak_or_default_secret(secret: str | None, tmp_path: Path) -> None:
    env = {"CRM_ENV": "production", "CRM_SECRET_KEY_FILE": str(tmp_path / "key")} | \
        ({"CRM_SECRET_KEY": secret} if secret else {})
    with pytest.raises(SettingsError, match="CRM_SECRET_KEY"):
        Settings.from_env(env)
    assert not (tmp_path / "key").exists()  # production never generates one


def test_production_with_a_real_secret() -> None:
    settings = Settings.from_env({"CRM_ENV": "production", "CRM_SECRET_KEY": "x" * 40,
                                  "CRM_DATABASE_URL": "postgresql+asyncpg://crm@db/crm"})
    assert settings.is_production and not settings.is_sqlite


@pytest.mark.parametrize("env", [{"CRM_ENV": "staging"}, {"CRM_DATABASE_URL": "mysql://x"}])
def test_unknown_values_are_refused(env: dict[str, str], tmp_path: Path) -> None:
    with pytest.raises(SettingsError):
        Settings.from_env(env | {"CRM_SECRET_KEY_FILE": str(tmp_path / "key")})

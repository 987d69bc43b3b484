"""One Settings object, read from CRM_* environment variables with safe development defaults."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_SECRET = "dev-secret-change-me-dev-secret-change-me"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/crm.db"


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    secret_key: str = DEFAULT_SECRET
    env: str = "development"
    token_ttl_seconds: int = 8 * 3600
    max_page_size: int = 100
    max_query_depth: int = 12
    max_upload_bytes: int = 64 * 1024 * 1024
    import_batch_size: int = 500
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        env = dict(os.environ if environ is None else environ)
        settings = cls(
            database_url=env.get("CRM_DATABASE_URL", DEFAULT_DATABASE_URL),
            secret_key=env.get("CRM_SECRET_KEY", DEFAULT_SECRET),
            env=env.get("CRM_ENV", "development"),
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.env not in ("development", "production", "test"):
            raise SettingsError(f"CRM_ENV must be development, production or test, not {self.env!r}")
        if not self.database_url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise SettingsError("CRM_DATABASE_URL must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        if self.is_production and (self.secret_key == DEFAULT_SECRET or len(self.secret_key) < 32):
            raise SettingsError("In production CRM_SECRET_KEY must be set to a random value of 32 or more characters.")

    def ensure_sqlite_folder(self) -> None:
        """Create the folder of an embedded SQLite file (var/ by default)."""
        if self.is_sqlite and ":memory:" not in self.database_url:
            path = self.database_url.split(":///", 1)[1]
            if path:
                Path(path).parent.mkdir(parents=True, exist_ok=True)

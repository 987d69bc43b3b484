"""The `crm` command as a user runs it: migrate, seed-demo (idempotent), token, schema, serve refusals."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import jwt

ROOT = Path(__file__).resolve().parents[2]


def crm(*args: str, db: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "CRM_DATABASE_URL": f"sqlite+aiosqlite:///{db}", **env}
    return subprocess.run([sys.executable, "-m", "api.cli", *args], cwd=ROOT, env=environ, capture_output=True,
                          text=True, timeout=120)


def test_migrate_seed_and_token(tmp_path: Path) -> None:
    db = tmp_path / "sub" / "crm.db"
    assert crm("migrate", db=db).returncode == 0
    first = crm("seed-demo", db=db)
    assert first.returncode == 0 and "16 staff and 36 customers added" in first.stdout
    again = crm("seed-demo", db=db)
    assert "0 staff and 0 customers added" in again.stdout

    token = crm("token", "Service.Key@example.com", "--ttl", "30m", db=db)
    assert token.returncode == 0
    claims = jwt.decode(token.stdout.strip().splitlines()[-1], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 1800

    unknown = crm("token", "nobody@example.com", db=db)
    assert unknown.returncode == 1 and "no active staff member" in unknown.stderr
    bad_ttl = crm("token", "admin@example.com", "--ttl", "forever", db=db)
    assert bad_ttl.returncode == 2


def test_schema_prints_sdl() -> None:
    result = subprocess.run([sys.executable, "-m", "api.cli", "schema"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0 and "type Customer implements Node" in result.stdout


def test_production_refuses_the_default_secret(tmp_path: Path) -> None:
    result = crm("serve", db=tmp_path / "x.db", CRM_ENV="production")
    assert result.returncode == 2 and "CRM_SECRET_KEY" in result.stderr

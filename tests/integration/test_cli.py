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


def test_a_zero_ttl_is_refused_and_a_zero_ttl_token_expires_at_once() -> None:
    from datetime import timedelta

    from infrastructure.auth import TokenService

    tokens = TokenService("x" * 32, default_ttl_seconds=3600)
    claims = jwt.decode(tokens.issue(__import__("uuid").uuid4(), timedelta(0)), options={"verify_signature": False})
    assert claims["exp"] == claims["iat"]
    for ttl in ("0m", "0s", "00h", "999999999999d"):
        refused = crm("token", "admin@example.com", "--ttl", ttl, db=Path("/nonexistent/unused.db"))
        assert refused.returncode == 2 and "Traceback" not in refused.stderr, (ttl, refused.stderr)


def test_a_malformed_email_is_a_clean_error_not_a_traceback(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    assert crm("migrate", db=db).returncode == 0
    token = crm("token", "a@b", db=db)
    assert token.returncode in (1, 2) and token.stderr.startswith("error: ") and "Traceback" not in token.stderr
    file = tmp_path / "f.csv"
    file.write_text("code,name,kind\nA1,Alpha,COMPANY\n")
    imported = crm("import", "customers", str(file), "--as", "nobody", db=db)
    assert imported.returncode in (1, 2) and imported.stderr.startswith("error: ")
    assert "Traceback" not in imported.stderr


def test_help_shows_flags_as_flags(tmp_path: Path) -> None:
    """It printed `--help <bool>` (and `--dry-run <bool>` ...), as if a flag took a value."""
    for args in (("--help",), ("serve", "--help"), ("import", "customers", "--help"), ("worker", "--help")):
        result = crm(*args, db=tmp_path / "crm.db")
        assert result.returncode == 0 and "Usage: crm" in result.stdout, args
        assert "<bool>" not in result.stdout, result.stdout
        assert "--help  " in result.stdout or "--help " in result.stdout
    listed = crm("--help", db=tmp_path / "crm.db").stdout
    assert "..." not in listed.split("Commands:")[1]  # every command's summary whole
    serve = crm("serve", "--help", db=tmp_path / "crm.db").stdout
    assert "--demo / --no-demo" in serve and "--port <int>" in serve

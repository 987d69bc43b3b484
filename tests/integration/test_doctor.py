"""`crm doctor` against a healthy set-up and against each broken dependency: OK/WARN/FAIL in plain words with the
fix, exit 1 on any FAIL, never a traceback."""
from __future__ import annotations

import re
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from api.cli import app
from application.queries.integrations import HealthState
from infrastructure.db.engine import create_engine
from infrastructure.doctor import Level, _integration, database
from infrastructure.settings import Settings
from tests.conftest import Database
from tests.integration.test_broker_relay import AMQP_URL


def doctor(env: dict[str, str], *args: str) -> Result:
    result = CliRunner().invoke(app, ["doctor", *args], env={"CRM_ENV": "test", **env})
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
    return result


def line(result: Result, check: str) -> str:
    """The finding of `check`: its level and what it says (the fix is on the next line)."""
    [found] = [row for row in result.output.splitlines() if re.match(rf"(OK|WARN|FAIL) +{re.escape(check)}  ", row)]
    return found


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_healthy_set_up_passes(database: Database) -> None:
    result = doctor({"CRM_DATABASE_URL": database.url})
    assert result.exit_code == 0, result.output
    assert line(result, "database").startswith("OK")
    assert line(result, "migrations").startswith("OK") and "newest revision" in line(result, "migrations")
    assert line(result, "ERP").startswith("OK") and line(result, "finance").startswith("OK")
    if database.url.startswith("postgresql"):
        assert line(result, "clock").startswith("OK") and line(result, "connection pools").startswith("OK")
    assert "0 failed" in result.output


def test_an_unmigrated_database_fails_with_the_fix(tmp_path: Path) -> None:
    result = doctor({"CRM_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"})
    assert result.exit_code == 1
    assert line(result, "migrations").startswith("FAIL") and "crm migrate" in result.output


def test_a_database_that_is_not_there_fails_without_a_traceback() -> None:
    result = doctor({"CRM_DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port()}/crm"})
    assert result.exit_code == 1
    assert line(result, "database").startswith("FAIL") and "not reachable" in line(result, "database")
    assert "CRM_DATABASE_URL" in result.output


def test_the_broker_reachable_or_not(database: Database) -> None:
    up = doctor({"CRM_DATABASE_URL": database.url, "CRM_BROKER_URL": AMQP_URL})
    assert line(up, "broker").startswith("OK") and "connected" in line(up, "broker"), up.output
    down = doctor({"CRM_DATABASE_URL": database.url, "CRM_BROKER_URL": f"amqp://guest:guest@127.0.0.1:{closed_port()}/"})
    assert down.exit_code == 1 and line(down, "broker").startswith("FAIL"), down.output
    assert "CRM_BROKER_URL" in down.output


def test_an_erp_that_does_not_answer_fails(database: Database) -> None:
    result = doctor({"CRM_DATABASE_URL": database.url, "CRM_ERP": "tryton", "CRM_ERP_URL": f"http://127.0.0.1:"
                     f"{closed_port()}/", "CRM_ERP_TIMEOUT": "1", "CRM_FINANCE": "static"})
    assert result.exit_code == 1, result.output
    assert line(result, "ERP").startswith("FAIL") and "CRM_ERP_URL" in result.output
    assert line(result, "finance").startswith("OK")


def test_a_weak_key_in_production_and_a_bad_setting_fail(database: Database) -> None:
    weak = doctor({"CRM_DATABASE_URL": database.url, "CRM_ENV": "production", "CRM_SECRET_KEY": "ab" * 20})
    assert weak.exit_code == 1 and line(weak, "signing key").startswith("FAIL"), weak.output
    assert line(weak, "mode").startswith("OK")
    bad = doctor({"CRM_DATABASE_URL": database.url, "CRM_ENV": "staging"})
    assert bad.exit_code == 1 and line(bad, "configuration").startswith("FAIL") and "CRM_ENV" in bad.output


def test_pools_that_do_not_fit_the_server_fail(database: Database) -> None:
    if not database.url.startswith("postgresql"):
        pytest.skip("max_connections is PostgreSQL's")
    result = doctor({"CRM_DATABASE_URL": database.url, "CRM_DB_POOL_SIZE": "10", "CRM_DB_MAX_OVERFLOW": "5"},
                    "--workers", "10")
    assert result.exit_code == 1 and line(result, "connection pools").startswith("FAIL"), result.output
    assert "150" in line(result, "connection pools")


async def test_a_clock_that_differs_from_the_databases_is_reported(database: Database) -> None:
    if not database.url.startswith("postgresql"):
        pytest.skip("SQLite's clock is this machine's")
    settings = Settings(database_url=database.url, env="test")
    engine = create_engine(database.url, pool_size=1, max_overflow=0)
    try:
        for shift, level in ((timedelta(0), Level.OK), (timedelta(seconds=10), Level.WARN),
                             (timedelta(minutes=5), Level.FAIL)):
            found = await database_findings(engine, settings, lambda: datetime.now(UTC) + shift)
            assert found["clock"] is level, (shift, found)
    finally:
        await engine.dispose()


async def database_findings(engine, settings, now):  # type: ignore[no-untyped-def]
    return {f.check: f.level for f in await database(engine, settings, 1, now)}


def test_a_failing_webhook_receiver_is_a_warning_with_the_way_to_resend() -> None:
    finding = _integration("webhook", "https://hooks.example/…#abcd", HealthState.DOWN, "HTTP 500", 3, webhook=True)
    assert finding.level is Level.WARN and "3 event(s) waiting" in finding.says and "receiver" in str(finding.fix)
    assert _integration("ERP", "tryton", HealthState.DOWN, "timeout", 0, webhook=False).level is Level.FAIL
    assert _integration("ERP", "tryton", HealthState.DEGRADED, "timeout", 0, webhook=False).level is Level.FAIL
    assert _integration("ERP", "tryton", HealthState.DEGRADED, None, 0, webhook=False).level is Level.WARN

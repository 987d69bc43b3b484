"""`crm doctor`: what an operator needs to know before (and while) the service runs, in plain words.

Each check gives OK, WARN or FAIL with what it found and, unless OK, the fix. A check that cannot even run (the
database away, a broker that refuses) is a FAIL saying why, never a traceback. The checks: the configuration
(mode, signing key, URLs), the database (reachable, migrated to the code's newest revision, its clock against
this machine's, room for the connection pools), the broker, the ERP and the finance system, and the webhook
destinations (their health as `integrations` reports it).
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Callable
from urllib.parse import urlsplit

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from application.queries.integrations import HealthState, IntegrationKind
from infrastructure.container import Container
from infrastructure.settings import MIN_SECRET_LENGTH, Settings

SKEW_WARN = timedelta(seconds=2)  # tokens' issue times and SLA clocks compare this machine's time with the database's
SKEW_FAIL = timedelta(seconds=30)
PROBE_TIMEOUT = 5.0  # seconds any one check may take


class Level(StrEnum):
    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Finding:
    check: str
    level: Level
    says: str
    fix: str | None = None


def ok(check: str, says: str) -> Finding:
    return Finding(check, Level.OK, says)


def warn(check: str, says: str, fix: str) -> Finding:
    return Finding(check, Level.WARN, says, fix)


def fail(check: str, says: str, fix: str) -> Finding:
    return Finding(check, Level.FAIL, says, fix)


def configuration(settings: Settings) -> list[Finding]:
    """What the settings say, without reaching anything."""
    found = []
    if settings.is_production:
        found.append(ok("mode", "production (no introspection, GraphiQL or suggestions unless switched on)"))
    else:
        found.append(warn("mode", f"{settings.env}: not for deployment (GraphiQL, introspection, a generated key)",
                          "set CRM_ENV=production where real data is served"))
    secret = settings.secret_key
    if len(set(secret)) < 10 or len(secret) < MIN_SECRET_LENGTH:
        found.append(fail("signing key", f"{settings.secret_source}: too short or too repetitive to sign tokens",
                          "set CRM_SECRET_KEY to a random value, e.g. `python -c 'import secrets; "
                          "print(secrets.token_urlsafe(48))'`"))
    else:
        found.append(ok("signing key", settings.secret_source))
    found.append(_database_url(settings))
    if settings.is_production and settings.is_sqlite:
        found.append(warn("database", "production on SQLite: one process, no live updates across processes",
                          "set CRM_DATABASE_URL=postgresql+asyncpg://..."))
    if settings.db_pgbouncer and not settings.database_listen_url:
        found.append(warn("live updates", "CRM_DB_PGBOUNCER without CRM_DATABASE_LISTEN_URL: LISTEN goes through "
                          "PgBouncer, which transaction pooling cannot carry",
                          "set CRM_DATABASE_LISTEN_URL to a direct connection to PostgreSQL (docs/deployment.md)"))
    if settings.is_production and settings.webhook_allow_private:
        found.append(warn("webhooks", "CRM_WEBHOOK_ALLOW_PRIVATE lets webhooks call this network's private addresses",
                          "unset it unless every webhook receiver is on-premise and trusted"))
    insecure = [o for o in settings.cors_origins or () if o.startswith("http://") and "localhost" not in o
                and "127.0.0.1" not in o]
    if settings.is_production and insecure:
        found.append(warn("CORS", f"origins over plain http: {', '.join(insecure)}",
                          "list only https:// origins in CRM_CORS_ORIGINS"))
    if settings.oidc_issuer and not settings.oidc_issuer.startswith("https://"):
        found.append(warn("OpenID Connect", f"the issuer {settings.oidc_issuer} is not https",
                          "use the identity provider's https issuer URL"))
    return found


def _database_url(settings: Settings) -> Finding:
    try:
        url = make_url(settings.database_url)
    except Exception:  # noqa: BLE001 - what is wrong is said, not raised
        return fail("database URL", "CRM_DATABASE_URL does not parse", "postgresql+asyncpg://user:pass@host:5432/db")
    where = url.database if settings.is_sqlite else f"{url.host}:{url.port or 5432}/{url.database}"
    return ok("database URL", f"{url.get_backend_name()} at {where}")


async def database(engine: AsyncEngine, settings: Settings, workers: int,
                   now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> list[Finding]:
    """Reachable, migrated to head, its clock, and room for the pools; everything after a failed connect is
    skipped (it would fail the same way)."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(PROBE_TIMEOUT), engine.connect() as conn:
            version = (await conn.execute(text("SELECT sqlite_version()" if settings.is_sqlite
                                               else "SHOW server_version"))).scalar()
            took = (time.monotonic() - started) * 1000
            at, here = None, None
            if not settings.is_sqlite:  # this machine's time at the middle of the round trip that read the server's
                before = now()
                at = (await conn.execute(text("SELECT now()"))).scalar()
                here = before + (now() - before) / 2
            limit = None if settings.is_sqlite else int((await conn.execute(text("SHOW max_connections"))).scalar())
            current = await conn.run_sync(_current_revision)
    except Exception as err:  # noqa: BLE001
        return [fail("database", f"not reachable: {_reason(err)}",
                     "check CRM_DATABASE_URL, that the server runs and accepts this host, and the password")]
    found = [ok("database", f"{'SQLite' if settings.is_sqlite else 'PostgreSQL'} {version}, answered in {took:.0f} ms")]
    head = _head_revision()
    if current == head:
        found.append(ok("migrations", f"at the newest revision ({head})"))
    else:
        found.append(fail("migrations", f"the database is at {current or 'no revision (empty)'}, the code at {head}",
                          "run `crm migrate`"))
    if at is not None and here is not None:
        found.append(_skew(at, here))
    if limit is not None:
        found.append(_pools(settings, workers, limit))
    return found


def _current_revision(sync_conn: object) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(sync_conn).get_current_revision()  # type: ignore[arg-type]


def _head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    from infrastructure.db.migrate import alembic_config

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _skew(database_now: datetime, here: datetime) -> Finding:
    skew = abs(database_now - here)
    says = f"this machine and the database differ by {skew.total_seconds():.1f} s"
    fix = "synchronise both machines' clocks (NTP): tokens and SLA clocks compare them"
    if skew > SKEW_FAIL:
        return fail("clock", says, fix)
    if skew > SKEW_WARN:
        return warn("clock", says, fix)
    return ok("clock", says)


def _pools(settings: Settings, workers: int, limit: int) -> Finding:
    per_process = settings.db_pool_size + settings.db_max_overflow
    needed = per_process * workers
    says = (f"{workers} API process(es) x {per_process} connections (CRM_DB_POOL_SIZE + CRM_DB_MAX_OVERFLOW) = "
            f"{needed} of the server's max_connections {limit}")
    if needed > limit:
        return fail("connection pools", says, "lower CRM_DB_POOL_SIZE / CRM_DB_MAX_OVERFLOW or the workers, or put "
                                              "PgBouncer in front (docs/deployment.md)")
    if needed > limit * 0.8:
        return warn("connection pools", says, "leave room for `crm worker`, migrations and other clients")
    return ok("connection pools", says)


async def broker(settings: Settings) -> list[Finding]:
    if settings.broker_url is None:
        return [ok("broker", "none configured: events go to webhooks and subscriptions (CRM_BROKER_URL to add one)")]
    where = urlsplit(settings.broker_url).hostname or "?"
    try:
        import aio_pika

        logging.getLogger("aiormq").setLevel(logging.CRITICAL)  # the failure is reported here, once
        logging.getLogger("aio_pika").setLevel(logging.CRITICAL)
        async with asyncio.timeout(PROBE_TIMEOUT):
            connection = await aio_pika.connect(settings.broker_url, timeout=PROBE_TIMEOUT)
            await connection.close()
    except Exception as err:  # noqa: BLE001
        return [fail("broker", f"{where}: not reachable: {_reason(err)}",
                     "check CRM_BROKER_URL (host, port, user, password, vhost) and that RabbitMQ runs")]
    return [ok("broker", f"{where}: connected")]


CHECK_NAMES = {IntegrationKind.ERP: "ERP", IntegrationKind.FINANCE: "finance", IntegrationKind.WEBHOOK: "webhook"}


async def integrations(container: Container) -> list[Finding]:
    """The ERP, the finance system and each webhook destination, as `integrations` reports them (the ERP and
    finance probed now); the broker is checked on its own (`broker`)."""
    found = []
    for reporter in container.services.health_reporters():
        try:
            async with asyncio.timeout(PROBE_TIMEOUT * 2):
                health = await reporter.health()
        except Exception as err:  # noqa: BLE001
            found.append(fail("integrations", f"could not be read: {_reason(err)}", "see the database check"))
            continue
        for view in health:
            name = CHECK_NAMES.get(view.kind)
            if name is None:
                continue
            found.append(_integration(name, view.name, view.state, view.last_error, view.pending_events,
                                      view.kind is IntegrationKind.WEBHOOK))
    return found


def _integration(check: str, name: str, state: HealthState, error: str | None, pending: int,
                 webhook: bool) -> Finding:
    if state in (HealthState.UP, HealthState.DISABLED):
        return ok(check, f"{name}: {state.value.lower()}" + (f", {pending} event(s) waiting" if pending else ""))
    says = f"{name}: {state.value.lower()}" + (f" ({error})" if error else "")
    if webhook:  # a receiver failing is its owner's to fix; deliveries wait and are retried
        return warn(check, says + (f", {pending} event(s) waiting" if pending else ""),
                    "check the receiver; `integrations` shows its last error (parked deliveries stay in webhook_deliveries)")
    fix = f"check CRM_{check.upper()}_URL, _DB, _USER and _PASSWORD, and that the system runs"
    # probed just now: an error is this moment's, whatever the breaker makes of one failure
    return fail(check, says, fix) if state is HealthState.DOWN or error else warn(check, says, fix)


def _reason(err: BaseException) -> str:
    if isinstance(err, TimeoutError):
        return f"no answer within {PROBE_TIMEOUT:.0f} s"
    message = str(getattr(err, "orig", None) or err).strip().splitlines()
    return (message[0] if message else type(err).__name__)[:200]


async def examine(container: Container, workers: int,
                  now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> list[Finding]:
    settings = container.core.settings()
    found = configuration(settings)
    reached = await database(container.core.engine(), settings, workers, now)
    found += reached
    found += await broker(settings)
    if all(f.level is not Level.FAIL for f in reached if f.check in ("database", "migrations")):
        found += await integrations(container)  # read from the database's tables
    return found


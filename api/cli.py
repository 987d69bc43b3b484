"""The `crm` command: serve, migrate, seed-demo, token, schema, import, report, worker."""
from __future__ import annotations

import asyncio
import logging
import os
import re
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterator, TypeVar

import typer

from api.common.relay import parse_global_id
from api.graphiql import sign_in_link
from application.audit import AUDIT, AuditContext
from application.imports import ImportCustomers, ImportReport, import_customers
from domain.organisation import Staff
from domain.shared import DomainError, NotAuthorized
from infrastructure.auth import LifetimeTooLong
from infrastructure.container import Container, build_container, dispose
from infrastructure.importing import CAMPAIGN_MEMBERS, CUSTOMERS, OPPORTUNITIES, FileFormat, FileShape, read_rows
from infrastructure.settings import Settings, SettingsError

T = TypeVar("T")
# Plain (click's) help: typer's rich panels print a type after every flag (`--help <bool>`), as if it took a value.
# (100 columns: the command list's one-line summaries are not cut short in the middle of a sentence.)
HELP = {"rich_markup_mode": None, "context_settings": {"terminal_width": 100, "max_content_width": 100}}
app = typer.Typer(help="Collaborative CRM backend.", no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False, **HELP)  # type: ignore[arg-type]
import_app = typer.Typer(help="Bulk-import a department's basic data.", no_args_is_help=True,
                         **HELP)  # type: ignore[arg-type]
app.add_typer(import_app, name="import")
apikey_app = typer.Typer(help="API keys for partner systems.", no_args_is_help=True)
app.add_typer(apikey_app, name="apikey")
report_app = typer.Typer(help="Reports for managers.", no_args_is_help=True, **HELP)  # type: ignore[arg-type]
app.add_typer(report_app, name="report")


def _settings() -> Settings:
    try:
        settings = Settings.from_env()
    except SettingsError as err:
        typer.secho(f"error: {err}", fg="red", err=True)
        raise typer.Exit(2) from None
    settings.ensure_sqlite_folder()
    return settings


def _with_container(work: Callable[[Container], Awaitable[T]]) -> T:
    async def main() -> T:
        container = build_container(_settings())
        try:
            return await work(container)
        finally:
            await dispose(container)

    return asyncio.run(main())


async def _migrate(container: Container) -> None:
    """On an engine of its own, without the statement timeout requests have: a migration may take long."""
    from infrastructure.db.engine import create_engine
    from infrastructure.db.migrate import upgrade

    engine = create_engine(container.core.settings().database_url, pool_size=1, max_overflow=0)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


async def _seed(container: Container) -> dict[str, int]:
    from application.demo import seed_demo

    reads = container.services.complaint_reads()
    added = await seed_demo(container.services.uow, container.gateways.clock(), container.services.due_dates(), reads)
    await reads.flush()
    if added["customers"]:  # what `crm worker`'s first integration sync would find, so the demo's report has it
        from application.integration_sync import sync_integrations

        services = container.services
        await sync_integrations(services.integration_records(), services.product_costs(), services.receivables(),
                                services.health_reporters(), container.gateways.clock())
    return added


async def _token(container: Container, email: str, ttl: timedelta) -> str:
    from application.organisation import find_active_staff_by_email

    try:
        staff = await find_active_staff_by_email(container.services.uow(), email)
    except DomainError as err:
        typer.secho(f"error: {err.message}", fg="red", err=True)
        raise typer.Exit(2) from None
    if staff is None:
        typer.secho(f"error: no active staff member with e-mail {email}", fg="red", err=True)
        raise typer.Exit(1)
    try:
        return container.services.tokens().issue(staff.id, ttl)
    except LifetimeTooLong as err:
        typer.secho(f"error: {err}", fg="red", err=True)
        raise typer.Exit(2) from None


class ImportFormatOption(str, Enum):
    csv = "csv"
    json = "json"


ImportRun = Callable[[Container, Staff, Iterator[Any], Callable[[int], object]], Awaitable[ImportReport]]
"""An import's use case over the rows read, with its progress callback."""


async def _import_file(container: Container, path: Path, file_format: FileFormat, actor_email: str, operation: str,
                       run: ImportRun, shape: FileShape = CUSTOMERS) -> ImportReport:
    """Read `path` streamed, as `actor_email`, and run the import over its rows with a progress bar."""
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

    from application.organisation import find_active_staff_by_email

    try:
        actor = await find_active_staff_by_email(container.services.uow(), actor_email)
    except DomainError as err:
        typer.secho(f"error: --as: {err.message}", fg="red", err=True)
        raise typer.Exit(2) from None
    if actor is None:
        typer.secho(f"error: no active staff member with e-mail {actor_email}", fg="red", err=True)
        raise typer.Exit(1)
    AUDIT.set(AuditContext(actor_id=actor.id, operation=operation))  # for the audit log
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(),
               TextColumn("{task.fields[rows]:,} rows"), TimeElapsedColumn())
    with path.open("rb") as stream, Progress(*columns, console=Console(stderr=True)) as progress:
        task = progress.add_task(f"importing {path.name}", total=path.stat().st_size, rows=0)
        try:
            report = await run(container, actor, read_rows(stream, file_format, shape),
                               lambda rows: progress.update(task, completed=stream.tell(), rows=rows))
        except (DomainError, NotAuthorized) as err:
            progress.stop()
            typer.secho(f"error: {err.message}", fg="red", err=True)
            raise typer.Exit(1) from None
        progress.update(task, completed=path.stat().st_size)
    return report


def _print_import_summary(report: ImportReport) -> None:
    typer.echo(report.summary)
    if report.dry_run:
        typer.echo("dry run: nothing was written")
    for error in report.row_errors:
        where = f" {error.field}" if error.field else ""
        typer.secho(f"row {error.row}{where}: {error.message}", fg="red", err=True)
    if report.problem:
        typer.secho(report.problem, fg="red", err=True)


def parse_ttl(value: str) -> timedelta:
    match = re.fullmatch(r"(\d+)([smhd])", value.strip())
    if not match:
        raise typer.BadParameter("use a number and a unit, e.g. 30m, 8h or 7d")
    amount, unit = int(match.group(1)), match.group(2)
    if amount == 0:
        raise typer.BadParameter("the lifetime must be longer than zero")
    try:
        return timedelta(**{{"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[unit]: amount})
    except OverflowError:
        raise typer.BadParameter("the lifetime is too long") from None


@app.command()
def migrate() -> None:
    """Apply the alembic migrations (upgrade head) to CRM_DATABASE_URL."""
    _with_container(_migrate)
    typer.echo("database is at the newest revision")


@app.command("seed-demo")
def seed_demo() -> None:
    """Load the demo departments' staff and customers; running it again adds nothing."""
    added = _with_container(_seed)
    typer.echo(f"demo data: {added['staff']} staff and {added['customers']} customers added; {added['orders']} orders"
               f", {added.get('complaints', 0)} complaints, {added.get('campaigns', 0)} campaigns")


@app.command()
def token(email: str,
          ttl: str = typer.Option("8h", help="Lifetime, e.g. 30m or 8h; at most CRM_TOKEN_MAX_TTL (12h)")) -> None:
    """Print a bearer token for a staff member (the last line of output)."""
    lifetime = parse_ttl(ttl)
    longest = timedelta(seconds=_settings().token_max_ttl_seconds)
    if lifetime > longest:
        typer.secho(f"error: --ttl {ttl} is longer than a token may live ({longest}; CRM_TOKEN_MAX_TTL)", fg="red",
                    err=True)
        raise typer.Exit(2)
    typer.echo(_with_container(lambda c: _token(c, email, lifetime)))


@apikey_app.command("create")
def apikey_create(
    name: str = typer.Option(..., "--name", help="What the key is for, e.g. the partner's system"),
    scopes: str = typer.Option("read", "--scopes", help="Comma-separated: read (always), write (mutations), federation (_service for a gateway)"),
    acts_as: str = typer.Option(..., "--acts-as", help="E-mail of the staff member whose rights the key has"),
    by: str = typer.Option("admin@example.com", "--by", help="E-mail of the ADMIN who issues it"),
) -> None:
    """Issue an API key; its secret is printed once (the last line of output) and stored only as a hash."""
    from application.api_keys import CreateApiKey, create_api_key
    from application.organisation import find_active_staff_by_email

    async def issue(container: Container) -> str:
        admin = await find_active_staff_by_email(container.services.uow(), by)
        member = await find_active_staff_by_email(container.services.uow(), acts_as)
        if admin is None or member is None:
            typer.secho(f"error: no active staff member with e-mail {by if admin is None else acts_as}", fg="red",
                        err=True)
            raise typer.Exit(1)
        try:
            issued = await create_api_key(container.services.api_key_registry(), container.services.uow(),
                                          container.gateways.clock(), admin,
                                          CreateApiKey(name, tuple(s for s in scopes.split(",") if s.strip()),
                                                       member.id))
        except (DomainError, NotAuthorized) as err:
            typer.secho(f"error: {err}", fg="red", err=True)
            raise typer.Exit(2) from None
        key = issued.api_key
        typer.echo(f"API key {key.name!r} ({', '.join(key.scopes)}) acting as {member.email}; the secret, shown once:")
        return issued.secret

    typer.echo(_with_container(issue))


@import_app.command("customers")
def import_customers_command(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="A .csv or .json file"),
    file_format: ImportFormatOption | None = typer.Option(None, "--format", help="Default: from the file extension"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check every row and report, writing nothing"),
    as_: str = typer.Option("admin@example.com", "--as", help="E-mail of the staff member who imports"),
) -> None:
    """Create or update customers by code from a CSV or JSON file; all or nothing."""
    chosen = _format_of(file, file_format)
    async def run(container: Container, actor: Staff, rows: Iterator[Any], progress: Callable[[int], object]) -> Any:
        return await import_customers(container.services.uow(), container.gateways.clock(), actor, ImportCustomers(
            rows=rows, dry_run=dry_run, batch_size=container.core.settings().import_batch_size), progress=progress)

    _finish_import(_with_container(lambda c: _import_file(c, file, chosen, as_, "crm import customers", run)))


@import_app.command("opportunities")
def import_opportunities_command(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="A .csv or .json file"),
    file_format: ImportFormatOption | None = typer.Option(None, "--format", help="Default: from the file extension"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check every row and report, writing nothing"),
    as_: str = typer.Option("admin@example.com", "--as", help="E-mail of the staff member who imports"),
) -> None:
    """Create or update opportunities by number from a CSV or JSON file (fields: number, customerCode, name,
    amount, currency, stage, probability, expectedCloseDate, ownerEmail, lostReason, campaignId: the sourcing
    campaign's ID); all or nothing."""
    from application.opportunity_imports import ImportOpportunities, import_opportunities

    chosen = _format_of(file, file_format)

    async def run(container: Container, actor: Staff, rows: Iterator[Any], progress: Callable[[int], object]) -> Any:
        return await import_opportunities(container.services.uow(), container.gateways.clock(), actor,
                                          ImportOpportunities(rows=_with_raw_ids(rows, "campaignId", "Campaign"),
                                                              dry_run=dry_run,
                                                              batch_size=container.core.settings().import_batch_size),
                                          progress=progress)

    _finish_import(_with_container(lambda c: _import_file(c, file, chosen, as_, "crm import opportunities", run,
                                                          OPPORTUNITIES)))


def _format_of(file: Path, file_format: "ImportFormatOption | None") -> FileFormat:
    chosen = FileFormat(file_format.value.upper()) if file_format else FileFormat.for_path(file)
    if chosen is None:
        raise typer.BadParameter("cannot tell the format from the file name; pass --format csv or json",
                                 param_hint="--format")
    return chosen


def _finish_import(report: ImportReport) -> None:
    _print_import_summary(report)
    if report.error_count:
        raise typer.Exit(1)


def _raw_id(value: str, type_name: str) -> uuid.UUID | None:
    """The uuid of `type_name`'s global ID (as the API hands them out) or of a bare uuid; None for anything else."""
    try:
        found, raw_id = parse_global_id(value.strip())
        return raw_id if found == type_name else None
    except ValueError:
        try:
            return uuid.UUID(value.strip())
        except ValueError:
            return None


def _with_raw_ids(rows: Iterator[Any], field: str, type_name: str) -> Iterator[Any]:
    """Rows whose `field` is the API's global ID of a `type_name` carry its uuid instead (what the use case reads)."""
    for number, data in rows:
        if isinstance(data, dict) and isinstance(data.get(field), str):
            raw_id = _raw_id(data[field], type_name)
            if raw_id is not None:
                data = {**data, field: str(raw_id)}
        yield number, data


@import_app.command("campaign-members")
def import_campaign_members_command(
    campaign: str = typer.Argument(..., help="The campaign's ID"),
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="A .csv or .json file"),
    file_format: ImportFormatOption | None = typer.Option(None, "--format", help="Default: from the file extension"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check every row and report, writing nothing"),
    as_: str = typer.Option("admin@example.com", "--as", help="E-mail of the staff member who imports"),
) -> None:
    """Add or update a campaign's members by customer (customerCode or customerId, contactEmail, status) from a
    CSV or JSON file; all or nothing."""
    from application.campaign_imports import ImportCampaignMembers, import_campaign_members

    chosen = _format_of(file, file_format)
    campaign_id = _raw_id(campaign, "Campaign")
    if campaign_id is None:
        raise typer.BadParameter("not a campaign's ID", param_hint="CAMPAIGN")

    async def run(container: Container, actor: Staff, rows: Iterator[Any], progress: Callable[[int], object]) -> Any:
        return await import_campaign_members(
            container.services.uow(), container.gateways.clock(), actor, ImportCampaignMembers(
                campaign_id=campaign_id, rows=_with_raw_ids(rows, "customerId", "Customer"), dry_run=dry_run,
                batch_size=container.core.settings().import_batch_size), progress=progress)

    _finish_import(_with_container(lambda c: _import_file(c, file, chosen, as_, "crm import campaign-members", run,
                                                          CAMPAIGN_MEMBERS)))


def _reporter(worker: str, says: Callable[[Any], Any]) -> Callable[[Any], None]:
    """What a worker's tick did: counted in the metrics, and one log line (logger crm.worker; JSON with the tick's
    figures in production, the sentence `says` otherwise) when it did anything."""
    from dataclasses import asdict

    from infrastructure.metrics import worker_tick

    def report(tick: Any) -> None:
        figures = asdict(tick)
        worker_tick(worker, figures)
        sentence = says(tick)
        if sentence:
            logging.getLogger("crm.worker").info(sentence, extra={"fields": {"worker": worker, **figures}})

    return report


async def run_workers(container: Container, *, once: bool, interval: float, batch_size: int,
                      stop: asyncio.Event) -> tuple[int, int]:
    """The SLA worker and the workflow worker side by side, on the container's clock, until `stop` is set
    (or one drain each with `once`); returns (complaints handled, overdue workflow steps escalated)."""
    from application.sla_worker import SlaTick, run_sla_worker
    from application.workflow_worker import EscalationTick, run_workflow_worker

    report_sla = _reporter("sla", lambda t: t.claimed and (
        f"sla: {t.claimed} complaints, {t.warnings} warnings, {t.breaches} breaches, {t.notifications} notifications"))
    report_workflows = _reporter("workflows", lambda t: t.escalated and (
        f"workflows: {t.escalated} overdue steps escalated, {t.notifications} notifications"))

    uow_factory, clock = container.services.uow, container.gateways.clock()
    sla, workflows = await asyncio.gather(
        run_sla_worker(uow_factory, clock, interval=interval, once=once, batch_size=batch_size, stop=stop,
                       on_tick=report_sla),
        run_workflow_worker(uow_factory, clock, interval=interval, once=once, batch_size=batch_size, stop=stop,
                            on_tick=report_workflows))
    return sla.claimed, workflows.escalated


async def run_relay_worker(container: Container, *, once: bool, stop: asyncio.Event) -> int:
    """The outbox relay (webhooks, and the broker when CRM_BROKER_URL is set) until `stop` is set (or one
    pass with `once`); returns how many deliveries and publishes were confirmed."""
    from application.outbox_relay import RelayTick, run_relay

    report = _reporter("relay", lambda t: t.busy and (
        f"relay: {t.delivered} webhook deliveries, {t.retrying} to retry, {t.parked} parked; {t.published} events to "
        "the broker" + (" (broker unreachable)" if t.broker_failures else "")))

    async with container.services.relay() as relay:
        total = await run_relay(relay, interval=container.core.settings().relay_interval, once=once, stop=stop,
                                on_tick=report)
    return total.delivered + total.published


async def run_integration_sync_worker(container: Container, *, once: bool, stop: asyncio.Event) -> int:
    """The integration sync (health samples, ERP costs, finance's receivables) every CRM_INTEGRATION_SYNC_INTERVAL
    seconds until `stop` is set (or one pass with `once`); returns how many costs and customers it checked."""
    from application.integration_sync import run_integration_sync

    report = _reporter("integrations", lambda t: t.busy and (
        f"integrations: {t.costs_checked} unit costs and {t.customers_checked} customers' receivables checked"
        + (f" ({', '.join(t.unavailable)} unavailable)" if t.unavailable else "")))
    services, settings = container.services, container.core.settings()
    total = await run_integration_sync(
        services.integration_records(), services.product_costs(), services.receivables(), services.health_reporters(),
        container.gateways.clock(), interval=settings.integration_sync_interval, once=once,
        refresh=timedelta(seconds=settings.integration_sync_refresh), stop=stop, on_tick=report)
    return total.costs_checked + total.customers_checked


async def _worker(container: Container, once: bool, interval: float, batch_size: int,
                  relay: bool = True, sync: bool = True) -> tuple[int, int]:
    """Run the workers until SIGINT/SIGTERM (or one drain with --once)."""
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - not on this platform
            pass

    async def everything() -> tuple[int, int]:
        workers = run_workers(container, once=once, interval=interval, batch_size=batch_size, stop=stop)
        others: dict[str, Awaitable[int]] = {}
        if relay:
            others["relay"] = run_relay_worker(container, once=once, stop=stop)
        if sync:
            others["sync"] = run_integration_sync_worker(container, once=once, stop=stop)
        counts, *done = await asyncio.gather(workers, *others.values())
        figures = dict(zip(others, done))
        if "relay" in figures:
            typer.echo(f"outbox relay stopped: {figures['relay']} events handed on")
        if "sync" in figures:
            typer.echo(f"integration sync stopped: {figures['sync']} costs and receivables checked")
        return counts

    from infrastructure.tracing import instrument, tracer_provider
    from infrastructure.tracing import stop as stop_tracing

    traces = tracer_provider()  # OTEL_EXPORTER_OTLP_ENDPOINT: its statements and outgoing calls traced, as the API's
    if traces is not None:
        instrument(traces, [container.core.engine(), container.core.read_engine()])
    try:
        return await _within_grace(everything(), stop, container.core.settings().shutdown_grace)
    finally:
        stop_tracing(traces)


async def _within_grace(work: Awaitable[T], stop: asyncio.Event, grace: float) -> T:
    """`work` until it ends; once `stop` is set (SIGTERM), it has `grace` seconds to finish its batches. After
    that it is cancelled: its transactions roll back and its leases run out, so another worker redoes it."""
    running = asyncio.ensure_future(work)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if running.done():
            return running.result()
        try:
            return await asyncio.wait_for(running, grace)
        except TimeoutError:
            typer.secho(f"stopped after the {grace:g} s grace period: unfinished work was rolled back", fg="yellow",
                        err=True)
            raise typer.Exit(1) from None
    finally:
        stopping.cancel()


@app.command(short_help="Fire due SLA warnings and breaches, escalate overdue steps, relay events.")
def worker(
    once: bool = typer.Option(False, "--once", help="Fire what is due now, then exit"),
    interval: float = typer.Option(30.0, "--interval", min=0.1, help="Seconds between ticks"),
    batch_size: int = typer.Option(100, "--batch-size", min=1, max=1000,
                                   help="Complaints (or overdue steps) claimed per transaction"),
    relay: bool = typer.Option(True, "--relay/--no-relay",
                               help="Also relay outbox events to webhooks and the broker (CRM_BROKER_URL)"),
    sync: bool = typer.Option(True, "--sync/--no-sync",
                              help="Also sample the joined systems' health and check ERP costs and receivables "
                                   "(CRM_INTEGRATION_SYNC_INTERVAL)"),
) -> None:
    """Fire due SLA warnings and breaches, and escalate overdue workflow steps (notifying), until stopped;
    safe to run several."""
    import logging.config

    from api.common.request_log import logging_config

    logging.config.dictConfig(logging_config(_settings().is_production))  # as `crm serve` writes its lines
    handled, escalated = _with_container(lambda c: _worker(c, once, interval, batch_size, relay, sync))
    typer.echo(f"sla worker stopped: {handled} complaints handled")
    typer.echo(f"workflow worker stopped: {escalated} overdue steps escalated")


@app.command(short_help="Print the API schema's SDL (--federation: the served subgraph's).")
def schema(federation: bool = typer.Option(
        False, "--federation", help="The Apollo Federation 2 subgraph SDL (what `_service { sdl }` answers)")) -> None:
    """Print the API schema's SDL (the contract's view), or with --federation the served subgraph's."""
    from api.schema import build_schema

    sys.stdout.write(build_schema(federation=federation).as_str() + "\n")


def _worker_count(settings: Settings, asked: int | None) -> int:
    """One process per core in production, one in development; always one on SQLite (a single writer, and
    live updates that stay inside the process)."""
    if settings.is_sqlite:
        if asked not in (None, 1):
            typer.secho("note: SQLite is served by one process; --workers is ignored", fg="yellow", err=True)
        return 1
    if asked is not None:
        if asked < 1:
            typer.secho("error: --workers must be at least 1", fg="red", err=True)
            raise typer.Exit(2)
        return asked
    return (os.cpu_count() or 1) if settings.is_production else 1


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000,
          demo: bool = typer.Option(False, help="Migrate, and seed an empty database, first"),
          workers: int | None = typer.Option(None, help="API processes (default: one per core in production, "
                                                        "else one; SQLite: always one)"),
          access_log: bool = typer.Option(True, help="One line per request on standard output (JSON in "
                                                      "production; api/common/request_log.py)")) -> None:
    """Serve the GraphQL API (GraphiQL at /graphql)."""
    import uvicorn

    from api.app import create_app
    from api.common.request_log import logging_config
    from api.serving import reuse_port_supported, serve_processes, uvicorn_options

    if demo:
        async def prepare(container: Container) -> str:
            await _migrate(container)
            added = await _seed(container)
            if added["customers"]:
                typer.echo(f"demo data loaded: {added['staff']} staff, {added['customers']} customers")
            return await _token(container, "admin@example.com", timedelta(hours=8))

        token_ = _with_container(prepare)
        typer.echo(f"\nGraphiQL, signed in as the demo admin (8h):\n{sign_in_link(f'http://{host}:{port}', token_)}"
                   f"\nAdmin bearer token (8h):\n{token_}\n")
    settings = _settings()
    count = _worker_count(settings, workers)
    # SIGTERM: each process answers the requests in flight for at most CRM_SHUTDOWN_GRACE seconds, then stops
    options: dict[str, Any] = {"log_level": "info", "access_log": False,  # ours instead, with the request id
                               "log_config": logging_config(settings.is_production, access_log),
                               "timeout_graceful_shutdown": settings.shutdown_grace,
                               **uvicorn_options(settings)}  # header and keep-alive timeouts (api/serving.py)
    if count == 1:
        uvicorn.run(create_app(settings), host=host, port=port, **options)
    elif reuse_port_supported():  # each process builds its own app (and pool: CRM_DB_POOL_SIZE + MAX_OVERFLOW)
        raise typer.Exit(serve_processes(count, host, port, options))
    else:
        uvicorn.run("api.app:create_app", factory=True, workers=count, host=host, port=port, **options)


@app.command(short_help="Check the set-up (settings, database, broker, ERP, finance, webhooks): OK, WARN, FAIL.")
def doctor(workers: int | None = typer.Option(None, help="API processes to size the pools for (default: as serve)")
           ) -> None:
    """Check the configuration, the database (reachable, migrated, clock, pools), the broker, the ERP, the
    finance system and the webhook destinations: OK, WARN or FAIL each, with the fix; exit 1 on any FAIL."""
    from infrastructure.doctor import Level, examine, fail

    try:
        settings = Settings.from_env()
    except SettingsError as err:
        findings = [fail("configuration", str(err), "correct the setting named (README: configuration)")]
    else:
        settings.ensure_sqlite_folder()

        async def run() -> Any:
            container = build_container(settings)
            try:
                return await examine(container, _worker_count(settings, workers))
            finally:
                await dispose(container)

        findings = asyncio.run(run())
    colours = {Level.OK: "green", Level.WARN: "yellow", Level.FAIL: "red"}
    width = max(len(f.check) for f in findings)
    for finding in findings:
        typer.secho(f"{finding.level.value:<4}  {finding.check:<{width}}  {finding.says}", fg=colours[finding.level])
        if finding.fix:
            typer.echo(f"      {'':<{width}}  fix: {finding.fix}")
    failed = sum(f.level is Level.FAIL for f in findings)
    warned = sum(f.level is Level.WARN for f in findings)
    typer.echo(f"\n{failed} failed, {warned} warning(s), {len(findings) - failed - warned} OK")
    if failed:
        raise typer.Exit(1)


def main(argv: list[str] | None = None) -> Any:
    return app(args=argv, prog_name="crm")  # `python -m api.cli` (how the tests and workers run it) too


if __name__ == "__main__":
    main()


def _instant(text: str, option: str) -> datetime:
    """An ISO 8601 instant with its offset, or a date (its midnight UTC)."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        return datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter("an ISO 8601 date or instant with its offset", param_hint=option) from None


async def _maturity_report(container: Container, start: datetime, end: datetime, actor_email: str) -> Any:
    from application.maturity import measure
    from application.organisation import find_active_staff_by_email
    from domain.maturity import maturity_scope

    services = container.services
    actor = await find_active_staff_by_email(services.uow(), actor_email)
    if actor is None:
        typer.secho(f"error: no active staff member with e-mail {actor_email}", fg="red", err=True)
        raise typer.Exit(1)
    try:
        only = maturity_scope(actor)
        departments = [d for d in await services.organisation_queries().departments() if only is None or d.id == only]
        return await measure(services.maturity_queries(), services.maturity_thresholds(), services.health_reporters(),
                             container.gateways.clock(), departments, start, end)
    except (DomainError, NotAuthorized) as err:
        typer.secho(f"error: {err.message}", fg="red", err=True)
        raise typer.Exit(1) from None


@report_app.command("maturity")
def report_maturity(
    from_: str = typer.Option(..., "--from", help="Start of the period: 2025-03-03 or 2025-03-03T00:00:00+01:00"),
    to: str = typer.Option(..., "--to", help="End of the period (not included)"),
    html_file: Path | None = typer.Option(None, "--html", dir_okay=False, help="Also write a one-page HTML report "
                                                                              "with charts (offline: inline SVG)"),
    as_: str = typer.Option("admin@example.com", "--as", help="E-mail of an ADMIN (every department) or a MANAGER "
                                                             "(their own)"),
) -> None:
    """Each department's maturity figures, level and gaps over the period, as `maturity(from, to)` has them."""
    from api.maturity.report import html_page, table

    start, end = _instant(from_, "--from"), _instant(to, "--to")
    report = _with_container(lambda c: _maturity_report(c, start, end, as_))
    typer.echo(table(report), nl=False)
    if html_file is not None:
        html_file.write_text(html_page(report), encoding="utf-8")
        typer.echo(f"wrote {html_file}")

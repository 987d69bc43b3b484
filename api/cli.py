"""The `crm` command: serve, migrate, seed-demo, token, schema, import."""
from __future__ import annotations

import asyncio
import re
import sys
from datetime import timedelta
from typing import Any, Awaitable, Callable, TypeVar

import typer

from infrastructure.container import Container, build_container, dispose
from infrastructure.settings import Settings, SettingsError

T = TypeVar("T")
app = typer.Typer(help="Collaborative CRM backend.", no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False)
import_app = typer.Typer(help="Bulk-import a department's basic data.", no_args_is_help=True)
app.add_typer(import_app, name="import")


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
    from infrastructure.db.migrate import upgrade

    await upgrade(container.core.engine())


async def _seed(container: Container) -> dict[str, int]:
    from application.demo import seed_demo

    return await seed_demo(container.services.uow, container.gateways.clock())


async def _token(container: Container, email: str, ttl: timedelta) -> str:
    from application.organisation import find_active_staff_by_email

    staff = await find_active_staff_by_email(container.services.uow(), email)
    if staff is None:
        typer.secho(f"error: no active staff member with e-mail {email}", fg="red", err=True)
        raise typer.Exit(1)
    return container.services.tokens().issue(staff.id, ttl)


def parse_ttl(value: str) -> timedelta:
    match = re.fullmatch(r"(\d+)([smhd])", value.strip())
    if not match:
        raise typer.BadParameter("use a number and a unit, e.g. 30m, 8h or 7d")
    amount, unit = int(match.group(1)), match.group(2)
    return timedelta(**{{"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[unit]: amount})


@app.command()
def migrate() -> None:
    """Apply the alembic migrations (upgrade head) to CRM_DATABASE_URL."""
    _with_container(_migrate)
    typer.echo("database is at the newest revision")


@app.command("seed-demo")
def seed_demo() -> None:
    """Load the demo departments' staff and customers; running it again adds nothing."""
    added = _with_container(_seed)
    typer.echo(f"demo data: {added['staff']} staff and {added['customers']} customers added")


@app.command()
def token(email: str, ttl: str = typer.Option("8h", help="Lifetime, e.g. 30m, 8h, 7d")) -> None:
    """Print a bearer token for a staff member (the last line of output)."""
    lifetime = parse_ttl(ttl)
    typer.echo(_with_container(lambda c: _token(c, email, lifetime)))


@app.command()
def schema() -> None:
    """Print the served schema's SDL."""
    from api.schema import build_schema

    sys.stdout.write(build_schema().as_str() + "\n")


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000,
          demo: bool = typer.Option(False, help="Migrate, and seed an empty database, first")) -> None:
    """Serve the GraphQL API (GraphiQL at /graphql)."""
    import uvicorn

    from api.app import create_app

    if demo:
        async def prepare(container: Container) -> str:
            await _migrate(container)
            added = await _seed(container)
            if added["customers"]:
                typer.echo(f"demo data loaded: {added['staff']} staff, {added['customers']} customers")
            return await _token(container, "admin@example.com", timedelta(hours=8))

        token_ = _with_container(prepare)
        typer.echo(f"\nGraphiQL: http://{host}:{port}/graphql\nAdmin bearer token (8h):\n{token_}\n")
    uvicorn.run(create_app(_settings()), host=host, port=port, log_level="info")


def main(argv: list[str] | None = None) -> Any:
    return app(args=argv)


if __name__ == "__main__":
    main()

"""Run alembic from code: from a sync entry point (CLI) or inside a running event loop (app, tests)."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine

ALEMBIC_INI = Path(__file__).resolve().parents[2] / "alembic.ini"


def alembic_config(url: str | None = None) -> Config:
    cfg = Config(str(ALEMBIC_INI))
    cfg.set_main_option("script_location", str(ALEMBIC_INI.parent / "migrations"))
    if url:
        cfg.set_main_option("sqlalchemy.url", url)
    return cfg


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    await _run(engine, lambda cfg: command.upgrade(cfg, revision))


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    await _run(engine, lambda cfg: command.downgrade(cfg, revision))


async def _run(engine: AsyncEngine, action) -> None:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        def run(sync_conn):  # type: ignore[no-untyped-def]
            cfg = alembic_config()
            cfg.attributes["connection"] = sync_conn
            action(cfg)

        await conn.run_sync(run)
        await conn.commit()

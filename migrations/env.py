"""Alembic environment: async engines, or a connection handed in by `infrastructure.db.migrate`."""
from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from infrastructure.db.engine import create_engine
from infrastructure.db.tables import metadata
from infrastructure.settings import Settings

config = context.config


def run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_async(url: str) -> None:
    engine = create_engine(url, for_writes=False)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_with)
            await connection.commit()
    finally:
        await engine.dispose()


def run_offline(url: str) -> None:
    context.configure(url=url, target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run_with(connection)
else:
    url = config.get_main_option("sqlalchemy.url") or Settings.from_env().database_url
    if context.is_offline_mode():
        run_offline(url)
    else:
        asyncio.run(run_async(url))

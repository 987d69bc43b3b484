"""Migration stairway (upgrade, downgrade, upgrade every revision) and models == migrations, on each backend."""
from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from infrastructure.db.engine import create_engine
from infrastructure.db.migrate import alembic_config, downgrade, upgrade
from infrastructure.db.tables import metadata
from tests.conftest import BACKENDS, fresh_database


def revisions() -> list[Any]:
    script = ScriptDirectory.from_config(alembic_config())
    return list(reversed(list(script.walk_revisions("base", "heads"))))


@pytest.mark.parametrize("backend", BACKENDS)
async def test_stairway_and_models_match_migrations(backend: str) -> None:
    db, cleanup = await fresh_database(backend)
    engine = create_engine(db.url)
    try:
        for revision in revisions():
            await upgrade(engine, revision.revision)
            await downgrade(engine, revision.down_revision or "base")
            await upgrade(engine, revision.revision)

        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": True}), metadata))
            tables = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        assert diff == []
        assert set(metadata.tables) <= tables

        await downgrade(engine, "base")
        async with engine.connect() as conn:
            left = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        assert left <= {"alembic_version"}
    finally:
        await engine.dispose()
        await cleanup()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_the_ready_made_workflow_a_fresh_database_gets_is_the_domains(backend: str) -> None:
    """Migrations carry their data instead of importing live code (0002 wrote the advance-payment definition from
    domain/workflow/catalogue.py): this says when the two part, so a change to the domain's definition comes with a
    migration of its own."""
    import dataclasses

    from sqlalchemy import select

    from domain.workflow import advance_payment_definition
    from infrastructure.db import tables as t
    from infrastructure.db.repositories.workflows import definition_from_row

    db, cleanup = await fresh_database(backend)
    engine = create_engine(db.url)
    try:
        await upgrade(engine)
        async with engine.connect() as conn:
            row = (await conn.execute(select(t.workflow_definitions).where(
                t.workflow_definitions.c.key == "advance-payment", t.workflow_definitions.c.version == 1))).one()
        stored = definition_from_row(row)
        ready_made = advance_payment_definition(sales_department_id=stored.steps[0].department_id,
                                                finance_department_id=stored.steps[1].department_id,
                                                warehouse_department_id=stored.steps[3].department_id)
        assert dataclasses.replace(ready_made, id=stored.id) == stored
    finally:
        await engine.dispose()
        await cleanup()

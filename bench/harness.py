"""What every benchmark here shares: arguments, a migrated and seeded database, latency summaries.

Run the benchmarks as scripts (`.venv/bin/python bench/<name>.py`); this module sits beside them.
"""
from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
from pathlib import Path
from typing import Any, AsyncIterator

from application.demo import seed_demo
from infrastructure.container import Container, build_container, dispose
from infrastructure.db.migrate import upgrade
from infrastructure.settings import Settings


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def summary(samples: list[float]) -> dict[str, float]:
    return {"p50_ms": round(percentile(samples, 0.5) * 1000, 2), "p99_ms": round(percentile(samples, 0.99) * 1000, 2),
            "mean_ms": round(statistics.fmean(samples) * 1000, 2), "runs": len(samples)}


def arguments(description: str | None, size_flag: str, default_size: int, default_runs: int) -> argparse.Namespace:
    """`--<size_flag> N --runs N --database-url URL` (read back as args.size, args.runs, args.database_url)."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(f"--{size_flag}", dest="size", type=int, default=default_size)
    parser.add_argument("--runs", type=int, default=default_runs)
    parser.add_argument("--database-url", default=None, help="an EMPTY database (default: SQLite in a temp folder)")
    return parser.parse_args()


@contextlib.asynccontextmanager
async def seeded_database(database_url: str | None, **settings: Any) -> AsyncIterator[Container]:
    """A container on a migrated database with the demo data (SQLite in a temp folder by default)."""
    url = database_url or f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp(prefix='crm-bench-')) / 'bench.db'}"
    container = build_container(Settings(database_url=url, env="test", **settings))
    try:
        await upgrade(container.core.engine())
        await seed_demo(container.services.uow, container.gateways.clock())
        yield container
    finally:
        await dispose(container)

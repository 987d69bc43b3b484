"""Benchmark: import a generated 100,000-row customer CSV into a fresh SQLite database.

    .venv/bin/python bench/import_customers.py [--rows 100000] [--tracemalloc] [--database-url URL]

Runs the use case directly (no HTTP), the same way `crm import customers` does, twice: the
first run creates every customer, the second finds every row unchanged. Reports wall time,
rows per second and memory: the growth of the process's peak RSS (ru_maxrss) and, with
--tracemalloc, the peak of Python allocations per run (which slows the runs down).
"""
from __future__ import annotations

import argparse
import asyncio
import csv
import json
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from application.demo import ADMIN_EMAIL, seed_demo
from application.imports import ImportCustomers, ImportReport, import_customers
from application.organisation import find_active_staff_by_email
from infrastructure.container import Container, build_container, dispose
from infrastructure.db.migrate import upgrade
from infrastructure.importing import FileFormat, read_rows
from infrastructure.settings import Settings

OWNERS = [f"{d}.{r}@example.com" for d in ("sales", "marketing", "service") for r in ("member", "key", "manager")]
TIERS = ["STANDARD", "SILVER", "GOLD", "STRATEGIC"]
STAGES = ["LEAD", "PROSPECT", "ACTIVE"]
TAGS = ["wholesale", "retail", "export", "vip", "newsletter"]


def generate_csv(path: Path, rows: int, seed: int = 7) -> None:
    rnd = random.Random(seed)
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["code", "name", "kind", "tier", "lifecycleStage", "ownerEmail", "tags", "attributes",
                      "contactName", "contactEmail", "contactPhone"])
        for i in range(1, rows + 1):
            company = i % 3 != 0
            out.writerow([
                f"B-{i:07d}", f"{'Company' if company else 'Person'} {i}", "COMPANY" if company else "PERSON",
                rnd.choice(TIERS), rnd.choice(STAGES), rnd.choice(OWNERS), ";".join(rnd.sample(TAGS, 2)),
                json.dumps({"employees": rnd.randint(1, 5000), "region": rnd.choice(["north", "south"])}),
                f"Contact {i}", f"contact{i}@bench.example", "+49 30 1234 56",
            ])


def rss_mib() -> float:
    """Peak resident set size of this process so far (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


async def run_once(container: Container, path: Path, label: str, trace: bool) -> ImportReport:
    actor = await find_active_staff_by_email(container.services.uow(), ADMIN_EMAIL)
    assert actor is not None
    rss_before = rss_mib()
    if trace:
        tracemalloc.reset_peak()
        traced_before = tracemalloc.get_traced_memory()[0]
    started = time.perf_counter()
    with path.open("rb") as stream:
        cmd = ImportCustomers(rows=read_rows(stream, FileFormat.CSV),
                              batch_size=container.core.settings().import_batch_size)
        report = await import_customers(container.services.uow(), container.gateways.clock(), actor, cmd)
    elapsed = time.perf_counter() - started
    assert report.error_count == 0, report.row_errors[:5]
    line = (f"{label:<10} {report.rows:>8,} rows  {elapsed:7.1f} s  {report.rows / elapsed:8,.0f} rows/s  "
            f"created {report.created:,}, updated {report.updated:,}, unchanged {report.unchanged:,}  "
            f"peak RSS {rss_mib():6.0f} MiB (+{rss_mib() - rss_before:.0f})")
    if trace:
        line += f"  traced peak +{(tracemalloc.get_traced_memory()[1] - traced_before) / 2**20:.0f} MiB"
    print(line, flush=True)
    return report


async def main(rows: int, database_url: str | None, trace: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="crm-bench-") as folder:
        path = Path(folder) / "customers.csv"
        started = time.perf_counter()
        generate_csv(path, rows)
        print(f"generated {rows:,} rows ({path.stat().st_size / 2**20:.1f} MiB) in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
        url = database_url or f"sqlite+aiosqlite:///{Path(folder) / 'crm.db'}"
        container = build_container(Settings(database_url=url, env="test"))
        try:
            await upgrade(container.core.engine())
            await seed_demo(container.services.uow, container.gateways.clock())
            print(f"database {url.split('://')[0]}, batch size {container.core.settings().import_batch_size}, "
                  f"baseline peak RSS {rss_mib():.0f} MiB", flush=True)
            if trace:
                tracemalloc.start()
            await run_once(container, path, "create", trace)
            await run_once(container, path, "re-import", trace)
        finally:
            await dispose(container)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url", help="an empty, migrated-or-not database instead of a temporary SQLite file")
    parser.add_argument("--tracemalloc", action="store_true", help="also trace Python allocations (slower)")
    args = parser.parse_args()
    asyncio.run(main(args.rows, args.database_url, args.tracemalloc))

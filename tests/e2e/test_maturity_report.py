"""`crm report maturity --from --to [--html FILE]` against a temporary SQLite database with the demo data: the table,
and the one-page HTML report opened in headless Chromium (Debian's `chromium`; `make system-packages` installs it),
which must render its three charts and its numbers without fetching anything."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.e2e.test_import_cli import Crm

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def crm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crm]:
    """Migrated and seeded by `crm` in a process of its own, as `make run` does: the demo's audit log must say who
    wrote what, whatever context the suite's earlier tests left in this process."""
    folder = tmp_path_factory.mktemp("crm-report")
    env = {"CRM_DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'crm.db'}", "CRM_ENV": "test"}
    for command in ("migrate", "seed-demo"):
        subprocess.run([str(Path(sys.executable).parent / "crm"), command], env={**os.environ, **env}, check=True,
                       capture_output=True, timeout=300)
    yield Crm(folder, env)


def period() -> list[str]:
    today = datetime.now(UTC).date()
    return ["--from", (today - timedelta(days=14)).isoformat(), "--to", (today + timedelta(days=1)).isoformat()]


def report_lines(stdout: str) -> list[str]:
    """The report's lines (from its title on: a log line an earlier test's handler wrote may come first)."""
    lines = stdout.splitlines()
    return lines[next(i for i, line in enumerate(lines) if line.startswith("Maturity ")):]


def test_prints_every_figure_per_department_with_the_levels_and_gaps(crm: Crm) -> None:
    result = crm("report", "maturity", *period())
    assert result.exit_code == 0, result.output
    lines = report_lines(result.stdout)
    assert re.match(r"Maturity \S+ \.\. \S+   company: (DEPARTMENTAL|COLLABORATIVE|ENTERPRISE)$", lines[0]), (
        result.stdout)
    header = lines[2].split()
    assert header == ["figure", "FINANCE", "MARKETING", "SALES", "SERVICE", "WAREHOUSE"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[3:] if line and not line.startswith((" ", "*"))}
    for key in ("key_users", "trained_staff_share", "timely_progress_share", "sales_read_progress_share",
                "median_step_wait_minutes", "integrations_up_share", "outbox_lag_seconds"):
        assert len(rows[key]) >= 5, key  # a value per department ("33 %" is two words)
    levels = dict(zip(header[1:], rows["LEVEL"]))  # the demo's three levels (application/rollout_demo.py)
    assert levels == {"FINANCE": "DEPARTMENTAL", "MARKETING": "DEPARTMENTAL", "SALES": "COLLABORATIVE",
                      "SERVICE": "ENTERPRISE", "WAREHOUSE": "DEPARTMENTAL"}, result.stdout
    # SALES is held back by what the demo's ERP and finance know of its orders and customers (its first sync's)
    sales = lines[lines.index("SALES (COLLABORATIVE):") + 1:lines.index("SERVICE (ENTERPRISE):")]
    assert sales == ["  - Sales: customers with receivables 19 %; enterprise needs at least 90 %",
                     "  - Sales: orders with ERP costs 88 %; enterprise needs at least 90 %"], result.stdout
    assert "Company:" in lines


def test_a_manager_gets_their_own_department_and_a_member_nothing(crm: Crm) -> None:
    mine = crm("report", "maturity", *period(), "--as", "service.manager@example.com")
    assert mine.exit_code == 0, mine.output
    assert report_lines(mine.stdout)[2].split() == ["figure", "SERVICE"]
    refused = crm("report", "maturity", *period(), "--as", "sales.member@example.com")
    assert refused.exit_code == 1 and "managers" in refused.stderr
    backwards = crm("report", "maturity", "--from", "2026-02-01", "--to", "2026-01-01")
    assert backwards.exit_code == 1 and "before" in backwards.stderr


def test_the_html_report_renders_its_charts_and_numbers_offline_in_chromium(crm: Crm, tmp_path: Path) -> None:
    page = tmp_path / "maturity.html"
    result = crm("report", "maturity", *period(), "--html", str(page))
    assert result.exit_code == 0, result.output
    text = page.read_text()
    assert text.count("<svg") == 3
    assert "<script" not in text and "<link" not in text and not re.search(r"""(src|href)=["']?https?:""", text)
    assert set(re.findall(r"https?://[^\"' )]+", text)) <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (make system-packages)")
    shot = tmp_path / "maturity.png"
    common = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*common, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120,
                         check=True).stdout
    for chart in ("levels", "trend", "gaps"):
        assert re.search(rf"<figure id=\"chart-{chart}\"><svg", dom), chart
    for title in ("Level per department", "Level per week", "The biggest gaps"):
        assert title in dom  # chart text stays text in the SVG
    assert re.search(r'id="company-level">(DEPARTMENTAL|COLLABORATIVE|ENTERPRISE)<', dom)
    assert re.search(r'data-key="trained_staff_share">\d+ %', dom)
    assert dom.count('class="department"') == 5
    subprocess.run([*common, "--window-size=1200,2000", f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    assert shot.stat().st_size > 20_000  # painted: charts and tables, not a blank page

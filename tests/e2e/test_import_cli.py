"""`crm import customers FILE` against a temporary SQLite database migrated with `crm migrate`."""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from api.cli import app
from tests.conftest import unique


@dataclass
class Crm:
    folder: Path
    env: dict[str, str]

    def __call__(self, *args: str) -> Result:
        return CliRunner().invoke(app, list(args), env=self.env)

    def file(self, name: str, content: str) -> str:
        path = self.folder / name
        path.write_text(content)
        return str(path)

    def customer(self, code: str) -> tuple[str, int] | None:
        with sqlite3.connect(self.folder / "crm.db") as db:
            row = db.execute("SELECT name, version FROM customers WHERE code = ?", (code,)).fetchone()
        return (row[0], row[1]) if row else None


def demo_crm(folder: Path) -> Crm:
    """`crm` on a SQLite database in `folder`, migrated and seeded with the demo data by `crm` itself."""
    crm = Crm(folder, {"CRM_DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'crm.db'}", "CRM_ENV": "test"})
    for command in ("migrate", "seed-demo"):
        result = crm(command)
        assert result.exit_code == 0, result.output
    return crm


@pytest.fixture(scope="module")
def crm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crm]:
    yield demo_crm(tmp_path_factory.mktemp("crm-cli"))


def test_imports_a_csv_file_with_a_progress_bar_and_a_summary(crm: Crm) -> None:
    a, b = unique("CLI").upper(), unique("CLI").upper()
    path = crm.file("customers.csv", f"code,name,kind,ownerEmail\n{a},Alpha,COMPANY,sales.key@example.com\n"
                                     f"{b},Beta,PERSON,\n")
    result = crm("import", "customers", path)
    assert result.exit_code == 0, result.output
    assert "2 rows read: 2 created, 0 updated, 0 unchanged" in result.stdout
    assert "importing customers.csv" in result.stderr and "2 rows" in result.stderr
    assert crm.customer(a) == ("Alpha", 1)
    with sqlite3.connect(crm.folder / "crm.db") as db:  # each customer written is in the audit log
        logged = db.execute("SELECT a.operation, a.kind, s.email FROM audit_log a JOIN customers c ON "
                            "c.id = a.aggregate_id JOIN staff s ON s.id = a.actor_id WHERE c.code IN (?, ?)",
                            (a, b)).fetchall()
    assert logged == [("crm import customers", "CREATE", "admin@example.com")] * 2

    again = crm("import", "customers", path)
    assert "2 rows read: 0 created, 0 updated, 2 unchanged" in again.stdout
    assert crm.customer(a) == ("Alpha", 1)


def test_the_format_comes_from_the_extension_or_the_option(crm: Crm) -> None:
    a = unique("CLI").upper()
    content = json.dumps([{"code": a, "name": "Gamma", "kind": "COMPANY"}])
    assert crm("import", "customers", crm.file("rows.json", content)).exit_code == 0
    assert crm.customer(a) == ("Gamma", 1)

    other = crm.file("rows.txt", content.replace("Gamma", "Gamma Two"))
    unknown = crm("import", "customers", other)
    assert unknown.exit_code == 2 and "--format" in unknown.output
    assert crm("import", "customers", other, "--format", "json").exit_code == 0
    assert crm.customer(a) == ("Gamma Two", 2)


def test_a_dry_run_writes_nothing(crm: Crm) -> None:
    a = unique("CLI").upper()
    result = crm("import", "customers", crm.file("dry.csv", f"code,name,kind\n{a},Delta,COMPANY\n"), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "1 created" in result.stdout and "dry run: nothing was written" in result.stdout
    assert crm.customer(a) is None


def test_row_errors_are_listed_and_fail_the_command(crm: Crm) -> None:
    a, b = unique("CLI").upper(), unique("CLI").upper()
    result = crm("import", "customers", crm.file("bad.csv", f"code,name,kind,tier\n{a},Echo,COMPANY,\n"
                                                            f"{b},Foxtrot,COMPANY,PLATINUM\n"))
    assert result.exit_code == 1
    assert "row 2 tier: tier must be one of" in result.stderr
    assert "1 row has an error, so nothing was imported: an import is all or nothing. Fix it and import the file " \
           "again." in result.stderr
    # the counts do not read as if something was written ("2 rows read: 1 created" before)
    assert result.stdout.splitlines()[0] == ("2 rows read, nothing imported; the rows without errors would have "
                                             "given 1 created, 0 updated, 0 unchanged")
    assert crm.customer(a) is None


def test_an_unreadable_file_is_reported_without_a_traceback(crm: Crm) -> None:
    result = crm("import", "customers", crm.file("broken.json", '{"code": "X"}'))
    assert result.exit_code == 1
    assert "error: The file must hold a JSON array of customer objects." in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_imports_as_the_given_staff_member_who_must_be_allowed(crm: Crm) -> None:
    a = unique("CLI").upper()
    path = crm.file("as.csv", f"code,name,kind\n{a},Golf,COMPANY\n")
    member = crm("import", "customers", path, "--as", "sales.member@example.com")
    assert member.exit_code == 1 and "Only key users, managers and administrators" in member.stderr
    nobody = crm("import", "customers", path, "--as", "nobody@example.com")
    assert nobody.exit_code == 1 and "no active staff member" in nobody.stderr
    assert crm("import", "customers", path, "--as", "sales.manager@example.com").exit_code == 0
    assert crm.customer(a) == ("Golf", 1)

"""The layers stay honest: every import-linter contract in pyproject.toml kept, no import cycle, and a
stdlib-only domain (docs/architecture.md)."""
from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("domain", "application", "infrastructure", "api")


def test_every_import_linter_contract_is_kept() -> None:
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    result = subprocess.run([str(Path(sys.executable).parent / "lint-imports")], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(contracts)} kept, 0 broken." in result.stdout, result.stdout


def cycles(graph: grimp.ImportGraph) -> list[tuple[str, str]]:
    """Each import `a -> b` of ours that `b` leads back to `a` from, directly or round about."""
    ours = sorted(m for m in graph.modules if m.split(".")[0] in PACKAGES)
    return [(a, b) for a in ours for b in sorted(graph.find_modules_directly_imported_by(a))
            if b.split(".")[0] in PACKAGES and graph.chain_exists(importer=b, imported=a)]


def test_no_import_cycles() -> None:
    """No two modules import each other, directly or round about. GraphQL's type graph has cycles of its own
    (Customer.complaints, Complaint.customer): those are strawberry.lazy annotations, whose imports stand under
    TYPE_CHECKING and are left out; a type reaches another area's node through api/nodes.py, which imports
    no type."""
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True)
    assert cycles(graph) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for module in ("api", "api.a", "api.b", "api.c"):
        graph.add_module(module)
    graph.add_import(importer="api.a", imported="api.b")
    graph.add_import(importer="api.b", imported="api.c")
    assert cycles(graph) == []
    graph.add_import(importer="api.c", imported="api.a")
    assert cycles(graph) == [("api.a", "api.b"), ("api.b", "api.c"), ("api.c", "api.a")]


def test_domain_imports_only_the_standard_library() -> None:
    offenders = []
    for path in (ROOT / "domain").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ("domain", "__future__"):
                    offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert offenders == []

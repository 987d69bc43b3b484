"""Node tooling and processes for the federation tests: `npm ci` once per package-lock.json, the CRM
served by `crm serve` against the session's test database, the partner (billing) subgraph and a real
Apollo gateway over both. Every process is started here and stopped here. Node and npm are required:
without them these tests fail, they are never skipped."""
from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, AsyncIterator, Callable, Iterator

import httpx
import pytest

from tests.conftest import Api, Database

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
LOCK = HERE / "package-lock.json"
STAMP = HERE / "node_modules" / ".crm-package-lock.sha256"
START_TIMEOUT = 30.0


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is required for the federation tests (Node 20+ with npm) but is not on PATH")
    return found


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """tests/federation/node_modules as package-lock.json pins it: `npm ci` only when the lock changed since
    the last install (a stamp holds its hash); a file lock keeps parallel sessions from installing twice."""
    node, npm = _tool("node"), _tool("npm")
    version = subprocess.run([node, "--version"], capture_output=True, text=True)
    if version.returncode != 0:
        pytest.fail(f"node cannot run: {version.stderr.strip()}")
    wanted = hashlib.sha256(LOCK.read_bytes()).hexdigest()
    lock_path = Path(tempfile.gettempdir()) / f"crm-npm-ci-{hashlib.sha256(str(HERE).encode()).hexdigest()[:12]}.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (STAMP.exists() and STAMP.read_text().strip() == wanted):
            done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=HERE,
                                  capture_output=True, text=True, timeout=300)
            if done.returncode != 0:
                pytest.fail(f"npm ci failed in {HERE}:\n{done.stdout}\n{done.stderr}")
            STAMP.write_text(wanted + "\n")
    return HERE / "node_modules"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Process:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    url: str = ""

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.unlink(missing_ok=True)


def _spawn(name: str, argv: list[str], *, env: dict[str, str], cwd: Path) -> Process:
    log = Path(tempfile.mkstemp(prefix=f"crm-{name}-", suffix=".log")[1])
    out: IO[bytes] = log.open("wb")
    try:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    finally:
        out.close()
    return Process(name, proc, log)


def _wait(process: Process, ready: Callable[[], str | None]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.proc.poll() is not None:
            pytest.fail(f"{process.name} exited with {process.proc.returncode}:\n{process.output()}")
        found = ready()
        if found:
            process.url = found
            return
        time.sleep(0.05)
    output = process.output()
    process.stop()
    pytest.fail(f"{process.name} did not start within {START_TIMEOUT}s:\n{output}")


def start_node(name: str, script: str, *args: str, env: dict[str, str] | None = None) -> Process:
    """A Node script from this folder that prints `READY <url>` once it listens."""
    process = _spawn(name, [_tool("node"), script, *args], env={**os.environ, **(env or {})}, cwd=HERE)

    def ready() -> str | None:
        for line in process.output().splitlines():
            if line.startswith("READY "):
                return line.split(" ", 1)[1].strip()
        return None

    _wait(process, ready)
    return process


def start_crm(database: Database, secret_key: str) -> Process:
    """`crm serve` on a free loopback port against the session's test database."""
    port = free_port()
    env = {**os.environ, "CRM_DATABASE_URL": database.url, "CRM_SECRET_KEY": secret_key, "CRM_ENV": "test"}
    process = _spawn("crm", [sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                     env=env, cwd=ROOT)

    def ready() -> str | None:
        try:
            ok = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return None
        return f"http://127.0.0.1:{port}/graphql" if ok else None

    _wait(process, ready)
    return process


@pytest.fixture(scope="session")
def billing(node_modules: Path) -> Iterator[Process]:
    process = start_node("billing", "billing.mjs")
    yield process
    process.stop()


@dataclass
class Federation:
    crm: Process
    billing: Process
    gateway: Process


@pytest.fixture(scope="session")
async def federation(api: Api, database: Database, billing: Process) -> AsyncIterator[Federation]:
    """The CRM (`crm serve`) and billing behind a real gateway; composition introspects the CRM with a
    service account's token (sales.key@example.com), as the README describes."""
    crm = start_crm(database, api.container.core.settings().secret_key)
    try:
        service_token = await api.token_for("sales.key@example.com")
        gateway = start_node("gateway", "gateway.mjs", crm.url, billing.url, env={"CRM_SERVICE_TOKEN": service_token})
    except BaseException:
        crm.stop()
        raise
    yield Federation(crm, billing, gateway)
    gateway.stop()
    crm.stop()

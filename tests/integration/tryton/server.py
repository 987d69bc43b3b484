"""A real Tryton server on loopback for the integration tests, set up by the test suite itself.

1. A virtualenv with trytond 8.2 and the modules the adapters read (party, product, account, account_invoice,
   company, currency, account_credit_limit, plus sale as the issue names it) and proteus for the seed script.
   Tryton runs as its own process, so its dependencies stay out of the CRM's .venv.
2. A SQLite database: the file is created first (trytond's SQLite backend only opens existing files), then
   `trytond-admin --all -u ... --activate-dependencies` with the admin password from TRYTONPASSFILE, then
   `seed.py` (company, currencies and rates, products with costs, posted customer invoices).
3. Both are cached under ~/.cache/crm-tryton (CRM_TRYTON_CACHE), keyed by the pinned versions and a hash of the
   seed script: the first run takes about a minute, later runs a few seconds. Each test session copies the
   prepared database and starts `trytond -d erp` on a free loopback port.

Anything that goes wrong fails the tests (pytest.fail), with the tail of the log: never a skip.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

HERE = Path(__file__).resolve().parent
SERIES = "8.2"
PACKAGES = [f"{name}=={SERIES}.*" for name in (
    "trytond", "trytond-party", "trytond-product", "trytond-sale", "trytond-account", "trytond-account-invoice",
    "trytond-company", "trytond-currency", "trytond-account-credit-limit", "proteus")]
MODULES = ["party", "product", "sale", "account", "account_invoice", "company", "currency", "account_credit_limit"]
DATABASE = "erp"
USER = "admin"
PASSWORD = "admin-secret-for-tests"


def _cache_root() -> Path:
    return Path(os.environ.get("CRM_TRYTON_CACHE") or Path.home() / ".cache" / "crm-tryton")


def _fail(what: str, log: str | bytes = "") -> None:
    text = log.decode(errors="replace") if isinstance(log, bytes) else log
    pytest.fail(f"Could not set up Tryton for the integration tests: {what}\n{text[-4000:]}", pytrace=False)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One test process at a time prepares the cache."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(args: list[str], what: str, timeout: float, **kwargs: object) -> None:
    try:
        done = subprocess.run(args, capture_output=True, timeout=timeout, **kwargs)  # type: ignore[call-overload]
    except (OSError, subprocess.TimeoutExpired) as err:
        _fail(f"{what}: {err}")
    if done.returncode != 0:
        _fail(f"{what} exited with {done.returncode}", done.stdout + done.stderr)


def ensure_virtualenv() -> Path:
    key = hashlib.sha256(json.dumps([sys.version_info[:2], PACKAGES]).encode()).hexdigest()[:12]
    venv = _cache_root() / f"venv-{SERIES}-{key}"
    with _locked(_cache_root() / ".lock"):
        if not (venv / ".complete").exists():
            shutil.rmtree(venv, ignore_errors=True)
            _run([sys.executable, "-m", "venv", str(venv)], "creating the Tryton virtualenv", 120)
            _run([str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", *PACKAGES],
                 "installing trytond and its modules from PyPI", 600)
            (venv / ".complete").touch()
    return venv


def _config(folder: Path, port: int = 0) -> Path:
    conf = folder / "trytond.conf"
    conf.write_text(f"[database]\nuri = sqlite://\npath = {folder}\n\n[web]\nlisten = 127.0.0.1:{port}\n\n"
                    "[session]\nmax_attempt = 100\n")
    return conf


def ensure_database(venv: Path) -> Path:
    """The prepared database file (modules activated, data seeded), built once per versions and seed script."""
    seed = HERE / "seed.py"
    key = hashlib.sha256(json.dumps([PACKAGES, MODULES]).encode() + seed.read_bytes()).hexdigest()[:12]
    prepared = _cache_root() / f"db-{SERIES}-{key}" / f"{DATABASE}.sqlite"
    with _locked(_cache_root() / ".lock"):
        if prepared.exists():
            return prepared
        work = Path(tempfile.mkdtemp(prefix="crm-tryton-build-"))
        try:
            (work / f"{DATABASE}.sqlite").touch()
            conf = _config(work)
            password = work / "password"
            password.write_text(PASSWORD)
            env = {**os.environ, "TRYTONPASSFILE": str(password)}
            _run([str(venv / "bin" / "trytond-admin"), "-c", str(conf), "-d", DATABASE, "--all", "-u", *MODULES,
                  "--activate-dependencies", "--email", "admin@example.com"], "trytond-admin (activating modules)",
                 600, env=env)
            _run([str(venv / "bin" / "python"), str(seed), str(conf), DATABASE], "seeding Tryton", 300, env=env)
            prepared.parent.mkdir(parents=True, exist_ok=True)
            staging = prepared.with_suffix(".partial")
            shutil.copyfile(work / f"{DATABASE}.sqlite", staging)
            staging.rename(prepared)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return prepared


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class TrytonServer:
    """A trytond process serving a private copy of the prepared database; stop() and start() it at will."""

    venv: Path
    folder: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    database: str = DATABASE
    user: str = USER
    password: str = PASSWORD

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.folder / "trytond.log"

    def start(self, timeout: float = 60.0) -> None:
        conf = _config(self.folder, self.port)
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen([str(self.venv / "bin" / "trytond"), "-c", str(conf), "-d", self.database],
                                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                _fail(f"trytond exited with {self.process.returncode}", self.log.read_text(errors="replace"))
            if self._answers():
                return
            time.sleep(0.1)
        self.stop()
        _fail(f"trytond did not answer on {self.url} within {timeout:g} s", self.log.read_text(errors="replace"))

    def _answers(self) -> bool:
        """Logged in once: the database is loaded and the admin password works."""
        body = json.dumps({"id": 1, "method": "common.db.login",
                           "params": [self.user, {"password": self.password}, "en"]}).encode()
        request = urllib.request.Request(f"{self.url}/{self.database}/rpc/", data=body,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return bool(json.load(response).get("result"))
        except (OSError, urllib.error.URLError, ValueError):
            return False

    def pause(self) -> None:
        """Freeze the process (SIGSTOP): connections are accepted by the kernel but never answered, as a hung
        ERP behaves."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)  # a paused process would not see the SIGTERM
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None


@contextlib.contextmanager
def tryton_server() -> Iterator[TrytonServer]:
    try:
        venv = ensure_virtualenv()
        prepared = ensure_database(venv)
        folder = Path(tempfile.mkdtemp(prefix="crm-tryton-"))
        shutil.copyfile(prepared, folder / f"{DATABASE}.sqlite")
    except OSError as err:
        _fail(f"{err} (the cache is {_cache_root()}; CRM_TRYTON_CACHE moves it)")
    server = TrytonServer(venv=venv, folder=folder, port=_free_port())
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)

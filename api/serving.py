"""Several API processes on one port, sharing its connections evenly.

uvicorn's own `--workers` hands one listening socket to every process. Whichever process wakes first accepts
every connection waiting (its event loop accepts in a batch), so the long-lived keep-alive connections of a
load balancer or a benchmark's driver could all land on one process while the others idled: with two workers,
20 connections were served by one process, at the throughput of one. A socket of its own per process (SO_REUSEPORT)
spreads them by a hash of the client's address and port instead: 20 connections split 13/7, 12/8 or 11/9 in
most trials, and the more loaded process's queue sets the tail latency. So the processes share one listening socket
and each accepts through a BalancedAcceptor: one connection at a time, and only while it holds no more connections
than the least loaded of the live processes (their counts in shared memory): 20 connections split 10/10.

The parent only supervises: SIGINT/SIGTERM go on to the children (each finishes its requests in flight, as
uvicorn does), a child that dies later is started again, and a child that cannot even start (bad settings, no
database) stops the whole service with its exit code instead of being restarted forever.

(SO_REUSEPORT also lets a second `crm serve` of the same user on the same port share it: that is how a new
version starts beside the old one before the old one stops, and also why two must not be started by mistake.)

Every process also keeps a deadline for a request's headers beside uvicorn's keep-alive timeout (HeaderDeadline).

uvicorn closes a kept-alive connection that stays idle (`timeout_keep_alive`), but has no deadline for the
headers of a request once its first byte arrived: a client that sends them a byte at a time holds a connection
(and a file descriptor) for as long as it likes, and a few thousand such clients starve the server. HeaderDeadline
closes a connection whose request headers are not complete CRM_HTTP_HEADER_TIMEOUT seconds after the connection
opened, or after the first byte of a later request on it. The body is not under this deadline: its size is
bounded (api/common/limits.py) and uploads may be slow.
"""
from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import socket
import sys
import tempfile
import time
from multiprocessing.process import BaseProcess
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol

from infrastructure.settings import Settings

log = logging.getLogger("crm.serve")
STARTUP_SECONDS = 15.0  # a child that ends sooner failed to start
SUPERVISE_EVERY = 0.5
SHUTDOWN_WAIT = 60.0  # seconds a child has to stop after SIGTERM before it is killed


def reuse_port_supported() -> bool:
    return hasattr(socket, "SO_REUSEPORT") and sys.platform.startswith("linux")


def _listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class Loads:
    """Each API process's open connections and when it last said so, in memory the processes share."""

    LIVE_FOR = 1.0  # seconds a process's count is believed without a fresh word from it

    def __init__(self, connections: Any, beats: Any, index: int) -> None:
        self.connections, self.beats, self.index = connections, beats, index

    def publish(self, count: int) -> None:
        self.connections[self.index] = count
        self.beats[self.index] = time.monotonic()

    def least(self, own: int) -> int:
        """The fewest connections a live process holds (this one's own count being `own`)."""
        now, fewest = time.monotonic(), own
        for i, (count, beat) in enumerate(zip(self.connections[:], self.beats[:])):
            if i != self.index and now - beat < self.LIVE_FOR:
                fewest = min(fewest, count)
        return fewest


class BalancedAcceptor:
    """Accepts the connections of a listening socket that several processes share, one at a time, while this
    process holds no more of them than the least loaded live process; otherwise it stops looking for a moment
    and leaves the connection to a less loaded one (it takes it anyway after MAX_YIELD seconds). Increases are
    published at once and decreases every HEARTBEAT, so a process never believes another less loaded than it is:
    at least one process always accepts."""

    HEARTBEAT, YIELD, MAX_YIELD = 0.05, 0.002, 0.1

    def __init__(self, sock: socket.socket, loads: Loads, serve: Any, open_connections: Any) -> None:
        self._sock, self._loads, self._serve, self._open = sock, loads, serve, open_connections
        self._loop = asyncio.get_running_loop()
        self._reading = False
        self._stopped = False
        self._yielding_since: float | None = None
        self._pending = 0  # accepted, not yet connected to its protocol
        self._beat: asyncio.TimerHandle | None = None

    def start(self) -> None:
        self._sock.setblocking(False)
        self._heartbeat()
        self._resume()

    def stop(self) -> None:
        self._stopped = True
        self._pause()
        if self._beat is not None:
            self._beat.cancel()
        self._loads.publish(0)

    def _count(self) -> int:
        return len(self._open()) + self._pending

    def _heartbeat(self) -> None:
        self._loads.publish(self._count())
        self._beat = self._loop.call_later(self.HEARTBEAT, self._heartbeat)

    def _resume(self) -> None:
        if not self._stopped and not self._reading:
            self._loop.add_reader(self._sock.fileno(), self._ready)
            self._reading = True

    def _pause(self) -> None:
        if self._reading:
            self._loop.remove_reader(self._sock.fileno())
            self._reading = False

    def _ready(self) -> None:
        while True:
            own = self._count()
            if own > self._loads.least(own):
                now = time.monotonic()
                self._yielding_since = self._yielding_since or now
                if now - self._yielding_since < self.MAX_YIELD:
                    self._pause()
                    self._loop.call_later(self.YIELD, self._resume)
                    return
            try:
                conn, _ = self._sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as err:  # out of file descriptors, say: try again a little later
                log.warning("accepting a connection failed: %s", err)
                self._pause()
                self._loop.call_later(0.1, self._resume)
                return
            self._yielding_since = None
            conn.setblocking(False)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._pending += 1
            self._loads.publish(self._count())
            self._loop.create_task(self._connect(conn))

    async def _connect(self, conn: socket.socket) -> None:
        try:
            await self._serve(conn)
        except Exception as err:  # noqa: BLE001 - the client went away before it was served
            log.debug("an accepted connection could not be served: %s", err)
            conn.close()
        finally:
            self._pending -= 1


def _balanced_server(config: Any, sock: socket.socket, loads: Loads) -> Any:
    """uvicorn's Server, listening on nothing of its own: a BalancedAcceptor hands it the connections it accepts
    from the shared socket (the same protocol and bookkeeping its own listener would), and stops before uvicorn's
    graceful shutdown begins."""
    import uvicorn

    class BalancedServer(uvicorn.Server):  # type: ignore[misc]
        acceptor: BalancedAcceptor | None = None

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=[])
            if not self.started:
                return
            loop = asyncio.get_running_loop()

            def protocol() -> asyncio.Protocol:
                return config.http_protocol_class(config=config, server_state=self.server_state,
                                                  app_state=self.lifespan.state, _loop=loop)

            async def serve(conn: socket.socket) -> None:
                await loop.connect_accepted_socket(protocol, conn)

            self.acceptor = BalancedAcceptor(sock, loads, serve, lambda: self.server_state.connections)
            self.acceptor.start()

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            if self.acceptor is not None:
                self.acceptor.stop()
            await super().shutdown(sockets)

    return BalancedServer(config)


def _child(sock: socket.socket, connections: Any, beats: Any, index: int, host: str, port: int,
           options: dict[str, Any]) -> None:
    import uvicorn

    config = uvicorn.Config("api.app:create_app", factory=True, host=host, port=port, **options)
    _balanced_server(config, sock, Loads(connections, beats, index)).run()


def serve_processes(count: int, host: str, port: int, options: dict[str, Any]) -> int:
    """Run `count` API processes on (host, port) until SIGINT/SIGTERM; the exit code for the command."""
    listener = _listening_socket(host, port)  # the port is free (and ours to share), or fail here, at once
    context = multiprocessing.get_context("spawn")
    connections = context.Array("i", count, lock=False)  # per process: its open connections
    beats = context.Array("d", count, lock=False)  # per process: when it last said so (monotonic)
    stopping: list[int] = []
    metrics_dir = _metrics_dir()

    def start(index: int) -> tuple[BaseProcess, float]:
        beats[index] = 0.0  # not live until it says so
        process = context.Process(target=_child, args=(listener, connections, beats, index, host, port, options),
                                  daemon=False)
        process.start()
        return process, time.monotonic()

    def stop(signum: int, _frame: Any) -> None:
        stopping.append(signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    children = [start(index) for index in range(count)]
    code = 0
    try:
        while not stopping:
            time.sleep(SUPERVISE_EVERY)
            for index, (process, started) in enumerate(children):
                if process.is_alive():
                    continue
                if time.monotonic() - started < STARTUP_SECONDS:
                    log.error("an API process could not start (exit code %s): stopping", process.exitcode)
                    code = process.exitcode or 1
                    stopping.append(signal.SIGTERM)
                    break
                log.warning("API process %s ended (exit code %s): starting another", process.pid, process.exitcode)
                _forget_metrics_of(process.pid)
                children[index] = start(index)
    finally:
        for process, _ in children:
            if process.is_alive() and process.pid is not None:
                process.terminate()  # SIGTERM: uvicorn finishes the requests in flight
        for process, _ in children:
            process.join(SHUTDOWN_WAIT)
            if process.is_alive():
                process.kill()
                process.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        listener.close()
        if metrics_dir is not None:
            metrics_dir.cleanup()
    return code


def _metrics_dir() -> tempfile.TemporaryDirectory[str] | None:
    """A fresh PROMETHEUS_MULTIPROC_DIR for the children to add their metrics up in (infrastructure/metrics.py),
    unless the operator named one (shared with `crm worker` processes on the machine, say)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return None
    made = tempfile.TemporaryDirectory(prefix="crm-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = made.name  # the spawned children inherit it
    return made


def _forget_metrics_of(pid: int | None) -> None:
    """A dead child's live gauges (pool, subscriptions) stop counting; its counters stay."""
    if pid is not None and os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


HEADER_TIMEOUT_VARIABLE = "CRM_HTTP_HEADER_TIMEOUT"


class HeaderDeadline(AutoHTTPProtocol):  # type: ignore[valid-type,misc]
    """uvicorn's HTTP protocol (httptools or h11), with a deadline for each request's headers. The deadline is
    read from the environment, which uvicorn's worker processes inherit (`crm serve` has checked it)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timeout = float(os.environ.get(HEADER_TIMEOUT_VARIABLE) or Settings.http_header_timeout)
        self._deadline: asyncio.TimerHandle | None = None
        self._before: Any = None  # the request cycle before the one whose headers are awaited

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(WholeResponses(transport, self.loop))  # type: ignore[arg-type]
        self._await_headers()

    def data_received(self, data: bytes) -> None:
        if self._deadline is None and (self.cycle is None or self.cycle.response_complete):
            # the first bytes of the next request on a kept-alive connection: nearly always all its headers, so
            # the deadline is set only if they are not complete yet (no timer to set and cancel per request)
            before = self.cycle
            super().data_received(data)
            if self.cycle is before and not self.transport.is_closing() and not self._handed_over():
                self._await_headers()
            return
        super().data_received(data)
        if self._deadline is not None and (self.cycle is not self._before or self._handed_over()):
            self._stop()  # its headers are complete (or the connection is a WebSocket now)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop()
        super().connection_lost(exc)

    def _await_headers(self) -> None:
        self._before = self.cycle
        self._deadline = self.loop.call_later(self._header_timeout, self._too_slow)

    def _stop(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _handed_over(self) -> bool:
        return self.transport.get_protocol() is not self

    def _too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing() and not self._handed_over():
            self.transport.close()


class WholeResponses:
    """A connection's transport that sends a response's head with the start of its body. uvicorn writes the status
    line and headers on `http.response.start` and the body on `http.response.body`: two system calls and two TCP
    segments for the client to read where one does (a loopback write was the dearest single thing a hot read did
    here). A head (a write from `HTTP/` to a blank line) is held until the next write, a close, or the end of the
    event loop's turn, whichever comes first, so nothing waits longer than the callback that wrote it."""

    __slots__ = ("_transport", "_loop", "_head", "_flush")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._head: bytes | None = None
        self._flush: asyncio.Handle | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        head = self._head
        if head is not None:
            self._head = None
            self._flush.cancel()  # type: ignore[union-attr]
            self._transport.write(head + bytes(data))
        elif data[:5] == b"HTTP/" and data[-4:] == b"\r\n\r\n":
            self._head = bytes(data)
            self._flush = self._loop.call_soon(self._send_head)
        else:
            self._transport.write(data)

    def writelines(self, items: Any) -> None:
        self.write(b"".join(items))

    def _send_head(self) -> None:
        head, self._head = self._head, None
        if head is not None and not self._transport.is_closing():
            self._transport.write(head)

    def close(self) -> None:
        self._send_head()
        self._transport.close()

    def write_eof(self) -> None:
        self._send_head()
        self._transport.write_eof()

    def abort(self) -> None:
        self._head = None
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + len(self._head or b"")

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def __getattr__(self, name: str) -> Any:  # pause_reading, set_protocol, ...: the transport's own
        return getattr(self._transport, name)


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The options `crm serve` gives uvicorn for the settings' timeouts."""
    os.environ[HEADER_TIMEOUT_VARIABLE] = str(settings.http_header_timeout)  # for the worker processes too
    return {"http": HeaderDeadline, "timeout_keep_alive": settings.http_keep_alive_timeout}

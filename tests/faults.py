"""A TCP fault proxy a test owns, between the code under test and a shared service (PostgreSQL, RabbitMQ ...).

The machine's services are shared with other engineers' suites: a test never stops, pauses or reconfigures
them. It points the code under test at `FaultProxy(host, port).address` instead and injects the fault there:

- `cut()`: drop every connection and refuse new ones (the service is "down") until `restore()`;
- `reset()`: drop the connections open now, accept new ones at once (a backend terminated, a network blip);
- `pause()`: keep the connections but forward nothing either way (the service hangs) until `restore()`.

It runs on the test's event loop; code in other processes (a `crm serve` subprocess) may use it too, as long
as the test awaits while they talk.
"""
from __future__ import annotations

import asyncio
import contextlib
from typing import Self

from urllib.parse import urlsplit, urlunsplit

CHUNK = 64 * 1024
DEFAULT_PORTS = {"postgresql": 5432, "amqp": 5672, "http": 80}


class FaultProxy:
    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self._server: asyncio.Server | None = None
        self._links: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._refusing = False
        self.accepted = 0  # connections accepted so far (and forwarded)

    @classmethod
    def for_url(cls, url: str) -> Self:
        """A proxy to the host and port of a database, broker or HTTP URL."""
        parsed = urlsplit(url)
        return cls(parsed.hostname or "127.0.0.1", parsed.port or DEFAULT_PORTS[parsed.scheme.split("+")[0]])

    async def start(self) -> Self:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the proxy first"
        return self._server.sockets[0].getsockname()[1]

    def url(self, url: str) -> str:
        """`url` (a database, broker or HTTP URL) pointed at this proxy."""
        parsed = urlsplit(url)
        credentials = parsed.netloc.rpartition("@")[0]
        netloc = f"{credentials}@127.0.0.1:{self.port}" if credentials else f"127.0.0.1:{self.port}"
        return urlunsplit(parsed._replace(netloc=netloc))

    def cut(self) -> None:
        self._refusing = True
        self._drop_all()

    def reset(self) -> None:
        self._drop_all()

    def pause(self) -> None:
        self._flowing.clear()

    def restore(self) -> None:
        self._refusing = False
        self._flowing.set()

    async def close(self) -> None:
        self.restore()
        if self._server is not None:
            self._server.close()
            self._drop_all()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None

    def _drop_all(self) -> None:
        for client, upstream in list(self._links):
            for writer in (client, upstream):
                with contextlib.suppress(Exception):
                    writer.transport.abort()  # a reset, not a polite close
        self._links.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._refusing:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        if self._refusing:  # cut while connecting
            up_writer.transport.abort()
            writer.transport.abort()
            return
        self.accepted += 1
        link = (writer, up_writer)
        self._links.add(link)
        pumps = [asyncio.ensure_future(self._pump(reader, up_writer)), asyncio.ensure_future(self._pump(up_reader, writer))]
        for pump in pumps:
            self._tasks.add(pump)
            pump.add_done_callback(self._tasks.discard)
        await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        self._links.discard(link)
        for side in link:
            with contextlib.suppress(Exception):
                side.transport.abort()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            while data := await reader.read(CHUNK):
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()

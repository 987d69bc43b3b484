"""`crm serve` closes connections that dawdle: request headers not complete within CRM_HTTP_HEADER_TIMEOUT
(a slow-header client would otherwise hold a connection for ever), and kept-alive connections left idle for
CRM_HTTP_KEEP_ALIVE_TIMEOUT. A WebSocket, once upgraded, is not under the header deadline. And every answer arrives
whole, its head sent with its body (api/serving.py `WholeResponses`): also one without a body, one before a close,
and pipelined ones, in order."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import AsyncIterator

import pytest
import websockets

from tests.integration.servers import TEST_MODE, free_port, wait_ready

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[int, str]]:
    db = tmp_path_factory.mktemp("serve") / "crm.db"
    env = {**os.environ, **TEST_MODE, "CRM_DATABASE_URL": f"sqlite+aiosqlite:///{db}",
           "CRM_HTTP_HEADER_TIMEOUT": "1", "CRM_HTTP_KEEP_ALIVE_TIMEOUT": "1"}
    for args in (("migrate",), ("seed-demo",)):
        subprocess.run([sys.executable, "-m", "api.cli", *args], cwd=ROOT, env=env, check=True, capture_output=True)
    token = subprocess.run([sys.executable, "-m", "api.cli", "token", "admin@example.com"], cwd=ROOT, env=env,
                           check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--no-access-log"],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        await wait_ready(f"http://127.0.0.1:{port}", process)
        yield port, token
    finally:
        process.terminate()
        process.wait(timeout=20)


async def closed_after(reader: asyncio.StreamReader, limit: float) -> float:
    """Seconds until the server closes the connection (reading whatever it sends first)."""
    started = time.monotonic()
    while await asyncio.wait_for(reader.read(65536), limit):
        pass
    return time.monotonic() - started


@pytest.mark.parametrize("after_a_request", [False, True], ids=["new connection", "kept alive"])
async def test_headers_sent_a_byte_at_a_time_are_cut_off(server: tuple[int, str], after_a_request: bool) -> None:
    """On a new connection, and on a kept-alive one after a request answered (its next request's first bytes set
    the deadline)."""
    port, _ = server
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    if after_a_request:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(
            b"content-length:")))
        await asyncio.wait_for(reader.readexactly(length), 5)
    started = time.monotonic()
    try:
        for byte in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ":
            writer.write(bytes([byte]))
            await writer.drain()
            if reader.at_eof():
                break
            await asyncio.sleep(0.05)
        else:
            while not reader.at_eof() and time.monotonic() - started < 5:
                writer.write(b"a")
                await writer.drain()
                await asyncio.sleep(0.1)
        assert await closed_after(reader, 5) < 5
    except ConnectionResetError:
        pass  # closed while writing: cut off as well
    assert time.monotonic() - started < 3  # the 1 s deadline, not the client's pace
    writer.close()


async def test_an_idle_kept_alive_connection_is_closed(server: tuple[int, str]) -> None:
    port, _ = server
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    assert (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)).startswith(b"HTTP/1.1 200")
    assert 0.5 < await closed_after(reader, 5) < 3
    writer.close()


async def test_a_websocket_outlives_the_header_deadline(server: tuple[int, str]) -> None:
    port, token = server
    async with websockets.connect(f"ws://127.0.0.1:{port}/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        await asyncio.sleep(2)  # past the 1 s header deadline
        await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "connection_ack"
        await ws.send(json.dumps({"type": "ping"}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "pong"


async def read_response(reader: asyncio.StreamReader, body: bool = True) -> tuple[bytes, bytes]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    return head, await asyncio.wait_for(reader.readexactly(length), 5) if body else b""


async def test_answers_without_a_body_before_a_close_and_pipelined_arrive_whole(server: tuple[int, str]) -> None:
    port, _ = server
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n")  # a head with no body after it
    head, _ = await read_response(reader, body=False)
    assert head.startswith(b"HTTP/1.1 200") and b"content-length:" in head.lower()
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
    answers = [await read_response(reader), await read_response(reader)]
    assert [h.split(b" ")[1] for h, _ in answers] == [b"200", b"200"] and all(b for _, b in answers)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, body = await read_response(reader)
    assert head.startswith(b"HTTP/1.1 200") and body and await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()

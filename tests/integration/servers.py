"""Helpers for tests that run `crm serve` as a real process."""
from __future__ import annotations

import asyncio
import socket
import subprocess

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_ready(url: str, process: subprocess.Popen[bytes], attempts: int = 300) -> None:
    """Until `url`/readyz answers 200; fails at once with the server's stderr if it exits."""
    async with httpx.AsyncClient() as client:
        for _ in range(attempts):
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            try:
                if (await client.get(f"{url}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError(f"{url} did not become ready")

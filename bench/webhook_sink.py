"""A minimal webhook receiver for bench/outbox_relay.py, run in its own process so the benchmark measures the
relay rather than a receiver sharing its event loop: answers 204 and appends "<X-Event-Id> <aggregateId>"
to the file named by WEBHOOK_SINK_FILE.

    WEBHOOK_SINK_FILE=/tmp/sink.txt .venv/bin/uvicorn bench.webhook_sink:app --port 8765 --log-level warning
"""
from __future__ import annotations

import json
import os
from typing import Any, Awaitable, Callable

SINK = open(os.environ.get("WEBHOOK_SINK_FILE", os.devnull), "a", buffering=1)  # noqa: SIM115 - lives with the process


async def app(scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]],
              send: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    event_id = dict(scope["headers"]).get(b"x-event-id", b"").decode()
    SINK.write(f"{scope['path']} {event_id} {json.loads(body)['aggregateId']}\n")
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})

"""graphql-transport-ws sign-in as the README promises it: a `connection_init` without a valid token closes the
socket with 4403, a null payload (the protocol allows one) included. strawberry closes on a null payload with 4400
before the app could say why; a payload of another type (a string, a list) is still the protocol error 4400.

The database away while a `connection_init` signs in is a coded close, not a crash: 4503 with the reason
`SERVICE_UNAVAILABLE` (or `TRANSIENT`, failed in passing), the codes HTTP requests get with their 503; the client
reconnects later (docs/reliability.md). Any other failure there closes with 4500 `INTERNAL_ERROR`, logged."""
from __future__ import annotations

import logging
from typing import Any

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler

from infrastructure.db.faults import database_fault

log = logging.getLogger("crm.api")

UNAVAILABLE_CLOSE = 4503
INTERNAL_CLOSE = 4500


class SignInHandler(BaseGraphQLTransportWSHandler):  # type: ignore[type-arg]
    async def handle_connection_init(self, message: Any) -> None:
        if message.get("payload") is None:  # no token at all: on_ws_connect refuses it (4403)
            message = {**message, "payload": {}}
        try:
            await super().handle_connection_init(message)
        except Exception as err:  # noqa: BLE001 - a coded close, never a crashed handler
            fault = database_fault(err)
            if fault is None:
                log.exception("WebSocket sign-in failed")
                await self.websocket.close(code=INTERNAL_CLOSE, reason="INTERNAL_ERROR")
            else:
                log.warning("WebSocket sign-in: %s (%s)", fault, err)
                await self.websocket.close(code=UNAVAILABLE_CLOSE, reason=fault.code)

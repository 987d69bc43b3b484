"""graphql-transport-ws sign-in as the README promises it: a `connection_init` without a valid token closes the
socket with 4403, a null payload (the protocol allows one) included. strawberry closes on a null payload with 4400
before the app could say why; a payload of another type (a string, a list) is still the protocol error 4400."""
from __future__ import annotations

from typing import Any

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler


class SignInHandler(BaseGraphQLTransportWSHandler):  # type: ignore[type-arg]
    async def handle_connection_init(self, message: Any) -> None:
        if message.get("payload") is None:  # no token at all: on_ws_connect refuses it (4403)
            message = {**message, "payload": {}}
        await super().handle_connection_init(message)

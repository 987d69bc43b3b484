"""`orderEvents` over graphql-transport-ws: a board sees order changes live, narrowed as it asks."""
from __future__ import annotations

import asyncio
import contextlib
from typing import Any, AsyncIterator, Iterator

import httpx
from dependency_injector import providers
from httpx_ws import aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport

from tests.conftest import Api, subscribers_settled, wait_for_subscribers
from tests.e2e.test_order_lifecycle import moved
from tests.e2e.test_orders import create

SUBSCRIBE = ("subscription($c: ID, $s: [OrderStatus!]) { orderEvents(customerId: $c, statuses: $s) { "
             "kind fromStatus toStatus order { id number status customer { id } } } }")


class HeldBack:
    """EventStream fake around the real one: committed events reach subscribers only once `released` is set,
    as for a subscriber that lags behind the writes (the order has moved on when its first event arrives)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.released = asyncio.Event()

    async def subscribe(self) -> AsyncIterator[Any]:
        async for event in self._stream.subscribe():
            await self.released.wait()
            yield event


@contextlib.contextmanager
def held_back(api: Api) -> Iterator[HeldBack]:
    stream = HeldBack(api.container.services.events())
    api.container.services.events.override(providers.Object(stream))
    try:
        yield stream
    finally:
        api.container.services.events.reset_override()


async def subscribe(ws: Any, api: Api, email: str, query: str = SUBSCRIBE, **variables: Any) -> None:
    await ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {await api.token_for(email)}"}})
    assert (await ws.receive_json())["type"] == "connection_ack"
    await ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}})


async def next_event(ws: Any, field: str = "orderEvents") -> dict:
    message = await asyncio.wait_for(ws.receive_json(), 10)
    assert message["type"] == "next", message
    return message["payload"]["data"][field]


async def test_order_events_follow_an_order_and_respect_filters(api: Api, app: Any) -> None:
    """Filters match the event, and `order` shows the order as of the event, however late it is delivered:
    here every event is held back until the order has already shipped."""
    order = await create(api)
    customer_id = order["customer"]["id"]
    async with httpx.AsyncClient(transport=ASGIWebSocketTransport(app), base_url="http://test") as client:
        async with aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"]) as mine, \
                aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"]) as shipped_only:
            with held_back(api) as stream:
                before = await subscribers_settled(api)
                await subscribe(mine, api, "warehouse.member@example.com", c=customer_id)
                await subscribe(shipped_only, api, "finance.member@example.com", s=["SHIPPED"])
                await wait_for_subscribers(api, before + 2)

                for to, who in [("CONFIRMED", "sales.member@example.com"),
                                ("IN_FULFILLMENT", "warehouse.member@example.com"),
                                ("SHIPPED", "warehouse.member@example.com")]:
                    await moved(api, order, to, as_=who)
                stream.released.set()
                seen = [await next_event(mine) for _ in range(3)]
            assert [(e["kind"], e["fromStatus"], e["toStatus"], e["order"]["status"]) for e in seen] == [
                ("CONFIRMED", "DRAFT", "CONFIRMED", "CONFIRMED"),
                ("IN_FULFILLMENT", "CONFIRMED", "IN_FULFILLMENT", "IN_FULFILLMENT"),
                ("SHIPPED", "IN_FULFILLMENT", "SHIPPED", "SHIPPED")]
            assert {e["order"]["number"] for e in seen} == {order["number"]}

            shipped = await next_event(shipped_only)
            assert (shipped["kind"], shipped["order"]["number"]) == ("SHIPPED", order["number"])


async def test_a_bad_filter_id_is_an_error_with_a_code(api: Api, app: Any) -> None:
    async with httpx.AsyncClient(transport=ASGIWebSocketTransport(app), base_url="http://test") as client:
        async with aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"]) as ws:
            await subscribe(ws, api, "sales.member@example.com", c="not-an-id")
            message = await ws.receive_json()
            errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
            assert errors[0]["extensions"]["code"] == "INVALID"
            assert errors[0]["message"] == "customerId is not a valid ID."


async def test_only_subscriptions_run_over_a_websocket(api: Api, app: Any) -> None:
    """A socket keeps the rights of whoever opened it; queries and mutations go over HTTP, where every
    request is authenticated afresh."""
    async with httpx.AsyncClient(transport=ASGIWebSocketTransport(app), base_url="http://test") as client:
        async with aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send_json({"type": "connection_init",
                                "payload": {"Authorization": f"Bearer {await api.token_for('admin@example.com')}"}})
            assert (await ws.receive_json())["type"] == "connection_ack"
            await ws.send_json({"id": "1", "type": "subscribe", "payload": {
                "query": 'mutation { createCustomer(input: {name: "Via socket", kind: COMPANY}) { customer { id } } }'}})
            message = await ws.receive_json()
            errors = message["payload"] if message["type"] == "error" else message["payload"].get("errors")
            assert errors, message
    found = await api('{ customers(filter: {search: "Via socket"}) { totalCount } }')
    assert found["customers"]["totalCount"] == 0

"""`opportunityEvents` over graphql-transport-ws: a pipeline board sees deals move live, narrowed on the event
(its owner and stage as the event left the deal), with the same rules as the other subscriptions."""
from __future__ import annotations

import asyncio
from typing import Any

import httpx
from httpx_ws import aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport

from tests.conftest import Api, subscribers_settled, wait_for_subscribers
from tests.e2e.test_opportunities import create, move, stages, staff_id
from tests.e2e import test_order_events as order_events
from tests.e2e.test_order_events import held_back

SUBSCRIBE = ("subscription($o: ID, $s: [ID!]) { opportunityEvents(ownerId: $o, stageIds: $s) { "
             "kind at to { name } by { email } opportunity { number probability stage { name } owner { email } } } }")


async def subscribe(ws: Any, api: Api, email: str, **variables: Any) -> None:
    await order_events.subscribe(ws, api, email, SUBSCRIBE, **variables)


async def next_event(ws: Any) -> dict:
    return await order_events.next_event(ws, "opportunityEvents")


async def test_opportunity_events_follow_a_deal_as_of_each_event_and_respect_filters(api: Api, app: Any) -> None:
    owner = await staff_id(api, "sales.member")
    won_stage = (await stages(api))["Won"]["id"]
    async with httpx.AsyncClient(transport=ASGIWebSocketTransport(app), base_url="http://test") as client:
        async with aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"]) as mine, \
                aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"]) as won_only, \
                aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"]) as others:
            with held_back(api) as stream:
                before = await subscribers_settled(api)
                await subscribe(mine, api, "service.member@example.com", o=owner)  # everybody reads the pipeline
                await subscribe(won_only, api, "finance.member@example.com", s=[won_stage])
                await subscribe(others, api, "sales.key@example.com", o=await staff_id(api, "sales.manager"))
                await wait_for_subscribers(api, before + 3)
                deal = await create(api, name="Live deal")
                await move(api, deal, "Negotiation")
                await move(api, deal, "Won")
                stream.released.set()  # delivered late: the deal is won by now
                seen = []
                while len(seen) < 3:
                    event = await next_event(mine)
                    if event["opportunity"]["number"] == deal["number"]:
                        seen.append(event)
            assert [(e["kind"], e["to"] and e["to"]["name"], e["opportunity"]["stage"]["name"],
                     e["opportunity"]["probability"], e["by"]["email"]) for e in seen] == [
                ("CREATED", None, "Qualification", 10, "sales.member@example.com"),
                ("STAGE_CHANGED", "Negotiation", "Negotiation", 70, "sales.member@example.com"),
                ("WON", "Won", "Won", 100, "sales.member@example.com")]
            won = await next_event(won_only)
            while won["opportunity"]["number"] != deal["number"]:
                won = await next_event(won_only)
            assert (won["kind"], won["opportunity"]["stage"]["name"]) == ("WON", "Won")
            try:
                stray = await asyncio.wait_for(others.receive_json(), 0.5)
            except asyncio.TimeoutError:
                stray = None
            assert stray is None or stray["payload"]["data"]["opportunityEvents"]["opportunity"]["owner"]["email"] \
                == "sales.manager@example.com"


async def test_a_bad_filter_id_is_an_error_with_a_code(api: Api, app: Any) -> None:
    async with httpx.AsyncClient(transport=ASGIWebSocketTransport(app), base_url="http://test") as client:
        async with aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"]) as ws:
            await subscribe(ws, api, "sales.member@example.com", s=["not-an-id"])
            message = await ws.receive_json()
            errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
            assert errors[0]["extensions"]["code"] == "INVALID"

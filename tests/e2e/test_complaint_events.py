"""`complaintEvents` over graphql-transport-ws: events arrive after commit, filtered by what the
subscriber may see and by the customer or department they asked for."""
from __future__ import annotations

import asyncio
from typing import Any

import httpx
from httpx_ws import aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport

from tests.conftest import Api, subscribers_settled, wait_for_subscribers
from tests.e2e.test_complaints import ASSIGN, PROGRESS, department_id, file, new_customer, setup_sla, staff_id

SUBSCRIBE = ("subscription($c: ID, $d: ID) { complaintEvents(customerId: $c, departmentId: $d) { kind at "
             "complaint { number status department { code } sla { firstResponse { state } } } "
             "entry { kind message author { email } } } }")


async def subscribe(ws: Any, api: Api, email: str, **variables: str) -> None:
    await ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {await api.token_for(email)}"}})
    assert (await ws.receive_json())["type"] == "connection_ack"
    await ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE, "variables": variables}})


async def next_events(ws: Any, count: int, timeout: float = 10) -> list[dict]:
    found = []
    while len(found) < count:
        message = await asyncio.wait_for(ws.receive_json(), timeout)
        assert message["type"] == "next", message
        found.append(message["payload"]["data"]["complaintEvents"])
    return found


async def test_complaint_events_reach_only_those_who_may_see_them(api: Api, app: Any) -> None:
    setup = await setup_sla(api)
    customer = await new_customer(api, owner="sales.key@example.com")
    elsewhere = await new_customer(api, owner="sales.manager@example.com")
    warehouse = await department_id(api, "WAREHOUSE")
    async with httpx.AsyncClient(transport=ASGIWebSocketTransport(app), base_url="http://test") as client:
        async with aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"]) as owner, \
                aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"]) as outsider, \
                aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"]) as warehouse_watch:
            before = await subscribers_settled(api)
            await subscribe(owner, api, "sales.key@example.com", c=customer["id"])
            await subscribe(outsider, api, "sales.member@example.com")
            await subscribe(warehouse_watch, api, "service.member@example.com", d=warehouse)
            await wait_for_subscribers(api, before + 3)

            complaint = await file(api, customer, setup["category"], as_="service.member@example.com")
            await api(PROGRESS, {"input": {"complaintId": complaint["id"], "message": "Called the carrier"}},
                      as_="service.member@example.com")
            await api(ASSIGN, {"input": {"complaintId": complaint["id"],
                                         "assigneeId": await staff_id(api, "warehouse.member@example.com")}},
                      as_="service.key@example.com")
            seen = await next_events(owner, 3)
            assert [(e["kind"], e["entry"]["kind"]) for e in seen] == [
                ("FILED", "FILED"), ("PROGRESS_RECORDED", "PROGRESS"), ("ASSIGNED", "ASSIGNMENT")]
            assert {e["complaint"]["number"] for e in seen} == {complaint["number"]}
            assert seen[1]["entry"] == {"kind": "PROGRESS", "message": "Called the carrier",
                                        "author": {"email": "service.member@example.com"}}
            assert seen[2]["complaint"]["department"] == {"code": "WAREHOUSE"}
            # the complaint is read when the event is delivered: by then the progress entry may have met the target
            assert seen[0]["complaint"]["sla"]["firstResponse"]["state"] in ("RUNNING", "WARNING", "BREACHED", "MET")

            # narrowed to the warehouse: only the event that put the complaint there
            [handed] = await next_events(warehouse_watch, 1)
            assert (handed["kind"], handed["complaint"]["number"]) == ("ASSIGNED", complaint["number"])

            # the sales member sees none of that; the first event they get is about their own filing
            own = await file(api, elsewhere, setup["category"], as_="sales.member@example.com")
            [first] = await next_events(outsider, 1)
            assert (first["kind"], first["complaint"]["number"]) == ("FILED", own["number"])
            for ws in (owner, outsider, warehouse_watch):
                await ws.send_json({"id": "1", "type": "complete"})


async def test_a_bad_filter_is_an_error(api: Api, app: Any) -> None:
    async with httpx.AsyncClient(transport=ASGIWebSocketTransport(app), base_url="http://test") as client:
        async with aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"]) as ws:
            await subscribe(ws, api, "admin@example.com", c="not-an-id")
            message = await asyncio.wait_for(ws.receive_json(), 10)
            assert message["type"] in ("error", "next"), message
            errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
            assert errors[0]["extensions"]["code"] == "INVALID"


async def test_a_subscription_whose_stream_missed_events_ends_with_events_missed(api: Api, app: Any) -> None:
    """When the cross-process relay lost more events than it replays (tests/integration/
    test_live_updates_recovery.py), the stream is interrupted: the subscriber gets EVENTS_MISSED and `complete`,
    never a silent hole."""
    publisher = api.container.gateways.publisher()
    async with httpx.AsyncClient(transport=ASGIWebSocketTransport(app), base_url="http://test") as client:
        async with aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"]) as ws:
            before = publisher.subscribers
            await subscribe(ws, api, "admin@example.com")
            await wait_for_subscribers(api, before + 1)
            publisher.interrupt()
            message = await asyncio.wait_for(ws.receive_json(), 10)
            errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
            assert errors[0]["extensions"]["code"] == "EVENTS_MISSED", message
            if message["type"] == "next":
                assert (await asyncio.wait_for(ws.receive_json(), 10))["type"] == "complete"

"""The order lifecycle over GraphQL: transitionOrder (status machine, who may, stale versions), the Kanban
(orderBoard: columns, counts, exact totals per currency, per-column pagination, filters, two statements),
Order.complaints with complaint visibility, order events in the outbox, the customer's activity and live
subscribers, and the `events` feed (resume from a cursor, type filters, who may read it, and on
PostgreSQL no event skipped when transactions commit out of order)."""
from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select, update

from api.common.relay import parse_global_id, to_global_id
from domain.customer import Customer, CustomerKind, CustomerTier
from infrastructure.db import tables as t
from infrastructure.db.order_tables import orders as orders_table
from infrastructure.db.queries.keyset import encode_cursor
from tests.conftest import Api, Database, unique
from tests.e2e.test_complaints import DEFINE_CATEGORY, file
from tests.e2e.test_complaints import new_customer as owned_customer
from tests.e2e.test_orders import create, line, new_customer

ERRORS = "userErrors { field message code }"
TRANSITION = f"""mutation($input: TransitionOrderInput!) {{ transitionOrder(input: $input) {{
  order {{ id number status placedAt version updatedAt total {{ amount currency }} }} {ERRORS} }} }}"""
ORDER = "query($id: ID) { order(id: $id) { status placedAt version } }"
BOARD = """query($f: OrderFilter, $first: Int, $after: String) { orderBoard(filter: $f) { columns {
  status count totals { amount currency }
  orders(first: $first, after: $after) { totalCount edges { cursor node { number status } }
    pageInfo { hasNextPage hasPreviousPage endCursor } } } } }"""
COLUMN_PAGE = """query($f: OrderFilter!, $first: Int, $after: String) { orderBoard(filter: $f) { columns {
  status orders(first: $first, after: $after) { edges { node { number } } pageInfo { hasNextPage endCursor } } } } }"""
ORDER_COMPLAINTS = """query($id: ID, $first: Int, $after: String) { order(id: $id) {
  complaints(first: $first, after: $after) { totalCount edges { node { number order { id } } }
    pageInfo { hasNextPage endCursor } } } }"""
EVENTS = """query($first: Int, $after: String, $types: [String!]) { events(first: $first, after: $after, types: $types) {
  totalCount edges { cursor node { id type aggregateType aggregateId occurredAt payload } }
  pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""
ACTIVITY = """query($id: ID) { customer(id: $id) { activity(first: 50) { edges { node {
  kind summary actor { email } department { code } subject { __typename id } } } } } }"""
LIFECYCLE = [("CONFIRMED", "sales.member@example.com"), ("IN_FULFILLMENT", "warehouse.member@example.com"),
             ("SHIPPED", "warehouse.key@example.com"), ("INVOICED", "finance.member@example.com"),
             ("PAID", "finance.manager@example.com")]
STATUSES = ["DRAFT", "CONFIRMED", "IN_FULFILLMENT", "SHIPPED", "INVOICED", "PAID", "CANCELLED"]


async def transition(api: Api, order: dict, to: str, as_: str = "admin@example.com", **fields: Any) -> dict:
    data = await api(TRANSITION, {"input": {"orderId": order["id"], "to": to, **fields}}, as_=as_)
    return data["transitionOrder"]


async def moved(api: Api, order: dict, to: str, as_: str = "admin@example.com") -> dict:
    payload = await transition(api, order, to, as_=as_)
    assert payload["userErrors"] == [], payload
    return payload["order"]


async def order_in(api: Api, status: str, **fields: Any) -> dict:
    """An order brought to `status` by an admin along the machine's shortest path."""
    order = await create(api, **fields)
    forward = [s for s, _ in LIFECYCLE]
    path = forward[: forward.index(status) + 1] if status in forward else [] if status == "DRAFT" else [status]
    for step in path:
        order = {**order, **await moved(api, order, step)}
    return order


async def me(api: Api, email: str) -> str:
    return (await api("{ me { id } }", as_=email))["me"]["id"]


# ---------------------------------------------------------------------------------------- transitions


async def test_an_order_goes_the_whole_way_each_department_doing_its_part(api: Api) -> None:
    customer = await new_customer(api)
    order = await create(api, customerId=customer["id"], lines=[line("A", "2", "10.50")])
    version, placed = order["version"], None
    for to, who in LIFECYCLE:
        before = datetime.now(UTC)
        payload = await transition(api, order, to, as_=who, expectedVersion=version)
        assert payload["userErrors"] == [], payload
        result = payload["order"]
        assert (result["status"], result["version"]) == (to, version + 1)
        if to == "CONFIRMED":
            placed = result["placedAt"]
            assert placed is not None and datetime.fromisoformat(placed) >= before - timedelta(seconds=5)
        assert result["placedAt"] == placed
        version = result["version"]
    assert (await api(ORDER, {"id": order["id"]}))["order"] == {"status": "PAID", "placedAt": placed, "version": 6}

    activity = [e["node"] for e in (await api(ACTIVITY, {"id": customer["id"]}))["customer"]["activity"]["edges"]
                if e["node"]["kind"] == "ORDER"]
    number = order["number"]
    assert [(a["summary"], a["actor"]["email"], a["department"]["code"]) for a in activity] == [
        (f"Order {number} INVOICED → PAID: 21.00 EUR", "finance.manager@example.com", "FINANCE"),
        (f"Order {number} SHIPPED → INVOICED: 21.00 EUR", "finance.member@example.com", "FINANCE"),
        (f"Order {number} IN_FULFILLMENT → SHIPPED: 21.00 EUR", "warehouse.key@example.com", "WAREHOUSE"),
        (f"Order {number} CONFIRMED → IN_FULFILLMENT: 21.00 EUR", "warehouse.member@example.com", "WAREHOUSE"),
        (f"Order {number} DRAFT → CONFIRMED: 21.00 EUR", "sales.member@example.com", "SALES"),
        (f"Order {number} created: 21.00 EUR", "sales.member@example.com", "SALES"),
    ]
    assert all(a["subject"] == {"__typename": "Order", "id": order["id"]} for a in activity)

    async with api.container.core.engine().connect() as conn:
        rows = (await conn.execute(select(t.outbox.c.type, t.outbox.c.payload, t.outbox.c.actor_id)
                                   .where(t.outbox.c.aggregate_id == parse_global_id(order["id"])[1])
                                   .order_by(t.outbox.c.position))).all()
    assert [r.type for r in rows] == ["order.created", "order.confirmed", "order.in_fulfillment", "order.shipped",
                                      "order.invoiced", "order.paid"]
    assert [(r.payload["from"], r.payload["to"]) for r in rows[1:]] == [
        ("DRAFT", "CONFIRMED"), ("CONFIRMED", "IN_FULFILLMENT"), ("IN_FULFILLMENT", "SHIPPED"),
        ("SHIPPED", "INVOICED"), ("INVOICED", "PAID")]
    assert rows[1].payload["placedAt"] is not None and rows[1].payload["number"] == number


@pytest.mark.parametrize("start, to", [
    ("DRAFT", "SHIPPED"), ("DRAFT", "PAID"), ("DRAFT", "DRAFT"), ("CONFIRMED", "DRAFT"), ("CONFIRMED", "INVOICED"),
    ("SHIPPED", "CANCELLED"), ("PAID", "CANCELLED"), ("CANCELLED", "CONFIRMED"), ("INVOICED", "SHIPPED"),
])
async def test_moves_the_machine_forbids_are_user_errors(api: Api, start: str, to: str) -> None:
    order = await order_in(api, start)
    payload = await transition(api, order, to)  # an admin: authority is not the question
    assert payload["order"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(["input", "to"], "FORBIDDEN_TRANSITION")]
    assert (await api(ORDER, {"id": order["id"]}))["order"]["status"] == start
    then = {"DRAFT": "From DRAFT it can become CONFIRMED or CANCELLED.", "CONFIRMED": "From CONFIRMED it can become "
            "IN_FULFILLMENT or CANCELLED.", "SHIPPED": "From SHIPPED it can only become INVOICED.",
            "INVOICED": "From INVOICED it can only become PAID.", "PAID": "PAID is final.",
            "CANCELLED": "CANCELLED is final."}[start]
    assert payload["userErrors"][0]["message"] == f"Order {order['number']} is {start} and cannot become {to}. {then}"


@pytest.mark.parametrize("start, to, who", [
    ("DRAFT", "CONFIRMED", "warehouse.manager@example.com"),
    ("DRAFT", "CANCELLED", "finance.key@example.com"),
    ("DRAFT", "CONFIRMED", "service.manager@example.com"),
    ("CONFIRMED", "IN_FULFILLMENT", "sales.manager@example.com"),
    ("IN_FULFILLMENT", "SHIPPED", "finance.manager@example.com"),
    ("SHIPPED", "INVOICED", "warehouse.manager@example.com"),
    ("INVOICED", "PAID", "sales.key@example.com"),
    ("DRAFT", "SHIPPED", "sales.member@example.com"),  # authority first: no hint about the state
])
async def test_other_departments_are_refused_with_forbidden(api: Api, start: str, to: str, who: str) -> None:
    order = await order_in(api, start)
    errors = await api.errors(TRANSITION, {"input": {"orderId": order["id"], "to": to}}, as_=who)
    assert [e["extensions"]["code"] for e in errors] == ["FORBIDDEN"]
    assert (await api(ORDER, {"id": order["id"]}))["order"]["status"] == start


async def test_the_owner_confirms_and_cancels_their_order_from_any_department(api: Api) -> None:
    owner = "marketing.member@example.com"
    order = await create(api, ownerId=await me(api, owner))
    assert (await moved(api, order, "CONFIRMED", as_=owner))["status"] == "CONFIRMED"
    errors = await api.errors(TRANSITION, {"input": {"orderId": order["id"], "to": "IN_FULFILLMENT"}}, as_=owner)
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"
    assert (await moved(api, order, "CANCELLED", as_=owner))["status"] == "CANCELLED"
    other = await create(api, ownerId=await me(api, "sales.key@example.com"))
    errors = await api.errors(TRANSITION, {"input": {"orderId": other["id"], "to": "CONFIRMED"}}, as_=owner)
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_stale_version_is_a_conflict_and_changes_nothing(api: Api) -> None:
    order = await create(api)
    await moved(api, order, "CONFIRMED", as_="sales.member@example.com")
    payload = await transition(api, order, "CANCELLED", as_="sales.member@example.com", expectedVersion=1)
    assert payload["order"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(["input", "expectedVersion"], "CONFLICT")]
    assert (await api(ORDER, {"id": order["id"]}))["order"]["status"] == "CONFIRMED"
    assert (await transition(api, order, "CANCELLED", expectedVersion=2))["order"]["status"] == "CANCELLED"


async def test_concurrent_moves_from_the_same_version_one_wins(api: Api) -> None:
    order = await create(api)
    results = await asyncio.gather(*[transition(api, order, to, as_="sales.manager@example.com", expectedVersion=1)
                                     for to in ("CONFIRMED", "CANCELLED", "CONFIRMED")])
    won = [r for r in results if r["order"]]
    assert len(won) == 1
    assert all([e["code"] for e in r["userErrors"]] == ["CONFLICT"] for r in results if not r["order"])
    stored = (await api(ORDER, {"id": order["id"]}))["order"]
    assert (stored["status"], stored["version"]) == (won[0]["order"]["status"], 2)


@pytest.mark.parametrize("order_id, field, code", [
    ("garbage", ["input", "orderId"], "INVALID"),
    ("Q3VzdG9tZXI6MDAwMDAwMDAtMDAwMC00MDAwLTgwMDAtMDAwMDAwMDAwMDk5", ["input", "orderId"], "INVALID"),  # a Customer
    ("T3JkZXI6MDAwMDAwMDAtMDAwMC00MDAwLTgwMDAtMDAwMDAwMDAwMDk5", ["input", "orderId"], "NOT_FOUND"),
])
async def test_bad_order_ids_are_user_errors(api: Api, order_id: str, field: list, code: str) -> None:
    payload = (await api(TRANSITION, {"input": {"orderId": order_id, "to": "CONFIRMED"}}))["transitionOrder"]
    assert payload["order"] is None and [(e["field"], e["code"]) for e in payload["userErrors"]] == [(field, code)]


async def test_an_unknown_status_is_refused_by_the_schema(api: Api) -> None:
    order = await create(api)
    errors = await api.errors(TRANSITION, {"input": {"orderId": order["id"], "to": "LOST"}})
    assert errors[0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_order_events_reach_live_subscribers_after_the_commit(api: Api) -> None:
    publisher = api.container.gateways.publisher()
    received: list[Any] = []
    confirmed = asyncio.Event()

    async def listen() -> None:
        async for published in publisher.subscribe():
            if published.aggregate_type == "order":
                received.append(published)
                if published.type == "order.confirmed":
                    confirmed.set()

    before = publisher.subscribers
    task = asyncio.create_task(listen())
    try:
        for _ in range(500):
            if publisher.subscribers > before:
                break
            await asyncio.sleep(0.01)
        order = await create(api)
        await moved(api, order, "CONFIRMED", as_="sales.member@example.com")
        await asyncio.wait_for(confirmed.wait(), 10)
    finally:
        task.cancel()
    mine = [e for e in received if e.aggregate_id == parse_global_id(order["id"])[1]]
    assert [e.type for e in mine] == ["order.created", "order.confirmed"]
    assert (mine[1].payload["from"], mine[1].payload["to"]) == ("DRAFT", "CONFIRMED")


# --------------------------------------------------------------------------------------------- Kanban


async def board(api: Api, filter_: dict, first: int | None = None, after: str | None = None,
                 as_: str = "admin@example.com") -> list[dict]:
    return (await api(BOARD, {"f": filter_, "first": first, "after": after}, as_=as_))["orderBoard"]["columns"]


async def test_the_board_has_a_column_per_status_with_counts_and_exact_totals(api: Api) -> None:
    customer = await new_customer(api)
    mine = {"customerId": customer["id"]}
    drafts = [await create(api, **mine, lines=[line("D", "1", price)]) for price in ("10", "20.50", "0.125")]
    dollars = [await create(api, **mine, currency="USD", lines=[line("U", "3", "0.10")]) for _ in range(2)]
    yen = await order_in(api, "CONFIRMED", **mine, currency="JPY", lines=[line("Y", "3", "1234.5")])
    # totals past float precision: 899,999,999,999,991.00 + 0.01 + 0.02 (a float sum loses the cents)
    shipped = [await order_in(api, "SHIPPED", **mine, lines=[line("BIG", quantity, price)])
               for quantity, price in (("900", "999999999999.99"), ("1", "0.01"), ("2", "0.01"))]
    cancelled = await order_in(api, "CANCELLED", **mine, currency="GBP", lines=[line("G", "1", "5")])

    columns = await board(api, mine, first=2)
    assert [c["status"] for c in columns] == STATUSES
    summary = {c["status"]: (c["count"], c["totals"]) for c in columns}
    assert summary == {
        "DRAFT": (5, [{"amount": "30.62", "currency": "EUR"}, {"amount": "0.60", "currency": "USD"}]),
        "CONFIRMED": (1, [{"amount": "3702", "currency": "JPY"}]),
        "IN_FULFILLMENT": (0, []),
        "SHIPPED": (3, [{"amount": "899999999999991.03", "currency": "EUR"}]),
        "INVOICED": (0, []),
        "PAID": (0, []),
        "CANCELLED": (1, [{"amount": "5.00", "currency": "GBP"}]),
    }
    by_status = {c["status"]: c["orders"] for c in columns}
    newest_drafts = [o["number"] for o in reversed(drafts + dollars)]
    assert [e["node"]["number"] for e in by_status["DRAFT"]["edges"]] == newest_drafts[:2]
    assert by_status["DRAFT"]["totalCount"] == 5 and by_status["DRAFT"]["pageInfo"]["hasNextPage"]
    assert [e["node"]["number"] for e in by_status["SHIPPED"]["edges"]] == [o["number"] for o in shipped[::-1][:2]]
    assert [e["node"]["number"] for e in by_status["CONFIRMED"]["edges"]] == [yen["number"]]
    assert [e["node"]["number"] for e in by_status["CANCELLED"]["edges"]] == [cancelled["number"]]
    assert by_status["PAID"] == {"totalCount": 0, "edges": [], "pageInfo": {
        "hasNextPage": False, "hasPreviousPage": False, "endCursor": None}}
    assert all(e["node"]["status"] == c["status"] for c in columns for e in c["orders"]["edges"])

    # each column pages on its own: walk the DRAFT column with its cursors
    seen, cursor = [], None
    while True:
        draft = next(c for c in await board(api, mine, first=2, after=cursor) if c["status"] == "DRAFT")["orders"]
        seen += [e["node"]["number"] for e in draft["edges"]]
        if not draft["pageInfo"]["hasNextPage"]:
            break
        cursor = draft["pageInfo"]["endCursor"]
    assert seen == newest_drafts


async def test_the_board_respects_the_filter(api: Api) -> None:
    customer = await new_customer(api)
    key_user = await me(api, "sales.key@example.com")
    mine = {"customerId": customer["id"]}
    theirs = await order_in(api, "CONFIRMED", **mine, ownerId=key_user)
    early = await order_in(api, "SHIPPED", **mine)
    await order_in(api, "CONFIRMED", **mine)
    await create(api, **mine)  # a draft: never placed
    await order_in(api, "CONFIRMED")  # another customer's

    owned = await board(api, {**mine, "ownerId": key_user})
    assert {c["status"]: c["count"] for c in owned if c["count"]} == {"CONFIRMED": 1}
    assert [e["node"]["number"] for c in owned for e in c["orders"]["edges"]] == [theirs["number"]]

    async with api.container.core.engine().begin() as conn:  # place one order a year back
        await conn.execute(update(orders_table).where(orders_table.c.id == parse_global_id(early["id"])[1])
                           .values(placed_at=datetime(2025, 1, 15, tzinfo=UTC)))
    window = {**mine, "placedFrom": "2025-01-01T00:00:00Z", "placedTo": "2025-02-01T00:00:00Z"}
    assert {c["status"]: c["count"] for c in await board(api, window) if c["count"]} == {"SHIPPED": 1}
    recent = {**mine, "placedFrom": "2026-01-01T00:00:00Z"}
    assert {c["status"]: c["count"] for c in await board(api, recent) if c["count"]} == {"CONFIRMED": 2}

    picked = await board(api, {**mine, "statuses": ["SHIPPED", "DRAFT"]})
    assert [(c["status"], c["count"]) for c in picked] == [("DRAFT", 1), ("SHIPPED", 1)]
    everyone = await board(api, {}, as_="marketing.member@example.com")  # every staff member reads orders
    assert [c["status"] for c in everyone] == STATUSES and sum(c["count"] for c in everyone) >= 5


async def test_the_board_takes_two_statements_however_many_columns(api: Api) -> None:
    customer = await new_customer(api)
    for status in ("DRAFT", "CONFIRMED", "SHIPPED", "PAID", "CANCELLED"):
        await order_in(api, status, customerId=customer["id"])
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if re.search(r"\bFROM orders\b", statement):
            statements.append(statement)

    engine = api.container.core.read_engine().sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        query = BOARD.replace("node { number status }", "node { number status customer { code } owner { email } }")
        columns = (await api(query, {"f": {"customerId": customer["id"]}, "first": 5}))["orderBoard"]["columns"]
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert sum(len(c["orders"]["edges"]) for c in columns) == 5
    assert len(statements) == 2, statements  # one GROUP BY status, currency; one UNION ALL of the columns' pages
    assert "GROUP BY" in statements[0] and "UNION ALL" in statements[1]


@pytest.mark.parametrize("variables, code, field", [
    ({"first": 101}, "LIMIT_EXCEEDED", ["first"]),
    ({"first": -1}, "INVALID", ["first"]),
    ({"after": "not-a-cursor"}, "INVALID", ["after"]),
])
async def test_bad_column_pages_are_errors_with_codes(api: Api, variables: dict, code: str, field: list) -> None:
    errors = await api.errors(COLUMN_PAGE, {"f": {"statuses": ["DRAFT"]}, **variables})
    assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in errors] == [(code, field)]


async def test_a_bad_board_filter_is_an_error_with_a_code(api: Api) -> None:
    errors = await api.errors(BOARD, {"f": {"customerId": "garbage"}})
    assert errors[0]["extensions"]["code"] == "INVALID" and errors[0]["extensions"]["field"] == ["customerId"]


# ---------------------------------------------------------------------------------- Order.complaints


async def test_order_complaints_follow_complaint_visibility(api: Api) -> None:
    customer = await owned_customer(api, owner="sales.key@example.com")
    order = await create(api, customerId=customer["id"])
    other_order = await create(api, customerId=customer["id"])
    category = (await api(DEFINE_CATEGORY, {"input": {"code": unique("ord"), "name": "Order trouble"}},
                          as_="service.key@example.com"))["defineCategory"]["category"]
    by_sales = await file(api, customer, category, as_="sales.member@example.com", orderId=order["id"])
    by_service = await file(api, customer, category, as_="service.member@example.com", orderId=order["id"])
    await file(api, customer, category, as_="service.member@example.com", orderId=other_order["id"])
    await file(api, customer, category, as_="service.member@example.com")  # about no order

    def numbers(data: dict) -> list[str]:
        return [e["node"]["number"] for e in data["order"]["complaints"]["edges"]]

    everything = (await api(ORDER_COMPLAINTS, {"id": order["id"]}))
    assert numbers(everything) == [by_service["number"], by_sales["number"]]  # newest first
    assert everything["order"]["complaints"]["totalCount"] == 2
    assert {e["node"]["order"]["id"] for e in everything["order"]["complaints"]["edges"]} == {order["id"]}
    for who, expected in (("sales.key@example.com", [by_service, by_sales]),  # the customer's owner
                          ("service.member@example.com", [by_service, by_sales]),  # SERVICE sees all
                          ("sales.member@example.com", [by_sales]),  # filed it
                          ("marketing.member@example.com", [])):
        data = await api(ORDER_COMPLAINTS, {"id": order["id"]}, as_=who)
        assert numbers(data) == [c["number"] for c in expected], who
        assert data["order"]["complaints"]["totalCount"] == len(expected)

    first = await api(ORDER_COMPLAINTS, {"id": order["id"], "first": 1})
    assert numbers(first) == [by_service["number"]] and first["order"]["complaints"]["pageInfo"]["hasNextPage"]
    rest = await api(ORDER_COMPLAINTS, {"id": order["id"], "first": 1,
                                        "after": first["order"]["complaints"]["pageInfo"]["endCursor"]})
    assert numbers(rest) == [by_sales["number"]] and not rest["order"]["complaints"]["pageInfo"]["hasNextPage"]
    errors = await api.errors(ORDER_COMPLAINTS, {"id": order["id"], "first": 500})
    assert errors[0]["extensions"]["code"] == "LIMIT_EXCEEDED"


# ---------------------------------------------------------------------------------------- event feed


async def tail_cursor(api: Api) -> str:
    """The cursor of the newest event in the outbox: where a reader who had read everything would be."""
    ob = t.outbox
    async with api.container.core.engine().connect() as conn:
        row = (await conn.execute(select(ob.c.feed_xid, ob.c.position).order_by(ob.c.feed_xid.desc(),
                                                                                 ob.c.position.desc())
                                  .limit(1))).one()
    return encode_cursor((row.feed_xid, row.position))


async def read_feed(api: Api, after: str | None, types: list[str] | None = None, first: int = 100,
                    as_: str = "admin@example.com") -> tuple[list[dict], str | None]:
    """Every event after the cursor, page by page; and the cursor to resume from."""
    edges: list[dict] = []
    while True:
        page = (await api(EVENTS, {"first": first, "after": after, "types": types}, as_=as_))["events"]
        edges += page["edges"]
        after = page["pageInfo"]["endCursor"] or after
        if not page["pageInfo"]["hasNextPage"]:
            return edges, after


async def feed_until(api: Api, after: str | None, types: list[str] | None, want: set[str],
                     timeout: float = 30) -> list[dict]:
    """Read the feed until it holds the event ids in `want`. On PostgreSQL an event shows once every
    transaction that started writing before its own has ended (any on the server): usually at once."""
    deadline = time.monotonic() + timeout
    while True:
        edges, _ = await read_feed(api, after, types)
        if want <= {e["node"]["id"] for e in edges} or time.monotonic() > deadline:
            return edges
        await asyncio.sleep(0.05)


async def outbox_ids(api: Api, aggregate_id: str) -> list[str]:
    async with api.container.core.engine().connect() as conn:
        rows = await conn.execute(select(t.outbox.c.id).where(t.outbox.c.aggregate_id == parse_global_id(
            aggregate_id)[1]).order_by(t.outbox.c.position))
        return [str(r.id) for r in rows]


async def test_the_feed_resumes_from_any_cursor_in_commit_order(api: Api) -> None:
    start = await tail_cursor(api)
    customer = await new_customer(api)
    order = await order_in(api, "SHIPPED", customerId=customer["id"])
    wanted = await outbox_ids(api, customer["id"]) + await outbox_ids(api, order["id"])
    edges = await feed_until(api, start, None, set(wanted))
    ours = [e for e in edges if e["node"]["id"] in set(wanted)]
    assert [e["node"]["id"] for e in ours] == wanted  # commit order: customer, then the order's moves
    assert [e["node"]["type"] for e in ours] == ["customer.created", "order.created", "order.confirmed",
                                                 "order.in_fulfillment", "order.shipped"]
    created = ours[0]["node"]
    assert (created["aggregateType"], created["aggregateId"]) == ("customer", customer["id"])
    shipped = ours[-1]["node"]
    assert (shipped["aggregateType"], shipped["aggregateId"]) == ("order", order["id"])
    assert (shipped["payload"]["from"], shipped["payload"]["to"], shipped["payload"]["number"]) == (
        "IN_FULFILLMENT", "SHIPPED", order["number"])
    assert datetime.fromisoformat(shipped["occurredAt"]).tzinfo is not None
    node = await api("query($id: ID!) { node(id: $id) { ... on Order { number status } } }",
                     {"id": shipped["aggregateId"]})
    assert node["node"] == {"number": order["number"], "status": "SHIPPED"}

    # page by two and resume from each end cursor: the same events, each once, in the same order
    resumed, cursor = [], start
    while True:
        page = (await api(EVENTS, {"first": 2, "after": cursor}))["events"]
        resumed += [e["node"]["id"] for e in page["edges"]]
        assert page["pageInfo"]["hasPreviousPage"] and len(page["edges"]) <= 2
        if not page["pageInfo"]["hasNextPage"]:
            break
        cursor = page["pageInfo"]["endCursor"]
    assert resumed == [e["node"]["id"] for e in edges]
    # resuming from the middle gives exactly the rest
    middle = next(e["cursor"] for e in edges if e["node"]["id"] == wanted[2])
    rest, _ = await read_feed(api, middle)
    assert [e["node"]["id"] for e in rest if e["node"]["id"] in set(wanted)] == wanted[3:]


async def test_type_filters_exact_names_and_prefixes(api: Api) -> None:
    start = await tail_cursor(api)
    customer = await owned_customer(api)
    order = await order_in(api, "CONFIRMED", customerId=customer["id"])
    await moved(api, order, "CANCELLED")
    category = (await api(DEFINE_CATEGORY, {"input": {"code": unique("evt"), "name": "Events"}},
                          as_="service.key@example.com"))["defineCategory"]["category"]
    complaint = await file(api, customer, category, orderId=order["id"])
    wanted = set(await outbox_ids(api, order["id"]) + await outbox_ids(api, complaint["id"]))
    everything = [e["node"] for e in await feed_until(api, start, None, wanted) if e["node"]["id"] in wanted]

    async def types_for(filter_: list[str]) -> list[str]:
        edges, _ = await read_feed(api, start, filter_)
        return [e["node"]["type"] for e in edges if e["node"]["id"] in wanted]

    assert [e["type"] for e in everything] == ["order.created", "order.confirmed", "order.cancelled",
                                               "complaint.filed"]
    assert await types_for(["order.confirmed"]) == ["order.confirmed"]
    assert await types_for(["order.*"]) == ["order.created", "order.confirmed", "order.cancelled"]
    assert await types_for(["complaint.filed", "order.cancelled"]) == ["order.cancelled", "complaint.filed"]
    assert await types_for(["ORDER.CANCELLED ", "complaint.*"]) == ["order.cancelled", "complaint.filed"]
    assert await types_for(["*"]) == await types_for([]) == [e["type"] for e in everything]
    assert await types_for(["order.ship.*"]) == []  # a prefix of nothing here
    assert await types_for(["workflow.*"]) == []
    count = (await api(EVENTS, {"first": 1, "after": start, "types": ["order.cancelled"]}))["events"]["totalCount"]
    assert count >= 1


@pytest.mark.parametrize("types, field", [
    (["order confirmed"], ["types", "0"]),
    (["order.confirmed", "Order.*.x"], ["types", "1"]),
    (["order.%"], ["types", "0"]),
    ([""], ["types", "0"]),
    (["." * 3], ["types", "0"]),
])
async def test_bad_type_filters_are_invalid(api: Api, types: list[str], field: list) -> None:
    errors = await api.errors(EVENTS, {"first": 1, "types": types})
    assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in errors] == [("INVALID", field)]


@pytest.mark.parametrize("variables, code, field", [
    ({"first": 101}, "LIMIT_EXCEEDED", ["first"]),
    ({"first": -5}, "INVALID", ["first"]),
    ({"after": "bm90IGEgY3Vyc29y"}, "INVALID", ["after"]),
    ({"types": ["order.*"] * 51}, "LIMIT_EXCEEDED", ["types"]),
])
async def test_feed_paging_errors_have_codes(api: Api, variables: dict, code: str, field: list) -> None:
    errors = await api.errors(EVENTS, variables)
    assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in errors] == [(code, field)]


async def test_a_page_holds_twenty_events_by_default_and_at_most_one_hundred(api: Api) -> None:
    assert len((await api(EVENTS))["events"]["edges"]) == 20
    assert len((await api(EVENTS, {"first": 100}))["events"]["edges"]) == 100


@pytest.mark.parametrize("who", ["admin@example.com", "sales.key@example.com", "finance.manager@example.com",
                                 "warehouse.key@example.com"])
async def test_key_users_managers_and_admins_read_the_feed(api: Api, who: str) -> None:
    assert len((await api(EVENTS, {"first": 3}, as_=who))["events"]["edges"]) == 3


@pytest.mark.parametrize("who", ["sales.member@example.com", "service.member@example.com"])
async def test_members_may_not_read_the_feed(api: Api, who: str) -> None:
    errors = await api.errors(EVENTS, {"first": 3}, as_=who)
    assert [e["extensions"]["code"] for e in errors] == ["FORBIDDEN"]


async def test_a_late_commit_is_never_skipped(api: Api, database: Database) -> None:
    """Transaction B starts writing events before C, C commits first, B later. A reader in between must not
    be handed a cursor past B's events: on PostgreSQL the feed holds C back until B ends, then lists B's
    events before C's. (SQLite has one writer at a time, so positions are already commit order.)"""
    if database.backend != "postgresql":
        pytest.skip("SQLite has one writer at a time: the second transaction would wait for the first")
    start = await tail_cursor(api)
    customer = await new_customer(api)
    late = Customer.register(code=unique("LATE").upper(), name="Committed late", kind=CustomerKind.COMPANY,
                             tier=CustomerTier.SILVER, at=datetime.now(UTC), by=None)
    uow = api.container.services.uow()
    async with uow:
        await uow.customers.add(late)
        await uow.flush()  # B: its customer.created is in the outbox, uncommitted
        order = await create(api, customerId=customer["id"])  # C: commits order.created meanwhile
        c_ids = await outbox_ids(api, order["id"])
        during, cursor = await read_feed(api, start)
        assert not set(c_ids) & {e["node"]["id"] for e in during}, "C listed while B may still commit before it"
        await uow.commit()
    b_ids = await outbox_ids(api, to_global_id("Customer", late.id))
    resumed = await feed_until(api, cursor or start, None, set(b_ids) | set(c_ids))
    ids = [e["node"]["id"] for e in resumed]
    assert set(b_ids) | set(c_ids) <= set(ids), "an event committed late was skipped"
    assert ids.index(b_ids[0]) < ids.index(c_ids[0])  # B began writing first, so it comes first


async def test_an_older_transactions_later_event_is_not_skipped(api: Api, database: Database) -> None:
    """A began writing first but wrote its event last (a higher position); B wrote its event (a lower
    position) and stays open while A commits. Ordered by position, a reader would take a cursor past A's
    event and miss B's; the feed orders by transaction, so B's event comes after that cursor."""
    if database.backend != "postgresql":
        pytest.skip("SQLite has one writer at a time: the second transaction would wait for the first")
    start = await tail_cursor(api)

    def someone(name: str) -> Customer:
        return Customer.register(code=unique(name).upper(), name=name, kind=CustomerKind.COMPANY,
                                 tier=CustomerTier.SILVER, at=datetime.now(UTC), by=None)

    first, second = someone("First"), someone("Second")
    a, b = api.container.services.uow(), api.container.services.uow()
    async with a, b:
        await a.customers.add(first)  # A has its transaction id now
        await b.customers.add(second)
        await b.flush()  # B's event: the lower position
        await a.flush()  # A's event: the higher position
        await a.commit()
        a_ids = await outbox_ids(api, to_global_id("Customer", first.id))
        seen = await feed_until(api, start, ["customer.created"], set(a_ids))
        assert set(a_ids) <= {e["node"]["id"] for e in seen}
        cursor = seen[-1]["cursor"]
        await b.commit()
    b_ids = await outbox_ids(api, to_global_id("Customer", second.id))
    later = await feed_until(api, cursor, ["customer.created"], set(b_ids))
    assert set(b_ids) <= {e["node"]["id"] for e in later}, "B's event sorted before a cursor already handed out"


async def test_an_aggregates_events_keep_their_order_across_overlapping_transactions(api: Api,
                                                                                    database: Database) -> None:
    """A takes its transaction id first (it writes something else), then B confirms the order and commits,
    then A, having read the confirmed order, moves it on. The feed lists B's order.confirmed before A's
    order.in_fulfillment, although A's transaction id is the lower one."""
    if database.backend != "postgresql":
        pytest.skip("SQLite has one writer at a time: the second transaction would wait for the first")
    start = await tail_cursor(api)
    order = await create(api)
    raw_id = parse_global_id(order["id"])[1]
    bystander = Customer.register(code=unique("BY").upper(), name="Bystander", kind=CustomerKind.COMPANY,
                                  tier=CustomerTier.SILVER, at=datetime.now(UTC), by=None)
    a = api.container.services.uow()
    async with a:
        await a.customers.add(bystander)  # A has its transaction id now
        await moved(api, order, "CONFIRMED")  # B, committed
        loaded = await a.orders.get(raw_id)
        assert loaded is not None and loaded.status.value == "CONFIRMED"
        loaded.transition("IN_FULFILLMENT", at=datetime.now(UTC), by=None)
        await a.orders.save(loaded)
        await a.commit()
    ids = await outbox_ids(api, order["id"])
    edges = await feed_until(api, start, ["order.*"], set(ids))
    assert [e["node"]["type"] for e in edges if e["node"]["id"] in set(ids)] == [
        "order.created", "order.confirmed", "order.in_fulfillment"]

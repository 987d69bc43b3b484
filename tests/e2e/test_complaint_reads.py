"""Reads of a complaint's timeline by staff who do not handle it (the maturity figures' "sales read the progress in
the system"): one row per person, complaint and day, written behind the read path, never by the request."""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import event, select

from api.common.relay import parse_global_id
from infrastructure.db import tables as t
from infrastructure.db.reads import current_request
from tests.conftest import Api, unique

TIMELINE = "query($id: ID!) { node(id: $id) { ... on Complaint { number timeline(first: 5) { totalCount } } } }"


async def a_complaint(api: Api) -> tuple[str, uuid.UUID]:
    """A complaint of a customer sales.key owns, filed by sales.member: SERVICE handles it."""
    staff = {s["node"]["email"]: s["node"]["id"] for s in (await api(
        "{ staff(first: 100) { edges { node { id email } } } }"))["staff"]["edges"]}
    customer = (await api("mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { customer { id } } }",
                          {"i": {"name": unique("Reads"), "kind": "COMPANY", "ownerId": staff["sales.key@example.com"]}})
                )["createCustomer"]["customer"]["id"]
    category = (await api("{ complaintCategories { id } }"))["complaintCategories"][0]["id"]
    complaint = (await api("""mutation($c: FileComplaintInput!) { fileComplaint(input: $c) {
        complaint { id } userErrors { code } } }""", {"c": {
        "customerId": customer, "categoryId": category, "priority": "LOW", "channel": "PHONE", "subject": "Reads",
        "description": "Reads"}}, as_="sales.member@example.com"))["fileComplaint"]["complaint"]["id"]
    return complaint, parse_global_id(complaint)[1]


async def reads_of(api: Api, complaint_id: uuid.UUID) -> list[Any]:
    await api.container.services.complaint_reads().flush()
    async with api.container.core.engine().connect() as conn:
        rows = await conn.execute(select(t.complaint_reads.c.staff_id, t.complaint_reads.c.day, t.staff.c.email)
                                  .join(t.staff, t.staff.c.id == t.complaint_reads.c.staff_id)
                                  .where(t.complaint_reads.c.complaint_id == complaint_id))
        return sorted((row.email, row.day) for row in rows)


async def test_an_outsiders_read_is_recorded_once_a_day_and_a_handlers_never(api: Api) -> None:
    complaint, raw = await a_complaint(api)
    for who in ("sales.key@example.com", "sales.key@example.com", "service.member@example.com",
                "sales.member@example.com", "sales.key@example.com"):
        assert (await api(TIMELINE, {"id": complaint}, as_=who))["node"]["number"]
    today = api.container.gateways.clock().now().date()
    assert await reads_of(api, raw) == [("sales.key@example.com", today), ("sales.member@example.com", today)]
    # the process forgot what it noted (another process, a restart): the row's key still keeps it to one
    api.container.services.complaint_reads()._seen.clear()
    await api(TIMELINE, {"id": complaint}, as_="sales.key@example.com")
    assert await reads_of(api, raw) == [("sales.key@example.com", today), ("sales.member@example.com", today)]


async def test_a_complaint_read_without_its_timeline_is_not_a_read(api: Api) -> None:
    complaint, raw = await a_complaint(api)
    await api("query($id: ID!) { node(id: $id) { ... on Complaint { number } } }", {"id": complaint},
              as_="sales.key@example.com")
    assert await reads_of(api, raw) == []


async def test_recording_a_read_adds_no_statement_to_the_request(api: Api) -> None:
    """The request's statements on either engine, for a first read (noted) and a read noted already (nothing
    to note): the same; the row is written afterwards, outside the request."""
    complaint, raw = await a_complaint(api)
    seen: list[str] = []
    engines = {id(e.sync_engine): e.sync_engine for e in (api.container.core.engine(),
                                                           api.container.core.read_engine())}

    def record(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if current_request() is not None:
            seen.append(statement)

    counts = []
    warm, _ = await a_complaint(api)
    for who in ("sales.key@example.com", "service.member@example.com"):  # what a process learns once of a reader
        assert (await api(TIMELINE, {"id": warm}, as_=who))["node"]
    for engine in engines.values():
        event.listen(engine, "before_cursor_execute", record)
    try:
        for who in ("sales.key@example.com", "sales.key@example.com", "service.member@example.com"):
            seen.clear()
            await api(TIMELINE, {"id": complaint}, as_=who)
            counts.append(len(seen))
            assert not any("complaint_reads" in s for s in seen)
    finally:
        for engine in engines.values():
            event.remove(engine, "before_cursor_execute", record)
    assert counts[0] == counts[1] == counts[2], counts
    assert [who for who, _ in await reads_of(api, raw)] == ["sales.key@example.com"]


async def test_a_read_through_a_hot_list_is_recorded_too(api: Api) -> None:
    """The complaints list and a customer are compiled read paths (api/fast_path.py, the hot lane): a selection
    with the timeline stays with the resolvers, asked however often, so the read is never lost."""
    complaint, raw = await a_complaint(api)
    number = (await api(TIMELINE, {"id": complaint}, as_="service.member@example.com"))["node"]["number"]
    listed = """query($n: String) { complaints(first: 5, filter: {search: $n}) { edges { node { number
        timeline(first: 3) { totalCount } } } } }"""
    for _ in range(3):
        edges = (await api(listed, {"n": number}, as_="sales.key@example.com"))["complaints"]["edges"]
        assert [e["node"]["number"] for e in edges] == [number]
    assert [who for who, _ in await reads_of(api, raw)] == ["sales.key@example.com"]

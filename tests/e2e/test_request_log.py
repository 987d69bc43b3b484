"""One log line per request (api/common/request_log.py): the request id in and out and in a masked fault, the
fields an operator filters on, and never a token or personal data."""
from __future__ import annotations

import io
import json
import logging
import os
import re
import socket
import time
from typing import Any, Iterator

import httpx
import pytest
from dependency_injector import providers

from api.common.request_log import BatchedLines, JsonLines, Readable
from tests.conftest import Api, statements, unique

HOT = "query LogHot($id: ID!) { customer(id: $id) { id name contacts { email } } }"


class Lines:
    """What was logged while the test ran (caplog's records of the test's call phase)."""

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        self._caplog = caplog

    def __iter__(self) -> Iterator[logging.LogRecord]:
        return iter(list(self._caplog.records))


@pytest.fixture
def lines(caplog: pytest.LogCaptureFixture) -> Lines:
    caplog.set_level(logging.DEBUG)
    return Lines(caplog)


def requests(records: Lines) -> list[dict[str, Any]]:
    return [r.fields for r in records if r.name == "crm.request"]  # type: ignore[attr-defined]


async def post(api: Api, query: str, variables: dict[str, Any] | None = None, *, as_: str = "admin@example.com",
               request_id: str | bytes | None = None) -> Any:
    headers: dict[str, Any] = {"Authorization": f"Bearer {await api.token_for(as_)}"}
    if request_id is not None:
        headers["X-Request-Id"] = request_id
    return await api.client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)


async def a_customer(api: Api) -> str:
    return (await api("{ customers(first: 1) { edges { node { id } } } }"))["customers"]["edges"][0]["node"]["id"]


async def test_a_sane_request_id_is_kept_and_any_other_replaced(api: Api, lines: Lines) -> None:
    kept = await post(api, "{ me { id } }", request_id="lb-7f3a.9:x_1")
    assert kept.headers["x-request-id"] == "lb-7f3a.9:x_1"
    for insane in ("has space", "x" * 129, "\xfcn\xef".encode("latin-1")):
        replaced = await post(api, "{ me { id } }", request_id=insane)
        assert re.fullmatch(r"[0-9a-f]{16}", replaced.headers["x-request-id"]), insane
    fresh = await post(api, "{ me { id } }")
    assert re.fullmatch(r"[0-9a-f]{16}", fresh.headers["x-request-id"])
    ids = [line["request_id"] for line in requests(lines)]
    assert ids[0] == "lb-7f3a.9:x_1" and ids[-1] == fresh.headers["x-request-id"] and len(set(ids)) == 5


async def test_every_answer_names_the_process_that_gave_it(api: Api) -> None:
    """X-Served-By tells the API processes behind a load balancer apart (tests/cluster checks the balancing)."""
    answers = [await post(api, "{ me { id } }"), await post(api, "{ me { id } }"),  # the second by the hot lane
               await api.client.get("/healthz"),
               await api.client.post("/graphql", content=b"{", headers={"Content-Type": "application/json"})]
    assert {a.headers["x-served-by"] for a in answers} == {f"{socket.gethostname()}:{os.getpid()}"}


async def test_the_line_names_the_operation_the_principal_the_statements_and_the_outcome(
        api: Api, lines: Lines) -> None:
    me = (await api("{ me { id } }"))["me"]["id"]
    customer = await a_customer(api)
    counted = []
    for _ in range(2):  # the regular way, then the hot lane
        with statements(api) as sql:
            assert (await post(api, HOT, {"id": customer})).status_code == 200
        counted.append(len(sql))
    await post(api, "mutation LogNothing($i: UpdateCustomerInput!) { updateCustomer(input: $i) { userErrors { code } } }",
               {"i": {"id": customer, "name": ""}})
    hot, laned, mutation = requests(lines)[-3:]
    for line, sql in ((hot, counted[0]), (laned, counted[1])):
        assert line["operation"] == "LogHot" and line["operation_type"] == "query" and line["sql"] == sql
        assert line["principal"] and line["outcome"] == "ok" and line["codes"] == [] and line["status"] == 200
        assert line["method"] == "POST" and line["path"] == "/graphql" and line["duration_ms"] > 0
    assert mutation["operation"] == "LogNothing" and mutation["operation_type"] == "mutation"
    named = await api.client.post("/graphql", json={"query": HOT, "variables": {"id": "not-an-id"},
                                                    "operationName": "LogHot"},
                                  headers={"Authorization": f"Bearer {await api.token_for('admin@example.com')}"})
    assert named.json()["errors"]
    line = requests(lines)[-1]
    assert line["operation"] == "LogHot" and line["outcome"] == "errors" and line["codes"] == ["INVALID"]
    refused = await api.client.post("/graphql", json={"query": "{ me { id } }"})
    assert refused.status_code == 401
    line = requests(lines)[-1]
    assert line["outcome"] == "refused" and line["codes"] == ["UNAUTHENTICATED"] and line["principal"] is None
    assert me not in json.dumps(line)


async def test_no_token_e_mail_or_free_text_reaches_the_log(api: Api, lines: Lines) -> None:
    email, secret_text = f"{unique('private')}@example.com", unique("Confidential complaint text")
    token = await api.token_for("admin@example.com")
    created = await post(api, """mutation($i: CreateCustomerInput!) { createCustomer(input: $i) {
        customer { id } userErrors { code } } }""", {"i": {"code": unique("LOG").upper(), "name": secret_text,
                                                           "kind": "PERSON", "contacts": [{"name": secret_text,
                                                                                           "email": email}]}})
    assert created.status_code == 200, created.text
    await post(api, "{ customer(id: $nope) { id } }", {"nope": email})  # refused, quoting the input
    await api.client.get("/graphql", params={"query": f'{{ customers(filter: {{search: "{email}"}}) {{ totalCount }} }}'},
                         headers={"Authorization": f"Bearer {token}"})
    served = [r for r in lines if r.name.startswith("crm") or r.levelno >= logging.WARNING]  # what `crm serve` writes
    written = "\n".join(formatter.format(r) for r in served for formatter in (JsonLines(), Readable()))
    assert requests(lines) and token not in written and email not in written and secret_text not in written


async def test_a_masked_fault_carries_the_request_id_of_its_line(api: Api, lines: Lines) -> None:
    class Failing:
        async def health(self) -> list[Any]:
            raise RuntimeError("a fault in an adapter")

    api.container.services.health_reporters.override(providers.List(providers.Object(Failing())))
    try:
        response = await post(api, "{ integrations { name } }", request_id="fault-request-1")
    finally:
        api.container.services.health_reporters.reset_override()
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "INTERNAL_ERROR", "requestId": "fault-request-1"}
    assert "fault-request-1" in error["message"]
    assert requests(lines)[-1]["request_id"] == "fault-request-1" and requests(lines)[-1]["codes"] == ["INTERNAL_ERROR"]
    [fault] = [r for r in lines if r.name == "crm.api.faults"]
    assert "fault-request-1" in fault.getMessage()


async def test_a_fault_no_layer_below_the_edge_answers_is_a_coded_500_with_the_request_id(
        app: Any, api: Api, lines: Lines) -> None:
    """The hot lane sits in front of Starlette's error layer: a fault there is answered by the edge
    (api/common/edge.py) as JSON, with the request id, the security headers and its line; then raised on."""
    token = await api.token_for("admin@example.com")

    def broken() -> Any:
        raise RuntimeError("the authenticator is gone")

    api.container.services.authenticator.override(providers.Callable(broken))
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                                     base_url="http://test") as client:
            response = await client.post("/graphql", json={"query": "{ me { email } }"},
                                         headers={"Authorization": f"Bearer {token}", "X-Request-Id": "edge-fault-1"})
    finally:
        api.container.services.authenticator.reset_override()
    assert response.status_code == 500 and response.headers["x-request-id"] == "edge-fault-1"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.json()["errors"][0]["extensions"] == {"code": "INTERNAL_ERROR", "requestId": "edge-fault-1"}
    line = requests(lines)[-1]
    assert line["request_id"] == "edge-fault-1" and line["status"] == 500 and line["outcome"] == "failed"


async def test_health_checks_are_not_logged_while_they_answer_200(api: Api, lines: Lines) -> None:
    assert (await api.client.get("/healthz")).status_code == 200
    assert requests(lines) == []


def test_production_lines_are_json_objects() -> None:
    record = logging.LogRecord("crm.request", logging.INFO, __file__, 1, "request", None, None)
    record.fields = {"request_id": "r1", "status": 200, "sql": 1}  # type: ignore[attr-defined]
    line = json.loads(JsonLines().format(record))
    assert line["request_id"] == "r1" and line["level"] == "info" and line["logger"] == "crm.request"
    other = logging.LogRecord("crm.api", logging.WARNING, __file__, 1, "started in %s", ("production",), None)
    assert json.loads(JsonLines().format(other))["message"] == "started in production"


async def test_serves_handler_writes_the_line_its_formatter_writes_and_a_filter_still_sees_records(
        api: Api, lines: Lines) -> None:
    """With `crm serve`'s handler alone on the request lines (BatchedLines writing JsonLines), a line is written
    without a LogRecord: the same JSON object, field for field, as the record gives (caplog's, the same request
    asked again). A filter on the handler gets records again, and sees every line."""
    customer = await a_customer(api)
    await post(api, HOT, {"id": customer})  # from now on by the hot lane, as the three lines below
    request_log = logging.getLogger("crm.request")
    stream = io.StringIO()
    handler = BatchedLines(stream, interval=60)
    handler.setFormatter(JsonLines())
    kept = request_log.handlers[:], request_log.propagate
    request_log.handlers, request_log.propagate = [handler], False
    try:
        answer = await post(api, HOT, {"id": customer}, request_id="direct-line-1")
        assert answer.status_code == 200 and stream.getvalue() == ""  # batched: not written yet
        handler.flush()
        direct = json.loads(stream.getvalue())
        seen: list[logging.LogRecord] = []
        handler.addFilter(lambda record: seen.append(record) or True)
        await post(api, HOT, {"id": customer}, request_id="direct-line-2")
        handler.flush()
        filtered = json.loads(stream.getvalue().splitlines()[-1])
    finally:
        request_log.handlers, request_log.propagate = kept
    assert [r.fields["request_id"] for r in seen if r.name == "crm.request"] == ["direct-line-2"]  # type: ignore[attr-defined]
    await post(api, HOT, {"id": customer}, request_id="direct-line-3")
    recorded = json.loads(JsonLines().format([r for r in lines if r.name == "crm.request"][-1]))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", direct["at"])
    unlike = {"at", "request_id", "duration_ms"}
    for line in (direct, filtered):
        assert list(line) == list(recorded)
        assert {k: v for k, v in line.items() if k not in unlike} == {
            k: v for k, v in recorded.items() if k not in unlike}
    assert (direct["request_id"], filtered["request_id"], recorded["request_id"]) == (
        "direct-line-1", "direct-line-2", "direct-line-3")
    assert direct["operation"] == "LogHot" and direct["sql"] >= 1 and direct["level"] == "info"


def test_request_lines_are_written_in_batches_and_warnings_at_once() -> None:
    """`crm serve` writes request lines in batches (BatchedLines): within the interval, at a warning (with what
    waited before it, in order), once the capacity is reached, and when logging shuts down."""
    stream = io.StringIO()
    handler = BatchedLines(stream, interval=0.3, capacity=200)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("crm.test.batched")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        logger.info("one")
        logger.info("two")
        assert stream.getvalue() == ""  # waiting for the interval
        deadline = time.monotonic() + 5
        while stream.getvalue() == "" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert stream.getvalue() == "INFO one\nINFO two\n"
        logger.info("three")
        logger.warning("now")
        assert stream.getvalue().endswith("INFO three\nWARNING now\n")
        for n in range(30):  # lines of 12 and 13 characters: the 17th passes the capacity of 200
            logger.info(f"line {n}")
        assert "INFO line 16\n" in stream.getvalue()
        logger.info("last")
        handler.flush()  # as logging.shutdown does at exit
        assert stream.getvalue().endswith("INFO line 29\nINFO last\n")
    finally:
        logger.removeHandler(handler)

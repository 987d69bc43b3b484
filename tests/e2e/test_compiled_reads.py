"""The hot read paths answered by the database as JSON (infrastructure/db/queries/documents.py) give exactly what
the resolvers give, field for field, for every role: same values, same formats, same visibility, same errors.

Each document is asked twice: as the app serves it, and with DocumentReads replaced by a fake that declines
every selection, so the resolvers answer it. The statements prove which path answered."""
from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any, Iterator, Sequence

import asyncpg
import pytest
from dependency_injector import providers

from application.queries.documents import Selected
from tests.application.fakes import FakeClock
from tests.conftest import Api, Database, statements
from tests.e2e.conftest import CROWD

ROLES = ["admin@example.com", "sales.key@example.com", "warehouse.member@example.com", "service.member@example.com",
         "sales.member@example.com"]


class Declining:
    """DocumentReads that compiles nothing: every selection goes to the resolvers."""

    async def customers(self, fields: Sequence[Selected], *args: Any, **kwargs: Any) -> None:
        return None

    async def customer(self, fields: Sequence[Selected], **kwargs: Any) -> None:
        return None

    async def board(self, fields: Sequence[Selected], *args: Any, **kwargs: Any) -> None:
        return None

    async def complaints(self, fields: Sequence[Selected], *args: Any, **kwargs: Any) -> None:
        return None


@contextlib.contextmanager
def resolvers_only(api: Api) -> Iterator[None]:
    api.container.services.document_reads.override(providers.Object(Declining()))
    try:
        yield
    finally:
        api.container.services.document_reads.reset_override()


def first_difference(a: Any, b: Any, path: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            if a.get(key, "<missing>") != b.get(key, "<missing>"):
                return first_difference(a.get(key), b.get(key), f"{path}.{key}")
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return first_difference(x, y, f"{path}[{i}]")
    return f"{path}: {a!r} != {b!r}"


async def both(api: Api, document: str, variables: dict[str, Any], as_: str) -> tuple[dict, dict, int, int]:
    """The document as served (asked twice: a document the regular path answered without errors is answered by
    the fast path next time, api/fast_path.py) and as the resolvers answer it. What a process looks up once for
    a reader (their department's code, for the complaint rule) is looked up first, so whichever test ran before
    (in random order), the paths' statements compare alike."""
    await api.post("{ complaints(first: 1) { totalCount } }", as_=as_)
    with statements(api) as compiled_sql:
        compiled = (await api.post(document, variables, as_=as_)).json()
    with statements(api) as fast_sql:
        fast = (await api.post(document, variables, as_=as_)).json()
    assert fast == compiled, first_difference(fast, compiled)
    assert len(fast_sql) <= len(compiled_sql)
    with resolvers_only(api), statements(api) as resolved_sql:
        resolved = (await api.post(document, variables, as_=as_)).json()
    return compiled, resolved, len(compiled_sql), len(resolved_sql)


EVERYTHING = """
  __typename id code name kind tier lifecycleStage attributes createdAt updatedAt version tags
  owner { __typename id name email role active version department { id code name } }
  contacts { __typename id name email phone title primary }
  complaints(first: 5) { __typename totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { __typename cursor node { __typename id number priority channel subject description status resolution
      satisfaction createdAt updatedAt version customer { code } category { code name active parent { code } }
      assignee { email } department { code } filedBy { email } order { number status } } } }
  orders(first: 3) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id number status currency
    advancePayment placedAt createdAt updatedAt version customer { code } owner { email }
    total { __typename amount currency } } } }
  open: complaints(first: 3, filter: {statuses: [OPEN, ACKNOWLEDGED, IN_PROGRESS]}) { totalCount
    edges { node { number status } } }
  draft: orders(first: 2, filter: {statuses: [DRAFT]}) { totalCount edges { node { number total { amount } } } }
  activity(first: 6) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id at kind summary
    department { code } actor { email } } } }
"""

LISTS = {
    "query A": ("""query($n: Int) { customers(first: $n) { edges { node { id code name
                   complaints(first: 10) { edges { node { number status } } } } } } }""", {"n": 50}),
    "everything": (f"query($tag: String) {{ customers(first: 7, filter: {{tag: $tag}}) {{ totalCount "
                   f"pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }} "
                   f"edges {{ cursor node {{ {EVERYTHING} }} }} }} }}", {}),
    "newest first, searched": ("""query($s: String) { customers(first: 4, filter: {search: $s},
                                  orderBy: {field: CREATED_AT, direction: DESC}) {
                                  pageInfo { endCursor hasNextPage } edges { cursor node { code createdAt } } } }""",
                               {"s": "crowd"}),
    "fragments, aliases and directives": ("""query($yes: Boolean!, $no: Boolean!) {
        first: customers(first: 3) { ...Page }
        second: customers(first: 2, orderBy: {field: UPDATED_AT, direction: ASC}) { edges { node { ... on Customer { n: name }
          ...Who @include(if: $yes) secret: code @skip(if: $yes) visible: code @include(if: $no) } } } }
        fragment Page on CustomerConnection { edges { node { ...Who complaints(first: 1) { edges { node { ... on Node { id } } } } } } }
        fragment Who on Customer { code code owner { email } }""", {"yes": True, "no": False}),
    "empty pages": ("""{ customers(first: 0) { totalCount pageInfo { hasNextPage startCursor endCursor }
                        edges { node { code } } } }""", {}),
}


@pytest.mark.parametrize("who", ROLES)
@pytest.mark.parametrize("name", list(LISTS))
async def test_lists_are_the_same_on_both_paths(api: Api, crowd: dict[str, Any], name: str, who: str) -> None:
    document, variables = LISTS[name]
    compiled, resolved, compiled_statements, resolved_statements = await both(
        api, document, {**variables, "tag": crowd["tag"]} if "$tag" in document else variables, who)
    assert "errors" not in compiled, compiled
    assert compiled == resolved, first_difference(compiled, resolved)
    # authentication, the reader's department (when complaints are read), one statement per root field
    assert compiled_statements <= 2 + document.count("customers("), compiled_statements


async def test_money_is_rounded_half_even_and_written_with_the_minor_units(api: Api) -> None:
    """Order totals as the database writes them equal Money.of's, for currencies of 0, 2 and 3 decimals."""
    customer = (await api("""mutation { createCustomer(input: {name: "Money Matters", kind: COMPANY}) {
        customer { id code } } }"""))["createCustomer"]["customer"]
    for currency, price, quantity in (("EUR", "0.125", "1"), ("EUR", "10.005", "3"), ("JPY", "1234.5", "1"),
                                      ("KWD", "1.0005", "7"), ("USD", "19.99", "0.5"), ("GBP", "0", "1")):
        await api("""mutation($o: CreateOrderInput!) { createOrder(input: $o) { userErrors { code } } }""",
                  {"o": {"customerId": customer["id"], "currency": currency,
                         "lines": [{"sku": "X", "description": "x", "quantity": quantity, "unitPrice": price}]}})
    document = """query($code: String) { customer(code: $code) { orders(first: 10) { edges { node { number
        total { amount currency } } } } } }"""
    compiled, resolved, compiled_statements, resolved_statements = await both(
        api, document, {"code": customer["code"]}, "admin@example.com")
    assert "errors" not in compiled, compiled
    assert compiled == resolved, first_difference(compiled, resolved)
    assert compiled_statements < resolved_statements
    assert {e["node"]["total"]["currency"] for e in compiled["data"]["customer"]["orders"]["edges"]} == {
        "EUR", "JPY", "KWD", "USD", "GBP"}


async def test_pages_follow_on_through_cursors(api: Api, crowd: dict[str, Any]) -> None:
    document = """query($tag: String, $after: String) { customers(first: 30, after: $after, filter: {tag: $tag}) {
        pageInfo { hasNextPage hasPreviousPage endCursor } edges { node { code
          complaints(first: 1, after: null) { edges { node { number } } } } } } }"""
    seen, after = [], None
    while True:
        compiled, resolved, _, _ = await both(api, document, {"tag": crowd["tag"], "after": after},
                                              "admin@example.com")
        assert compiled == resolved
        page = compiled["data"]["customers"]
        seen += [e["node"]["code"] for e in page["edges"]]
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == CROWD


async def test_nested_pages_after_a_cursor(api: Api, crowd: dict[str, Any]) -> None:
    code = crowd["customers"][0]["code"]
    first = (await api("query($c: String) { customer(code: $c) { complaints(first: 1) { pageInfo { endCursor } } } }",
                       {"c": code}))["customer"]["complaints"]["pageInfo"]["endCursor"]
    document = """query($c: String, $a: String) { customer(code: $c) { complaints(first: 5, after: $a) {
        pageInfo { hasNextPage hasPreviousPage } edges { node { number } } } } }"""
    compiled, resolved, _, _ = await both(api, document, {"c": code, "a": first}, "admin@example.com")
    assert compiled == resolved
    assert compiled["data"]["customer"]["complaints"]["pageInfo"]["hasPreviousPage"] is True


@pytest.mark.parametrize("who", ROLES)
async def test_one_customer_is_the_same_on_both_paths(api: Api, crowd: dict[str, Any], who: str) -> None:
    demo = (await api('{ customer(code: "DEMO-0001") { id } }'))["customer"]["id"]
    for variables in ({"code": crowd["customers"][3]["code"]}, {"id": demo}, {"code": "NOPE-0000"}):
        document = f"query($id: ID, $code: String) {{ customer(id: $id, code: $code) {{ {EVERYTHING} }} }}"
        compiled, resolved, compiled_statements, _ = await both(api, document, variables, who)
        assert "errors" not in compiled, compiled
        assert compiled == resolved
        assert compiled_statements <= 3
    assert compiled["data"] == {"customer": None}


async def test_complaints_are_as_visible_as_through_the_resolvers(api: Api, crowd: dict[str, Any]) -> None:
    document = """query($tag: String) { customers(first: 100, filter: {tag: $tag}) { edges { node {
        complaints(first: 5) { totalCount edges { node { number } } } } } } }"""
    counts = {}
    for who in ROLES:
        compiled, resolved, _, _ = await both(api, document, {"tag": crowd["tag"]}, who)
        assert compiled == resolved
        counts[who] = sum(e["node"]["complaints"]["totalCount"] for e in compiled["data"]["customers"]["edges"])
    # filed by a sales member, handled by SERVICE, the customers owned by a sales key user
    assert counts == {"admin@example.com": CROWD, "sales.key@example.com": CROWD,
                      "warehouse.member@example.com": 0, "service.member@example.com": CROWD,
                      "sales.member@example.com": CROWD}


async def test_what_the_database_cannot_build_is_resolved(api: Api, crowd: dict[str, Any]) -> None:
    """ERP costs are computed in Python and order lines are not compiled: the page falls back, with the same
    answer."""
    document = """query($tag: String) { customers(first: 3, filter: {tag: $tag}) { edges { node { code
        orders(first: 1) { edges { node { total { amount currency } lines { sku unitCost { amount } } } } }
        complaints(first: 1) { edges { node { sla { firstResponse { state } } } } }
        activity(first: 1) { edges { node { kind } } } } } } }"""
    compiled, resolved, compiled_statements, resolved_statements = await both(
        api, document, {"tag": crowd["tag"]}, "admin@example.com")
    assert compiled == resolved and "errors" not in compiled
    assert compiled_statements == resolved_statements > 3


@pytest.fixture
def frozen_clock(api: Api) -> Iterator[datetime]:
    """SLA clocks computed on both paths at the same instant (they count business minutes up to `now`)."""
    now = datetime.now(UTC)
    api.container.gateways.clock.override(providers.Object(FakeClock(now)))
    try:
        yield now
    finally:
        api.container.gateways.clock.reset_override()


SLA = """sla { __typename escalationLevel firstResponse { __typename state dueAt metAt remainingMinutes }
  resolution { state dueAt remainingMinutes } late: nextUpdate { state dueAt metAt } }"""
QUEUES = {
    "the SLA-risk queue": ("""query { complaints(filter: {slaAtRisk: true}, first: 50) { totalCount edges { node {
        number status priority createdAt customer { code name } category { code name } assignee { name email }
        %s } } } }""" % SLA, {}),
    "the crowd's complaints, all clocks": ("""query($tag: String) { complaints(first: 60, filter: {search: $tag}) {
        pageInfo { hasNextPage endCursor } edges { cursor node { number status %s customer { code }
        order { number } } } } }""" % SLA, {}),
    "open ones, not at risk": ("""query { complaints(first: 20, filter: {slaAtRisk: false,
        statuses: [OPEN, ACKNOWLEDGED, IN_PROGRESS, WAITING_ON_CUSTOMER]}) { edges { node { number
        sla { firstResponse { state remainingMinutes } } } } } }""", {}),
    "clocks inside a customer page": ("""query($tag: String) { customers(first: 5, filter: {tag: $tag}) { edges {
        node { code complaints(first: 2) { edges { node { number %s } } } } } } }""" % SLA, {}),
}


@pytest.mark.parametrize("who", ROLES)
@pytest.mark.parametrize("name", list(QUEUES))
async def test_complaint_queues_with_sla_clocks_are_the_same_on_both_paths(
        api: Api, crowd: dict[str, Any], frozen_clock: datetime, name: str, who: str) -> None:
    document, variables = QUEUES[name]
    variables = {**variables, "tag": crowd["tag"]} if "$tag" in document else variables
    compiled, resolved, compiled_statements, resolved_statements = await both(api, document, variables, who)
    assert "errors" not in compiled, compiled
    assert compiled == resolved, first_difference(compiled, resolved)
    # the document, the complaints' history and their calendars (and the sign-in, the reader's department):
    # never more than the resolvers, and fewer when the nodes select relations (customer, category, assignee)
    assert compiled_statements <= resolved_statements, (compiled_statements, resolved_statements)
    if compiled["data"][next(iter(compiled["data"]))]["edges"] and "assignee" in document:
        assert compiled_statements < resolved_statements, (compiled_statements, resolved_statements)


async def test_a_queue_page_follows_on_through_its_cursor(api: Api, crowd: dict[str, Any],
                                                          frozen_clock: datetime) -> None:
    document = """query($tag: String, $after: String) { complaints(first: 40, after: $after, filter: {search: $tag}) {
        pageInfo { hasNextPage endCursor } edges { node { number sla { resolution { state } } } } } }"""
    seen, after = [], None
    while True:
        compiled, resolved, _, _ = await both(api, document, {"tag": crowd["tag"], "after": after},
                                              "service.member@example.com")
        assert compiled == resolved, first_difference(compiled, resolved)
        page = compiled["data"]["complaints"]
        seen += [e["node"]["number"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == CROWD


async def test_a_clock_the_compiler_cannot_write_is_resolved(api: Api, crowd: dict[str, Any],
                                                            frozen_clock: datetime) -> None:
    """The policy behind the clocks is an object of its own: the page goes to the resolvers."""
    document = """{ complaints(first: 3) { edges { node { number sla { policy { name } firstResponse { state } } } } } }"""
    compiled, resolved, compiled_statements, resolved_statements = await both(api, document, {}, "admin@example.com")
    assert compiled == resolved and "errors" not in compiled
    assert compiled_statements == resolved_statements


async def test_bad_nested_arguments_are_reported_as_the_resolvers_report_them(api: Api) -> None:
    for page in ("first: 101", "first: -1", 'after: "not-a-cursor"'):
        document = f"{{ customers(first: 2) {{ edges {{ node {{ code complaints({page}) {{ totalCount }} }} }} }} }}"
        compiled, resolved, _, _ = await both(api, document, {}, "admin@example.com")
        assert compiled == resolved
        assert {e["extensions"]["code"] for e in compiled["errors"]} <= {"LIMIT_EXCEEDED", "INVALID"}


async def test_a_page_of_counts_and_constants_is_one_object_however_many_rows(api: Api) -> None:
    """A nested connection selecting only totalCount or constants reads no row of its page (one object, not one
    per row): asked of a customer with several complaints."""
    customer = (await api("""mutation { createCustomer(input: {name: "Many Complaints", kind: COMPANY}) {
        customer { id code } } }"""))["createCustomer"]["customer"]
    category = (await api("{ complaintCategories { id } }"))["complaintCategories"][0]
    for n in range(3):
        await api("""mutation($c: FileComplaintInput!) { fileComplaint(input: $c) { userErrors { code } } }""",
                  {"c": {"customerId": customer["id"], "categoryId": category["id"], "priority": "LOW",
                         "channel": "EMAIL", "subject": f"Issue {n}", "description": "Again"}})
    document = """query($code: String) { customers(first: 5, filter: {search: $code}) { edges { node { code
        complaints(first: 2) { totalCount __typename pageInfo { hasPreviousPage } }
        orders(first: 1) { pageInfo { __typename } } } } } }"""
    compiled, resolved, _, _ = await both(api, document, {"code": customer["code"]}, "admin@example.com")
    assert "errors" not in compiled, compiled
    assert compiled == resolved
    assert compiled["data"]["customers"]["edges"][0]["node"]["complaints"]["totalCount"] == 3


async def test_the_fast_path_keeps_every_limit_and_error(api: Api) -> None:
    """A document learnt with harmless variables is refused as before when other variables make it too costly,
    do not coerce or page badly."""
    document = """query($n: Int, $m: Int) { customers(first: $n) { edges { node { code complaints(first: $m) {
        edges { node { customer { complaints(first: $m) { totalCount } } } } } } } } }"""
    for _ in range(2):
        await api(document, {"n": 1, "m": 1})
    refused = await api.errors(document, {"n": 100, "m": 100})
    assert [e["extensions"]["code"] for e in refused] == ["LIMIT_EXCEEDED"]
    assert refused[0]["extensions"]["cost"] == 100 + 100 * 100 + 100 * 100 * 100
    bad = (await api.post(document, {"n": "many", "m": 1})).json()
    assert bad["data"] is None and bad["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    too_many = await api.errors(document, {"n": 1, "m": 101})
    assert {e["extensions"]["code"] for e in too_many} == {"LIMIT_EXCEEDED"}
    assert too_many[0]["path"][:3] == ["customers", "edges", 0]
    assert (await api(document, {"n": 2, "m": 1}))["customers"]["edges"][1]["node"]["code"]


async def test_the_fast_path_reports_bad_ids_as_the_regular_path_does(api: Api, crowd: dict[str, Any]) -> None:
    document = "query($id: ID) { customer(id: $id) { code contacts { name } } }"
    good = crowd["customers"][0]
    for _ in range(2):  # learnt, then answered by the fast path
        assert (await api(document, {"id": good["id"]}))["customer"]["code"] == good["code"]
    order = (await api("{ orders(first: 1) { edges { node { id } } } }"))["orders"]["edges"][0]["node"]["id"]
    for bad in (order, "not-an-id"):
        errors = await api.errors(document, {"id": bad})
        assert [e["extensions"]["code"] for e in errors] == ["INVALID"]
    both_given = await api.errors("query($id: ID) { customer(id: $id, code: \"X\") { code } }", {"id": good["id"]})
    assert [e["extensions"]["code"] for e in both_given] == ["INVALID"]
    neither = await api.errors(document, {"id": None})
    assert [e["extensions"]["code"] for e in neither] == ["INVALID"]


PLAIN_AND_NOT = [  # variables the fast path takes as they are (api/fast_path.py, _PlainVariables) and others
    lambda good: {"id": good["id"]}, lambda good: {"id": good["id"], "code": None}, lambda good: {"code": good["code"]},
    lambda good: {"id": None, "code": good["code"]}, lambda good: {"id": good["id"], "unused": [1]},
    lambda good: {}, lambda good: {"id": 5}, lambda good: {"id": True}, lambda good: {"id": [good["id"]]},
    lambda good: {"id": good["id"], "code": 7}, lambda good: {"code": {"x": 1}}, lambda good: {"id": 1.5},
    lambda good: {"id": good["id"], "n": 2 ** 31}, lambda good: {"id": good["id"], "n": True},
    lambda good: {"id": good["id"], "n": 2.0}, lambda good: {"id": good["id"], "n": None},
    lambda good: {"id": good["id"], "n": -2 ** 31}, lambda good: {"id": good["id"], "n": "3"},
]


@pytest.mark.parametrize("variables", PLAIN_AND_NOT, ids=[str(n) for n in range(len(PLAIN_AND_NOT))])
async def test_the_fast_path_coerces_variables_as_graphql_does(api: Api, crowd: dict[str, Any], variables: Any) -> None:
    """Whatever the variables, a learnt document answers as the resolvers answer it: the values the fast path
    coerces itself, and those it leaves to graphql-core (which then coerces or refuses them)."""
    document = """query($id: ID, $code: String, $n: Int) { customer(id: $id, code: $code) {
        code contacts { name } complaints(first: $n) { totalCount edges { node { number } } } } }"""
    good = crowd["customers"][0]
    for _ in range(2):  # learnt, then answered by the fast path
        assert (await api(document, {"id": good["id"]}))["customer"]["code"] == good["code"]
    given = variables(good)
    fast = (await api.post(document, given)).json()
    with resolvers_only(api):
        resolved = (await api.post(document, given)).json()
    assert fast == resolved, first_difference(fast, resolved)


BOARDS = {
    "the whole board": """{ orderBoard { __typename columns { __typename status count totals { __typename amount currency }
        orders(first: 4) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { number status
          total { amount currency } placedAt customer { code name } owner { email } } } } } } }""",
    "some columns, filtered": """query($owner: ID) { orderBoard(filter: {statuses: [DRAFT, CANCELLED], ownerId: $owner}) {
        columns { status count totals { amount } orders(first: 2) { edges { node { number } } } } } }""",
}


@pytest.mark.parametrize("name", list(BOARDS))
async def test_the_order_board_is_the_same_on_both_paths(api: Api, crowd: dict[str, Any], name: str) -> None:
    compiled, resolved, compiled_statements, resolved_statements = await both(
        api, BOARDS[name], {"owner": crowd["owner"]} if "$owner" in BOARDS[name] else {}, "sales.member@example.com")
    assert "errors" not in compiled, compiled
    assert compiled == resolved, first_difference(compiled, resolved)
    columns = compiled["data"]["orderBoard"]["columns"]
    assert sum(c["count"] for c in columns) > 0
    if api.container.core.settings().is_sqlite:
        assert compiled_statements == resolved_statements  # SQLite: exact sums of text amounts stay in the resolvers
    else:
        assert compiled_statements < resolved_statements


# ------------------------------------------------------------------ the sign-in checked with the first read

CONTACTS = "query($id: ID!) { customer(id: $id) { code contacts { name } } }"
PAGE_WITH_COMPLAINTS = """query($tag: String) { customers(first: 5, filter: {tag: $tag}) { edges { node { code
  complaints(first: 3) { edges { node { number } } } } } } }"""


async def new_member(api: Api, department: str) -> tuple[str, str]:
    """A fresh staff member (MEMBER of `department`): their e-mail and id."""
    email = f"{__import__('uuid').uuid4().hex[:8]}@signin.example"
    departments = {d["code"]: d["id"] for d in (await api("{ departments { id code } }"))["departments"]}
    created = await api("""mutation($input: CreateStaffInput!) { createStaff(input: $input) { staff { id } } }""",
                        {"input": {"name": "Signin", "email": email, "departmentId": departments[department],
                                   "role": "MEMBER"}})
    return email, created["createStaff"]["staff"]["id"]


async def update_staff(api: Api, staff_id: str, **changes: Any) -> None:
    if "departmentId" in changes:
        departments = {d["code"]: d["id"] for d in (await api("{ departments { id code } }"))["departments"]}
        changes["departmentId"] = departments[changes["departmentId"]]
    result = await api("""mutation($input: UpdateStaffInput!) { updateStaff(input: $input) { userErrors { code } } }""",
                       {"input": {"id": staff_id, **changes}})
    assert result["updateStaff"]["userErrors"] == []


async def test_a_hot_read_checks_its_sign_in_in_the_same_statement(api: Api, crowd: dict[str, Any]) -> None:
    email, _ = await new_member(api, "SALES")
    variables = {"id": crowd["customers"][0]["id"]}
    first = await api(CONTACTS, variables, as_=email)  # the regular path: the sign-in read on its own
    with statements(api) as seen:
        again = await api(CONTACTS, variables, as_=email)
    assert again == first and again["customer"]["contacts"]
    assert len(seen) == 1 and "signing_in" in seen[0], seen


async def test_a_deactivated_members_hot_read_stops_at_once(api: Api, crowd: dict[str, Any]) -> None:
    email, staff_id = await new_member(api, "SALES")
    variables = {"id": crowd["customers"][0]["id"]}
    for _ in range(2):  # learnt, then answered by the fast path
        assert (await api(CONTACTS, variables, as_=email))["customer"]["contacts"]
    await update_staff(api, staff_id, active=False)
    for _ in range(2):
        response = await api.post(CONTACTS, variables, as_=email)
        assert response.status_code == 401 and response.json()["data"] is None, response.text
    await update_staff(api, staff_id, active=True)
    response = await api.post(CONTACTS, variables, as_=email)  # the old token stays dead (api/common/sign_in.py)
    assert response.status_code == 401, response.text
    api.forget_token(email)
    assert (await api(CONTACTS, variables, as_=email))["customer"]["contacts"]  # a new one works


async def test_a_member_moved_to_another_department_is_answered_as_who_they_are_now(
        api: Api, crowd: dict[str, Any]) -> None:
    """The crowd's complaints are handled by SERVICE: a WAREHOUSE member sees none of them, and once moved to
    SERVICE all of them, on the very next request, although the fast path last admitted them as WAREHOUSE."""
    email, staff_id = await new_member(api, "WAREHOUSE")

    def complaints(data: dict[str, Any]) -> list[int]:
        return [len(e["node"]["complaints"]["edges"]) for e in data["customers"]["edges"]]

    for _ in range(2):
        assert complaints(await api(PAGE_WITH_COMPLAINTS, {"tag": crowd["tag"]}, as_=email)) == [0] * 5
    await update_staff(api, staff_id, departmentId="SERVICE")
    assert complaints(await api(PAGE_WITH_COMPLAINTS, {"tag": crowd["tag"]}, as_=email)) == [1] * 5
    assert complaints(await api(PAGE_WITH_COMPLAINTS, {"tag": crowd["tag"]}, as_=email)) == [1] * 5


async def test_a_hot_read_whose_pooled_connection_was_dropped_is_answered_on_a_fresh_one(
        api: Api, crowd: dict[str, Any], database: Database) -> None:
    """Reads run straight on the driver (infrastructure/db/reads.py), without a pre-ping: a connection the
    server dropped while it idled in the pool fails its first statement, and the read is repeated on a new one."""
    if database.backend != "postgresql":
        pytest.skip("a server that drops connections is PostgreSQL's")
    variables = {"id": crowd["customers"][1]["id"]}
    expected = await api(CONTACTS, variables)
    await api(CONTACTS, variables)
    admin = await asyncpg.connect(database.url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        dropped = await admin.fetchval("""SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'idle'
              AND query NOT ILIKE 'listen%'""")  # the pool's idle connections, not the LISTEN relay's
    finally:
        await admin.close()
    assert dropped >= 1
    for _ in range(3):
        assert await api(CONTACTS, variables) == expected

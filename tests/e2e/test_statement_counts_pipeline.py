"""Statements per request do not grow with the page for the sales pipeline's lists either: `opportunities`,
`Customer.opportunities` (one windowed statement per level) and the pipeline board's column pages (every column's
page in one statement), at page sizes 1, 10 and 100."""
from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api, unique
from tests.e2e.conftest import gather_in_chunks
from tests.e2e.test_import import run_import
from tests.e2e.test_statement_counts import MOST, SIZES, counts_per_size

DEALS = 100  # customers, each with one deal in Qualification and one in Proposal


@pytest.fixture(scope="module")
async def pipeline_crowd(api: Api) -> dict[str, Any]:
    tag = unique("deals").lower()
    rows = [f"{tag.upper()}-{i},Deal crowd {i},COMPANY,{tag}" for i in range(DEALS)]
    assert (await run_import(api, "\n".join(["code,name,kind,tags", *rows]) + "\n"))["created"] == DEALS
    customers = [e["node"]["id"] for e in (await api(
        "query($tag: String) { customers(first: 100, filter: {tag: $tag}) { edges { node { id } } } }",
        {"tag": tag}))["customers"]["edges"]]
    sales = next(d for d in (await api("{ departments { id code } }"))["departments"] if d["code"] == "SALES")
    email = f"owner@{tag}.example"
    owner = (await api("""mutation($s: CreateStaffInput!) { createStaff(input: $s) { staff { id } } }""",
                       {"s": {"name": "Deal Owner", "email": email, "departmentId": sales["id"], "role": "MEMBER"}}
                       ))["createStaff"]["staff"]["id"]
    stages = {s["name"]: s["id"] for s in (await api("{ opportunityStages { id name } }"))["opportunityStages"]}

    async def populate(customer: str) -> None:
        made = await api("""mutation($a: CreateOpportunityInput!, $b: CreateOpportunityInput!) {
            a: createOpportunity(input: $a) { opportunity { id } userErrors { code } }
            b: createOpportunity(input: $b) { opportunity { id } userErrors { code } } }""", {
            "a": {"customerId": customer, "name": "Early", "amount": {"amount": "100.10", "currency": "EUR"}},
            "b": {"customerId": customer, "name": "Later", "amount": {"amount": "20", "currency": "USD"}}}, as_=email)
        assert not made["a"]["userErrors"] and not made["b"]["userErrors"], made
        moved = await api("""mutation($m: MoveOpportunityInput!) { moveOpportunity(input: $m) { userErrors { code } } }""",
                          {"m": {"opportunityId": made["b"]["opportunity"]["id"], "stageId": stages["Proposal"]}},
                          as_=email)
        assert not moved["moveOpportunity"]["userErrors"], moved

    await gather_in_chunks([populate(c) for c in customers])
    return {"tag": tag, "owner": owner}


DOCUMENTS = {
    "opportunities with customer, owner, stage, history and order": """query($n: Int, $owner: ID) {
        opportunities(first: $n, filter: {ownerId: $owner}) { totalCount edges { node { number amount { amount }
          weightedAmount { amount } customer { code owner { email } } owner { email } department { code }
          stage { name } order { number } stageHistory { from { name } to { name } by { email } } } } } }""",
    "customers with their opportunities": """query($n: Int, $tag: String) {
        customers(first: $n, filter: {tag: $tag}) { edges { node { code
          opportunities(first: 5) { totalCount edges { node { number stage { name } owner { email }
            stageHistory { to { name } } } } } } } } }""",
    "the pipeline's column pages": """query($n: Int, $owner: ID) {
        pipeline(filter: {ownerId: $owner}) { columns { stage { name } count amounts { amount currency }
          weighted { amount currency } opportunities(first: $n) { totalCount edges { node { number
            customer { code } owner { email } stage { name } } } } } } }""",
}


def page_size(data: dict[str, Any]) -> int:
    if "pipeline" in data:
        return sum(len(c["opportunities"]["edges"]) for c in data["pipeline"]["columns"])
    return len(next(iter(data.values()))["edges"])


@pytest.mark.parametrize("name", list(DOCUMENTS))
async def test_pipeline_statements_do_not_grow_with_the_page(api: Api, pipeline_crowd: dict[str, Any],
                                                             name: str) -> None:
    document = DOCUMENTS[name]
    variables = {k: v for k, v in {"tag": pipeline_crowd["tag"], "owner": pipeline_crowd["owner"]}.items()
                 if f"${k}" in document}
    measured = await counts_per_size(api, document, variables, "admin@example.com")
    counts = [c for c, _ in measured]
    sizes = [page_size(data) for _, data in measured]
    assert sizes[0] < sizes[1] < sizes[2], f"{name}: the pages must differ in size to prove anything: {sizes}"
    assert len(set(counts)) == 1, f"{name}: {counts} statements for pages of {sizes}"
    assert counts[0] <= MOST, f"{name}: {counts[0]} statements"
    if name == "the pipeline's column pages":
        columns = {c["stage"]["name"]: c for c in measured[-1][1]["pipeline"]["columns"]}
        assert (columns["Qualification"]["count"], columns["Proposal"]["count"]) == (DEALS, DEALS)
        assert columns["Qualification"]["amounts"] == [{"amount": f"{100.10 * DEALS:.2f}", "currency": "EUR"}]
        assert columns["Proposal"]["weighted"] == [{"amount": f"{20 * 0.4 * DEALS:.2f}", "currency": "USD"}]
    print(f"{name}: {counts[0]} statements")


async def test_the_total_count_is_only_computed_when_selected(api: Api, pipeline_crowd: dict[str, Any]) -> None:
    from tests.conftest import statements
    query = """query($owner: ID) { opportunities(first: 5, filter: {ownerId: $owner}) { %s edges { node { number } } } }"""
    variables = {"owner": pipeline_crowd["owner"]}
    for selection in ("", "totalCount"):
        await api(query % selection, variables)
    with statements(api) as without:
        await api(query % "", variables)
    with statements(api) as with_count:
        data = await api(query % "totalCount", variables)
    assert len(with_count) == len(without) + 1 and data["opportunities"]["totalCount"] == 2 * DEALS

"""Statements per request do not grow with the page for the campaign lists (as tests/e2e/test_statement_counts.py
asks of every other list): campaigns with their owner, funnel and members, a campaign's members with their
customers and contacts, and customers with their campaigns, at page sizes 1, 10 and 100."""
from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api
from tests.e2e.conftest import CROWD, gather_in_chunks
from tests.e2e.test_campaigns import MARKETER, add, campaign, respond
from tests.e2e.test_statement_counts import MOST, counts_per_size

DOCUMENTS = {
    "campaigns with owner, funnel and members": """query($n: Int) {
        campaigns(first: $n, status: ACTIVE) { totalCount edges { node { name budget { amount } owner { email }
          funnel { status count } sourcedOpportunities
          members(first: 3) { totalCount edges { node { status customer { code } contact { email } } } }
          responded: members(first: 2, status: RESPONDED) { edges { node { respondedAt } } } } } } }""",
    "a campaign's members with customers and contacts": """query($n: Int, $id: ID!) {
        campaign(id: $id) { funnel { status count }
          members(first: $n) { totalCount edges { node { id status respondedAt
            customer { code owner { email } tags } contact { email } } } } } }""",
    "customers with their campaigns": """query($n: Int, $tag: String) {
        customers(first: $n, filter: {tag: $tag}) { edges { node { code
          campaigns { name status owner { email } funnel { status count } } } } } }""",
}


@pytest.fixture(scope="module")
async def crowded_campaigns(api: Api, crowd: dict[str, Any]) -> dict[str, Any]:
    """The crowd (100 customers) as members of two campaigns, a few of whom responded, and at least 100 ACTIVE
    campaigns (a page of 100 must be full)."""
    from sqlalchemy import update

    from api.common.relay import parse_global_id
    from infrastructure.db.campaign_tables import campaigns as campaigns_table

    first, second = await campaign(api), await campaign(api)
    for one in (first, second):
        assert (await add(api, one["id"], segment={"tags": [crowd["tag"]]}))["added"] == CROWD
    for customer in crowd["customers"][:5]:
        assert (await respond(api, first["id"], customer["id"], "RESPONDED"))["userErrors"] == []
    made = await gather_in_chunks([campaign(api) for _ in range(100)])
    ids = [parse_global_id(c["id"])[1] for c in [first, second, *made]]
    async with api.container.core.engine().begin() as conn:  # no mutation moves a campaign yet: the demo's way
        await conn.execute(update(campaigns_table).where(campaigns_table.c.id.in_(ids)).values(status="ACTIVE"))
    return {"campaign": first["id"]}


@pytest.mark.parametrize("name", list(DOCUMENTS))
async def test_campaign_statements_do_not_grow_with_the_page(api: Api, crowd: dict[str, Any],
                                                             crowded_campaigns: dict[str, Any], name: str) -> None:
    document = DOCUMENTS[name]
    variables = {k: v for k, v in {"tag": crowd["tag"], "id": crowded_campaigns["campaign"]}.items()
                 if f"${k}" in document}
    measured = await counts_per_size(api, document, variables, MARKETER)
    counts = [c for c, _ in measured]
    assert len(set(counts)) == 1, f"{name}: {counts} statements for pages of 1, 10, 100"
    assert counts[0] <= MOST, f"{name}: {counts[0]} statements"
    data = [d for _, d in measured]
    value = next(iter(data[-1].values()))
    big = len(value["members"]["edges"]) if "members" in value else len(value["edges"])
    assert big == 100, f"{name}: the largest page must be full to prove anything ({big})"
    print(f"{name}: {counts[0]} statements")

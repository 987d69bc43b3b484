"""What a campaign brought in, over GraphQL on both databases: opportunities carry the campaign that sourced them
(one that names no campaign is refused), the pipeline filters by it, and a campaign shows how many deals it
sourced, their open amounts and their won amounts per currency, checked against totals computed here, in one
grouped statement however many campaigns a page shows."""
from __future__ import annotations

import base64
import uuid
from collections import defaultdict
from decimal import Decimal

from tests.conftest import Api, statements
from tests.e2e.test_campaigns import campaign
from tests.e2e.test_opportunities import LIST, create, move

SOURCED = """query($id: ID!) { campaign(id: $id) { sourcedOpportunities
  pipelineAmounts { amount currency } wonAmounts { amount currency } } }"""
DEAL = "query($id: ID!) { opportunity(id: $id) { campaign { id name } } }"
PAGE = """query($first: Int) { campaigns(first: $first) { edges { node { id
  sourcedOpportunities pipelineAmounts { amount currency } wonAmounts { amount currency } } } } }"""


def by_currency(moneys: list[dict[str, str]]) -> dict[str, Decimal]:
    return {m["currency"]: Decimal(m["amount"]) for m in moneys}


async def test_a_deal_names_the_campaign_that_sourced_it_and_an_unknown_one_is_refused(api: Api) -> None:
    source = await campaign(api)
    deal = await create(api, campaignId=source["id"])
    assert (await api(DEAL, {"id": deal["id"]}))["opportunity"]["campaign"] == {"id": source["id"],
                                                                              "name": source["name"]}
    other = await create(api)
    assert (await api(DEAL, {"id": other["id"]}))["opportunity"]["campaign"] is None
    found = (await api(LIST, {"f": {"campaignId": source["id"]}}))["opportunities"]
    assert [e["node"]["number"] for e in found["edges"]] == [deal["number"]]

    unknown = base64.b64encode(f"Campaign:{uuid.uuid4()}".encode()).decode()  # well-formed, names no campaign
    refused = await create(api, expect_errors=True, campaignId=unknown)
    assert refused["opportunity"] is None
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [(["input", "campaignId"], "NOT_FOUND")]


async def test_a_campaign_sums_what_it_sourced_per_currency_open_and_won_apart(api: Api) -> None:
    source = await campaign(api)
    assert (await api(SOURCED, {"id": source["id"]}))["campaign"] == {
        "sourcedOpportunities": 0, "pipelineAmounts": [], "wonAmounts": []}
    specs = [("1200.50", "EUR", None), ("99.95", "EUR", "Proposal"), ("300.00", "USD", None),
             ("5000.00", "EUR", "Won"), ("20.00", "USD", "Won"), ("700.00", "EUR", "Lost")]
    expected_open: dict[str, Decimal] = defaultdict(Decimal)
    expected_won: dict[str, Decimal] = defaultdict(Decimal)
    for amount, currency, stage in specs:
        deal = await create(api, campaignId=source["id"], amount={"amount": amount, "currency": currency})
        if stage is not None:
            fields = {"lostReason": "Chose a competitor"} if stage == "Lost" else {}
            assert (await move(api, deal, stage, **fields))["userErrors"] == []
        if stage == "Won":
            expected_won[currency] += Decimal(amount)
        elif stage != "Lost":
            expected_open[currency] += Decimal(amount)
    await create(api, amount={"amount": "1.00", "currency": "EUR"})  # not this campaign's

    sourced = (await api(SOURCED, {"id": source["id"]}))["campaign"]
    assert sourced["sourcedOpportunities"] == len(specs)
    assert by_currency(sourced["pipelineAmounts"]) == expected_open
    assert by_currency(sourced["wonAmounts"]) == expected_won
    assert [m["currency"] for m in sourced["pipelineAmounts"]] == ["EUR", "USD"]  # by currency code


async def test_the_sourced_figures_of_a_page_of_campaigns_cost_one_statement(api: Api) -> None:
    for _ in range(3):
        source = await campaign(api)
        await create(api, campaignId=source["id"])
    counts = []
    for first in (1, 3):
        with statements(api) as seen:
            page = (await api(PAGE, {"first": first}))["campaigns"]["edges"]
        assert len(page) == first
        counts.append(len(seen))
    assert counts[0] == counts[1], counts

"""Marketing campaigns over GraphQL on both databases: creating one (exact budget, dates, idempotency), adding
members by segment and by id (dry run, idempotent, opt-out respected), recording responses along the
forward-only machine, the funnel, members' pages, Customer.campaigns, the activity entry, the outbox events and
who may do what."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from api.common.relay import parse_global_id, to_global_id
from infrastructure.db import tables as t
from tests.conftest import Api, unique

MARKETER = "marketing.member@example.com"
CAMPAIGN_FIELDS = """id name channel status startsOn endsOn budget { amount currency } owner { email } version
  funnel { status count } sourcedOpportunities pipelineAmounts { amount } wonAmounts { amount }"""
CREATE = f"""mutation($i: CreateCampaignInput!) {{ createCampaign(input: $i) {{
  campaign {{ {CAMPAIGN_FIELDS} }} added userErrors {{ field message code }} }} }}"""
ADD = """mutation($i: AddCampaignMembersInput!) { addCampaignMembers(input: $i) {
  campaign { id funnel { status count } } added userErrors { field message code } } }"""
RESPOND = """mutation($i: RecordCampaignResponseInput!) { recordCampaignResponse(input: $i) {
  campaign { id funnel { status count } } userErrors { field message code } } }"""
MEMBERS = """query($id: ID!, $first: Int, $after: String, $status: CampaignMemberStatus) { campaign(id: $id) {
  members(first: $first, after: $after, status: $status) { totalCount
    edges { cursor node { id status respondedAt customer { id code } contact { email } } }
    pageInfo { hasNextPage endCursor } } } }"""
SET_STATUS = """mutation($i: SetCampaignStatusInput!) { setCampaignStatus(input: $i) {
  campaign { id status version } userErrors { field message code } } }"""
CREATE_CUSTOMER = """mutation($i: CreateCustomerInput!) { createCustomer(input: $i) {
  customer { id code contacts { id email } } userErrors { code } } }"""


async def campaign(api: Api, as_: str = MARKETER, **fields: Any) -> dict[str, Any]:
    payload = (await api(CREATE, {"i": {"name": unique("Spring mailing"), "channel": "EMAIL", **fields}},
                         as_=as_))["createCampaign"]
    assert payload["userErrors"] == [], payload
    return payload["campaign"]


async def customers(api: Api, tag: str, specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Customers carrying `tag` (so a segment on it sees only them), each as `specs` says."""
    staff = {s["node"]["email"]: s["node"]["id"] for s in (await api(
        "{ staff(first: 100) { edges { node { id email } } } }"))["staff"]["edges"]}
    made = []
    for n, spec in enumerate(specs):
        owner = spec.pop("owner", "sales.member@example.com")
        data = await api(CREATE_CUSTOMER, {"i": {"name": f"{tag} {n}", "kind": "COMPANY", "tags": [tag],
                                                 "ownerId": staff[owner],
                                                 "contacts": [{"name": "Pat", "email": f"pat{n}@{tag}.example"}],
                                                 **spec}})
        assert data["createCustomer"]["userErrors"] == [], data
        made.append(data["createCustomer"]["customer"])
    return made


def funnel(payload: dict[str, Any]) -> dict[str, int]:
    return {step["status"]: step["count"] for step in payload["campaign"]["funnel"]}


async def add(api: Api, campaign_id: str, as_: str = MARKETER, **fields: Any) -> dict[str, Any]:
    return (await api(ADD, {"i": {"campaignId": campaign_id, **fields}}, as_=as_))["addCampaignMembers"]


async def respond(api: Api, campaign_id: str, customer_id: str, status: str, as_: str = MARKETER,
                  **fields: Any) -> dict[str, Any]:
    return (await api(RESPOND, {"i": {"campaignId": campaign_id, "customerId": customer_id, "status": status,
                                      **fields}}, as_=as_))["recordCampaignResponse"]


async def test_create_a_campaign_with_an_exact_budget(api: Api) -> None:
    created = await campaign(api, startsOn="2027-03-01", endsOn="2027-03-31",
                             budget={"amount": "1250.005", "currency": "eur"}, idempotencyKey=unique("k"))
    assert created["status"] == "PLANNED" and created["channel"] == "EMAIL" and created["version"] == 1
    assert created["budget"] == {"amount": "1250.00", "currency": "EUR"}  # half-even to the cent
    assert (created["startsOn"], created["endsOn"]) == ("2027-03-01", "2027-03-31")
    assert created["owner"]["email"] == MARKETER
    assert created["funnel"] == [{"status": s, "count": 0} for s in
                                 ("TARGETED", "SENT", "RESPONDED", "CONVERTED", "OPTED_OUT")]
    # placeholders until the pipeline half is merged (opportunities carry their campaign there)
    assert (created["sourcedOpportunities"], created["pipelineAmounts"], created["wonAmounts"]) == (0, [], [])
    read = (await api(f"query($id: ID!) {{ campaign(id: $id) {{ {CAMPAIGN_FIELDS} }} }}", {"id": created["id"]}))
    assert read["campaign"] == created
    node = await api("query($id: ID!) { node(id: $id) { ... on Campaign { name } } }", {"id": created["id"]})
    assert node["node"]["name"] == created["name"]


async def test_an_idempotency_key_creates_one_campaign(api: Api) -> None:
    key = unique("once")
    first = await campaign(api, name="Once", idempotencyKey=key)
    again = await campaign(api, name="Once", idempotencyKey=key)
    assert again["id"] == first["id"]
    payload = (await api(CREATE, {"i": {"name": "Other", "channel": "EMAIL", "idempotencyKey": key}},
                         as_=MARKETER))["createCampaign"]
    assert payload["userErrors"][0]["field"] == ["input", "idempotencyKey"]


async def test_bad_campaign_input_is_a_user_error(api: Api) -> None:
    cases = [
        ({"name": " ", "channel": "EMAIL"}, ["input", "name"], "INVALID"),
        ({"name": "X", "channel": ""}, ["input", "channel"], "INVALID"),
        ({"name": "X", "channel": "EMAIL", "startsOn": "2027-03-02", "endsOn": "2027-03-01"}, ["input", "endsOn"],
         "INVALID"),
        ({"name": "X", "channel": "EMAIL", "budget": {"amount": "-1", "currency": "EUR"}},
         ["input", "budget", "amount"], "INVALID"),
        ({"name": "X", "channel": "EMAIL", "budget": {"amount": "10", "currency": "EURO"}},
         ["input", "budget", "currency"], "INVALID"),
    ]
    for given, field, code in cases:
        payload = (await api(CREATE, {"i": given}, as_=MARKETER))["createCampaign"]
        assert payload["campaign"] is None
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(field, code)], (given, payload)


async def test_a_segment_adds_every_matching_customer_once_and_a_dry_run_writes_nothing(api: Api) -> None:
    tag = unique("seg").lower()
    gold_a, gold_b, silver, gold_other_owner = await customers(api, tag, [
        {"tier": "GOLD"}, {"tier": "GOLD"}, {"tier": "SILVER"}, {"tier": "GOLD", "owner": "sales.key@example.com"}])
    owner = (await api("{ staff(first: 100) { edges { node { id email } } } }"))["staff"]["edges"]
    sales_member = next(e["node"]["id"] for e in owner if e["node"]["email"] == "sales.member@example.com")
    target = await campaign(api)
    segment = {"tags": [tag], "tiers": ["GOLD"], "ownerIds": [sales_member]}  # every condition must hold

    preview = await add(api, target["id"], segment=segment, dryRun=True)
    assert preview["userErrors"] == [] and preview["added"] == 2
    assert funnel(preview)["TARGETED"] == 0  # nothing written

    done = await add(api, target["id"], segment=segment)
    assert done["added"] == 2 and funnel(done)["TARGETED"] == 2
    again = await add(api, target["id"], segment=segment, customerIds=[gold_a["id"]])
    assert again["added"] == 0 and funnel(again)["TARGETED"] == 2  # nobody twice
    # segment and ids together: the union
    both = await add(api, target["id"], segment={"tags": [tag], "tiers": ["SILVER"]},
                     customerIds=[gold_other_owner["id"]])
    assert both["added"] == 2 and funnel(both)["TARGETED"] == 4
    page = (await api(MEMBERS, {"id": target["id"], "first": 10}))["campaign"]["members"]
    assert {e["node"]["customer"]["id"] for e in page["edges"]} == {
        gold_a["id"], gold_b["id"], silver["id"], gold_other_owner["id"]}
    assert page["totalCount"] == 4


async def test_inactive_since_leaves_out_customers_with_a_recent_interaction(api: Api) -> None:
    tag = unique("quiet").lower()
    quiet, busy, long_ago = await customers(api, tag, [{}, {}, {}])
    now = datetime.now(UTC)
    for who, when in ((busy, now - timedelta(days=2)), (long_ago, now - timedelta(days=200))):
        data = await api("""mutation($i: LogInteractionInput!) { logInteraction(input: $i) { userErrors { code } } }""",
                         {"i": {"customerId": who["id"], "kind": "CALL", "summary": "Hello",
                                "occurredAt": when.isoformat()}})
        assert data["logInteraction"]["userErrors"] == []
    target = await campaign(api)
    since = (now - timedelta(days=30)).isoformat()
    done = await add(api, target["id"], segment={"tags": [tag], "inactiveSince": since})
    assert done["added"] == 2, done
    page = (await api(MEMBERS, {"id": target["id"], "first": 10}))["campaign"]["members"]
    assert {e["node"]["customer"]["id"] for e in page["edges"]} == {quiet["id"], long_ago["id"]}


async def test_bad_member_requests_are_user_errors_and_write_nothing(api: Api) -> None:
    target = await campaign(api)
    (known,) = await customers(api, unique("bad").lower(), [{}])
    missing = to_global_id("Customer", parse_global_id(target["id"])[1])  # a well-formed id of no customer
    cases = [
        ({}, ["input", "segment"], "INVALID"),
        ({"segment": {}}, ["input", "segment"], "INVALID"),
        ({"customerIds": [known["id"], missing]}, ["input", "customerIds", "1"], "NOT_FOUND"),
        ({"segment": {"inactiveSince": "2026-01-01T00:00:00"}}, ["input", "segment", "inactiveSince"], "INVALID"),
        ({"segment": {"tags": [" "]}}, ["input", "segment", "tags", "0"], "INVALID"),
    ]
    for given, field, code in cases:
        payload = await add(api, target["id"], **given)
        assert payload["added"] is None and payload["campaign"] is None
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(field, code)], (given, payload)
    nobody = await api(MEMBERS, {"id": target["id"], "first": 5})
    assert nobody["campaign"]["members"]["totalCount"] == 0
    unknown = await api(ADD, {"i": {"campaignId": to_global_id("Campaign", parse_global_id(known["id"])[1]),
                                    "customerIds": [known["id"]]}}, as_=MARKETER)
    assert unknown["addCampaignMembers"]["userErrors"][0]["code"] == "NOT_FOUND"


async def test_responses_move_forward_only_and_an_opt_out_is_final(api: Api) -> None:
    tag = unique("resp").lower()
    a, b, c = await customers(api, tag, [{}, {}, {}])
    target = await campaign(api)
    assert (await add(api, target["id"], segment={"tags": [tag]}))["added"] == 3

    jumped = await respond(api, target["id"], a["id"], "RESPONDED", note="Asked for a quote")  # TARGETED -> RESPONDED
    assert jumped["userErrors"] == []
    assert funnel(jumped) == {"TARGETED": 2, "SENT": 0, "RESPONDED": 1, "CONVERTED": 0, "OPTED_OUT": 0}
    back = await respond(api, target["id"], a["id"], "SENT")
    assert [(e["field"], e["code"]) for e in back["userErrors"]] == [(["input", "status"], "FORBIDDEN_TRANSITION")]
    same = await respond(api, target["id"], a["id"], "RESPONDED")
    assert same["userErrors"] == [] and funnel(same)["RESPONDED"] == 1  # a retry changes nothing
    assert (await respond(api, target["id"], a["id"], "CONVERTED"))["userErrors"] == []
    assert (await respond(api, target["id"], b["id"], "SENT"))["userErrors"] == []
    out = await respond(api, target["id"], c["id"], "OPTED_OUT")
    assert funnel(out) == {"TARGETED": 0, "SENT": 1, "RESPONDED": 0, "CONVERTED": 1, "OPTED_OUT": 1}
    final = await respond(api, target["id"], c["id"], "CONVERTED")
    assert final["userErrors"][0]["code"] == "FORBIDDEN_TRANSITION"
    (stranger,) = await customers(api, unique("stranger").lower(), [{}])
    nobody = await respond(api, target["id"], stranger["id"], "SENT")
    assert [(e["field"], e["code"]) for e in nobody["userErrors"]] == [(["input", "customerId"], "NOT_FOUND")]

    page = (await api(MEMBERS, {"id": target["id"], "first": 10}))["campaign"]["members"]["edges"]
    by_customer = {e["node"]["customer"]["id"]: e["node"] for e in page}
    responded_at = by_customer[a["id"]]["respondedAt"]
    assert responded_at is not None and by_customer[b["id"]]["respondedAt"] is None
    # respondedAt is the first response's moment: CONVERTED later did not move it
    assert datetime.fromisoformat(responded_at) <= datetime.now(UTC)
    converted = (await api(MEMBERS, {"id": target["id"], "first": 10, "status": "CONVERTED"}))["campaign"]["members"]
    assert [e["node"]["customer"]["id"] for e in converted["edges"]] == [a["id"]] and converted["totalCount"] == 1
    member = by_customer[a["id"]]
    node = await api("query($id: ID!) { node(id: $id) { ... on CampaignMember { status customer { id } } } }",
                     {"id": member["id"]})
    assert node["node"] == {"status": "CONVERTED", "customer": {"id": a["id"]}}


async def test_an_opted_out_customer_is_left_out_of_later_segments_and_refused_by_id(api: Api) -> None:
    tag = unique("optout").lower()
    stays, leaves = await customers(api, tag, [{}, {}])
    first = await campaign(api)
    await add(api, first["id"], segment={"tags": [tag]})
    assert (await respond(api, first["id"], leaves["id"], "OPTED_OUT"))["userErrors"] == []

    later = await campaign(api)
    done = await add(api, later["id"], segment={"tags": [tag]})
    assert done["added"] == 1
    page = (await api(MEMBERS, {"id": later["id"], "first": 10}))["campaign"]["members"]["edges"]
    assert [e["node"]["customer"]["id"] for e in page] == [stays["id"]]
    refused = await add(api, later["id"], customerIds=[stays["id"], leaves["id"]])
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [(["input", "customerIds", "1"], "INVALID")]
    assert "opted out" in refused["userErrors"][0]["message"]
    preview = await add(api, later["id"], customerIds=[leaves["id"]], dryRun=True)
    assert preview["userErrors"][0]["code"] == "INVALID"  # a dry run says so too


async def test_members_page_forward_and_customers_show_their_campaigns_and_responses(api: Api) -> None:
    tag = unique("page").lower()
    made = await customers(api, tag, [{} for _ in range(5)])
    target = await campaign(api, name=unique("Autumn fair"))
    await add(api, target["id"], segment={"tags": [tag]})
    seen, after = [], None
    while True:
        page = (await api(MEMBERS, {"id": target["id"], "first": 2, "after": after}))["campaign"]["members"]
        seen += [e["node"]["customer"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert sorted(seen) == sorted(c["id"] for c in made) and len(seen) == 5

    await respond(api, target["id"], made[0]["id"], "RESPONDED", note="Will visit the booth")
    data = await api("""query($id: ID) { customer(id: $id) { campaigns { id name }
        activity(first: 20) { edges { node { kind summary actor { email } department { code }
          subject { __typename ... on Campaign { id } } } } } } }""", {"id": made[0]["id"]})
    assert data["customer"]["campaigns"] == [{"id": target["id"], "name": target["name"]}]
    entry = next(e["node"] for e in data["customer"]["activity"]["edges"] if e["node"]["kind"] == "CAMPAIGN")
    assert entry["summary"] == f"Campaign {target['name']} (EMAIL): TARGETED → RESPONDED: Will visit the booth"
    assert entry["actor"]["email"] == MARKETER and entry["department"]["code"] == "MARKETING"
    assert entry["subject"] == {"__typename": "Campaign", "id": target["id"]}


async def test_campaign_events_go_out_through_the_outbox(api: Api) -> None:
    tag = unique("events").lower()
    (one,) = await customers(api, tag, [{}])
    target = await campaign(api, budget={"amount": "500", "currency": "USD"})
    await add(api, target["id"], segment={"tags": [tag]})
    await respond(api, target["id"], one["id"], "CONVERTED", note="Signed")
    raw_id = parse_global_id(target["id"])[1]
    async with api.container.core.engine().connect() as conn:
        rows = (await conn.execute(select(t.outbox.c.type, t.outbox.c.payload).where(
            t.outbox.c.aggregate_id == raw_id).order_by(t.outbox.c.position))).all()
    assert [r.type for r in rows] == ["campaign.created", "campaign.members_added", "campaign.response_recorded"]
    created, added, response = (r.payload for r in rows)
    assert created["budget"] == "500.00" and created["currency"] == "USD" and created["status"] == "PLANNED"
    assert added["added"] == 1 and added["segment"]["tags"] == [tag]
    assert (response["from"], response["to"], response["note"]) == ("TARGETED", "CONVERTED", "Signed")
    assert response["customerId"] == str(parse_global_id(one["id"])[1]) and response["respondedAt"]


async def test_who_runs_a_campaign(api: Api) -> None:
    tag = unique("who").lower()
    (one,) = await customers(api, tag, [{}])
    # MARKETING of any role creates; others do not (an ADMIN does)
    for who in ("marketing.member@example.com", "marketing.key@example.com", "admin@example.com"):
        await campaign(api, as_=who)
    for who in ("sales.manager@example.com", "service.key@example.com"):
        errors = await api.errors(CREATE, {"i": {"name": "No", "channel": "EMAIL"}}, as_=who)
        assert errors[0]["extensions"]["code"] == "FORBIDDEN"
    owned = await campaign(api, as_="marketing.member@example.com")
    # the owner, MARKETING key users and managers, ADMINs run it; a marketing member who does not own it does not
    theirs = await campaign(api, as_="marketing.key@example.com")
    errors = await api.errors(ADD, {"i": {"campaignId": theirs["id"], "customerIds": [one["id"]]}},
                              as_="marketing.member@example.com")
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"
    for who in ("marketing.manager@example.com", "admin@example.com"):
        assert (await add(api, theirs["id"], as_=who, customerIds=[one["id"]], dryRun=True))["userErrors"] == []
    assert (await add(api, owned["id"], as_="marketing.member@example.com", customerIds=[one["id"]]))["added"] == 1
    errors = await api.errors(RESPOND, {"i": {"campaignId": owned["id"], "customerId": one["id"], "status": "SENT"}},
                              as_="sales.manager@example.com")
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"
    # everybody reads
    read = await api("query($id: ID!) { campaign(id: $id) { funnel { status count } } }", {"id": owned["id"]},
                     as_="warehouse.member@example.com")
    assert read["campaign"]["funnel"][0] == {"status": "TARGETED", "count": 1}


async def test_campaigns_list_newest_first_filtered_by_status(api: Api) -> None:
    made = [await campaign(api) for _ in range(3)]
    data = await api("""query($s: CampaignStatus) { campaigns(first: 100, status: $s) { totalCount
        edges { node { id status } } } }""", {"s": "PLANNED"})
    ids = [e["node"]["id"] for e in data["campaigns"]["edges"]]
    assert ids[:3] == [c["id"] for c in reversed(made)]
    assert {e["node"]["status"] for e in data["campaigns"]["edges"]} == {"PLANNED"}
    completed = await api("""{ campaigns(first: 100, status: COMPLETED) { edges { node { id } } } }""")
    assert not {c["id"] for c in made} & {e["node"]["id"] for e in completed["campaigns"]["edges"]}


async def test_a_campaign_is_started_and_completed_by_whoever_runs_it_and_then_takes_no_members(api: Api) -> None:
    made = await campaign(api)

    async def set_status(status: str, as_: str = MARKETER, **more: Any) -> dict[str, Any]:
        return (await api(SET_STATUS, {"i": {"campaignId": made["id"], "status": status, **more}},
                          as_=as_))["setCampaignStatus"]

    def errors(payload: dict[str, Any]) -> list[tuple[Any, str]]:
        return [(e["field"], e["code"]) for e in payload["userErrors"]]

    refused = (await api.post(SET_STATUS, {"i": {"campaignId": made["id"], "status": "ACTIVE"}},
                              as_="sales.member@example.com")).json()
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert errors(await set_status("COMPLETED")) == [(["input", "status"], "FORBIDDEN_TRANSITION")]
    assert errors(await set_status("ACTIVE", expectedVersion=made["version"] + 5))[0][1] == "CONFLICT"
    started = await set_status("ACTIVE", expectedVersion=made["version"])
    assert started["userErrors"] == [] and started["campaign"]["status"] == "ACTIVE"
    again = await set_status("ACTIVE")
    assert again["campaign"] == started["campaign"]  # the status it has: nothing changes, not even the version
    done = await set_status("COMPLETED")
    assert done["userErrors"] == [] and done["campaign"]["status"] == "COMPLETED"
    assert errors(await set_status("CANCELLED")) == [(["input", "status"], "FORBIDDEN_TRANSITION")]
    [customer] = await customers(api, unique("late").lower(), [{}])
    late = (await api(ADD, {"i": {"campaignId": made["id"], "customerIds": [customer["id"]]}},
                      as_=MARKETER))["addCampaignMembers"]
    assert [(e["field"], e["code"]) for e in late["userErrors"]] == [(["input", "campaignId"], "INVALID")]


async def test_the_demo_has_two_campaigns_with_members_at_every_status(api: Api) -> None:
    demo, after = {}, None
    while True:  # every campaign, whatever other tests made before
        page = (await api("""query($after: String) { campaigns(first: 100, after: $after) { edges { node {
            name status budget { amount currency } owner { email } funnel { status count } sourcedOpportunities
            pipelineAmounts { amount currency } wonAmounts { amount currency } } }
            pageInfo { hasNextPage endCursor } } }""", {"after": after}))["campaigns"]
        demo.update({e["node"]["name"]: e["node"] for e in page["edges"]
                     if e["node"]["name"] in ("Spring catalogue mailing", "Trade fair Hanover")})
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert set(demo) == {"Spring catalogue mailing", "Trade fair Hanover"}
    assert (demo["Spring catalogue mailing"]["status"], demo["Trade fair Hanover"]["status"]) == ("ACTIVE", "COMPLETED")
    assert demo["Trade fair Hanover"]["budget"] == {"amount": "12500.50", "currency": "USD"}
    for one in demo.values():
        assert one["owner"]["email"] == "marketing.manager@example.com"
        assert all(step["count"] > 0 for step in one["funnel"]), one["funnel"]
    spring, fair = demo["Spring catalogue mailing"], demo["Trade fair Hanover"]  # application/pipeline_demo.py
    assert (spring["sourcedOpportunities"], spring["pipelineAmounts"], spring["wonAmounts"]) == (
        2, [{"amount": "12000.00", "currency": "EUR"}], [{"amount": "8750.00", "currency": "EUR"}])
    assert (fair["sourcedOpportunities"], fair["pipelineAmounts"], fair["wonAmounts"]) == (
        2, [{"amount": "185000.00", "currency": "EUR"}, {"amount": "48500.00", "currency": "USD"}], [])


async def test_two_marketers_adding_the_same_segment_at_once_add_everybody_once(api: Api) -> None:
    import asyncio

    tag = unique("race").lower()
    made = await customers(api, tag, [{} for _ in range(6)])
    target = await campaign(api)
    results = await asyncio.gather(*(add(api, target["id"], as_=who, segment={"tags": [tag]})
                                     for who in (MARKETER, "marketing.manager@example.com")))
    assert all(r["userErrors"] == [] for r in results), results
    assert sum(r["added"] for r in results) == len(made)
    page = (await api(MEMBERS, {"id": target["id"], "first": 10}))["campaign"]["members"]
    assert page["totalCount"] == len(made)

"""Customers over GraphQL: create, update, life cycle, interactions, activity, idempotency, concurrency."""
from __future__ import annotations

import asyncio

import pytest

from tests.conftest import Api, unique
from tests.e2e.queries import (
    CHANGE_STAGE,
    CREATE_CUSTOMER,
    GET_CUSTOMER,
    LOG_INTERACTION,
    UPDATE_CUSTOMER,
)


async def staff_id(api: Api, email: str) -> str:
    return (await api("{ me { id } }", as_=email))["me"]["id"]


async def create(api: Api, as_: str = "sales.member@example.com", **fields: object) -> dict:
    data = await api(CREATE_CUSTOMER, {"input": {"name": unique("Customer"), "kind": "COMPANY", **fields}}, as_=as_)
    payload = data["createCustomer"]
    assert payload["userErrors"] == [], payload
    return payload["customer"]


async def test_the_creator_owns_a_customer_unless_an_owner_is_given(api: Api) -> None:
    """As for orders (it was null: nobody answered for the customer, nobody saw its complaints as owner)."""
    mine = await create(api, as_="sales.member@example.com")
    assert mine["owner"] == {"email": "sales.member@example.com"}
    given = await create(api, as_="sales.member@example.com", ownerId=await staff_id(api, "sales.key@example.com"))
    assert given["owner"] == {"email": "sales.key@example.com"}


async def test_create_customer_with_everything(api: Api) -> None:
    owner = await staff_id(api, "sales.key@example.com")
    code = unique("acme").upper()
    customer = await create(
        api, code=code.lower(), tier="GOLD", lifecycleStage="PROSPECT", ownerId=owner, tags=["VIP", "export", "vip"],
        attributes={"industry": "tools", "employees": 120},
        contacts=[{"name": "Ann", "email": "ANN@acme.example"}, {"name": "Bob", "phone": "+1 555", "primary": True}])
    assert customer["code"] == code
    assert customer["tier"] == "GOLD" and customer["lifecycleStage"] == "PROSPECT" and customer["version"] == 1
    assert customer["owner"] == {"email": "sales.key@example.com"}
    assert customer["tags"] == ["export", "vip"]
    assert customer["attributes"] == {"industry": "tools", "employees": 120}
    assert [(c["name"], c["email"], c["primary"]) for c in customer["contacts"]] == [
        ("Ann", "ann@acme.example", False), ("Bob", None, True)]
    assert customer["stageHistory"] == [{"from": None, "to": "PROSPECT", "at": customer["createdAt"], "reason": None,
                                         "by": {"email": "sales.member@example.com"}}]
    by_code = (await api(GET_CUSTOMER, {"code": code}))["customer"]
    by_id = (await api(GET_CUSTOMER, {"id": customer["id"]}))["customer"]
    assert by_code["id"] == by_id["id"] == customer["id"]


async def test_generated_codes_are_unique_and_shaped(api: Api) -> None:
    codes = [(await create(api))["code"] for _ in range(3)]
    assert len(set(codes)) == 3
    assert all(c.startswith("C-") and len(c) == 8 and c[2:].isdigit() for c in codes)


async def test_duplicate_code_is_refused_and_nothing_is_written(api: Api) -> None:
    code = unique("dup").upper()
    await create(api, code=code)
    data = await api(CREATE_CUSTOMER, {"input": {"name": "Second", "kind": "PERSON", "code": code}})
    assert data["createCustomer"] == {"customer": None, "userErrors": [
        {"field": ["input", "code"], "message": f"Customer code {code} is taken.", "code": "DUPLICATE"}]}


@pytest.mark.parametrize("input_, field, code", [
    ({"name": "  "}, ["input", "name"], "INVALID"),
    ({"name": "x" * 201}, ["input", "name"], "INVALID"),
    ({"code": "bad code!"}, ["input", "code"], "INVALID"),
    ({"contacts": [{"name": "A", "email": "not-an-email"}]}, ["input", "contacts", "0", "email"], "INVALID"),
    ({"contacts": [{"name": "A", "primary": True}, {"name": "B", "primary": True}]},
     ["input", "contacts", "1", "primary"], "INVALID"),
    ({"attributes": [1, 2]}, ["input", "attributes"], "INVALID"),
    ({"ownerId": "garbage"}, ["input", "ownerId"], "INVALID"),
    ({"tags": ["ok", " "]}, ["input", "tags", "1"], "INVALID"),
])
async def test_bad_input_is_a_user_error_with_a_field_path(api: Api, input_: dict, field: list, code: str) -> None:
    data = await api(CREATE_CUSTOMER, {"input": {"name": "Valid", "kind": "COMPANY", **input_}})
    payload = data["createCustomer"]
    assert payload["customer"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(field, code)]


async def test_owner_must_be_an_existing_staff_member(api: Api) -> None:
    customer_id = (await create(api))["id"]  # a Customer ID is not a Staff ID
    data = await api(CREATE_CUSTOMER, {"input": {"name": "X", "kind": "COMPANY", "ownerId": customer_id}})
    assert data["createCustomer"]["userErrors"][0]["field"] == ["input", "ownerId"]


async def test_update_customer_and_versions(api: Api) -> None:
    customer = await create(api, tags=["a"])
    data = await api(UPDATE_CUSTOMER, {"input": {"id": customer["id"], "expectedVersion": 1, "name": "Renamed",
                                                  "tier": "STRATEGIC", "tags": ["b"],
                                                  "contacts": [{"name": "Zoe", "email": "zoe@x.example"}]}})
    updated = data["updateCustomer"]["customer"]
    assert (updated["name"], updated["tier"], updated["tags"], updated["version"]) == ("Renamed", "STRATEGIC", ["b"], 2)
    assert updated["contacts"][0]["primary"] is True

    stale = await api(UPDATE_CUSTOMER, {"input": {"id": customer["id"], "expectedVersion": 1, "name": "Lost"}})
    assert stale["updateCustomer"]["customer"] is None
    assert stale["updateCustomer"]["userErrors"][0]["code"] == "CONFLICT"
    after = (await api(GET_CUSTOMER, {"id": customer["id"]}))["customer"]
    assert after["name"] == "Renamed" and after["version"] == 2

    same = await api(UPDATE_CUSTOMER, {"input": {"id": customer["id"], "name": "Renamed"}})
    assert same["updateCustomer"]["customer"]["version"] == 2  # nothing changed, nothing written


async def test_owner_can_be_set_and_cleared(api: Api) -> None:
    customer = await create(api)
    owner = await staff_id(api, "sales.manager@example.com")
    data = await api(UPDATE_CUSTOMER, {"input": {"id": customer["id"], "ownerId": owner}})
    assert data["updateCustomer"]["customer"]["owner"] == {"email": "sales.manager@example.com"}
    data = await api(UPDATE_CUSTOMER, {"input": {"id": customer["id"], "ownerId": None}})
    assert data["updateCustomer"]["customer"]["owner"] is None


async def test_update_unknown_customer_is_not_found(api: Api) -> None:
    customer = await create(api)
    missing = customer["id"][:-4] + ("AAAA" if not customer["id"].endswith("AAAA") else "BBBB")
    data = await api(UPDATE_CUSTOMER, {"input": {"id": missing, "name": "x"}})
    assert data["updateCustomer"]["userErrors"][0]["code"] in ("NOT_FOUND", "INVALID")


async def test_life_cycle_with_history_and_forbidden_moves(api: Api) -> None:
    customer = await create(api)
    for to in ("PROSPECT", "ACTIVE", "AT_RISK", "CHURNED"):
        data = await api(CHANGE_STAGE, {"input": {"customerId": customer["id"], "to": to, "reason": f"to {to}"}},
                         as_="marketing.member@example.com")
        assert data["changeLifecycleStage"]["userErrors"] == []
    forbidden = await api(CHANGE_STAGE, {"input": {"customerId": customer["id"], "to": "LOYAL"}})
    assert forbidden["changeLifecycleStage"]["userErrors"][0]["code"] == "FORBIDDEN_TRANSITION"
    no_reason = await api(CHANGE_STAGE, {"input": {"customerId": customer["id"], "to": "ACTIVE"}})
    assert no_reason["changeLifecycleStage"]["userErrors"] == [
        {"field": ["input", "reason"], "message": "Winning back a churned customer needs a reason.", "code": "INVALID"}]
    won = await api(CHANGE_STAGE, {"input": {"customerId": customer["id"], "to": "ACTIVE", "reason": "New budget"}})
    history = won["changeLifecycleStage"]["customer"]["stageHistory"]
    assert [(h["from"], h["to"]) for h in history] == [
        (None, "LEAD"), ("LEAD", "PROSPECT"), ("PROSPECT", "ACTIVE"), ("ACTIVE", "AT_RISK"), ("AT_RISK", "CHURNED"),
        ("CHURNED", "ACTIVE")]
    assert history[-1]["reason"] == "New budget" and history[-1]["by"] == {"email": "admin@example.com"}
    assert history[1]["by"] == {"email": "marketing.member@example.com"}
    assert won["changeLifecycleStage"]["customer"]["version"] == 6


async def test_interactions_record_the_authors_department_and_show_in_activity(api: Api) -> None:
    customer = await create(api)
    data = await api(LOG_INTERACTION, {"input": {"customerId": customer["id"], "kind": "FEEDBACK", "rating": 4,
                                                  "summary": "Liked the delivery"}}, as_="service.member@example.com")
    interaction = data["logInteraction"]["interaction"]
    assert interaction["department"] == {"code": "SERVICE"} and interaction["author"]["email"] == "service.member@example.com"
    assert interaction["customer"]["code"] == customer["code"] and interaction["rating"] == 4
    await api(LOG_INTERACTION, {"input": {"customerId": customer["id"], "kind": "CALL", "summary": "Follow-up call",
                                          "occurredAt": "2026-01-05T10:00:00+01:00"}}, as_="sales.member@example.com")
    await api(CHANGE_STAGE, {"input": {"customerId": customer["id"], "to": "PROSPECT"}}, as_="marketing.key@example.com")

    seen = (await api(GET_CUSTOMER, {"id": customer["id"]}))["customer"]
    assert seen["interactions"]["totalCount"] == 2
    assert [e["node"]["summary"] for e in seen["interactions"]["edges"]] == ["Liked the delivery", "Follow-up call"]
    activity = [e["node"] for e in seen["activity"]["edges"]]
    assert seen["activity"]["totalCount"] == 4
    kinds = [(a["kind"], a["department"]["code"] if a["department"] else None) for a in activity]
    assert ("INTERACTION", "SERVICE") in kinds and ("STAGE_CHANGE", "MARKETING") in kinds
    interaction_entry = next(a for a in activity if a["kind"] == "INTERACTION" and a["department"]["code"] == "SERVICE")
    assert interaction_entry["subject"] == {"__typename": "Interaction", "id": interaction["id"]}
    assert "rated 4/5" in interaction_entry["summary"]


@pytest.mark.parametrize("input_, field", [
    ({"kind": "FEEDBACK"}, ["input", "rating"]),
    ({"kind": "FEEDBACK", "rating": 6}, ["input", "rating"]),
    ({"kind": "CALL", "rating": 3}, ["input", "rating"]),
    ({"kind": "NOTE", "occurredAt": "2999-01-01T00:00:00+00:00"}, ["input", "occurredAt"]),
    ({"kind": "NOTE", "summary": ""}, ["input", "summary"]),
])
async def test_interaction_rules(api: Api, input_: dict, field: list) -> None:
    customer = await create(api)
    data = await api(LOG_INTERACTION, {"input": {"customerId": customer["id"], "summary": "s", **input_}})
    assert data["logInteraction"]["interaction"] is None
    assert data["logInteraction"]["userErrors"][0]["field"] == field


async def test_idempotent_create_returns_the_first_result(api: Api) -> None:
    key = unique("key")
    input_ = {"name": unique("Idem"), "kind": "COMPANY", "idempotencyKey": key}
    first = (await api(CREATE_CUSTOMER, {"input": input_}))["createCustomer"]["customer"]
    again = (await api(CREATE_CUSTOMER, {"input": input_}))["createCustomer"]["customer"]
    assert again["id"] == first["id"] and again["code"] == first["code"]
    total = await api("query($s: String) { customers(filter: {search: $s}) { totalCount } }", {"s": input_["name"]})
    assert total["customers"]["totalCount"] == 1
    other = await api(CREATE_CUSTOMER, {"input": {**input_, "name": "Something else"}})
    assert other["createCustomer"]["userErrors"] == [{
        "field": ["input", "idempotencyKey"], "code": "INVALID",
        "message": "This idempotencyKey was already used with different input."}]


async def test_idempotent_interaction(api: Api) -> None:
    customer = await create(api)
    input_ = {"customerId": customer["id"], "kind": "NOTE", "summary": "once", "idempotencyKey": unique("k")}
    first = (await api(LOG_INTERACTION, {"input": input_}))["logInteraction"]["interaction"]
    second = (await api(LOG_INTERACTION, {"input": input_}))["logInteraction"]["interaction"]
    assert first["id"] == second["id"]
    seen = (await api(GET_CUSTOMER, {"id": customer["id"]}))["customer"]
    assert seen["interactions"]["totalCount"] == 1


async def test_concurrent_writes_with_the_same_version_one_wins(api: Api) -> None:
    customer = await create(api)

    async def rename(name: str) -> dict:
        data = await api(UPDATE_CUSTOMER, {"input": {"id": customer["id"], "expectedVersion": 1, "name": name}})
        return data["updateCustomer"]

    results = await asyncio.gather(*(rename(f"Writer {i}") for i in range(4)))
    winners = [r for r in results if r["customer"]]
    losers = [r for r in results if not r["customer"]]
    assert len(winners) == 1
    assert all(r["userErrors"][0]["code"] == "CONFLICT" for r in losers)
    after = (await api(GET_CUSTOMER, {"id": customer["id"]}))["customer"]
    assert after["version"] == 2 and after["name"] == winners[0]["customer"]["name"]


async def test_ownership_is_not_free_for_anyone_to_take(api: Api) -> None:
    """The owner sees the customer's complaints, so only the owner, sales key users and managers, or an
    admin may reassign a customer."""
    customer = await create(api, ownerId=await staff_id(api, "sales.member@example.com"))
    grabber = await staff_id(api, "warehouse.member@example.com")
    errors = await api.errors(UPDATE_CUSTOMER, {"input": {"id": customer["id"], "ownerId": grabber}},
                              as_="warehouse.member@example.com")
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"
    other_sales = await api.errors(UPDATE_CUSTOMER, {"input": {"id": customer["id"], "ownerId": grabber}},
                                   as_="marketing.manager@example.com")
    assert other_sales[0]["extensions"]["code"] == "FORBIDDEN"
    still = (await api(GET_CUSTOMER, {"id": customer["id"]}))["customer"]
    assert still["owner"] == {"email": "sales.member@example.com"} and still["version"] == 1

    for who, to in [("sales.member@example.com", "sales.key@example.com"),   # the owner hands over
                    ("sales.key@example.com", "sales.manager@example.com"),  # a sales key user reassigns
                    ("admin@example.com", "sales.member@example.com")]:
        data = await api(UPDATE_CUSTOMER, {"input": {"id": customer["id"], "ownerId": await staff_id(api, to)}},
                         as_=who)
        assert data["updateCustomer"]["customer"]["owner"] == {"email": to}
    # other fields stay open to everyone
    renamed = await api(UPDATE_CUSTOMER, {"input": {"id": customer["id"], "name": "Renamed by warehouse"}},
                        as_="warehouse.member@example.com")
    assert renamed["updateCustomer"]["userErrors"] == []

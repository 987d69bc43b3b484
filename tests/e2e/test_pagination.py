"""Keyset pagination in both directions, for every sort, with totalCount and a size cap."""
from __future__ import annotations

import pytest

from tests.conftest import Api, unique
from tests.e2e.queries import CREATE_CUSTOMER

PAGE = """query($f: CustomerFilter, $o: CustomerOrder, $first: Int, $after: String, $last: Int, $before: String) {
  customers(filter: $f, orderBy: $o, first: $first, after: $after, last: $last, before: $before) {
    totalCount edges { cursor node { name } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""


@pytest.fixture(scope="module")
async def tagged(api: Api) -> tuple[str, list[str]]:
    tag = unique("page")
    names = [f"{n} {tag}" for n in ["delta", "Alpha", "charlie", "bravo", "echo", "foxtrot", "golf"]]
    for name in names:
        data = await api(CREATE_CUSTOMER, {"input": {"name": name, "kind": "PERSON", "tags": [tag]}})
        assert data["createCustomer"]["userErrors"] == []
    return tag, names


async def walk(api: Api, variables: dict, forward: bool, size: int) -> list[str]:
    seen: list[str] = []
    cursor = None
    for _ in range(20):
        page_vars = {**variables, **({"first": size, "after": cursor} if forward else {"last": size, "before": cursor})}
        page = (await api(PAGE, page_vars))["customers"]
        names = [e["node"]["name"] for e in page["edges"]]
        assert page["totalCount"] == 7
        seen = seen + names if forward else names + seen
        more = page["pageInfo"]["hasNextPage"] if forward else page["pageInfo"]["hasPreviousPage"]
        if not more:
            return seen
        cursor = page["pageInfo"]["endCursor"] if forward else page["pageInfo"]["startCursor"]
    raise AssertionError("pagination did not end")


@pytest.mark.parametrize("field", ["NAME", "CREATED_AT", "UPDATED_AT"])
@pytest.mark.parametrize("direction", ["ASC", "DESC"])
async def test_forward_and_backward_agree_for_every_sort(api: Api, tagged, field: str, direction: str) -> None:
    tag, names = tagged
    variables = {"f": {"tag": tag}, "o": {"field": field, "direction": direction}}
    forward = await walk(api, variables, True, 3)
    backward = await walk(api, variables, False, 2)
    assert forward == backward and sorted(forward) == sorted(names)
    if field == "NAME":
        assert forward == sorted(names, reverse=direction == "DESC")
    if field == "CREATED_AT":
        assert forward == (names if direction == "ASC" else names[::-1])


async def test_page_info_flags(api: Api, tagged) -> None:
    tag, _ = tagged
    first = (await api(PAGE, {"f": {"tag": tag}, "first": 7}))["customers"]
    assert first["pageInfo"]["hasNextPage"] is False and first["pageInfo"]["hasPreviousPage"] is False
    head = (await api(PAGE, {"f": {"tag": tag}, "first": 2}))["customers"]
    assert head["pageInfo"]["hasNextPage"] is True
    assert head["pageInfo"]["startCursor"] == head["edges"][0]["cursor"]
    nxt = (await api(PAGE, {"f": {"tag": tag}, "first": 2, "after": head["pageInfo"]["endCursor"]}))["customers"]
    assert nxt["pageInfo"]["hasPreviousPage"] is True


async def test_filters_combine(api: Api, tagged) -> None:
    tag, _ = tagged
    data = await api(PAGE, {"f": {"tag": tag, "search": "ALPHA", "stages": ["LEAD"], "tiers": ["STANDARD"]}})
    assert [e["node"]["name"] for e in data["customers"]["edges"]] == [f"Alpha {tag}"]
    none = await api(PAGE, {"f": {"tag": tag, "stages": ["LOYAL"]}})
    assert none["customers"]["totalCount"] == 0 and none["customers"]["edges"] == []


async def test_search_matches_contact_email_and_escapes_wildcards(api: Api) -> None:
    marker = unique("mail")
    await api(CREATE_CUSTOMER, {"input": {"name": "Plain", "kind": "COMPANY",
                                          "contacts": [{"name": "C", "email": f"{marker}@find.example"}]}})
    found = await api(PAGE, {"f": {"search": marker.upper()}})
    assert found["customers"]["totalCount"] == 1
    wildcard = await api(PAGE, {"f": {"search": "%"}})
    assert all("%" in e["node"]["name"] for e in wildcard["customers"]["edges"])


@pytest.mark.parametrize("args, code", [
    ({"first": 101}, "LIMIT_EXCEEDED"),
    ({"last": 500}, "LIMIT_EXCEEDED"),
    ({"first": -1}, "INVALID"),
    ({"first": 1, "last": 1}, "INVALID"),
    ({"after": "not-a-cursor"}, "INVALID"),
    ({"before": "WyJ4Il0"}, "INVALID"),
])
async def test_bad_page_arguments_are_refused_clearly(api: Api, args: dict, code: str) -> None:
    errors = await api.errors(PAGE, args)
    assert errors[0]["extensions"]["code"] == code
    assert errors[0]["path"] == ["customers"]

"""Staff administration: admins manage everyone; a manager names their own department's key users."""
from __future__ import annotations

from tests.conftest import Api, unique
from tests.e2e.queries import CREATE_STAFF, UPDATE_STAFF


async def department_ids(api: Api) -> dict[str, str]:
    return {d["code"]: d["id"] for d in (await api("{ departments { id code name } }"))["departments"]}


async def hire(api: Api, code: str = "SALES", role: str = "MEMBER") -> dict:
    departments = await department_ids(api)
    email = f"{unique('person')}@example.com"
    data = await api(CREATE_STAFF, {"input": {"name": "New Person", "email": email.upper(),
                                              "departmentId": departments[code], "role": role}})
    assert data["createStaff"]["userErrors"] == []
    return data["createStaff"]["staff"]


async def test_departments_are_the_five_standard_ones(api: Api) -> None:
    assert sorted(await department_ids(api)) == ["FINANCE", "MARKETING", "SALES", "SERVICE", "WAREHOUSE"]


async def test_admin_hires_moves_promotes_and_deactivates(api: Api) -> None:
    departments = await department_ids(api)
    staff = await hire(api)
    assert staff["email"] == staff["email"].lower() and staff["department"] == {"code": "SALES"}
    data = await api(UPDATE_STAFF, {"input": {"id": staff["id"], "expectedVersion": 1,
                                              "departmentId": departments["FINANCE"], "role": "MANAGER"}})
    moved = data["updateStaff"]["staff"]
    assert (moved["department"], moved["role"], moved["version"]) == ({"code": "FINANCE"}, "MANAGER", 2)
    data = await api(UPDATE_STAFF, {"input": {"id": staff["id"], "active": False}})
    assert data["updateStaff"]["staff"]["active"] is False


async def test_a_manager_names_key_users_of_their_own_department_only(api: Api) -> None:
    own = await hire(api, "SERVICE")
    other = await hire(api, "FINANCE")
    data = await api(UPDATE_STAFF, {"input": {"id": own["id"], "role": "KEY_USER"}}, as_="service.manager@example.com")
    assert data["updateStaff"]["staff"]["role"] == "KEY_USER"
    key_users = (await api("{ departments { code keyUsers { email } } }"))["departments"]
    service = next(d for d in key_users if d["code"] == "SERVICE")
    assert own["email"] in [k["email"] for k in service["keyUsers"]]

    for attempt in (
        {"id": other["id"], "role": "KEY_USER"},          # another department
        {"id": own["id"], "role": "MANAGER"},             # more than key user
        {"id": own["id"], "active": False},               # deactivation is for admins
        {"id": own["id"], "name": "Renamed"},             # so is everything else
    ):
        errors = await api.errors(UPDATE_STAFF, {"input": attempt}, as_="service.manager@example.com")
        assert errors[0]["extensions"]["code"] == "FORBIDDEN"
    unchanged = (await api("query($id: ID!) { node(id: $id) { ... on Staff { role name active } } }",
                           {"id": own["id"]}))["node"]
    assert unchanged == {"role": "KEY_USER", "name": "New Person", "active": True}


async def test_members_and_key_users_cannot_manage_staff(api: Api) -> None:
    departments = await department_ids(api)
    for who in ("sales.member@example.com", "sales.key@example.com", "sales.manager@example.com"):
        errors = await api.errors(CREATE_STAFF, {"input": {"name": "X", "email": f"{unique('x')}@example.com",
                                                           "departmentId": departments["SALES"], "role": "MEMBER"}},
                                  as_=who)
        assert errors[0]["extensions"]["code"] == "FORBIDDEN"


async def test_staff_user_errors(api: Api) -> None:
    departments = await department_ids(api)
    taken = await api(CREATE_STAFF, {"input": {"name": "Dup", "email": "Sales.Member@example.com",
                                               "departmentId": departments["SALES"], "role": "MEMBER"}})
    assert taken["createStaff"]["userErrors"] == [
        {"field": ["input", "email"], "message": "Someone already has this e-mail address.", "code": "DUPLICATE"}]
    bad_email = await api(CREATE_STAFF, {"input": {"name": "X", "email": "nope", "departmentId": departments["SALES"],
                                                   "role": "MEMBER"}})
    assert bad_email["createStaff"]["userErrors"][0]["field"] == ["input", "email"]
    me = (await api("{ me { id } }"))["me"]["id"]
    wrong_type = await api(CREATE_STAFF, {"input": {"name": "X", "email": f"{unique('y')}@example.com",
                                                    "departmentId": me, "role": "MEMBER"}})
    assert wrong_type["createStaff"]["userErrors"][0] == {
        "field": ["input", "departmentId"], "code": "INVALID",
        "message": "departmentId must be the ID of a Department, not of a Staff."}
    self_lockout = await api(UPDATE_STAFF, {"input": {"id": me, "active": False}})
    assert self_lockout["updateStaff"]["userErrors"][0]["field"] == ["input", "active"]
    staff = await hire(api)
    stale = await api(UPDATE_STAFF, {"input": {"id": staff["id"], "expectedVersion": 7, "name": "Late"}})
    assert stale["updateStaff"]["userErrors"][0]["code"] == "CONFLICT"


async def test_idempotent_hire(api: Api) -> None:
    departments = await department_ids(api)
    input_ = {"name": "Once", "email": f"{unique('once')}@example.com", "departmentId": departments["WAREHOUSE"],
              "role": "MEMBER", "idempotencyKey": unique("k")}
    first = (await api(CREATE_STAFF, {"input": input_}))["createStaff"]
    second = (await api(CREATE_STAFF, {"input": input_}))["createStaff"]
    assert first["userErrors"] == second["userErrors"] == []
    assert first["staff"]["id"] == second["staff"]["id"]


async def test_staff_list_by_department_is_paginated(api: Api) -> None:
    departments = await department_ids(api)
    data = await api("query($d: ID) { staff(first: 2, departmentId: $d) { totalCount edges { node { email } }"
                     " pageInfo { hasNextPage endCursor } } }", {"d": departments["MARKETING"]})
    page = data["staff"]
    assert page["totalCount"] >= 3 and len(page["edges"]) == 2 and page["pageInfo"]["hasNextPage"]
    rest = await api("query($d: ID, $a: String) { staff(first: 50, after: $a, departmentId: $d) { edges { node { email } } } }",
                     {"d": departments["MARKETING"], "a": page["pageInfo"]["endCursor"]})
    emails = [e["node"]["email"] for e in page["edges"] + rest["staff"]["edges"]]
    assert len(emails) == page["totalCount"] == len(set(emails))
    assert all(e.startswith("marketing.") or "person" in e for e in emails)
    dept = (await api("query($d: ID!) { node(id: $d) { ... on Department { code staff(first: 1) { totalCount } } } }",
                      {"d": departments["MARKETING"]}))["node"]
    assert dept["staff"]["totalCount"] == page["totalCount"]

"""Staff use cases (application/organisation.py) driven through in-memory fakes at the ports."""
from __future__ import annotations

import uuid

import pytest

from application.organisation import CreateStaff, UpdateStaff, create_staff, find_active_staff_by_email, update_staff
from domain.organisation import Role
from domain.shared import Conflict, Duplicate, InvalidInput, NotAuthorized, NotFound
from tests.application.conftest import Org
from tests.application.fakes import FakeClock, InMemoryStore

# --------------------------------------------------------------------------- create


async def test_an_admin_adds_staff(store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    staff = await create_staff(store.uow(), clock, org.admin, CreateStaff(
        "  Ana Silva ", " Ana.Silva@Example.com ", org.service.id, Role.KEY_USER))
    stored = store.staff[staff.id]
    assert (stored.name, stored.email, stored.department_id, stored.role, stored.active, stored.version) == (
        "Ana Silva", "ana.silva@example.com", org.service.id, Role.KEY_USER, True, 1)
    [event] = store.committed_events
    assert event.type == "staff.created" and event.aggregate_id == staff.id
    assert event.actor_id == org.admin.id and event.occurred_at == clock.now()


@pytest.mark.parametrize("who", ["sales_manager", "sales_key_user", "sales_member"])
async def test_only_admins_add_staff(store: InMemoryStore, clock: FakeClock, org: Org, who: str) -> None:
    before = store.dump()
    with pytest.raises(NotAuthorized):
        await create_staff(store.uow(), clock, getattr(org, who), CreateStaff(
            "Ana", "ana@example.com", org.sales.id, Role.MEMBER))
    assert store.dump() == before


async def test_a_non_admin_learns_nothing_about_departments(store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    with pytest.raises(NotAuthorized):
        await create_staff(store.uow(), clock, org.sales_manager, CreateStaff(
            "Ana", "ana@example.com", uuid.uuid4(), Role.MEMBER))


async def test_an_unknown_department_is_not_found(store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    before = store.dump()
    with pytest.raises(NotFound) as err:
        await create_staff(store.uow(), clock, org.admin, CreateStaff("Ana", "ana@example.com", uuid.uuid4(),
                                                                      Role.MEMBER))
    assert err.value.field == ("departmentId",)
    assert store.dump() == before


@pytest.mark.parametrize("email", ["admin@example.com", "ADMIN@example.com", "  Admin@Example.COM "])
async def test_a_taken_email_is_a_duplicate(store: InMemoryStore, clock: FakeClock, org: Org, email: str) -> None:
    before = store.dump()
    with pytest.raises(Duplicate) as err:
        await create_staff(store.uow(), clock, org.admin, CreateStaff("Other", email, org.sales.id, Role.MEMBER))
    assert err.value.field == ("email",)
    assert store.dump() == before


async def test_an_email_taken_by_an_inactive_person_is_still_taken(
        store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    with pytest.raises(Duplicate):
        await create_staff(store.uow(), clock, org.admin, CreateStaff("Other", org.retired.email, org.sales.id,
                                                                      Role.MEMBER))


async def test_a_bad_email_is_invalid(store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    with pytest.raises(InvalidInput) as err:
        await create_staff(store.uow(), clock, org.admin, CreateStaff("Ana", "ana-at-example", org.sales.id,
                                                                      Role.MEMBER))
    assert err.value.field == ("email",)


# --------------------------------------------------------------------------- update


async def test_an_admin_changes_anything_about_someone_else(store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    target = org.sales_member
    updated = await update_staff(store.uow(), clock, org.admin, UpdateStaff(
        target.id, expected_version=1, name="Renamed", department_id=org.service.id, role=Role.MANAGER, active=False))
    stored = store.staff[target.id]
    assert (stored.name, stored.department_id, stored.role, stored.active, stored.version) == (
        "Renamed", org.service.id, Role.MANAGER, False, 2)
    assert updated.version == 2
    [event] = store.committed_events
    assert event.type == "staff.updated" and event.actor_id == org.admin.id
    assert event.payload["role"] == "MANAGER" and event.payload["active"] is False


@pytest.mark.parametrize(("target", "new"), [("sales_member", Role.KEY_USER), ("sales_key_user", Role.MEMBER)])
async def test_a_manager_switches_member_and_key_user_in_their_department(
        store: InMemoryStore, clock: FakeClock, org: Org, target: str, new: Role) -> None:
    person = getattr(org, target)
    await update_staff(store.uow(), clock, org.sales_manager, UpdateStaff(person.id, role=new))
    assert store.staff[person.id].role is new
    assert store.committed_events[-1].actor_id == org.sales_manager.id


@pytest.mark.parametrize(("actor", "target", "change"), [
    ("service_manager", "sales_member", {"role": Role.KEY_USER}),  # another department
    ("sales_manager", "sales_member", {"role": Role.MANAGER}),  # beyond key user
    ("sales_manager", "sales_member", {"role": Role.ADMIN}),
    ("sales_manager", "sales_member", {"name": "Renamed"}),  # not a role switch
    ("sales_manager", "sales_member", {"active": False}),
    ("sales_manager", "sales_member", {"department_id": "service"}),
    ("sales_manager", "sales_key_user", {"role": Role.MEMBER, "name": "Renamed"}),
    ("sales_key_user", "sales_member", {"role": Role.KEY_USER}),  # not a manager
    ("sales_member", "sales_key_user", {"role": Role.MEMBER}),
    ("sales_member", "sales_member", {"name": "Me"}),
    ("sales_manager", "admin", {"active": False}),
])
async def test_refused_staff_changes_write_nothing(
        store: InMemoryStore, clock: FakeClock, org: Org, actor: str, target: str, change: dict[str, object]) -> None:
    if change.get("department_id") == "service":
        change = {**change, "department_id": org.service.id}
    before = store.dump()
    with pytest.raises(NotAuthorized):
        await update_staff(store.uow(), clock, getattr(org, actor), UpdateStaff(getattr(org, target).id, **change))
    assert store.dump() == before


@pytest.mark.parametrize(("who", "change", "field"), [
    ("admin", {"active": False}, ("active",)),
    ("admin", {"role": Role.MEMBER}, ("role",)),
])
async def test_nobody_locks_themselves_out(
        store: InMemoryStore, clock: FakeClock, org: Org, who: str, change: dict[str, object],
        field: tuple[str, ...]) -> None:
    me = getattr(org, who)
    before = store.dump()
    with pytest.raises(InvalidInput) as err:
        await update_staff(store.uow(), clock, me, UpdateStaff(me.id, **change))
    assert err.value.field == field
    assert store.dump() == before


@pytest.mark.parametrize("who", ["sales_manager", "sales_key_user", "sales_member"])
@pytest.mark.parametrize("change", [{"active": False}, {"role": Role.ADMIN}, {"role": Role.MEMBER}])
async def test_non_admins_do_not_change_their_own_role_or_activity(
        store: InMemoryStore, clock: FakeClock, org: Org, who: str, change: dict[str, object]) -> None:
    me = getattr(org, who)
    if change.get("role") is me.role:
        change = {"role": Role.KEY_USER}
    before = store.dump()
    with pytest.raises((InvalidInput, NotAuthorized)):
        await update_staff(store.uow(), clock, me, UpdateStaff(me.id, **change))
    assert store.dump() == before


async def test_an_admin_may_rename_themselves(store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    await update_staff(store.uow(), clock, org.admin, UpdateStaff(org.admin.id, name="The Boss"))
    assert store.staff[org.admin.id].name == "The Boss"


async def test_moving_to_an_unknown_department_is_not_found(store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    before = store.dump()
    with pytest.raises(NotFound) as err:
        await update_staff(store.uow(), clock, org.admin, UpdateStaff(org.sales_member.id, department_id=uuid.uuid4()))
    assert err.value.field == ("departmentId",)
    assert store.dump() == before


async def test_updating_an_unknown_person_is_not_found(store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    with pytest.raises(NotFound) as err:
        await update_staff(store.uow(), clock, org.admin, UpdateStaff(uuid.uuid4(), name="X"))
    assert err.value.field == ("id",)


async def test_a_stale_expected_version_is_a_conflict(store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    await update_staff(store.uow(), clock, org.admin, UpdateStaff(org.sales_member.id, expected_version=1, name="v2"))
    before = store.dump()
    with pytest.raises(Conflict) as err:
        await update_staff(store.uow(), clock, org.admin, UpdateStaff(org.sales_member.id, expected_version=1,
                                                                      name="lost update"))
    assert err.value.field == ("expectedVersion",)
    assert store.dump() == before


async def test_an_update_that_changes_nothing_writes_nothing(store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    target = org.sales_member
    before = store.dump()
    result = await update_staff(store.uow(), clock, org.admin, UpdateStaff(
        target.id, expected_version=1, name=target.name, department_id=target.department_id, role=target.role,
        active=True))
    assert result.version == 1
    assert store.dump() == before


@pytest.mark.parametrize("probe", ["stale_version", "unknown_department"])
async def test_an_actor_who_may_change_nobody_is_refused_before_anything_else(
        store: InMemoryStore, clock: FakeClock, org: Org, probe: str) -> None:
    change: dict[str, object] = (
        {"expected_version": 7, "name": "X"} if probe == "stale_version" else {"department_id": uuid.uuid4()})
    with pytest.raises(NotAuthorized):
        await update_staff(store.uow(), clock, org.sales_member, UpdateStaff(org.sales_key_user.id, **change))


# --------------------------------------------------------------------------- sign-in lookup


async def test_find_active_staff_by_email(store: InMemoryStore, org: Org) -> None:
    found = await find_active_staff_by_email(store.uow(), "  ADMIN@example.com ")
    assert found is not None and found.id == org.admin.id
    assert await find_active_staff_by_email(store.uow(), org.retired.email) is None
    assert await find_active_staff_by_email(store.uow(), "nobody@example.com") is None

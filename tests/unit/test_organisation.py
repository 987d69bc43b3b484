"""Staff and who may change whom; e-mail normalisation. No I/O."""
from __future__ import annotations

import itertools
import uuid
from dataclasses import asdict
from datetime import UTC, datetime

import pytest

from domain.organisation import Role, Staff, normalise_email
from domain.shared import Conflict, InvalidInput, NotAuthorized

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
SALES, SERVICE = uuid.uuid4(), uuid.uuid4()
ROLE_PAIRS = [(a, b) for a, b in itertools.product(list(Role), list(Role)) if a is not b]
SWITCHABLE = {Role.MEMBER, Role.KEY_USER}


def person(role: Role, department: uuid.UUID = SALES, *, active: bool = True, name: str = "Someone") -> Staff:
    return Staff(id=uuid.uuid4(), name=name, email=f"{uuid.uuid4().hex[:8]}@example.com", department_id=department,
                 role=role, active=active, version=1)


def state(s: Staff) -> dict[str, object]:
    data = asdict(s)
    data.pop("pending_events")
    return data


# --------------------------------------------------------------------------- e-mail


@pytest.mark.parametrize(("raw", "expected"), [
    ("ana@example.com", "ana@example.com"),
    ("  Ana.Silva@Example.COM  ", "ana.silva@example.com"),
    ("first+tag@sub.example.co.uk", "first+tag@sub.example.co.uk"),
])
def test_email_is_trimmed_and_lower_cased(raw: str, expected: str) -> None:
    assert normalise_email(raw) == expected


@pytest.mark.parametrize("raw", ["ana", "ana@", "@example.com", "ana@example", "ana@@example.com",
                                 "a na@example.com", "ana@exa mple.com", "ana@example.", ""])
def test_bad_email_is_refused(raw: str) -> None:
    with pytest.raises(InvalidInput) as err:
        normalise_email(raw)
    assert err.value.field == ("email",)


def test_email_errors_name_the_given_field() -> None:
    with pytest.raises(InvalidInput) as err:
        normalise_email("nope", "ownerEmail")
    assert err.value.field == ("ownerEmail",)


def test_email_is_at_most_254_characters() -> None:
    local = "a" * 64
    domain_254 = "b" * (254 - len(local) - 1 - 4) + ".com"
    assert len(normalise_email(f"{local}@{domain_254}")) == 254
    with pytest.raises(InvalidInput):
        normalise_email(f"{local}@b{domain_254}")


# --------------------------------------------------------------------------- roles


def test_roles_are_ranked_member_key_user_manager_admin() -> None:
    order = [Role.MEMBER, Role.KEY_USER, Role.MANAGER, Role.ADMIN]
    for i, a in enumerate(order):
        for j, b in enumerate(order):
            assert a.at_least(b) is (i >= j)


# --------------------------------------------------------------------------- hiring


@pytest.mark.parametrize("role", list(Role))
def test_an_admin_hires_anyone(role: Role) -> None:
    admin = person(Role.ADMIN)
    s = Staff.hire(by=admin, name="  Ana Silva ", email=" Ana@Example.com ", department_id=SERVICE, role=role, at=T0)
    assert (s.name, s.email, s.department_id, s.role, s.active) == ("Ana Silva", "ana@example.com", SERVICE, role, True)
    [event] = s.collect_events()
    assert event.type == "staff.created" and event.aggregate_type == "staff"
    assert event.aggregate_id == s.id and event.actor_id == admin.id and event.occurred_at == T0
    assert event.payload == {"name": "Ana Silva", "email": "ana@example.com", "departmentId": str(SERVICE),
                             "role": role.value, "active": True}


@pytest.mark.parametrize("role", [Role.MEMBER, Role.KEY_USER, Role.MANAGER])
def test_only_admins_hire(role: Role) -> None:
    with pytest.raises(NotAuthorized):
        Staff.hire(by=person(role), name="Ana", email="ana@example.com", department_id=SALES, role=Role.MEMBER, at=T0)


def test_a_manager_may_not_hire_even_into_their_own_department() -> None:
    manager = person(Role.MANAGER, SALES)
    with pytest.raises(NotAuthorized):
        Staff.hire(by=manager, name="Ana", email="ana@example.com", department_id=SALES, role=Role.MEMBER, at=T0)


@pytest.mark.parametrize(("name", "email", "field"), [
    ("", "ana@example.com", ("name",)),
    ("   ", "ana@example.com", ("name",)),
    ("x" * 201, "ana@example.com", ("name",)),
    ("Ana", "not-an-email", ("email",)),
    ("Ana", "", ("email",)),
])
def test_hiring_validates_name_and_email(name: str, email: str, field: tuple[str, ...]) -> None:
    with pytest.raises(InvalidInput) as err:
        Staff.hire(by=person(Role.ADMIN), name=name, email=email, department_id=SALES, role=Role.MEMBER, at=T0)
    assert err.value.field == field


# --------------------------------------------------------------------------- admins manage everyone


@pytest.mark.parametrize(("old", "new"), ROLE_PAIRS)
def test_an_admin_changes_anyones_role(old: Role, new: Role) -> None:
    admin, target = person(Role.ADMIN, SERVICE), person(old, SALES)
    target.update(by=admin, at=T0, role=new)
    assert target.role is new
    [event] = target.collect_events()
    assert event.type == "staff.updated" and event.actor_id == admin.id and event.payload["role"] == new.value


def test_an_admin_changes_name_department_and_activity() -> None:
    admin, target = person(Role.ADMIN), person(Role.MEMBER, SALES, name="Old")
    target.update(by=admin, at=T0, name="  New Name ", department_id=SERVICE, active=False)
    assert (target.name, target.department_id, target.active) == ("New Name", SERVICE, False)
    [event] = target.collect_events()
    assert event.payload == {"name": "New Name", "email": target.email, "departmentId": str(SERVICE),
                             "role": "MEMBER", "active": False}
    target.update(by=admin, at=T0, active=True)
    assert target.active is True


def test_an_update_that_changes_nothing_records_nothing() -> None:
    admin, target = person(Role.ADMIN), person(Role.KEY_USER, SALES, name="Same")
    before = state(target)
    target.update(by=admin, at=T0, name=" Same ", department_id=SALES, role=Role.KEY_USER, active=True)
    target.update(by=admin, at=T0)
    assert state(target) == before
    assert target.pending_events == []


def test_renaming_to_blank_is_refused() -> None:
    target = person(Role.MEMBER)
    with pytest.raises(InvalidInput) as err:
        target.update(by=person(Role.ADMIN), at=T0, name="   ")
    assert err.value.field == ("name",)
    assert target.name == "Someone"


# --------------------------------------------------------------------------- managers


@pytest.mark.parametrize(("old", "new"), ROLE_PAIRS, ids=[f"{a.value}->{b.value}" for a, b in ROLE_PAIRS])
def test_a_manager_switches_member_and_key_user_in_their_own_department_only(old: Role, new: Role) -> None:
    manager, target = person(Role.MANAGER, SALES), person(old, SALES)
    if old in SWITCHABLE and new in SWITCHABLE:
        target.update(by=manager, at=T0, role=new)
        assert target.role is new
        [event] = target.collect_events()
        assert event.actor_id == manager.id and event.payload["role"] == new.value
    else:
        before = state(target)
        with pytest.raises(NotAuthorized):
            target.update(by=manager, at=T0, role=new)
        assert state(target) == before and target.pending_events == []


@pytest.mark.parametrize(("old", "new"), [(Role.MEMBER, Role.KEY_USER), (Role.KEY_USER, Role.MEMBER)])
def test_a_manager_may_not_touch_another_departments_staff(old: Role, new: Role) -> None:
    manager, target = person(Role.MANAGER, SALES), person(old, SERVICE)
    with pytest.raises(NotAuthorized):
        target.update(by=manager, at=T0, role=new)
    assert target.role is old


def test_an_inactive_manager_may_not_switch_roles() -> None:
    manager, target = person(Role.MANAGER, SALES, active=False), person(Role.MEMBER, SALES)
    with pytest.raises(NotAuthorized):
        target.update(by=manager, at=T0, role=Role.KEY_USER)
    assert target.role is Role.MEMBER


@pytest.mark.parametrize("kwargs", [
    {"name": "Renamed"},
    {"active": False},
    {"department_id": SERVICE},
    {"role": Role.KEY_USER, "name": "Renamed"},
    {"role": Role.KEY_USER, "active": False},
    {"role": Role.KEY_USER, "department_id": SERVICE},
])
def test_a_manager_changes_nothing_but_the_role(kwargs: dict[str, object]) -> None:
    manager, target = person(Role.MANAGER, SALES), person(Role.MEMBER, SALES)
    before = state(target)
    with pytest.raises(NotAuthorized):
        target.update(by=manager, at=T0, **kwargs)  # type: ignore[arg-type]
    assert state(target) == before and target.pending_events == []


@pytest.mark.parametrize("actor_role", [Role.MEMBER, Role.KEY_USER])
@pytest.mark.parametrize("kwargs", [
    {"name": "Renamed"}, {"role": Role.KEY_USER}, {"role": Role.MEMBER}, {"active": False},
    {"department_id": SERVICE},
])
def test_members_and_key_users_change_nobody(actor_role: Role, kwargs: dict[str, object]) -> None:
    actor = person(actor_role, SALES)
    target = person(Role.KEY_USER if kwargs.get("role") is Role.MEMBER else Role.MEMBER, SALES)
    with pytest.raises(NotAuthorized):
        target.update(by=actor, at=T0, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("role", [Role.MEMBER, Role.KEY_USER, Role.MANAGER])
def test_non_admins_may_not_even_rename_themselves(role: Role) -> None:
    me = person(role)
    with pytest.raises(NotAuthorized):
        me.update(by=me, at=T0, name="Me Myself")


# --------------------------------------------------------------------------- nobody locks themselves out


@pytest.mark.parametrize("role", list(Role))
def test_nobody_deactivates_themselves(role: Role) -> None:
    me = person(role)
    before = state(me)
    with pytest.raises((InvalidInput, NotAuthorized)):
        me.update(by=me, at=T0, active=False)
    assert state(me) == before and me.pending_events == []


@pytest.mark.parametrize(("old", "new"), ROLE_PAIRS)
def test_nobody_changes_their_own_role(old: Role, new: Role) -> None:
    me = person(old)
    with pytest.raises((InvalidInput, NotAuthorized)):
        me.update(by=me, at=T0, role=new)
    assert me.role is old and me.pending_events == []


def test_an_admin_is_told_which_self_change_is_refused() -> None:
    me = person(Role.ADMIN)
    with pytest.raises(InvalidInput) as err:
        me.update(by=me, at=T0, active=False)
    assert err.value.field == ("active",)
    with pytest.raises(InvalidInput) as err:
        me.update(by=me, at=T0, role=Role.MANAGER)
    assert err.value.field == ("role",)


def test_a_copy_of_yourself_is_still_yourself() -> None:
    """The actor and the loaded target are different objects for the same person."""
    me = person(Role.ADMIN)
    loaded = Staff(id=me.id, name=me.name, email=me.email, department_id=me.department_id, role=me.role, version=1)
    with pytest.raises(InvalidInput):
        loaded.update(by=me, at=T0, active=False)


def test_an_admin_may_rename_and_move_themselves() -> None:
    me = person(Role.ADMIN, SALES)
    me.update(by=me, at=T0, name="Boss", department_id=SERVICE)
    assert (me.name, me.department_id) == ("Boss", SERVICE)


def test_an_admin_may_demote_or_deactivate_another_admin() -> None:
    me, other = person(Role.ADMIN), person(Role.ADMIN)
    other.update(by=me, at=T0, role=Role.MANAGER, active=False)
    assert (other.role, other.active) == (Role.MANAGER, False)


# --------------------------------------------------------------------------- versions


def test_staff_version_checks() -> None:
    s = person(Role.MEMBER)
    s.check_version(None)
    s.check_version(1)
    with pytest.raises(Conflict) as err:
        s.check_version(0)
    assert err.value.field == ("expectedVersion",)


def test_tokens_issued_before_a_deactivation_stay_dead_after_the_reactivation() -> None:
    """Rule TokensDieWithTheDeactivation."""
    admin, member = person(Role.ADMIN), person(Role.MEMBER)
    before, gone, back, after = (datetime(2031, 1, 1, 9, 0, s, tzinfo=UTC) for s in (0, 10, 20, 30))
    assert member.accepts_token_issued_at(before)
    member.update(by=admin, at=gone, active=False)
    assert not member.accepts_token_issued_at(before) and not member.accepts_token_issued_at(after)  # inactive
    member.update(by=admin, at=back, active=True)
    assert member.tokens_valid_after == gone
    assert not member.accepts_token_issued_at(before)
    assert member.accepts_token_issued_at(after) and member.accepts_token_issued_at(gone)
    member.update(by=admin, at=after, role=Role.KEY_USER)  # other changes leave the cut-off
    assert member.tokens_valid_after == gone

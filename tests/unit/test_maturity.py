"""The maturity figures' definitions and who reads them (domain/maturity.py)."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from domain.maturity import DEPARTMENTAL, DepartmentalCounts, check_period, departmental_figures, maturity_scope
from domain.organisation import Role, Staff
from domain.shared import InvalidInput, NotAuthorized

SALES = uuid.uuid4()


def person(role: Role, active: bool = True) -> Staff:
    return Staff(id=uuid.uuid4(), name="X", email="x@x.example", department_id=SALES, role=role, active=active)


def test_admins_read_every_department_managers_their_own_nobody_else() -> None:
    assert maturity_scope(person(Role.ADMIN)) is None
    assert maturity_scope(person(Role.MANAGER)) == SALES
    for who in (person(Role.KEY_USER), person(Role.MEMBER), person(Role.MANAGER, active=False)):
        with pytest.raises(NotAuthorized):
            maturity_scope(who)


def test_the_period_runs_forward() -> None:
    with pytest.raises(InvalidInput) as backwards:
        check_period(datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))
    assert backwards.value.field == ("to",)
    with pytest.raises(InvalidInput):
        check_period(datetime(2026, 1, 1), datetime(2026, 2, 1, tzinfo=UTC))


def test_the_figures_have_stable_keys_and_shares_without_a_base_are_null() -> None:
    counts = DepartmentalCounts(active_staff=0, key_users=0, trained_staff=0, recording_staff=0, created={},
                                customers=0, without_owner=0, without_primary_contact=0, without_code=0,
                                likely_duplicates=0)
    figures = {f.key: f for f in departmental_figures(counts)}
    assert list(figures) == [d.key for d in DEPARTMENTAL]
    assert {"key_users", "trained_staff_share", "active_staff_share", "records_created",
            "customers_without_owner"} <= set(figures)
    assert figures["trained_staff_share"].value is None and figures["trained_staff_share"].unit == "share"
    full = departmental_figures(DepartmentalCounts(
        active_staff=4, key_users=1, trained_staff=1, recording_staff=3, created={"customer": 2, "order": 1},
        customers=2, without_owner=0, without_primary_contact=1, without_code=1, likely_duplicates=0))
    values = {f.key: f.value for f in full}
    assert (values["trained_staff_share"], values["active_staff_share"], values["records_created"]) == (0.25, 0.75, 3)

"""The maturity figures' definitions and who reads them (domain/maturity.py)."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from domain.maturity import (
    DEFINITION_BY_KEY,
    DEPARTMENTAL,
    ENTERPRISE,
    DepartmentalCounts,
    EnterpriseCounts,
    Figure,
    Gap,
    MaturityLevel,
    assess,
    check_period,
    check_threshold,
    company_gaps,
    company_level,
    departmental_figures,
    enterprise_figures,
    JoinedCounts,
    limits_with,
    maturity_scope,
    median,
)
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


def figure(key: str, value: float | None) -> Figure:
    d = DEFINITION_BY_KEY[key]
    return Figure(key, d.label, value, d.unit)


def test_a_level_needs_every_threshold_met_and_something_measured() -> None:
    limits = limits_with({})
    ready = [figure("key_users", 2), figure("trained_staff_share", 0.9), figure("active_staff_share", 0.7),
             figure("customers_without_owner", 0), figure("timely_progress_share", 0.85),
             figure("sla_compliance", None), figure("steps_overdue", 0)]
    assert assess("Service", ready, limits).level is MaturityLevel.COLLABORATIVE
    late = assess("Service", [*ready[:4], figure("timely_progress_share", 0.38), *ready[5:]], limits)
    assert late.level is MaturityLevel.DEPARTMENTAL
    assert late.gaps[0] == Gap(MaturityLevel.COLLABORATIVE, "timely_progress_share",
                               "Service: progress recorded within the update interval 38 %; collaborative needs at "
                               "least 80 %", (0.8 - 0.38) / 0.8)
    nothing = assess("Service", [*ready[:4], figure("timely_progress_share", None)], limits)
    assert nothing.level is MaturityLevel.DEPARTMENTAL and nothing.gaps[0].figure == "timely_progress_share"
    enterprise = assess("Service", [*ready, figure("integrations_up_share", 1.0), figure("outbox_lag_seconds", 400),
                                    figure("orders_costed_share", None)], limits)
    assert enterprise.level is MaturityLevel.COLLABORATIVE
    assert [g.figure for g in enterprise.gaps] == ["outbox_lag_seconds"]
    assert assess("Service", enterprise.figures, {**limits, "outbox_lag_seconds": 500}).level is \
        MaturityLevel.ENTERPRISE


def test_gaps_come_next_level_first_furthest_first_and_the_company_is_its_least_advanced_department() -> None:
    limits = limits_with({})
    behind = assess("Sales", [figure("key_users", 0), figure("trained_staff_share", 0.7),
                              figure("steps_overdue", 4), figure("outbox_lag_seconds", 9000)], limits)
    assert [g.figure for g in behind.gaps] == ["key_users", "steps_overdue", "trained_staff_share",
                                               "outbox_lag_seconds"]
    ahead = assess("Service", [figure("key_users", 1), figure("timely_progress_share", 0.9),
                               figure("integrations_up_share", 1.0)], limits)
    assert ahead.level is MaturityLevel.ENTERPRISE
    assert company_level([behind.level, ahead.level]) is MaturityLevel.DEPARTMENTAL
    assert company_level([]) is MaturityLevel.DEPARTMENTAL
    assert [g.figure for g in company_gaps([behind, ahead])] == ["key_users", "steps_overdue", "trained_staff_share"]


def test_the_enterprise_figures_join_the_companys_samples_and_outbox_with_the_departments_own_records() -> None:
    now = datetime(2026, 3, 2, 12, tzinfo=UTC)
    company = EnterpriseCounts(samples=8, samples_up=6, oldest_waiting_at=datetime(2026, 3, 2, 11, 55, tzinfo=UTC),
                               destinations=2, parked=1, now=now, partners=2)
    own = JoinedCounts(orders_looked_up=4, orders_costed=3, customers_looked_up=10, customers_known=9)
    found = {f.key: f.value for f in enterprise_figures(company, own)}
    assert list(found) == [d.key for d in ENTERPRISE]
    assert found == {"integrations_up_share": 0.75, "orders_costed_share": 0.75,
                     "customers_with_receivables_share": 0.9, "outbox_lag_seconds": 300.0, "failed_deliveries": 1,
                     "partner_systems": 2}
    none = {f.key: f.value for f in enterprise_figures(
        EnterpriseCounts(samples=0, samples_up=0, oldest_waiting_at=None, destinations=0, parked=0, now=now),
        JoinedCounts())}
    assert none == {"integrations_up_share": None, "orders_costed_share": None,
                    "customers_with_receivables_share": None, "outbox_lag_seconds": None, "failed_deliveries": 0,
                    "partner_systems": 0}
    judged = assess("Sales", [figure("key_users", 1), figure("timely_progress_share", 0.9),
                              figure("orders_costed_share", 0.75), figure("sla_compliance", 0.5)], limits_with({}))
    assert [g.message for g in judged.gaps] == [  # a label keeps its acronym in the sentence
        "Sales: SLA compliance 50 %; collaborative needs at least 90 %",
        "Sales: orders with ERP costs 75 %; enterprise needs at least 90 %"]


def test_thresholds_are_adjusted_within_their_range() -> None:
    assert check_threshold("sla_compliance", 0.5) == 0.5 and check_threshold("sla_compliance", None) is None
    assert check_threshold("outbox_lag_seconds", 900) == 900
    for key, value, field in (("records_created", 1, "key"), ("sla_compliance", 1.2, "value"),
                              ("steps_overdue", -1, "value")):
        with pytest.raises(InvalidInput) as err:
            check_threshold(key, value)
        assert err.value.field == (field,)
    assert limits_with({"sla_compliance": 0.5})["sla_compliance"] == 0.5
    assert limits_with({})["timely_progress_share"] == 0.8


def test_the_median_is_the_middle_or_the_mean_of_the_two_middle_values() -> None:
    assert (median([]), median([3]), median([5, 1, 3]), median([4, 1, 3, 2])) == (None, 3, 3, 2.5)

"""`maturity(from, to)` beyond the departmental figures: the collaborative figures counted from complaints, their
progress, SLA breaches, reads and workflow steps of a past period (tests/e2e/maturity_data.py writes them), on
both databases."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from api.common.relay import parse_global_id
from tests.conftest import Api, statements
from tests.e2e.conftest import new_department, staff_in
from tests.e2e.maturity_data import PERIOD, Rows, at

FIGURES = "{ key value unit threshold meets }"
MATURITY = f"""query($from: DateTime!, $to: DateTime!) {{ maturity(from: $from, to: $to) {{ company
    companyGaps {{ level figure message }} departments {{ department {{ id code }} level departmental {FIGURES}
    collaborative {FIGURES} enterprise {FIGURES} gaps {{ level figure message }}
    trend {{ weekStart level figures {FIGURES} }} }} }} }}"""


async def department_of(api: Api, department: str, variables: dict[str, str] = PERIOD) -> dict[str, Any]:
    found = (await api(MATURITY, variables))["maturity"]["departments"]
    return next(d for d in found if d["department"]["id"] == department)


def values(figures: list[dict[str, Any]]) -> dict[str, Any]:
    return {f["key"]: f["value"] for f in figures}


async def test_the_collaborative_figures_are_what_the_departments_recorded(own: Api) -> None:
    rows = Rows(own)
    handling, selling = await new_department(own), await new_department(own)
    h, s = parse_global_id(handling)[1], parse_global_id(selling)[1]
    handler = await rows.staff_id(await staff_in(own, handling, "MEMBER"))
    owner = await rows.staff_id(await staff_in(own, selling, "MEMBER"))
    colleague = await rows.staff_id(await staff_in(own, selling, "MEMBER"))
    customer = await rows.customer(owner)

    k1 = await rows.complaint(customer, h, at(3, 9))
    for minute in (9 * 60 + 30, 12 * 60, 12 * 60 + 30):  # the one at 12:00 closes a cycle that had breached
        await rows.progress(k1, at(3, minute // 60, minute % 60), h)
    await rows.update_breach(k1, at(3, 9, 30), at(3, 10, 30))
    await rows.read(k1, owner, at(3, 9, 45))
    await rows.read(k1, owner, at(4, 8))  # the next day's read: the first one counts
    k2 = await rows.complaint(customer, h, at(4, 10), breached=True)
    await rows.progress(k2, at(4, 10, 20), h)
    await rows.read(k2, owner, at(4, 12))
    k3 = await rows.complaint(customer, h, at(5, 9), policy=False)  # no policy: no interval, no SLA
    await rows.progress(k3, at(5, 10), h)
    await rows.read(k3, colleague, at(5, 11))  # not the owner
    k4 = await rows.complaint(customer, h, at(1, 9))  # filed before the period, progress within it
    await rows.progress(k4, at(6, 9), h)
    await rows.progress(k4, at(20, 9), h)  # after the period
    await rows.read(k4, owner, at(6, 9))

    await rows.step(h, at(3, 10), decided=at(3, 10, 30), due=at(3, 11))
    await rows.step(h, at(4, 9), decided=at(4, 11), due=at(4, 10), status="DONE")  # decided late
    await rows.step(h, at(5, 9), due=at(6, 9), status="ACTIVE")  # overdue, still waiting
    await rows.step(h, at(6, 9), decided=at(6, 10), status="REJECTED")
    await rows.step(h, at(7, 9), decided=at(7, 10), status="CANCELLED")  # not a decision
    await rows.step(s, at(7, 9), decided=at(8, 9))

    handled = values((await department_of(own, handling))["collaborative"])
    assert handled == {
        "progress_entries": 5, "timely_progress_share": 4 / 5, "sla_compliance": 1 / 2,
        "sales_read_progress_share": None, "median_minutes_to_sales_read": None,
        "workflow_throughput": 3, "median_step_wait_minutes": 60.0, "steps_overdue": 2}
    sold = values((await department_of(own, selling))["collaborative"])
    assert sold == {
        "progress_entries": 0, "timely_progress_share": None, "sla_compliance": None,
        "sales_read_progress_share": 2 / 3, "median_minutes_to_sales_read": 82.5,
        "workflow_throughput": 1, "median_step_wait_minutes": 1440.0, "steps_overdue": 0}
    units = {f["key"]: f["unit"] for f in (await department_of(own, selling))["collaborative"]}
    assert (units["timely_progress_share"], units["median_minutes_to_sales_read"], units["steps_overdue"]) == (
        "share", "minutes", "count")


async def test_a_step_still_waiting_is_overdue_only_once_its_due_time_has_passed(own: Api) -> None:
    """A period that runs on past now: the step due an hour ago is overdue, the one due in an hour is not yet
    (the demo's waiting approval, due later today, must not hold its department back the night it was seeded)."""
    rows = Rows(own)
    department = await new_department(own)
    d = parse_global_id(department)[1]
    now = datetime.now(UTC)
    await rows.step(d, now - timedelta(hours=2), due=now - timedelta(hours=1), status="ACTIVE")
    await rows.step(d, now - timedelta(hours=1), due=now + timedelta(hours=1), status="ACTIVE")
    period = {"from": (now - timedelta(days=1)).isoformat(), "to": (now + timedelta(days=2)).isoformat()}
    assert values((await department_of(own, department, period))["collaborative"])["steps_overdue"] == 1


async def test_the_company_wide_enterprise_figures_are_the_same_for_every_department(own: Api) -> None:
    rows = Rows(own)
    await rows.waiting_event(at(10, 12))
    await rows.parked(at(4), at(12), at(20))  # the last one after the period
    department = await new_department(own)
    found = (await department_of(own, department))["enterprise"]
    figures = values(found)
    assert list(figures) == ["integrations_up_share", "orders_costed_share", "customers_with_receivables_share",
                             "outbox_lag_seconds", "failed_deliveries", "partner_systems"]
    lag = (datetime.now(UTC) - at(10, 12)).total_seconds()  # or more, if an older one of another test waits too
    assert figures["outbox_lag_seconds"] > lag - 120
    assert figures["failed_deliveries"] == 2
    assert figures["orders_costed_share"] is figures["customers_with_receivables_share"] is None  # none of its own
    share = figures["integrations_up_share"]  # the health samples of the period (tests/e2e/test_maturity_joined.py)
    assert share is None or 0 <= share <= 1
    assert {f["key"]: f["unit"] for f in found}["outbox_lag_seconds"] == "seconds"
    others = (await own(MATURITY, PERIOD))["maturity"]["departments"]
    steady = {k: figures[k] for k in ("integrations_up_share", "failed_deliveries", "partner_systems")}  # not the lag
    assert all({k: v for k, v in values(d["enterprise"]).items() if k in steady} == steady for d in others)


async def test_an_entry_judged_when_recorded_counts_as_judged_and_older_ones_by_the_workers_breaches(
        own: Api) -> None:
    rows = Rows(own)
    handling = await new_department(own)
    h = parse_global_id(handling)[1]
    customer = await rows.customer(None)
    judged = await rows.complaint(customer, h, at(4, 9))
    await rows.progress(judged, at(4, 10), h, late=False)  # on time when recorded, whatever the worker fired
    await rows.update_breach(judged, at(4, 9), at(4, 9, 30))
    await rows.progress(judged, at(4, 12), h, late=True)  # late when recorded, no breach fired for its cycle
    older = await rows.complaint(customer, h, at(5, 9))
    await rows.progress(older, at(5, 10), h)  # not judged: the worker's breach of its cycle says late
    await rows.update_breach(older, at(5, 9), at(5, 9, 30))
    await rows.progress(older, at(5, 10, 30), h)  # not judged, no breach since: on time
    figures = values((await department_of(own, handling))["collaborative"])
    assert (figures["progress_entries"], figures["timely_progress_share"]) == (4, 0.5)


THRESHOLD = """mutation($i: SetMaturityThresholdInput!) { setMaturityThreshold(input: $i) {
    thresholds { key level atMost value defaultValue } userErrors { code field } } }"""


async def set_threshold(api: Api, key: str, value: float | None, as_: str = "admin@example.com") -> dict[str, Any]:
    return (await api(THRESHOLD, {"i": {"key": key, "value": value}}, as_=as_))["setMaturityThreshold"]


async def staffed(api: Api, rows: Rows, department: str, *, trained: bool, wrote: bool,
                  days: tuple[int, ...] = (5,)) -> tuple[uuid.UUID, str]:
    """A department's manager, key user and member, trained and writing (on those days of March) or not; the
    manager's e-mail."""
    manager = ""
    for role in ("MANAGER", "KEY_USER", "MEMBER"):
        email = await staff_in(api, department, role)
        manager = manager or email
        person = await rows.staff_id(email)
        if trained:
            await rows.trained(person, at(1))
        for day in days if wrote else ():
            await rows.wrote(person, at(day))
    return parse_global_id(department)[1], manager


async def test_each_department_sits_at_the_level_its_figures_reach_and_the_gaps_say_why(own: Api) -> None:
    rows = Rows(own)
    await rows.waiting_event(at(10))  # the outbox lags: nobody is ENTERPRISE by default
    await rows.health(at(4), "UP")  # the joined systems were up in the period
    behind, working = await new_department(own), await new_department(own)
    await staffed(own, rows, behind, trained=False, wrote=False)
    w, manager = await staffed(own, rows, working, trained=True, wrote=True)
    customer = await rows.customer(None)
    complaint = await rows.complaint(customer, w, at(4))
    await rows.progress(complaint, at(4, 10), w)

    first = await department_of(own, behind)
    assert first["level"] == "DEPARTMENTAL"
    judged = {f["key"]: (f["value"], f["threshold"], f["meets"]) for f in first["departmental"]}
    assert judged["trained_staff_share"] == (0, 0.8, False) and judged["active_staff_share"] == (0, 0.6, False)
    assert judged["key_users"] == (1, 1, True) and judged["customers_without_owner"] == (0, 0, True)
    assert judged["records_created"][1:] == (None, None)  # counts toward no level
    assert [(g["level"], g["figure"]) for g in first["gaps"]][:2] == [
        ("COLLABORATIVE", "trained_staff_share"), ("COLLABORATIVE", "active_staff_share")]
    assert first["gaps"][0]["message"] == "Test department: trained staff 0 %; collaborative needs at least 80 %"
    assert len(first["gaps"]) == 3

    second = await department_of(own, working)
    assert second["level"] == "COLLABORATIVE"
    collaborative = {f["key"]: (f["value"], f["threshold"], f["meets"]) for f in second["collaborative"]}
    assert collaborative["timely_progress_share"] == (1, 0.8, True)
    assert collaborative["sla_compliance"] == (1, 0.9, True)
    assert collaborative["sales_read_progress_share"] == (None, 0.5, None)  # no base: holds nothing back
    assert collaborative["steps_overdue"] == (0, 0, True)
    assert {g["level"] for g in second["gaps"]} == {"ENTERPRISE"}
    assert second["gaps"][0]["figure"] == "outbox_lag_seconds"
    assert second["gaps"][0]["message"].startswith("Test department: outbox lag ")
    assert second["gaps"][0]["message"].endswith(" seconds; enterprise needs at most 300 seconds")

    mine = (await own(MATURITY, PERIOD, as_=manager))["maturity"]  # the company of the departments one sees
    assert mine["company"] == "COLLABORATIVE" and mine["companyGaps"] == second["gaps"]
    everyone = (await own(MATURITY, PERIOD))["maturity"]
    assert everyone["company"] == "DEPARTMENTAL"
    assert all(g["level"] == "COLLABORATIVE" for g in everyone["companyGaps"]) and everyone["companyGaps"]

    try:
        set_lag = await set_threshold(own, "outbox_lag_seconds", 1e12)
        assert set_lag["userErrors"] == []
        assert {t["key"]: (t["value"], t["defaultValue"], t["atMost"], t["level"]) for t in set_lag["thresholds"]}[
            "outbox_lag_seconds"] == (1e12, 300, True, "ENTERPRISE")
        assert (await set_threshold(own, "failed_deliveries", 1e6))["userErrors"] == []
        third = await department_of(own, working)
        assert (third["level"], third["gaps"]) == ("ENTERPRISE", [])
        assert {f["key"]: f["threshold"] for f in third["enterprise"]}["outbox_lag_seconds"] == 1e12
        assert (await department_of(own, behind))["level"] == "DEPARTMENTAL"
        assert (await set_threshold(own, "trained_staff_share", 0))["userErrors"] == []
        assert (await set_threshold(own, "active_staff_share", 0))["userErrors"] == []
        fourth = await department_of(own, behind)  # no collaborative work measured: still not collaborative
        assert fourth["level"] == "DEPARTMENTAL"
        assert [(g["figure"], g["message"]) for g in fourth["gaps"]][0] == (
            "timely_progress_share", "Test department: progress recorded within the update interval not measured "
                                     "yet (no base in the period); collaborative needs at least 80 %")
    finally:
        for key in ("outbox_lag_seconds", "failed_deliveries", "trained_staff_share", "active_staff_share"):
            reset = await set_threshold(own, key, None)
        assert {t["key"]: t["value"] for t in reset["thresholds"]}["outbox_lag_seconds"] == 300
    assert (await department_of(own, working))["level"] == "COLLABORATIVE"


async def test_only_admins_adjust_thresholds_within_their_range(own: Api) -> None:
    forbidden = await own.errors(THRESHOLD, {"i": {"key": "sla_compliance", "value": 0.5}},
                                 as_="service.manager@example.com")
    assert [e["extensions"]["code"] for e in forbidden] == ["FORBIDDEN"]
    for key, value, field in (("no_such_figure", 1, "key"), ("sla_compliance", 1.5, "value"),
                              ("steps_overdue", -1, "value"), ("records_created", 3, "key")):
        answer = await set_threshold(own, key, value)
        assert (answer["thresholds"], answer["userErrors"]) == (None, [{"code": "INVALID", "field": ["input", field]}])
    listed = (await own("{ maturityThresholds { key value } }", as_="service.manager@example.com"))[
        "maturityThresholds"]
    assert {t["key"]: t["value"] for t in listed}["sla_compliance"] == 0.9
    assert [e["extensions"]["code"] for e in await own.errors("{ maturityThresholds { key } }",
                                                              as_="sales.member@example.com")] == ["FORBIDDEN"]


async def test_the_trend_shows_a_departments_climb_week_by_week(own: Api) -> None:
    rows = Rows(own)
    await rows.waiting_event(at(10))  # the outbox lags: nobody is ENTERPRISE
    climbing = await new_department(own)
    c, _ = await staffed(own, rows, climbing, trained=True, wrote=True, days=(5, 12))  # both weeks
    customer = await rows.customer(None)
    batch = await rows.complaint(customer, c, at(3, 9))  # progress on Friday, in a batch: late
    await rows.update_breach(batch, at(3, 9), at(3, 10))
    await rows.progress(batch, at(7, 16), c)
    prompt = await rows.complaint(customer, c, at(11, 9))  # the next week: on time
    await rows.progress(prompt, at(11, 9, 30), c)

    found = await department_of(own, climbing)
    assert found["level"] == "DEPARTMENTAL"  # half the period's entries were late
    assert [(w["weekStart"], w["level"]) for w in found["trend"]] == [
        ("2025-03-03", "DEPARTMENTAL"), ("2025-03-10", "COLLABORATIVE")]
    weekly = [{f["key"]: (f["value"], f["meets"]) for f in w["figures"]} for w in found["trend"]]
    assert [w["timely_progress_share"] for w in weekly] == [(0, False), (1, True)]
    assert [w["progress_entries"][0] for w in weekly] == [1, 1]
    assert [w["active_staff_share"][0] for w in weekly] == [1, 1]
    assert [w["records_created"][0] for w in weekly] == [3, 3]
    assert list(weekly[0]) == [f["key"] for f in (*found["departmental"], *found["collaborative"],
                                                   *found["enterprise"])]
    partial = await department_of(own, climbing, {"from": at(5, 12).isoformat(), "to": at(11, 12).isoformat()})
    assert [w["weekStart"] for w in partial["trend"]] == ["2025-03-03", "2025-03-10"]  # weeks cut to the period
    long = await own.errors(MATURITY, {"from": "2020-01-01T00:00:00Z", "to": "2025-01-01T00:00:00Z"})
    assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in long] == [("INVALID", ["to"])]


async def test_the_statement_count_is_the_same_for_more_records_and_more_weeks(own: Api) -> None:
    rows = Rows(own)
    department = await new_department(own)
    d = parse_global_id(department)[1]
    owner = await rows.staff_id(await staff_in(own, department, "MEMBER"))
    customer = await rows.customer(owner)
    made, counts = 0, []
    for size in (1, 10, 30):
        while made < size:
            complaint = await rows.complaint(customer, d, at(3 + made % 10, 9))
            await rows.progress(complaint, at(3 + made % 10, 10), d)
            await rows.read(complaint, owner, at(3 + made % 10, 11))
            await rows.step(d, at(3 + made % 10), decided=at(3 + made % 10, 12), due=at(3 + made % 10, 11))
            made += 1
        for variables in (PERIOD, {"from": at(3).isoformat(), "to": "2026-03-01T00:00:00Z"}):  # 2 weeks, 52
            await own(MATURITY, variables)
            with statements(own) as seen:
                await own(MATURITY, variables)
            counts.append(len(seen))
    assert len(set(counts)) == 1, counts

"""`maturity(from, to)` beyond the departmental figures: the collaborative figures counted from complaints, their
progress, SLA breaches, reads and workflow steps of a past period (tests/e2e/maturity_data.py writes them), on
both databases."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from api.common.relay import parse_global_id
from tests.conftest import Api
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


async def test_the_enterprise_figures_are_the_companys(own: Api) -> None:
    rows = Rows(own)
    await rows.waiting_event(at(10, 12))
    await rows.parked(at(4), at(12), at(20))  # the last one after the period
    department = await new_department(own)
    found = (await department_of(own, department))["enterprise"]
    figures = values(found)
    assert list(figures) == ["integrations_up_share", "orders_costed_share", "customers_with_receivables_share",
                             "outbox_lag_seconds", "failed_deliveries"]
    lag = (datetime.now(UTC) - at(10, 12)).total_seconds()
    assert abs(figures["outbox_lag_seconds"] - lag) < 120
    assert figures["failed_deliveries"] == 2
    assert figures["orders_costed_share"] is figures["customers_with_receivables_share"] is None
    share = figures["integrations_up_share"]
    assert share is None or 0 <= share <= 1
    assert {f["key"]: f["unit"] for f in found}["outbox_lag_seconds"] == "seconds"
    others = (await own(MATURITY, PERIOD))["maturity"]["departments"]
    assert all(values(d["enterprise"]) == figures for d in others)

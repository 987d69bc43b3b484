"""Demo data of the rollout: the five departments at different phases, reached over the past weeks (FINANCE
once stepped back, with its note), some staff trained and checklist targets set, so `make run` shows a staggered
rollout; and in `maturity` the three levels: SERVICE, all of whose staff are trained, ENTERPRISE; SALES, trained too
and reading its customers' complaints in the CRM (application/complaint_demo.py), COLLABORATIVE, held back from
ENTERPRISE by the customers finance does not know and the won deal's order the ERP cannot cost; the rest
DEPARTMENTAL, held back by their untrained staff. Through the use cases, like the rest of the demo; a department whose rollout was touched already is
left alone, so seeding again adds nothing."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from application import rollout as ro
from application.ports import Clock, UnitOfWorkFactory
from domain.organisation import Staff
from domain.rollout import RolloutPhase

P = RolloutPhase
# department -> (the phases it went through, weeks ago each; a tuple's note marks a step back)
PATHS: dict[str, list[tuple[RolloutPhase, int, str | None]]] = {
    "SALES": [(P.DATA_COLLECTION, 12, "Needs surveyed with the sales team"), (P.TRAINING, 8, None),
              (P.LIVE, 5, "Everyone trained, customers and contacts in")],
    "SERVICE": [(P.DATA_COLLECTION, 9, None), (P.TRAINING, 3, "Categories, SLA policies and calendar defined")],
    "FINANCE": [(P.DATA_COLLECTION, 8, None), (P.TRAINING, 5, None),
                (P.DATA_COLLECTION, 4, "Training showed the customers' payment terms are still missing"),
                (P.TRAINING, 1, "Payment terms collected")],
    "WAREHOUSE": [(P.DATA_COLLECTION, 2, "Survey of the dispatch process done")],
    "MARKETING": [],
}
TRAINED = {"SALES": ("manager", "key", "member", "admin"), "SERVICE": ("manager", "key", "member"),
           "FINANCE": ("key",)}  # "admin": the demo's administrator, one of the sales staff
TARGETS: dict[str, list[tuple[str, int | None, bool | None]]] = {
    "SALES": [("customers", 20, None), ("contacts", 20, None), ("products", 3, None),
              ("workflow_definitions", None, True)],
    "SERVICE": [("complaint_categories", 3, None), ("sla_policies", 2, None), ("business_calendars", 1, None)],
    "FINANCE": [("ordering_customers", 10, None), ("department_calendar", 1, None)],
    "WAREHOUSE": [("products", 10, None), ("department_calendar", 1, None)],
    "MARKETING": [("tagged_customers", 30, None)],
}


@dataclass(frozen=True)
class _At:
    at: datetime

    def now(self) -> datetime:
        return self.at


async def seed_rollout(uow_factory: UnitOfWorkFactory, clock: Clock, admin: Staff, staff: dict[str, Staff]) -> int:
    """Returns how many departments' rollouts it set up."""
    now, seeded = clock.now(), 0
    for code, path in PATHS.items():
        async with uow_factory() as uow:
            department = await uow.departments.get_by_code(code)
            rollout = await uow.rollouts.get(department.id) if department is not None else None
        if department is None or rollout is None or rollout.version > 0:
            continue
        for phase, weeks, note in path:
            await ro.set_rollout_phase(uow_factory(), _At(now - timedelta(weeks=weeks)), admin,
                                       ro.SetRolloutPhase(department_id=department.id, phase=phase, note=note))
        for n, suffix in enumerate(TRAINED.get(code, ())):
            person = admin if suffix == "admin" else staff.get(f"{code.lower()}.{suffix}@example.com")
            if person is not None:
                await ro.mark_trained(uow_factory(), clock, admin, ro.MarkTrained(
                    staff_id=person.id, trained_at=now - timedelta(weeks=path[-1][1] if path else 0, days=n + 1)))
        for key, target, done in TARGETS.get(code, ()):
            await ro.set_checklist_target(uow_factory(), clock, admin, ro.SetChecklistTarget(
                department_id=department.id, key=key, target=target, done=done))
        seeded += 1
    return seeded

"""Idempotent demo data for complaints: a business calendar with a lunch break and holidays, a
category tree (delivery, quality, billing, service, each with children), SLA policies for every
customer tier, and complaints in every status with their history, filed days ago so their clocks
have something to show (`crm worker` then fires what fell due).

Runs through the use cases like the rest of the demo data. Running it again adds nothing: the
configuration is looked up by code and name, complaints by their idempotency keys.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from application import complaints as uc
from application.ports import Clock, ComplaintReads, UnitOfWorkFactory
from domain.complaint import Channel, ComplaintStatus, Priority, Visibility
from domain.organisation import Staff

CALENDAR = "Head office (Berlin)"
OFFICE_HOURS = tuple((day, start, end) for day in range(1, 6) for start, end in (("08:00", "12:00"), ("13:00", "17:00")))
HOLIDAYS = tuple(date.fromisoformat(d) for d in (
    "2026-01-01", "2026-04-03", "2026-04-06", "2026-05-01", "2026-12-24", "2026-12-25", "2026-12-26",
    "2027-01-01", "2027-03-26", "2027-03-29", "2027-05-01", "2027-12-24", "2027-12-25", "2027-12-26"))
CATEGORIES = {
    "DELIVERY": ("Delivery", {"DELIVERY.LATE": "Late delivery", "DELIVERY.DAMAGED": "Damaged in transit",
                              "DELIVERY.WRONG_ITEM": "Wrong item"}),
    "QUALITY": ("Product quality", {"QUALITY.DEFECT": "Defective product", "QUALITY.MISSING_PARTS": "Missing parts"}),
    "BILLING": ("Billing", {"BILLING.OVERCHARGE": "Overcharged", "BILLING.INVOICE_ERROR": "Wrong invoice"}),
    "SERVICE": ("Service", {"SERVICE.SLOW_RESPONSE": "Slow response", "SERVICE.CONDUCT": "Staff conduct"}),
}
# business minutes per tier: first response, resolution, update interval
TIER_TARGETS = {"STANDARD": (480, 4800, None), "SILVER": (240, 2400, 1440), "GOLD": (120, 960, 480),
                "STRATEGIC": (60, 480, 240)}
S = ComplaintStatus
# (customer code, category, priority, channel, filer, days ago, subject, steps after filing: (hours later, action)).
# Each step that an SLA clock judges comes sooner in wall-clock time than the policy's business minutes allow, so the
# demo's clocks are met at whatever time of day, weekday or holiday it is seeded (business minutes never outrun the
# wall clock); the urgent DEMO-0003 is answered within 30 minutes and updated within 120.
DEMO_COMPLAINTS = [
    ("DEMO-0001", "DELIVERY.LATE", Priority.HIGH, Channel.PHONE, "service.member", 0,
     "Drills promised for Monday still not here", []),
    ("DEMO-0002", "QUALITY.DEFECT", Priority.NORMAL, Channel.SALES_REP, "sales.member", 1,
     "Chair gas lifts sink after a week", [(1, S.ACKNOWLEDGED)]),
    ("DEMO-0003", "DELIVERY.DAMAGED", Priority.URGENT, Channel.EMAIL, "service.member", 2,
     "Racking uprights bent on arrival",
     [(0.25, S.ACKNOWLEDGED), (0.5, S.IN_PROGRESS), (1.5, "Photos received; carrier claim opened")]),
    ("DEMO-0004", "BILLING.OVERCHARGE", Priority.NORMAL, Channel.WEB, "service.member", 3,
     "Invoice charges the list price, not the agreed one",
     [(1, S.ACKNOWLEDGED), (2, S.IN_PROGRESS), (3, S.WAITING_ON_CUSTOMER)]),
    ("DEMO-0005", "QUALITY.MISSING_PARTS", Priority.LOW, Channel.SALES_REP, "sales.key", 6,
     "Cold-room panels delivered without seals",
     [(1, S.ACKNOWLEDGED), (2, S.IN_PROGRESS), (4, "Seals shipped by express"), (26, S.RESOLVED)]),
    ("DEMO-0006", "SERVICE.SLOW_RESPONSE", Priority.HIGH, Channel.PHONE, "service.member", 9,
     "Nobody called back about the microscope repair",
     [(1, S.ACKNOWLEDGED), (2, S.IN_PROGRESS), (5, S.RESOLVED), (30, S.CLOSED)]),
    ("DEMO-0008", "DELIVERY.WRONG_ITEM", Priority.NORMAL, Channel.EMAIL, "service.member", 8,
     "Received oak shelves instead of birch",
     [(1, S.ACKNOWLEDGED), (2, S.IN_PROGRESS), (6, S.RESOLVED), (30, S.IN_PROGRESS),
      (31, "Customer says the replacement is oak again")]),
    ("DEMO-0009", "BILLING.INVOICE_ERROR", Priority.URGENT, Channel.IN_PERSON, "sales.manager", 5,
     "Invoice addressed to the old company name", []),
]


@dataclass
class _At:
    """A clock standing at a given instant (demo history happened in the past)."""

    instant: datetime

    def now(self) -> datetime:
        return self.instant


ASSIGNED_AFTER = timedelta(minutes=30)  # a complaint with history gets its handler this long after filing
# complaint number -> hours after filing when its customer's owner in sales read its timeline in the CRM
OWNER_READS = {1: 1, 2: 3, 3: 2, 4: 20, 5: 4, 6: 30}


async def seed_complaints(uow_factory: UnitOfWorkFactory, clock: Clock, staff: dict[str, Staff],
                          reads: ComplaintReads | None = None) -> int:
    """Returns how many complaints it added. With `reads`, the owners of most of the complaints' customers read
    their timelines (OWNER_READS), as sales staff who follow the progress in the system do."""
    configurer = staff.get("service.key@example.com")
    handler = staff.get("service.member@example.com")
    if configurer is None or handler is None:
        return 0
    await _configure(uow_factory, clock, configurer, staff.get("service.manager@example.com"))
    async with uow_factory() as uow:
        categories = {code: await uow.complaint_categories.get_by_code(code)
                      for _, (_, children) in CATEGORIES.items() for code in children}
    added = 0
    now = clock.now()
    for n, (code, category_code, priority, channel, filer_name, days, subject, steps) in enumerate(DEMO_COMPLAINTS, 1):
        filer = staff.get(f"{filer_name}@example.com")
        category = categories.get(category_code)
        key = f"demo-complaint-{n}"
        async with uow_factory() as uow:
            customer = await uow.customers.get_by_code(code)
            known = filer is not None and await uow.idempotency.lookup(f"fileComplaint:{filer.id}", key) is not None
        if customer is None or filer is None or category is None or known:
            continue
        filed_at = now - timedelta(days=days, hours=2 if days == 0 else 0)
        complaint = await uc.file_complaint(uow_factory(), _At(filed_at), filer, uc.FileComplaint(
            customer_id=customer.id, category_id=category.id, priority=priority, channel=channel, subject=subject,
            description=f"{subject}. Reported by {customer.name}.", idempotency_key=key))
        added += 1
        if reads is not None and n in OWNER_READS and customer.owner_id is not None:
            reads.record(complaint.id, customer.owner_id, min(filed_at + timedelta(hours=OWNER_READS[n]), now))
        if steps:
            assigned = min(ASSIGNED_AFTER, timedelta(hours=steps[0][0]) / 2)  # before the first step
            await uc.assign_complaint(uow_factory(), _At(filed_at + assigned), handler,
                                      uc.AssignComplaint(complaint.id, handler.id))
        for hours, action in steps:
            at = _At(min(filed_at + timedelta(hours=hours), now))
            if isinstance(action, ComplaintStatus):
                note = "Replacement delivered and confirmed by the customer" if action is S.RESOLVED else None
                await uc.transition_complaint(uow_factory(), at, handler, uc.TransitionComplaint(
                    complaint.id, action, note=note))
            else:
                await uc.record_progress(uow_factory(), at, handler, uc.RecordProgress(
                    complaint.id, action, visibility=Visibility.CUSTOMER))
        if steps and steps[-1][1] in (S.RESOLVED, S.CLOSED):
            await uc.rate_resolution(uow_factory(), _At(min(filed_at + timedelta(hours=steps[-1][0] + 1), now)),
                                     handler,
                                     uc.RateResolution(complaint.id, 4 if n % 2 else 2, comment="Quick once it started"))
    return added


async def _configure(uow_factory: UnitOfWorkFactory, clock: Clock, configurer: Staff, escalate_to: Staff | None) -> None:
    async with uow_factory() as uow:
        calendar = await uow.calendars.get_by_name(CALENDAR)
        policies = {p.name for p in await uow.sla_policies.active()}
    if calendar is None:
        calendar = await uc.define_calendar(uow_factory(), clock, configurer, uc.DefineCalendar(
            name=CALENDAR, timezone="Europe/Berlin", working_hours=OFFICE_HOURS, holidays=HOLIDAYS))
    for root_code, (root_name, children) in CATEGORIES.items():
        async with uow_factory() as uow:
            root = await uow.complaint_categories.get_by_code(root_code)
        if root is None:
            root = await uc.define_category(uow_factory(), clock, configurer, uc.DefineCategory(root_code, root_name))
        for code, name in children.items():
            async with uow_factory() as uow:
                exists = await uow.complaint_categories.get_by_code(code) is not None
            if not exists:
                await uc.define_category(uow_factory(), clock, configurer, uc.DefineCategory(code, name, root.id))
        for tier, (first, resolution, interval) in TIER_TARGETS.items():
            name = f"{root_name} – {tier.title()}"
            if name not in policies:
                await uc.define_sla_policy(uow_factory(), clock, configurer, uc.DefineSlaPolicy(
                    name=name, calendar_id=calendar.id, category_id=root.id, customer_tier=tier,
                    first_response_minutes=first, resolution_minutes=resolution, update_interval_minutes=interval,
                    escalate_to_id=escalate_to.id if escalate_to else None))
        urgent = f"{root_name} – Urgent"
        if urgent not in policies:
            await uc.define_sla_policy(uow_factory(), clock, configurer, uc.DefineSlaPolicy(
                name=urgent, calendar_id=calendar.id, category_id=root.id, priority=Priority.URGENT,
                first_response_minutes=30, resolution_minutes=240, update_interval_minutes=120,
                escalate_to_id=escalate_to.id if escalate_to else None))

"""Complaint use cases (application/complaints.py, application/sla_worker.py) through in-memory fakes:
configuration authority, policy matching fixed at filing, numbering, idempotency, who may see and
handle, optimistic concurrency, and the worker escalating and notifying exactly once."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from application import complaints as uc
from application.customers import CreateCustomer, create_customer
from application.sla_worker import fire_due_sla_events, run_sla_worker
from domain.complaint import Channel, ComplaintStatus, Priority, TimelineKind
from domain.customer import CustomerKind, CustomerTier
from domain.organisation import Role, Staff
from domain.shared import Conflict, Duplicate, ForbiddenTransition, InvalidInput, NotAuthorized, NotFound
from tests.application.conftest import Org, unchanged
from tests.application.fakes import FakeClock, InMemoryStore

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=BERLIN)
S = ComplaintStatus


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(MONDAY)


@pytest.fixture
def service_key(store: InMemoryStore, org: Org) -> Staff:
    return store.add_staff(role=Role.KEY_USER, department=org.service)


async def office(store: InMemoryStore, clock: FakeClock, actor: Staff, name: str = "Office"):  # type: ignore[no-untyped-def]
    return await uc.define_calendar(store.uow(), clock, actor, uc.DefineCalendar(
        name=name, timezone="Europe/Berlin",
        working_hours=tuple((d, s, e) for d in range(1, 6) for s, e in (("08:00", "12:00"), ("13:00", "17:00")))))


async def customer(store: InMemoryStore, clock: FakeClock, org: Org, tier: CustomerTier = CustomerTier.GOLD):  # type: ignore[no-untyped-def]
    return await create_customer(store.uow(), clock, org.admin, CreateCustomer(
        name="Acme", kind=CustomerKind.COMPANY, tier=tier, owner_id=org.sales_key_user.id))


async def file(store: InMemoryStore, clock: FakeClock, actor: Staff, customer_id: uuid.UUID, category_id: uuid.UUID,
               priority: Priority = Priority.HIGH, **kwargs: object):  # type: ignore[no-untyped-def]
    return await uc.file_complaint(store.uow(), clock, actor, uc.FileComplaint(
        customer_id=customer_id, category_id=category_id, priority=priority, channel=Channel.PHONE,
        subject="Late", description="Two weeks late", **kwargs))  # type: ignore[arg-type]


# ------------------------------------------------------------------------------- configuration


async def test_only_service_key_users_managers_and_admins_configure(
        store: InMemoryStore, clock: FakeClock, org: Org, service_key: Staff) -> None:
    before = store.dump()
    for actor in (org.service_member, org.sales_manager, org.sales_key_user):
        with pytest.raises(NotAuthorized):
            await office(store, clock, actor)
        with pytest.raises(NotAuthorized):
            await uc.define_category(store.uow(), clock, actor, uc.DefineCategory(code="X", name="X"))
    assert unchanged(store, before)
    assert (await office(store, clock, service_key)).name == "Office"
    assert (await office(store, clock, org.service_manager, "Night")).name == "Night"
    assert (await office(store, clock, org.admin, "Admin's")).name == "Admin's"
    with pytest.raises(Duplicate) as err:
        await office(store, clock, org.admin)
    assert err.value.field == ("name",)


async def test_categories_and_policies_validate_their_references(
        store: InMemoryStore, clock: FakeClock, org: Org, service_key: Staff) -> None:
    root = await uc.define_category(store.uow(), clock, service_key, uc.DefineCategory(code="delivery", name="Delivery"))
    with pytest.raises(Duplicate):
        await uc.define_category(store.uow(), clock, service_key, uc.DefineCategory(code="DELIVERY", name="Again"))
    with pytest.raises(NotFound) as err:
        await uc.define_category(store.uow(), clock, service_key,
                                 uc.DefineCategory(code="x", name="X", parent_id=uuid.uuid4()))
    assert err.value.field == ("parentId",)
    parent = root
    for level in range(5):  # six levels in all
        parent = await uc.define_category(store.uow(), clock, service_key,
                                          uc.DefineCategory(code=f"l{level}", name="L", parent_id=parent.id))
    with pytest.raises(InvalidInput) as err:
        await uc.define_category(store.uow(), clock, service_key,
                                 uc.DefineCategory(code="deep", name="Deep", parent_id=parent.id))
    assert err.value.field == ("parentId",)

    calendar = await office(store, clock, service_key)
    base = dict(name="P", calendar_id=calendar.id, first_response_minutes=60, resolution_minutes=480)
    for overrides, error, field in [
        ({"calendar_id": uuid.uuid4()}, NotFound, "calendarId"),
        ({"category_id": uuid.uuid4()}, NotFound, "categoryId"),
        ({"escalate_to_id": org.retired.id}, NotFound, "escalateToId"),
        ({"resolution_minutes": 10}, InvalidInput, "resolutionMinutes"),
    ]:
        with pytest.raises(error) as caught:  # type: ignore[call-overload]
            await uc.define_sla_policy(store.uow(), clock, service_key, uc.DefineSlaPolicy(**{**base, **overrides}))
        assert caught.value.field == (field,)


# ------------------------------------------------------------------------------------- filing


async def test_filing_matches_the_most_specific_policy_and_fixes_it(
        store: InMemoryStore, clock: FakeClock, org: Org, service_key: Staff) -> None:
    calendar = await office(store, clock, service_key)
    root = await uc.define_category(store.uow(), clock, service_key, uc.DefineCategory(code="delivery", name="D"))
    child = await uc.define_category(store.uow(), clock, service_key,
                                     uc.DefineCategory(code="delivery.late", name="Late", parent_id=root.id))

    async def policy(name: str, minutes: int, **criteria: object):  # type: ignore[no-untyped-def]
        return await uc.define_sla_policy(store.uow(), clock, service_key, uc.DefineSlaPolicy(
            name=name, calendar_id=calendar.id, first_response_minutes=minutes, resolution_minutes=480,
            **criteria))  # type: ignore[arg-type]

    await policy("anything", 240)
    gold = await policy("gold", 120, customer_tier="GOLD")
    delivery = await policy("delivery", 60, category_id=root.id)
    urgent_delivery = await policy("urgent delivery", 30, category_id=root.id, priority=Priority.URGENT)
    acme = await customer(store, clock, org)
    high = await file(store, clock, org.sales_member, acme.id, child.id)
    assert high.terms is not None and high.terms.policy.id == delivery.id  # via the parent category
    assert high.number == "CMP-000001" and high.department_id == org.service.id and high.version == 1
    urgent = await file(store, clock, org.sales_member, acme.id, child.id, Priority.URGENT)
    assert urgent.terms is not None and urgent.terms.policy.id == urgent_delivery.id
    other = await uc.define_category(store.uow(), clock, service_key, uc.DefineCategory(code="billing", name="B"))
    billed = await file(store, clock, org.sales_member, acme.id, other.id)
    assert billed.terms is not None and billed.terms.policy.id == gold.id

    # redefining "delivery" supersedes it; the complaint keeps the targets it was filed with
    faster = await policy("delivery", 15, category_id=root.id)
    assert store.sla_policies[delivery.id].active is False and store.sla_policies[faster.id].active is True
    stored = store.complaint(high.id)
    assert stored.terms is not None and stored.terms.policy.first_response_minutes == 60
    assert (await file(store, clock, org.sales_member, acme.id, child.id)).terms.policy.id == faster.id  # type: ignore[union-attr]
    assert [c.number for c in store.complaints.values()] == ["CMP-000001", "CMP-000002", "CMP-000003", "CMP-000004"]


async def test_filing_refuses_unknown_references_and_writes_nothing(
        store: InMemoryStore, clock: FakeClock, org: Org, service_key: Staff) -> None:
    category = await uc.define_category(store.uow(), clock, service_key, uc.DefineCategory(code="q", name="Q"))
    acme = await customer(store, clock, org)
    before = store.dump()
    with pytest.raises(NotFound) as err:
        await file(store, clock, org.sales_member, uuid.uuid4(), category.id)
    assert err.value.field == ("customerId",)
    with pytest.raises(NotFound) as err:
        await file(store, clock, org.sales_member, acme.id, uuid.uuid4())
    assert err.value.field == ("categoryId",)
    with pytest.raises(InvalidInput) as err:
        await uc.file_complaint(store.uow(), clock, org.sales_member, uc.FileComplaint(
            customer_id=acme.id, category_id=category.id, priority=Priority.LOW, channel=Channel.WEB,
            subject=" ", description="d"))
    assert err.value.field == ("subject",)
    assert unchanged(store, before)


async def test_filing_is_idempotent_and_publishes_after_commit(
        store: InMemoryStore, clock: FakeClock, org: Org, service_key: Staff) -> None:
    category = await uc.define_category(store.uow(), clock, service_key, uc.DefineCategory(code="q", name="Q"))
    acme = await customer(store, clock, org)
    published = len(store.publisher.published)  # type: ignore[union-attr]
    first = await file(store, clock, org.sales_member, acme.id, category.id, idempotency_key="k1")
    again = await file(store, clock, org.sales_member, acme.id, category.id, idempotency_key="k1")
    assert first.id == again.id and len(store.complaints) == 1
    [events] = store.publisher.published[published:]  # type: ignore[union-attr]
    assert [e.type for e in events] == ["complaint.filed"] and events[0].payload["customerId"] == str(acme.id)
    with pytest.raises(InvalidInput):
        await file(store, clock, org.sales_member, acme.id, category.id, Priority.LOW, idempotency_key="k1")


# ------------------------------------------------------------------------- seeing and handling


async def test_who_sees_and_who_handles(store: InMemoryStore, clock: FakeClock, org: Org, service_key: Staff) -> None:
    category = await uc.define_category(store.uow(), clock, service_key, uc.DefineCategory(code="q", name="Q"))
    acme = await customer(store, clock, org)  # owned by the sales key user
    complaint = await file(store, clock, org.service_member, acme.id, category.id)
    before = store.dump()
    # the sales member neither owns the customer nor filed it: as if it did not exist
    with pytest.raises(NotFound) as err:
        await uc.transition_complaint(store.uow(), clock, org.sales_member, uc.TransitionComplaint(
            complaint.id, S.ACKNOWLEDGED))
    assert err.value.field == ("complaintId",)
    # the owner sees it but does not handle it
    with pytest.raises(NotAuthorized):
        await uc.record_progress(store.uow(), clock, org.sales_key_user, uc.RecordProgress(complaint.id, "hi"))
    with pytest.raises(NotAuthorized):
        await uc.assign_complaint(store.uow(), clock, org.sales_key_user, uc.AssignComplaint(
            complaint.id, org.sales_key_user.id))
    with pytest.raises(NotAuthorized):  # authority before anything else: even for an unknown assignee
        await uc.assign_complaint(store.uow(), clock, org.service_member, uc.AssignComplaint(
            complaint.id, uuid.uuid4()))
    assert unchanged(store, before)
    # but the owner may pass on the customer's rating once it is resolved
    for step in (S.ACKNOWLEDGED, S.IN_PROGRESS):
        await uc.transition_complaint(store.uow(), clock, org.service_member, uc.TransitionComplaint(complaint.id, step))
    await uc.transition_complaint(store.uow(), clock, org.admin, uc.TransitionComplaint(
        complaint.id, S.RESOLVED, note="Refunded"))
    rated = await uc.rate_resolution(store.uow(), clock, org.sales_key_user, uc.RateResolution(complaint.id, 5))
    assert rated.satisfaction == 5 and store.complaint(complaint.id).satisfaction == 5


async def test_transitions_check_versions_and_the_status_machine(
        store: InMemoryStore, clock: FakeClock, org: Org, service_key: Staff) -> None:
    category = await uc.define_category(store.uow(), clock, service_key, uc.DefineCategory(code="q", name="Q"))
    complaint = await file(store, clock, org.sales_member, (await customer(store, clock, org)).id, category.id)
    before = store.dump()
    with pytest.raises(ForbiddenTransition):
        await uc.transition_complaint(store.uow(), clock, org.service_member, uc.TransitionComplaint(
            complaint.id, S.CLOSED))
    with pytest.raises(Conflict):
        await uc.transition_complaint(store.uow(), clock, org.service_member, uc.TransitionComplaint(
            complaint.id, S.ACKNOWLEDGED, expected_version=7))
    assert unchanged(store, before)
    acked = await uc.transition_complaint(store.uow(), clock, org.service_member, uc.TransitionComplaint(
        complaint.id, S.ACKNOWLEDGED, expected_version=1))
    assert acked.version == 2 and store.complaint(complaint.id).status is S.ACKNOWLEDGED
    progressed = await uc.record_progress(store.uow(), clock, org.service_member, uc.RecordProgress(
        complaint.id, "Looking into it", expected_version=2))
    assert progressed.timeline[-1].kind is TimelineKind.PROGRESS and progressed.version == 3
    member_takes = await uc.assign_complaint(store.uow(), clock, org.service_member, uc.AssignComplaint(
        complaint.id, org.service_member.id))
    assert member_takes.assignee_id == org.service_member.id
    handed = await uc.assign_complaint(store.uow(), clock, org.service_manager, uc.AssignComplaint(
        complaint.id, org.sales_member.id))
    assert handed.department_id == org.sales.id
    assert [e.type for e in store.committed_events if e.aggregate_id == complaint.id] == [
        "complaint.filed", "complaint.status_changed", "complaint.progress_recorded", "complaint.assigned",
        "complaint.assigned"]


# ---------------------------------------------------------------------------------- the worker


async def test_the_worker_escalates_and_notifies_exactly_once(
        store: InMemoryStore, clock: FakeClock, org: Org, service_key: Staff) -> None:
    calendar = await office(store, clock, service_key)
    category = await uc.define_category(store.uow(), clock, service_key, uc.DefineCategory(code="q", name="Q"))
    await uc.define_sla_policy(store.uow(), clock, service_key, uc.DefineSlaPolicy(
        name="Tight", calendar_id=calendar.id, category_id=category.id, first_response_minutes=60,
        resolution_minutes=120, warn_at=0.5, escalate_to_id=org.service_manager.id))
    acme = await customer(store, clock, org)
    complaints = [await file(store, clock, org.sales_member, acme.id, category.id) for _ in range(3)]
    assert (await fire_due_sla_events(store.uow(), clock)).claimed == 0

    clock.set(MONDAY + timedelta(minutes=31))
    tick = await fire_due_sla_events(store.uow(), clock, batch_size=2)
    assert (tick.claimed, tick.warnings, tick.breaches, tick.notifications) == (2, 2, 0, 0)
    total = await run_sla_worker(store, clock, once=True, batch_size=2)  # drains the rest
    assert (total.claimed, total.warnings) == (1, 1)

    clock.set(MONDAY + timedelta(hours=5))  # both first response and resolution breached
    total = await run_sla_worker(store, clock, once=True, batch_size=2)
    assert (total.claimed, total.warnings, total.breaches, total.notifications) == (3, 0, 6, 12)
    assert (await run_sla_worker(store, clock, once=True)).claimed == 0
    for complaint in complaints:
        stored = store.complaint(complaint.id)
        assert stored.escalation_level == 2 and stored.sla_next_deadline is None
        told = [(n.recipient_id, n.kind) for n in store.notifications if n.subject_id == complaint.id]
        assert sorted(told) == sorted([(org.service_manager.id, "SLA_BREACH"), (org.sales_key_user.id, "SLA_BREACH")] * 2)
    assert len({(n.dedupe_key, n.recipient_id) for n in store.notifications}) == len(store.notifications) == 12


async def test_a_second_notice_for_the_same_event_is_refused(
        store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    from application.ports import Notification

    notice = Notification(recipient_id=org.admin.id, kind="SLA_BREACH", message="m", dedupe_key="k", at=clock.now())
    async with store.uow() as uow:
        await uow.notifier.notify(notice)
        await uow.commit()
    async with store.uow() as uow:
        with pytest.raises(Conflict):
            await uow.notifier.notify(notice)
    assert len(store.notifications) == 1

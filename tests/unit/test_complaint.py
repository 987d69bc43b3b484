"""The Complaint aggregate: status machine over all pairs, timeline, authority, SLA terms fixed at
filing, stored deadlines, and escalation that fires exactly once.

Clocks run on a Berlin office calendar (08:00-12:00 and 13:00-17:00, Monday to Friday); 2026-03-02
is a Monday.
"""
from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.calendar import BusinessCalendar
from domain.complaint import (
    ALLOWED_MOVES,
    Channel,
    Complaint,
    ComplaintCategory,
    ComplaintStatus,
    Priority,
    SlaTerms,
    TimelineKind,
    Visibility,
    category_path,
    may_configure_complaints,
    sees_all_complaints,
)
from domain.organisation import Role, Staff
from domain.shared import ForbiddenTransition, InvalidInput, NotAuthorized
from domain.sla import ClockName, SlaEventKind, SlaPolicy, SlaTargetState

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = BusinessCalendar.define(
    "Berlin office", "Europe/Berlin",
    [(d, start, end) for d in range(1, 6) for start, end in (("08:00", "12:00"), ("13:00", "17:00"))])
ESCALATE_TO = uuid.uuid4()
POLICY = SlaPolicy.define(name="Standard", calendar_id=OFFICE.id, first_response_minutes=60,
                          resolution_minutes=480, update_interval_minutes=240, warn_at=0.5,
                          escalate_to_id=ESCALATE_TO)
TERMS = SlaTerms(POLICY, OFFICE)
SERVICE, SALES, WAREHOUSE = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
S = ComplaintStatus


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=BERLIN)


FILED = at(2, 9)


def person(department: uuid.UUID = SERVICE, role: Role = Role.MEMBER, active: bool = True) -> Staff:
    return Staff(id=uuid.uuid4(), name=f"{role.value.title()} {uuid.uuid4().hex[:4]}", email="x@example.com",
                 department_id=department, role=role, active=active)


AGENT = person()
CATEGORY = ComplaintCategory.define(code="delivery", name="Delivery")


def filed(terms: SlaTerms | None = TERMS, by: Staff | None = None) -> Complaint:
    complaint = Complaint.file(number=42, customer_id=uuid.uuid4(), category=CATEGORY, priority="HIGH",
                               channel="PHONE", subject="  Late parcel ", description="Two weeks late",
                               department_id=SERVICE, by=by or person(SALES), at=FILED, terms=terms)
    complaint.collect_events()
    return complaint


def path_to(status: ComplaintStatus) -> list[ComplaintStatus]:
    """A way from OPEN to `status`."""
    return {
        S.OPEN: [], S.ACKNOWLEDGED: [S.ACKNOWLEDGED], S.IN_PROGRESS: [S.ACKNOWLEDGED, S.IN_PROGRESS],
        S.WAITING_ON_CUSTOMER: [S.ACKNOWLEDGED, S.IN_PROGRESS, S.WAITING_ON_CUSTOMER],
        S.RESOLVED: [S.ACKNOWLEDGED, S.IN_PROGRESS, S.RESOLVED],
        S.CLOSED: [S.ACKNOWLEDGED, S.IN_PROGRESS, S.RESOLVED, S.CLOSED],
    }[status]


def moved_to(status: ComplaintStatus) -> Complaint:
    complaint = filed()
    when = FILED
    for step in path_to(status):
        when += timedelta(minutes=5)
        complaint.transition(step, by=AGENT, at=when, note="done" if step is S.RESOLVED else None)
    complaint.collect_events()
    return complaint


# ------------------------------------------------------------------------------------- filing


def test_filing_numbers_records_and_starts_the_timeline() -> None:
    filer = person(SALES)
    complaint = Complaint.file(number=42, customer_id=uuid.uuid4(), category=CATEGORY, priority="HIGH",
                               channel="SALES_REP", subject="  Late parcel ", description="Two weeks late",
                               department_id=SERVICE, by=filer, at=FILED, terms=TERMS)
    assert complaint.number == "CMP-000042" and complaint.subject == "Late parcel"
    assert (complaint.status, complaint.priority, complaint.channel) == (S.OPEN, Priority.HIGH, Channel.SALES_REP)
    assert complaint.department_id == SERVICE and complaint.filed_by == filer.id and complaint.assignee_id is None
    [entry] = complaint.timeline
    assert (entry.kind, entry.author_id, entry.department_id, entry.visibility, entry.position) == (
        TimelineKind.FILED, filer.id, SALES, Visibility.CUSTOMER, 1)
    [event] = complaint.collect_events()
    assert event.type == "complaint.filed" and event.actor_id == filer.id
    assert event.payload["number"] == "CMP-000042" and event.payload["entryId"] == str(entry.id)
    assert event.payload["slaPolicyId"] == str(POLICY.id)
    # first response falls due 60 business minutes after filing; warning at half of it
    assert complaint.sla_next_deadline == at(2, 9, 30)
    assert complaint.sla_at_risk_at == at(2, 9, 30)


@pytest.mark.parametrize(("field", "overrides"), [
    ("subject", {"subject": " "}),
    ("subject", {"subject": "x" * 201}),
    ("description", {"description": ""}),
    ("categoryId", {"category": ComplaintCategory(uuid.uuid4(), "OLD", "Old", active=False)}),
])
def test_filing_refuses_bad_input(field: str, overrides: dict) -> None:
    args = dict(number=1, customer_id=uuid.uuid4(), category=CATEGORY, priority="LOW", channel="WEB",
                subject="s", description="d", department_id=SERVICE, by=AGENT, at=FILED)
    with pytest.raises(InvalidInput) as err:
        Complaint.file(**{**args, **overrides})  # type: ignore[arg-type]
    assert err.value.field == (field,)


def test_without_a_policy_nothing_is_ever_due() -> None:
    complaint = filed(terms=None)
    assert complaint.evaluate_sla(FILED + timedelta(days=30)) is None
    assert complaint.sla_next_deadline is None and complaint.sla_at_risk_at is None
    assert complaint.fire_due_sla_events(FILED + timedelta(days=30), customer_owner_id=uuid.uuid4()) == []


# ------------------------------------------------------------------------------ status machine


@pytest.mark.parametrize(("frm", "to"), list(itertools.product(list(S), list(S))))
def test_status_machine_over_all_pairs(frm: ComplaintStatus, to: ComplaintStatus) -> None:
    complaint = moved_to(frm)
    version_of_timeline = len(complaint.timeline)
    allowed = {
        (S.OPEN, S.ACKNOWLEDGED), (S.ACKNOWLEDGED, S.IN_PROGRESS), (S.IN_PROGRESS, S.WAITING_ON_CUSTOMER),
        (S.WAITING_ON_CUSTOMER, S.IN_PROGRESS), (S.IN_PROGRESS, S.RESOLVED), (S.WAITING_ON_CUSTOMER, S.RESOLVED),
        (S.RESOLVED, S.CLOSED), (S.RESOLVED, S.IN_PROGRESS),
    }
    assert ((frm, to) in allowed) == (to in ALLOWED_MOVES[frm])
    when = at(3, 10)
    if (frm, to) in allowed:
        entry = complaint.transition(to, by=AGENT, at=when, note="fixed it")
        assert complaint.status is to
        assert (entry.kind, entry.from_status, entry.to_status, entry.author_id, entry.at) == (
            TimelineKind.STATUS_CHANGE, frm, to, AGENT.id, when)
        [event] = complaint.collect_events()
        assert event.type == "complaint.status_changed" and event.payload["from"] == frm.value
    else:
        with pytest.raises(ForbiddenTransition) as err:
            complaint.transition(to, by=AGENT, at=when, note="fixed it")
        assert err.value.field == ("to",) and err.value.code == "FORBIDDEN_TRANSITION"
        assert complaint.status is frm and len(complaint.timeline) == version_of_timeline
        assert complaint.collect_events() == []


def test_resolving_needs_a_note_and_records_the_resolution() -> None:
    complaint = moved_to(S.IN_PROGRESS)
    with pytest.raises(InvalidInput) as err:
        complaint.transition(S.RESOLVED, by=AGENT, at=at(2, 11), note="   ")
    assert err.value.field == ("note",) and complaint.status is S.IN_PROGRESS
    complaint.transition(S.RESOLVED, by=AGENT, at=at(2, 11), note="Refunded the shipping")
    assert complaint.resolution == "Refunded the shipping" and complaint.resolved_at == at(2, 11)
    # filed 09:00, resolved 11:00 on a Monday morning: 120 business minutes
    assert complaint.resolution_minutes == 120


def test_resolution_minutes_leave_out_waiting_and_resolved_time() -> None:
    complaint = filed()
    for step, when in [(S.ACKNOWLEDGED, at(2, 9, 10)), (S.IN_PROGRESS, at(2, 9, 20)),
                       (S.WAITING_ON_CUSTOMER, at(2, 10)), (S.IN_PROGRESS, at(2, 15)),  # 4 h waiting
                       (S.RESOLVED, at(2, 16)), (S.IN_PROGRESS, at(3, 9)), (S.RESOLVED, at(3, 9, 30))]:
        complaint.transition(step, by=AGENT, at=when, note="n")
    # 09:00-10:00 and 15:00-16:00 on Monday, 09:00-09:30 on Tuesday
    assert complaint.resolution_minutes == 150


def test_reopening_clears_the_resolution_and_rating() -> None:
    complaint = moved_to(S.RESOLVED)
    complaint.rate(4, by=AGENT, at=at(2, 12))
    complaint.transition(S.IN_PROGRESS, by=AGENT, at=at(2, 13))
    assert (complaint.resolution, complaint.resolved_at, complaint.satisfaction, complaint.resolution_minutes) == (
        None, None, None, None)


# ----------------------------------------------------------------------- progress, assignment


def test_progress_is_a_timeline_entry_that_answers_first_response() -> None:
    complaint = filed()
    entry = complaint.record_progress("Called the carrier", by=AGENT, at=at(2, 9, 20), visibility="CUSTOMER")
    assert (entry.kind, entry.message, entry.visibility, entry.department_id) == (
        TimelineKind.PROGRESS, "Called the carrier", Visibility.CUSTOMER, SERVICE)
    evaluation = complaint.evaluate_sla(at(2, 10))
    assert evaluation is not None and evaluation.first_response.state is SlaTargetState.MET
    assert complaint.record_progress("internal", by=AGENT, at=at(2, 9, 30)).visibility is Visibility.INTERNAL
    assert [e.position for e in complaint.timeline] == [1, 2, 3]
    with pytest.raises(InvalidInput):
        complaint.record_progress(" ", by=AGENT, at=at(2, 9, 40))
    closed = moved_to(S.CLOSED)
    with pytest.raises(ForbiddenTransition):
        closed.record_progress("too late", by=AGENT, at=at(3, 9))


def test_a_progress_entry_says_whether_it_came_after_its_update_interval_had_run_out() -> None:
    complaint = filed()  # 240 business minutes between updates, Monday 09:00
    assert complaint.record_progress("On it", by=AGENT, at=at(2, 9, 20)).late is False
    assert complaint.record_progress("Carrier called", by=AGENT, at=at(2, 14)).late is False  # due 14:20
    assert complaint.record_progress("A batch on Tuesday", by=AGENT, at=at(3, 11)).late is True  # due Tue 09:00
    assert complaint.record_progress("Right after", by=AGENT, at=at(3, 11, 5)).late is False  # a new cycle
    assert complaint.timeline[0].kind is TimelineKind.FILED and complaint.timeline[0].late is None
    assert filed(terms=None).record_progress("No policy", by=AGENT, at=at(9, 9)).late is None
    no_interval = SlaTerms(SlaPolicy.define(name="No cadence", calendar_id=OFFICE.id, first_response_minutes=60,
                                            resolution_minutes=480), OFFICE)
    assert filed(terms=no_interval).record_progress("Whenever", by=AGENT, at=at(9, 9)).late is None


def test_who_may_handle_a_complaint() -> None:
    complaint = filed()
    outsider = person(SALES, Role.KEY_USER)
    for action in (lambda: complaint.transition(S.ACKNOWLEDGED, by=outsider, at=at(2, 10)),
                   lambda: complaint.record_progress("hi", by=outsider, at=at(2, 10))):
        with pytest.raises(NotAuthorized):
            action()
    assert complaint.timeline[-1].kind is TimelineKind.FILED
    assert complaint.handled_by(person(SALES, Role.ADMIN)) and complaint.handled_by(person(SERVICE))
    assignee = person(WAREHOUSE)
    complaint.assign(assignee, by=person(SERVICE, Role.KEY_USER), at=at(2, 10))
    assert complaint.handled_by(assignee)  # the complaint moved to the warehouse with its assignee


def test_assignment_rules_and_handover() -> None:
    complaint = filed()
    member = person(SERVICE)
    with pytest.raises(NotAuthorized):
        complaint.assign(person(SERVICE), by=member, at=at(2, 10))  # members only take it themselves
    with pytest.raises(NotAuthorized):
        complaint.assign(person(SALES), by=person(SALES, Role.MANAGER), at=at(2, 10))
    entry = complaint.assign(member, by=member, at=at(2, 10))
    assert entry is not None and entry.kind is TimelineKind.ASSIGNMENT and entry.visibility is Visibility.INTERNAL
    assert complaint.assignee_id == member.id and complaint.department_id == SERVICE
    assert complaint.assign(member, by=member, at=at(2, 11)) is None  # nothing changes
    with pytest.raises(InvalidInput) as err:
        complaint.assign(person(SERVICE, active=False), by=person(SERVICE, Role.MANAGER), at=at(2, 11))
    assert err.value.field == ("assigneeId",)
    packer = person(WAREHOUSE)
    entry = complaint.assign(packer, by=person(SERVICE, Role.KEY_USER), at=at(2, 12))
    assert entry is not None and "handed over" in (entry.message or "")
    assert complaint.department_id == WAREHOUSE and complaint.assignee_id == packer.id
    events = complaint.collect_events()
    assert [e.type for e in events] == ["complaint.assigned", "complaint.assigned"]
    assert events[-1].payload["departmentId"] == str(WAREHOUSE) and events[-1].payload["handover"] is True


def test_rating_needs_a_resolution_and_a_score_from_one_to_five() -> None:
    with pytest.raises(InvalidInput) as err:
        moved_to(S.IN_PROGRESS).rate(5, by=AGENT, at=at(2, 12))
    assert err.value.field == ("complaintId",)
    complaint = moved_to(S.RESOLVED)
    for bad in (0, 6, True):
        with pytest.raises(InvalidInput) as err:
            complaint.rate(bad, by=AGENT, at=at(2, 12))  # type: ignore[arg-type]
        assert err.value.field == ("satisfaction",)
    entry = complaint.rate(2, by=AGENT, at=at(2, 12), comment="slow")
    assert complaint.satisfaction == 2 and entry.kind is TimelineKind.CUSTOMER_FEEDBACK
    assert entry.message == "Rated 2/5: slow" and entry.visibility is Visibility.CUSTOMER
    complaint.rate(5, by=AGENT, at=at(2, 13))
    assert complaint.satisfaction == 5


def test_visibility_and_configuration_rules() -> None:
    complaint = filed(by=(filer := person(SALES)))
    owner, stranger = person(SALES), person(SALES)
    assert complaint.visible_to(filer, sees_all=False, customer_owner_id=None)
    assert complaint.visible_to(owner, sees_all=False, customer_owner_id=owner.id)
    assert not complaint.visible_to(stranger, sees_all=False, customer_owner_id=owner.id)
    assert complaint.visible_to(stranger, sees_all=True, customer_owner_id=owner.id)
    assert complaint.visible_to(person(SERVICE), sees_all=False, customer_owner_id=None)
    assert sees_all_complaints(person(SALES, Role.MANAGER), "SALES") and sees_all_complaints(person(), "SERVICE")
    assert not sees_all_complaints(person(SALES, Role.KEY_USER), "SALES")
    assert sees_all_complaints(person(SALES, Role.ADMIN), "SALES")
    assert may_configure_complaints(person(role=Role.KEY_USER), "SERVICE")
    assert may_configure_complaints(person(role=Role.MANAGER), "SERVICE")
    assert not may_configure_complaints(person(role=Role.MEMBER), "SERVICE")
    assert not may_configure_complaints(person(SALES, Role.MANAGER), "SALES")
    assert may_configure_complaints(person(SALES, Role.ADMIN), "SALES")


def test_categories_form_a_bounded_tree() -> None:
    root = ComplaintCategory.define(code="quality", name="Quality")
    child = ComplaintCategory.define(code="quality.damaged", name="Damaged", parent=root)
    assert child.code == "QUALITY.DAMAGED" and child.parent_id == root.id
    assert category_path(child.id, {root.id: None, child.id: root.id}) == [child.id, root.id]
    with pytest.raises(InvalidInput) as err:
        ComplaintCategory.define(code="x", name="X", parent=root, parent_depth=5)
    assert err.value.field == ("parentId",)
    with pytest.raises(InvalidInput) as err:
        ComplaintCategory.define(code="bad code!", name="X")
    assert err.value.field == ("code",)


# ------------------------------------------------------------------------------- escalation


def test_warnings_and_breaches_fire_exactly_once_and_escalate() -> None:
    complaint = filed()
    owner = uuid.uuid4()
    assert complaint.fire_due_sla_events(at(2, 9, 29), customer_owner_id=owner) == []
    assert complaint.fire_due_sla_events(at(2, 9, 31), customer_owner_id=owner) == []  # the warning only
    assert [e.kind for e in complaint.timeline] == [TimelineKind.FILED, TimelineKind.SLA_WARNING]
    assert complaint.sla_next_deadline == at(2, 10)  # the first-response breach
    assert complaint.fire_due_sla_events(at(2, 9, 45), customer_owner_id=owner) == []  # nothing twice

    [escalation] = complaint.fire_due_sla_events(at(2, 10, 5), customer_owner_id=owner)
    assert escalation.event.clock is ClockName.FIRST_RESPONSE and escalation.event.kind is SlaEventKind.BREACH
    assert escalation.level == 1 == complaint.escalation_level
    assert escalation.recipients == (ESCALATE_TO, owner)
    assert [e.kind for e in complaint.timeline][-2:] == [TimelineKind.SLA_BREACH, TimelineKind.ESCALATION]
    assert complaint.first_response_breached and not complaint.resolution_breached
    assert complaint.fire_due_sla_events(at(2, 10, 6), customer_owner_id=owner) == []
    events = [e.type for e in complaint.collect_events()]
    assert events == ["complaint.sla_warning", "complaint.sla_breached", "complaint.escalated"]

    # A worker that was down for days fires the resolution and cadence breaches once each, not
    # their stale warnings.
    escalations = complaint.fire_due_sla_events(at(6, 16), customer_owner_id=ESCALATE_TO)
    assert {e.event.clock for e in escalations} == {ClockName.RESOLUTION, ClockName.NEXT_UPDATE}
    assert all(e.recipients == (ESCALATE_TO,) for e in escalations)  # one notice per person
    assert complaint.escalation_level == 3 and complaint.resolution_breached
    assert complaint.fire_due_sla_events(at(9, 16), customer_owner_id=owner) == []
    assert complaint.sla_next_deadline is None
    kinds = [e.kind for e in complaint.timeline]
    assert kinds.count(TimelineKind.SLA_WARNING) == 1 and kinds.count(TimelineKind.SLA_BREACH) == 3


def test_deadline_and_risk_follow_the_complaints_history() -> None:
    complaint = filed()
    complaint.transition(S.ACKNOWLEDGED, by=AGENT, at=at(2, 9, 10))
    # first response met; next: the cadence warning (120 business minutes after filing)
    assert complaint.sla_next_deadline == at(2, 11)
    complaint.transition(S.IN_PROGRESS, by=AGENT, at=at(2, 9, 20))
    complaint.transition(S.WAITING_ON_CUSTOMER, by=AGENT, at=at(2, 9, 30))
    assert complaint.sla_next_deadline is None and complaint.sla_at_risk_at is None  # paused, nothing at risk
    complaint.transition(S.IN_PROGRESS, by=AGENT, at=at(3, 9))
    # 30 business minutes used; the cadence warning needs 90 more
    assert complaint.sla_next_deadline == at(3, 10, 30) == complaint.sla_at_risk_at
    complaint.record_progress("update", by=AGENT, at=at(3, 10))
    assert complaint.sla_next_deadline == at(3, 12)  # a new cadence cycle; resolution warns at 12:00 too
    complaint.transition(S.RESOLVED, by=AGENT, at=at(3, 11), note="done")
    assert complaint.sla_next_deadline is None and complaint.sla_at_risk_at is None


def test_terms_are_fixed_at_filing() -> None:
    complaint = filed()
    assert complaint.terms is TERMS
    with pytest.raises(ValueError):
        SlaTerms(POLICY, BusinessCalendar.define("Other", "UTC", [(1, "09:00", "17:00")]))


# --------------------------------------------------------------------------- activity projection


def test_complaint_work_shows_in_the_customer_activity_but_the_clocks_do_not() -> None:
    from application.activity import activity_for

    complaint = Complaint.file(number=7, customer_id=(customer := uuid.uuid4()), category=CATEGORY, priority="URGENT",
                               channel="WEB", subject="Lid broken", description="d", department_id=SERVICE,
                               by=(filer := person(SALES)), at=FILED, terms=TERMS)
    complaint.record_progress("Replacement sent", by=AGENT, at=at(2, 9, 10))
    complaint.transition(S.ACKNOWLEDGED, by=AGENT, at=at(2, 9, 20))
    complaint.fire_due_sla_events(at(3, 16), customer_owner_id=None)
    records = [activity_for(e) for e in complaint.collect_events()]
    shown = [r for r in records if r is not None]
    assert [r.summary for r in shown] == [
        "CMP-000007 filed (urgent priority): Lid broken", "CMP-000007 progress: Replacement sent",
        "CMP-000007 OPEN → ACKNOWLEDGED", "CMP-000007 next update target breached",
        "CMP-000007 resolution target breached"]
    assert {(r.customer_id, r.kind, r.subject_type, r.subject_id) for r in shown} == {
        (customer, "COMPLAINT", "Complaint", complaint.id)}
    assert (shown[0].actor_id, shown[0].department_id) == (filer.id, SALES)
    assert shown[-1].actor_id is None and shown[-1].department_id == SERVICE
    assert len(records) - len(shown) == 2  # the escalation notices stay in the timeline

"""The customer activity feed as a projection of domain events (application/activity.py)."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from application.activity import SUMMARY_LENGTH, ActivityRecord, activity_for
from domain.customer import Customer, CustomerKind, Interaction, InteractionKind, LifecycleStage
from domain.organisation import Role, Staff
from domain.shared import StoredEvent

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
ALICE = uuid.uuid4()
SALES = uuid.uuid4()


def registered(stage: LifecycleStage | None = None) -> Customer:
    return Customer.register(code="ACME", name="Acme", kind=CustomerKind.COMPANY, at=T0, by=ALICE, stage=stage)


def test_registration_shows_as_a_stage_change() -> None:
    c = registered(LifecycleStage.PROSPECT)
    [event] = c.collect_events()
    assert activity_for(event) == ActivityRecord(
        customer_id=c.id, at=T0, kind="STAGE_CHANGE", actor_id=ALICE, department_id=None,
        summary="Registered as PROSPECT", subject_type=None, subject_id=None, event_id=event.id)


def test_a_stage_change_with_a_reason() -> None:
    c = registered(LifecycleStage.AT_RISK)
    c.collect_events()
    later = T0 + timedelta(days=2)
    c.change_stage(LifecycleStage.CHURNED, at=later, by=ALICE, reason="Moved to a competitor")
    [event] = c.collect_events()
    record = activity_for(event)
    assert record is not None
    assert (record.customer_id, record.at, record.kind, record.actor_id, record.event_id) == (
        c.id, later, "STAGE_CHANGE", ALICE, event.id)
    assert record.summary == "Stage AT_RISK → CHURNED: Moved to a competitor"
    assert record.department_id is None and record.subject_type is None and record.subject_id is None


def test_a_stage_change_without_a_reason() -> None:
    c = registered()
    c.collect_events()
    c.change_stage(LifecycleStage.PROSPECT, at=T0, by=None)
    record = activity_for(c.collect_events()[0])
    assert record is not None
    assert record.summary == "Stage LEAD → PROSPECT"
    assert record.actor_id is None


def test_a_long_reason_is_shortened_to_the_summary_length() -> None:
    c = registered(LifecycleStage.CHURNED)
    c.collect_events()
    c.change_stage(LifecycleStage.ACTIVE, at=T0, by=ALICE, reason="r" * 1000)
    record = activity_for(c.collect_events()[0])
    assert record is not None
    assert SUMMARY_LENGTH == 280
    assert len(record.summary) == SUMMARY_LENGTH
    assert record.summary.startswith("Stage CHURNED → ACTIVE: rrr") and record.summary.endswith("…")


def interaction(kind: InteractionKind = InteractionKind.CALL, summary: str = "Talked about renewal",
                rating: int | None = None, department: uuid.UUID | None = SALES,
                occurred_at: datetime | None = None) -> Interaction:
    return Interaction.log(customer_id=uuid.uuid4(), kind=kind, summary=summary, occurred_at=occurred_at,
                           author_id=ALICE, department_id=department, rating=rating, at=T0)


def test_an_interaction_shows_under_its_department_at_the_time_it_happened() -> None:
    happened = T0 - timedelta(days=3)
    i = interaction(occurred_at=happened)
    [event] = i.collect_events()
    assert activity_for(event) == ActivityRecord(
        customer_id=i.customer_id, at=happened, kind="INTERACTION", actor_id=ALICE, department_id=SALES,
        summary="Call: Talked about renewal", subject_type="Interaction", subject_id=i.id, event_id=event.id)


def test_rated_feedback_shows_its_rating() -> None:
    i = interaction(InteractionKind.FEEDBACK, "Great service", rating=4)
    record = activity_for(i.collect_events()[0])
    assert record is not None and record.summary == "Feedback (rated 4/5): Great service"


@pytest.mark.parametrize(("kind", "label"), [(InteractionKind.EMAIL, "Email"), (InteractionKind.MEETING, "Meeting"),
                                             (InteractionKind.NOTE, "Note")])
def test_interaction_kinds_are_labelled(kind: InteractionKind, label: str) -> None:
    record = activity_for(interaction(kind, "x").collect_events()[0])
    assert record is not None and record.summary == f"{label}: x"


def test_an_interaction_without_a_department() -> None:
    record = activity_for(interaction(department=None).collect_events()[0])
    assert record is not None and record.department_id is None


def test_interaction_summaries_are_shortened() -> None:
    exact = "s" * (SUMMARY_LENGTH - len("Call: "))
    record = activity_for(interaction(summary=exact).collect_events()[0])
    assert record is not None and record.summary == f"Call: {exact}"
    record = activity_for(interaction(summary=exact + "s").collect_events()[0])
    assert record is not None
    assert len(record.summary) == SUMMARY_LENGTH and record.summary.endswith("s…")


def test_events_that_are_not_customer_activity_project_to_nothing() -> None:
    c = registered()
    c.collect_events()
    c.update(at=T0, by=ALICE, name="Renamed")
    [updated] = c.collect_events()
    admin = Staff(id=uuid.uuid4(), name="A", email="a@example.com", department_id=SALES, role=Role.ADMIN)
    hired = Staff.hire(by=admin, name="B", email="b@example.com", department_id=SALES, role=Role.MEMBER, at=T0)
    [created] = hired.collect_events()
    other = StoredEvent.of(type="order.placed", aggregate_type="order", aggregate_id=uuid.uuid4(), occurred_at=T0,
                           payload={})
    assert activity_for(updated) is None
    assert activity_for(created) is None
    assert activity_for(other) is None

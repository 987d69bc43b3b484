"""The rollout's rules at domain level (domain/rollout.py)."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from domain.organisation import Role, Staff
from domain.rollout import (
    DepartmentRollout,
    RolloutPhase,
    RolloutPhaseChanged,
    StaffTrained,
    checklist_for,
    item_done,
    may_run_rollout,
)
from domain.shared import Conflict, ForbiddenTransition, InvalidInput, NotAuthorized

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SALES, FINANCE = uuid.uuid4(), uuid.uuid4()
P = RolloutPhase


def person(role: Role, department: uuid.UUID = SALES, active: bool = True) -> Staff:
    return Staff(id=uuid.uuid4(), name="X", email=f"{uuid.uuid4().hex}@x.example", department_id=department,
                 role=role, active=active)


def rollout() -> DepartmentRollout:
    return DepartmentRollout.started(SALES, "SALES")


def test_admins_and_the_departments_managers_and_key_users_run_it() -> None:
    assert may_run_rollout(person(Role.ADMIN, FINANCE), SALES)
    assert may_run_rollout(person(Role.MANAGER), SALES) and may_run_rollout(person(Role.KEY_USER), SALES)
    assert not may_run_rollout(person(Role.MEMBER), SALES)
    assert not may_run_rollout(person(Role.MANAGER, FINANCE), SALES)
    assert not may_run_rollout(person(Role.ADMIN, active=False), SALES)
    with pytest.raises(NotAuthorized):
        rollout().move_to(P.DATA_COLLECTION, by=person(Role.MEMBER), at=NOW, expected_version=99)  # before version


def test_forward_one_step_at_a_time_and_back_one_with_a_note() -> None:
    r, by = rollout(), person(Role.MANAGER)
    with pytest.raises(ForbiddenTransition) as skipped:
        r.move_to(P.TRAINING, by=by, at=NOW)
    assert skipped.value.field == ("phase",) and "DATA_COLLECTION" in skipped.value.message
    assert r.move_to(P.DATA_COLLECTION, by=by, at=NOW) and r.phase is P.DATA_COLLECTION
    assert not r.move_to(P.DATA_COLLECTION, by=by, at=NOW)  # where it is: nothing recorded
    with pytest.raises(InvalidInput) as no_note:
        r.move_to(P.SURVEY, by=by, at=NOW, note="  ")
    assert no_note.value.field == ("note",)
    assert r.move_to(P.SURVEY, by=by, at=NOW, note="back to the survey")
    events = r.collect_events()
    assert [(e.from_, e.to, e.note) for e in events if isinstance(e, RolloutPhaseChanged)] == [
        (P.SURVEY, P.DATA_COLLECTION, None), (P.DATA_COLLECTION, P.SURVEY, "back to the survey")]
    assert events[0].type == "rollout.phase_changed" and events[0].payload["from"] == "SURVEY"
    assert [(c.from_phase, c.to_phase) for c in r.unsaved_changes] == [(P.SURVEY, P.DATA_COLLECTION),
                                                                       (P.DATA_COLLECTION, P.SURVEY)]


def test_a_stale_version_is_a_conflict() -> None:
    with pytest.raises(Conflict):
        rollout().move_to(P.DATA_COLLECTION, by=person(Role.ADMIN), at=NOW, expected_version=3)


def test_checklist_targets_are_the_departments_items_and_done_follows_the_count() -> None:
    r, by = rollout(), person(Role.KEY_USER)
    assert [i.key for i in checklist_for("sales")] == ["customers", "contacts", "products", "workflow_definitions"]
    assert r.set_target("customers", target=10, done=None, by=by, at=NOW)
    assert not r.set_target("customers", target=10, done=False, by=by, at=NOW)
    for key, target, field in (("sla_policies", 1, "key"), ("customers", -1, "target")):
        with pytest.raises(InvalidInput) as refused:
            r.set_target(key, target=target, done=None, by=by, at=NOW)
        assert refused.value.field == (field,)
    assert not item_done(9, 10, False) and item_done(10, 10, False) and item_done(0, None, True)
    assert not item_done(5, None, False)


def test_training_is_not_in_the_future_and_only_of_active_staff_of_the_department() -> None:
    r, by = rollout(), person(Role.KEY_USER)
    member = person(Role.MEMBER)
    for staff, when, field in ((member, NOW + timedelta(seconds=1), "trainedAt"),
                               (member, datetime(2026, 1, 1), "trainedAt"),
                               (person(Role.MEMBER, active=False), None, "staffId"),
                               (person(Role.MEMBER, FINANCE), None, "staffId")):
        with pytest.raises(InvalidInput) as refused:
            r.mark_trained(staff, by=by, at=NOW, trained_at=when)
        assert refused.value.field == (field,)
    training = r.mark_trained(member, by=by, at=NOW)
    assert (training.trained_at, training.marked_by) == (NOW, by.id)
    assert [type(e) for e in r.collect_events()] == [StaffTrained]

"""The event feed's rules without a database: reading `types` (exact names, prefixes, everything) and who
may read the feed."""
from __future__ import annotations

import uuid

import pytest

from application.queries.events import MAX_TYPE_FILTERS, EventFilter, may_read_event_feed, require_feed_reader
from domain.organisation import Role, Staff
from domain.shared import InvalidInput, LimitExceeded, NotAuthorized


def test_exact_names_and_prefixes() -> None:
    parsed = EventFilter.parse(["complaint.filed", "order.*", " Workflow.Step_Decided ", "order.*"])
    assert parsed == EventFilter(types=("complaint.filed", "workflow.step_decided"), prefixes=("order.",))
    assert parsed.matches("order.shipped") and parsed.matches("complaint.filed")
    assert not parsed.matches("complaint.assigned") and not parsed.matches("orders.confirmed")
    assert not parsed.matches("order")


@pytest.mark.parametrize("types", [None, [], ["*"], ["order.confirmed", "*"]])
def test_nothing_or_a_star_means_everything(types: list[str] | None) -> None:
    parsed = EventFilter.parse(types)
    assert parsed.everything and parsed.matches("anything.at_all")


@pytest.mark.parametrize("types, index", [
    (["order confirmed"], 0), (["order.confirmed", "*.created"], 1), (["order.%"], 0), ([""], 0), (["order."], 0),
    (["order.**"], 0), (["order.*.shipped"], 0), ([".order"], 0), (["o" * 101], 0), (["order.conf_irmed", "é.x"], 1),
])
def test_anything_else_is_invalid_and_named(types: list[str], index: int) -> None:
    with pytest.raises(InvalidInput) as err:
        EventFilter.parse(types)
    assert err.value.field == ("types", str(index))


def test_at_most_fifty_patterns() -> None:
    EventFilter.parse(["order.*"] * MAX_TYPE_FILTERS)
    with pytest.raises(LimitExceeded):
        EventFilter.parse(["order.*"] * (MAX_TYPE_FILTERS + 1))


@pytest.mark.parametrize("role, allowed", [(Role.MEMBER, False), (Role.KEY_USER, True), (Role.MANAGER, True),
                                           (Role.ADMIN, True)])
def test_key_users_managers_and_admins_read_the_feed(role: Role, allowed: bool) -> None:
    staff = Staff(id=uuid.uuid4(), name="Reader", email="reader@example.com", department_id=uuid.uuid4(), role=role)
    assert may_read_event_feed(staff) is allowed
    if not allowed:
        with pytest.raises(NotAuthorized):
            require_feed_reader(staff)
    staff.active = False
    assert not may_read_event_feed(staff)

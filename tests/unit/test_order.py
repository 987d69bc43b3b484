"""The Order aggregate's status machine over all pairs, who may move orders where, placing an order on
confirmation, and the order.<status> events each move records."""
from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from domain.order import (
    BOARD_STATUSES,
    ORDER_MOVES,
    STATUS_EVENT_TYPES,
    Order,
    OrderStatus,
    may_move_order,
    status_event_type,
)
from domain.organisation import Role, Staff
from domain.shared import Conflict, ForbiddenTransition, InvalidInput, NotAuthorized

S = OrderStatus
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CUSTOMER = uuid.uuid4()
ALLOWED = {
    (S.DRAFT, S.CONFIRMED), (S.DRAFT, S.CANCELLED),
    (S.CONFIRMED, S.IN_FULFILLMENT), (S.CONFIRMED, S.CANCELLED),
    (S.IN_FULFILLMENT, S.SHIPPED), (S.SHIPPED, S.INVOICED), (S.INVOICED, S.PAID),
}
# the shortest way from DRAFT to each status
PATHS = {
    S.DRAFT: [], S.CONFIRMED: [S.CONFIRMED], S.CANCELLED: [S.CANCELLED],
    S.IN_FULFILLMENT: [S.CONFIRMED, S.IN_FULFILLMENT], S.SHIPPED: [S.CONFIRMED, S.IN_FULFILLMENT, S.SHIPPED],
    S.INVOICED: [S.CONFIRMED, S.IN_FULFILLMENT, S.SHIPPED, S.INVOICED],
    S.PAID: [S.CONFIRMED, S.IN_FULFILLMENT, S.SHIPPED, S.INVOICED, S.PAID],
}


def person(role: Role = Role.MEMBER, *, active: bool = True) -> Staff:
    return Staff(id=uuid.uuid4(), name="Someone", email="someone@example.com", department_id=uuid.uuid4(),
                 role=role, active=active)


def new_order(owner: uuid.UUID | None = None, **lines: object) -> Order:
    order = Order.create(number="SO-000042", customer_id=CUSTOMER, owner_id=owner, currency="EUR",
                         lines=[{"sku": "BOLT", "description": None, "quantity": "3", "unit_price": "10.005",
                                 "discount_percent": "10", **lines}], at=T0, by=None)
    order.collect_events()
    return order


def order_in(status: OrderStatus) -> Order:
    order = new_order()
    for n, step in enumerate(PATHS[status], start=1):
        order.transition(step, at=T0 + timedelta(hours=n), by=None)
    order.collect_events()
    return order


def test_the_machine_is_the_documented_one() -> None:
    assert {(a, b) for a, targets in ORDER_MOVES.items() for b in targets} == ALLOWED
    assert BOARD_STATUSES == (S.DRAFT, S.CONFIRMED, S.IN_FULFILLMENT, S.SHIPPED, S.INVOICED, S.PAID, S.CANCELLED)


@pytest.mark.parametrize("start, to", list(itertools.product(OrderStatus, OrderStatus)))
def test_every_pair_of_statuses(start: OrderStatus, to: OrderStatus) -> None:
    order = order_in(start)
    before = (order.status, order.placed_at, order.updated_at)
    if (start, to) in ALLOWED:
        order.transition(to, at=T0 + timedelta(days=1), by=None)
        assert order.status is to and order.updated_at == T0 + timedelta(days=1)
        [event] = order.collect_events()
        assert event.type == f"order.{to.value.lower()}" == status_event_type(to)
        assert (event.payload["from"], event.payload["to"]) == (start.value, to.value)
    else:
        with pytest.raises(ForbiddenTransition) as err:
            order.transition(to, at=T0 + timedelta(days=1), by=None)
        assert err.value.field == ("to",)
        allowed = [b.value for b in OrderStatus if (start, b) in ALLOWED]  # the refusal lists the way on
        assert all(name in err.value.message.split(".", 1)[1] for name in allowed)
        assert err.value.message.endswith(f"{start.value} is final." if not allowed else f"{allowed[-1]}.")
        assert (order.status, order.placed_at, order.updated_at) == before
        assert order.collect_events() == []


def test_paid_and_cancelled_are_final_and_nothing_leads_back_to_draft() -> None:
    assert ORDER_MOVES[S.PAID] == ORDER_MOVES[S.CANCELLED] == frozenset()
    assert all(S.DRAFT not in targets for targets in ORDER_MOVES.values())


def test_confirming_places_the_order_and_later_moves_keep_the_moment() -> None:
    order = new_order()
    assert order.placed_at is None
    placed = T0 + timedelta(hours=2)
    order.transition("CONFIRMED", at=placed, by=None)
    assert order.placed_at == placed
    order.transition(S.IN_FULFILLMENT, at=placed + timedelta(hours=1), by=None)
    assert order.placed_at == placed


def test_cancelling_a_draft_places_nothing() -> None:
    order = new_order()
    order.transition(S.CANCELLED, at=T0, by=None)
    assert order.placed_at is None


def test_a_confirmed_order_needs_at_least_one_line() -> None:
    order = new_order()
    order.lines.clear()  # no use case removes lines yet; the rule guards the day one does
    with pytest.raises(ForbiddenTransition, match="at least one"):
        order.transition(S.CONFIRMED, at=T0, by=None)
    assert order.status is S.DRAFT and order.placed_at is None
    order.transition(S.CANCELLED, at=T0, by=None)  # an empty draft may still be cancelled


def test_an_unknown_status_is_invalid_input() -> None:
    with pytest.raises(InvalidInput) as err:
        new_order().transition("LOST", at=T0, by=None)
    assert err.value.field == ("to",)


def test_the_event_carries_what_subscribers_need() -> None:
    actor = uuid.uuid4()
    owner = uuid.uuid4()
    order = new_order(owner=owner)
    order.transition(S.CONFIRMED, at=T0, by=actor)
    [event] = order.collect_events()
    assert (event.type, event.aggregate_type, event.aggregate_id, event.actor_id, event.occurred_at) == (
        "order.confirmed", "order", order.id, actor, T0)
    assert event.payload == {"number": "SO-000042", "customerId": str(CUSTOMER), "currency": "EUR",
                             "total": "27.00", "ownerId": str(owner), "from": "DRAFT", "to": "CONFIRMED",
                             "status": "CONFIRMED", "advancePayment": "NONE", "placedAt": T0.isoformat()}
    assert STATUS_EVENT_TYPES == {"order.confirmed", "order.in_fulfillment", "order.shipped", "order.invoiced",
                                  "order.paid", "order.cancelled"}


def test_every_event_carries_the_order_as_the_event_left_it() -> None:
    """Subscribers filter on the event's own status (`orderEvents(statuses:)`), so each event, the advance
    payment's included, says what the order's status was right after it."""
    order = Order.create(number="SO-000042", customer_id=CUSTOMER, owner_id=None, currency="EUR",
                         lines=[{"sku": "BOLT", "description": None, "quantity": "1", "unit_price": "1",
                                 "discount_percent": "0"}], at=T0, by=None)
    order.transition(S.CONFIRMED, at=T0, by=None)
    order.request_advance_payment(at=T0, by=None, workflow_id=uuid.uuid4())
    order.transition(S.IN_FULFILLMENT, at=T0, by=None)
    assert [(e.type, e.payload["status"], e.payload["advancePayment"], e.payload["placedAt"])
            for e in order.collect_events()] == [
        ("order.created", "DRAFT", "NONE", None), ("order.confirmed", "CONFIRMED", "NONE", T0.isoformat()),
        ("order.advance_payment_changed", "CONFIRMED", "REQUESTED", T0.isoformat()),
        ("order.in_fulfillment", "IN_FULFILLMENT", "REQUESTED", T0.isoformat())]


def test_a_stale_version_is_a_conflict() -> None:
    order = new_order()
    order.version = 3
    order.check_version(3)
    with pytest.raises(Conflict):
        order.check_version(2)


# ------------------------------------------------------------------------------------------ authority

DEPARTMENT_OF = {S.CONFIRMED: "SALES", S.CANCELLED: "SALES", S.IN_FULFILLMENT: "WAREHOUSE",
                 S.SHIPPED: "WAREHOUSE", S.INVOICED: "FINANCE", S.PAID: "FINANCE"}
DEPARTMENTS = ["SALES", "WAREHOUSE", "FINANCE", "SERVICE", "MARKETING", None]


@pytest.mark.parametrize("to", list(DEPARTMENT_OF))
@pytest.mark.parametrize("department", DEPARTMENTS)
@pytest.mark.parametrize("role", [Role.MEMBER, Role.KEY_USER, Role.MANAGER])
def test_each_target_status_is_one_departments_work(to: OrderStatus, department: str | None, role: Role) -> None:
    actor = person(role)
    assert may_move_order(actor, department, None, to) is (department == DEPARTMENT_OF[to])


@pytest.mark.parametrize("to", list(OrderStatus))
@pytest.mark.parametrize("department", DEPARTMENTS)
def test_admins_move_orders_anywhere(to: OrderStatus, department: str | None) -> None:
    assert may_move_order(person(Role.ADMIN), department, None, to)


@pytest.mark.parametrize("to", list(DEPARTMENT_OF))
def test_the_owner_confirms_and_cancels_whatever_their_department(to: OrderStatus) -> None:
    owner = person()
    assert may_move_order(owner, "MARKETING", owner.id, to) is (DEPARTMENT_OF[to] == "SALES")
    assert not may_move_order(person(), "MARKETING", owner.id, to)


def test_inactive_staff_move_nothing() -> None:
    assert not may_move_order(person(Role.ADMIN, active=False), "SALES", None, S.CONFIRMED)


def test_draft_is_left_to_the_machine() -> None:
    order = order_in(S.CONFIRMED)
    warehouse = person()
    order.require_mover(warehouse, "WAREHOUSE", S.DRAFT)  # not a refusal of authority ...
    with pytest.raises(ForbiddenTransition):  # ... but of the move
        order.transition(S.DRAFT, at=T0, by=warehouse.id)


def test_require_mover_refuses_with_not_authorized_whatever_the_state() -> None:
    for status in OrderStatus:
        with pytest.raises(NotAuthorized, match="warehouse"):
            order_in(status).require_mover(person(Role.MANAGER), "SALES", S.SHIPPED)

"""The Opportunity aggregate: stages, probabilities across moves, weighted money half-even, LOST needs a reason,
WON is final and fixes its order's id, closed deals keep their numbers, who may do what, the events."""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from domain.money import Money
from domain.opportunity import (
    Opportunity,
    OpportunityCreated,
    OpportunityLost,
    OpportunityStage,
    OpportunityStageChanged,
    OpportunityStageKind,
    OpportunityUpdated,
    OpportunityWon,
    may_define_stages,
    may_edit,
    may_sell,
    opportunity_number,
)
from domain.organisation import Role, Staff
from domain.shared import Conflict, ForbiddenTransition, InvalidInput, NotAuthorized

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
K = OpportunityStageKind
ADMIN = Staff(id=uuid.uuid4(), name="Admin", email="admin@x.example", department_id=uuid.uuid4(), role=Role.ADMIN)


def person(role: Role = Role.MEMBER, *, active: bool = True) -> Staff:
    return Staff(id=uuid.uuid4(), name="P", email=f"{uuid.uuid4().hex}@x.example", department_id=uuid.uuid4(),
                 role=role, active=active)


def stage(name: str, probability: int, kind: K = K.OPEN, position: int = 10) -> OpportunityStage:
    return OpportunityStage.define(name=name, position=position, probability=probability, kind=kind, by=ADMIN,
                                   department_code=None)


QUALIFICATION, PROPOSAL, NEGOTIATION = stage("Qualification", 10), stage("Proposal", 40), stage("Negotiation", 70)
WON, LOST = stage("Won", 100, K.WON), stage("Lost", 0, K.LOST)


def deal(amount: str = "1000.00", currency: str = "EUR", probability: int | None = None,
         owner: Staff | None = None) -> tuple[Opportunity, Staff]:
    seller = owner or person()
    return Opportunity.open(number=opportunity_number(42), name="Deal", customer_id=uuid.uuid4(), owner=seller,
                            stage=QUALIFICATION, amount=amount, currency=currency, probability=probability,
                            expected_close_date=date(2026, 4, 1), by=seller, department_code="SALES", at=T0), seller


def test_numbers_and_the_opening_event() -> None:
    opportunity, seller = deal()
    assert opportunity.number == "OPP-000042" and opportunity_number(1_234_567) == "OPP-1234567"
    [event] = opportunity.collect_events()
    assert isinstance(event, OpportunityCreated) and event.type == "opportunity.created"
    assert event.payload["stage"] == "Qualification" and event.payload["amount"] == "1000.00"
    assert event.payload["expectedCloseDate"] == "2026-04-01" and event.payload["probability"] == 10
    assert [(c.from_stage_id, c.to_stage_id, c.by) for c in opportunity.history] == [(None, QUALIFICATION.id, seller.id)]


@pytest.mark.parametrize("amount, currency, probability, weighted", [
    ("10.05", "EUR", 10, "1.00"),     # 1.005 -> 1.00 (half-even: to the even cent)
    ("10.15", "EUR", 10, "1.02"),     # 1.015 -> 1.02
    ("1005", "JPY", 50, "502"),       # no minor unit: 502.5 -> 502
    ("1015", "JPY", 50, "508"),       # 507.5 -> 508
    ("1.2345", "BHD", 50, "0.617"),   # three decimals: the amount is 1.234 (half-even), 0.617 weighted
    ("999.99", "EUR", 0, "0.00"),
])
def test_weighted_amounts_are_exact_and_half_even(amount: str, currency: str, probability: int, weighted: str) -> None:
    opportunity, _ = deal(amount, currency, probability)
    assert opportunity.weighted_amount == Money(Decimal(weighted), currency)


def test_every_move_resets_the_probability_to_the_new_stages_default() -> None:
    opportunity, seller = deal(probability=35)
    assert opportunity.probability == 35
    opportunity.move(PROPOSAL, by=seller, department_code="SALES", at=T0)
    assert opportunity.probability == 40
    assert opportunity.update(by=seller, department_code="SALES", at=T0, probability=55)
    opportunity.move(NEGOTIATION, by=seller, department_code="SALES", at=T0)
    assert opportunity.probability == 70
    events = opportunity.collect_events()
    assert [type(e) for e in events] == [OpportunityCreated, OpportunityStageChanged, OpportunityUpdated,
                                         OpportunityStageChanged]
    assert events[1].payload["fromStage"] == "Qualification" and events[1].payload["stage"] == "Proposal"
    assert events[2].payload["changed"] == ["probability"]


def test_lost_needs_a_reason_and_can_be_reopened() -> None:
    opportunity, seller = deal()
    with pytest.raises(InvalidInput) as refused:
        opportunity.move(LOST, by=seller, department_code="SALES", at=T0)
    assert refused.value.field == ("lostReason",) and opportunity.stage is QUALIFICATION
    with pytest.raises(InvalidInput):
        opportunity.move(PROPOSAL, by=seller, department_code="SALES", at=T0, lost_reason="not lost")
    opportunity.move(LOST, by=seller, department_code="SALES", at=T0, lost_reason="  Budget cut ")
    assert (opportunity.lost_reason, opportunity.probability) == ("Budget cut", 0)
    assert isinstance(opportunity.pending_events[-1], OpportunityLost)
    with pytest.raises(ForbiddenTransition):
        opportunity.update(by=seller, department_code="SALES", at=T0, amount=("5", "EUR"))
    opportunity.move(PROPOSAL, by=seller, department_code="SALES", at=T0)
    assert (opportunity.lost_reason, opportunity.probability) == (None, 40)


def test_winning_fixes_the_orders_id_and_lines_and_is_final() -> None:
    opportunity, seller = deal("1234.56", "USD")
    opportunity.move(WON, by=seller, department_code="SALES", at=T0)
    event = opportunity.pending_events[-1]
    assert isinstance(event, OpportunityWon) and event.type == "opportunity.won"
    assert opportunity.order_id is not None and event.order_id == opportunity.order_id
    assert event.order_lines == [{"sku": "OPP-000042", "description": "Deal", "quantity": Decimal(1),
                                  "unit_price": Decimal("1234.56"), "discount_percent": None}]
    assert "orderLines" not in event.payload  # for the handler only
    for to in (PROPOSAL, LOST, WON):
        with pytest.raises(ForbiddenTransition):
            opportunity.move(to, by=seller, department_code="SALES", at=T0, lost_reason="x" if to is LOST else None)


def line(sku: str, price: str) -> dict:
    return {"sku": sku, "description": None, "quantity": "1", "unit_price": price, "discount_percent": None}


def test_given_order_lines_are_checked_at_the_move() -> None:
    opportunity, seller = deal()
    with pytest.raises(InvalidInput) as bad:
        opportunity.move(WON, by=seller, department_code="SALES", at=T0, order_lines=[
            line("A", "1"), line("B", "-1")])
    assert bad.value.field == ("orderLines", "1", "unitPrice") and opportunity.order_id is None
    with pytest.raises(InvalidInput):
        opportunity.move(WON, by=seller, department_code="SALES", at=T0, order_lines=[])
    with pytest.raises(InvalidInput):
        opportunity.move(PROPOSAL, by=seller, department_code="SALES", at=T0,
                         order_lines=[line("A", "1")])


def test_versions_and_the_same_stage() -> None:
    opportunity, seller = deal()
    opportunity.version = 3
    with pytest.raises(Conflict):
        opportunity.move(PROPOSAL, by=seller, department_code="SALES", at=T0, expected_version=2)
    with pytest.raises(ForbiddenTransition):
        opportunity.move(QUALIFICATION, by=seller, department_code="SALES", at=T0)
    assert not opportunity.update(by=seller, department_code="SALES", at=T0, name="Deal")  # nothing changes


def test_who_may_do_what() -> None:
    member, key, manager = person(), person(Role.KEY_USER), person(Role.MANAGER)
    assert may_sell(member, "SALES") and not may_sell(member, "SERVICE") and may_sell(ADMIN, None)
    assert not may_sell(person(active=False), "SALES")
    assert not may_define_stages(member, "SALES") and may_define_stages(key, "SALES")
    assert may_define_stages(manager, "SALES") and not may_define_stages(manager, "SERVICE")
    owner = person()
    assert may_edit(owner, "FINANCE", owner.id) and not may_edit(member, "SALES", owner.id)
    assert may_edit(key, "SALES", owner.id) and not may_edit(key, "SERVICE", owner.id)
    opportunity, _ = deal(owner=owner)
    with pytest.raises(NotAuthorized):
        opportunity.move(PROPOSAL, by=member, department_code="SALES", at=T0)
    with pytest.raises(NotAuthorized):
        Opportunity.open(number="OPP-000001", name="x", customer_id=uuid.uuid4(), owner=member, stage=QUALIFICATION,
                         amount="1", currency="EUR", by=member, department_code="SERVICE", at=T0)
    with pytest.raises(NotAuthorized):
        OpportunityStage.define(name="x", position=1, probability=1, kind=K.OPEN, by=member, department_code="SALES")


@pytest.mark.parametrize("kind, probability", [(K.WON, 90), (K.LOST, 10), (K.OPEN, 101), (K.OPEN, -1)])
def test_stage_probabilities(kind: K, probability: int) -> None:
    with pytest.raises(InvalidInput):
        stage("x", probability, kind)


def test_a_new_deal_starts_open_with_a_sane_amount() -> None:
    seller = person()
    for stage_, amount, currency in ((WON, "1", "EUR"), (QUALIFICATION, "-1", "EUR"), (QUALIFICATION, "1", "XYZ"),
                                     (QUALIFICATION, "1e20", "EUR")):
        with pytest.raises(InvalidInput):
            Opportunity.open(number="OPP-000001", name="x", customer_id=uuid.uuid4(), owner=seller, stage=stage_,
                             amount=amount, currency=currency, by=seller, department_code="SALES",
                             at=T0 + timedelta(days=1))

"""The Campaign aggregate: planning it (who, dates, budget), its status machine, its members' forward-only machine
over every pair (forward jumps allowed, never back, OPTED_OUT final), respondedAt, segments, and the events."""
from __future__ import annotations

import itertools
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from domain.campaign import (
    CAMPAIGN_MOVES,
    FUNNEL,
    MEMBER_MOVES,
    Campaign,
    CampaignCreated,
    CampaignMember,
    CampaignMemberStatus,
    CampaignResponseRecorded,
    CampaignStatus,
    Segment,
    may_create_campaign,
    may_run_campaign,
)
from domain.customer import CustomerTier
from domain.money import Money
from domain.organisation import Role, Staff
from domain.shared import ForbiddenTransition, InvalidInput, NotAuthorized

M = CampaignMemberStatus
C = CampaignStatus
T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def person(role: Role = Role.MEMBER, *, active: bool = True) -> Staff:
    return Staff(id=uuid.uuid4(), name="P", email=f"{uuid.uuid4().hex}@x.example", department_id=uuid.uuid4(),
                 role=role, active=active)


def planned(by: Staff | None = None, **fields: object) -> Campaign:
    values: dict = {"name": "Spring mailing", "channel": "EMAIL", "starts_on": None, "ends_on": None,
                    "budget_amount": None, "budget_currency": None, **fields}
    return Campaign.plan(by=by or person(), department_code="MARKETING", at=T0, **values)


def member(campaign: Campaign, status: CampaignMemberStatus = M.TARGETED) -> CampaignMember:
    made = campaign.new_member(uuid.uuid4(), contact_id=None, at=T0)
    made.status = status
    return made


def test_marketing_plans_a_campaign_with_an_exact_budget() -> None:
    owner = person()
    campaign = planned(owner, starts_on=date(2027, 3, 1), ends_on=date(2027, 3, 1), budget_amount="100.125",
                       budget_currency="eur")
    assert campaign.status is C.PLANNED and campaign.owner_id == owner.id
    assert campaign.budget == Money(Decimal("100.12"), "EUR")  # half-even
    (event,) = campaign.pending_events
    assert isinstance(event, CampaignCreated) and event.type == "campaign.created"
    assert event.payload == {"name": "Spring mailing", "channel": "EMAIL", "status": "PLANNED",
                             "ownerId": str(owner.id), "startsOn": "2027-03-01", "endsOn": "2027-03-01",
                             "budget": "100.12", "currency": "EUR"}


@pytest.mark.parametrize("fields, field", [
    ({"name": " "}, ("name",)),
    ({"channel": "x" * 51}, ("channel",)),
    ({"starts_on": date(2027, 3, 2), "ends_on": date(2027, 3, 1)}, ("endsOn",)),
    ({"budget_amount": "-0.01", "budget_currency": "EUR"}, ("budget", "amount")),
    ({"budget_amount": "1e12", "budget_currency": "EUR"}, ("budget", "amount")),
    ({"budget_amount": "10", "budget_currency": "XXX"}, ("budget", "currency")),
    ({"budget_amount": None, "budget_currency": "EUR"}, ("budget", "amount")),
])
def test_bad_campaigns_are_refused_naming_the_field(fields: dict, field: tuple[str, ...]) -> None:
    with pytest.raises(InvalidInput) as raised:
        planned(**fields)
    assert raised.value.field == field


def test_only_marketing_and_admins_create_campaigns_and_authority_comes_first() -> None:
    for role in Role:
        staff = person(role)
        assert may_create_campaign(staff, "MARKETING")
        assert may_create_campaign(staff, "SALES") is (role is Role.ADMIN)
    assert not may_create_campaign(person(active=False), "MARKETING")
    with pytest.raises(NotAuthorized):
        Campaign.plan(by=person(Role.MANAGER), department_code="SALES", name=" ", channel="", starts_on=None,
                      ends_on=None, budget_amount=None, budget_currency=None, at=T0)


def test_the_owner_marketings_key_users_and_managers_and_admins_run_a_campaign() -> None:
    owner = person()
    for role in Role:
        staff = person(role)
        assert may_run_campaign(staff, "MARKETING", owner.id) is role.at_least(Role.KEY_USER)
        assert may_run_campaign(staff, "SALES", owner.id) is (role is Role.ADMIN)
    assert may_run_campaign(owner, "MARKETING", owner.id)
    assert may_run_campaign(owner, "SALES", owner.id)  # the owner moved departments: still theirs
    assert not may_run_campaign(person(Role.MANAGER, active=False), "MARKETING", owner.id)
    with pytest.raises(NotAuthorized):
        planned(owner).require_runner(person(), "MARKETING")


@pytest.mark.parametrize("start, to", list(itertools.product(C, C)))
def test_the_campaign_status_machine(start: CampaignStatus, to: CampaignStatus) -> None:
    campaign = planned()
    campaign.status = start
    allowed = (start, to) in {(C.PLANNED, C.ACTIVE), (C.PLANNED, C.CANCELLED), (C.ACTIVE, C.COMPLETED),
                              (C.ACTIVE, C.CANCELLED)}
    assert (to in CAMPAIGN_MOVES[start]) is allowed
    if allowed:
        campaign.transition(to, at=T0, by=None)
        assert campaign.status is to and campaign.pending_events[-1].type == "campaign.status_changed"
    else:
        with pytest.raises(ForbiddenTransition):
            campaign.transition(to, at=T0, by=None)


FORWARD = {(a, b) for i, a in enumerate(FUNNEL) for b in FUNNEL[i + 1:]}


@pytest.mark.parametrize("start, to", list(itertools.product(M, M)))
def test_members_move_forward_only_jumps_included_and_an_opt_out_is_final(start: CampaignMemberStatus,
                                                                           to: CampaignMemberStatus) -> None:
    campaign = planned()
    campaign.collect_events()
    one = member(campaign, start)
    allowed = (start, to) in FORWARD or (to is M.OPTED_OUT and start is not M.OPTED_OUT)
    assert (to in MEMBER_MOVES[start]) is allowed
    if start is to:
        assert campaign.record_response(one, to, at=T0, by=None) is False  # the same again: nothing happens
        assert campaign.pending_events == []
    elif allowed:
        assert campaign.record_response(one, to, at=T0 + timedelta(hours=1), by=None, note=" Replied ") is True
        (event,) = campaign.pending_events
        assert isinstance(event, CampaignResponseRecorded) and event.type == "campaign.response_recorded"
        assert (event.from_, event.to, event.note) == (start, to, "Replied")
        assert one.status is to
    else:
        with pytest.raises(ForbiddenTransition) as raised:
            campaign.record_response(one, to, at=T0, by=None)
        assert raised.value.field == ("status",) and one.status is start


def test_responded_at_is_the_first_response_even_through_a_jump() -> None:
    campaign = planned()
    one = member(campaign)
    campaign.record_response(one, M.SENT, at=T0, by=None)
    assert one.responded_at is None
    campaign.record_response(one, M.CONVERTED, at=T0 + timedelta(days=1), by=None)  # straight to CONVERTED
    assert one.responded_at == T0 + timedelta(days=1)
    other = member(campaign)
    campaign.record_response(other, M.RESPONDED, at=T0, by=None)
    campaign.record_response(other, M.CONVERTED, at=T0 + timedelta(days=3), by=None)
    assert other.responded_at == T0  # not moved by the later conversion


def test_members_join_live_campaigns_and_a_cancelled_one_records_no_responses() -> None:
    campaign = planned()
    one = member(campaign)
    campaign.transition(C.ACTIVE, at=T0, by=None)
    campaign.transition(C.COMPLETED, at=T0, by=None)
    with pytest.raises(InvalidInput):
        campaign.require_open_for_members()
    assert campaign.record_response(one, M.RESPONDED, at=T0, by=None)  # a late reply still counts
    cancelled = planned()
    two = member(cancelled)
    cancelled.transition(C.CANCELLED, at=T0, by=None)
    with pytest.raises(InvalidInput) as raised:
        cancelled.record_response(two, M.RESPONDED, at=T0, by=None)
    assert raised.value.field == ("campaignId",)


def test_a_segment_needs_a_condition_and_bounds_its_lists() -> None:
    with pytest.raises(InvalidInput) as raised:
        Segment.of()
    assert raised.value.field == ("segment",)
    with pytest.raises(InvalidInput) as raised:
        Segment.of(tags=[f"t{i}" for i in range(51)])
    assert raised.value.field == ("segment", "tags")
    with pytest.raises(InvalidInput) as raised:
        Segment.of(inactive_since=datetime(2027, 1, 1))
    assert raised.value.field == ("segment", "inactiveSince")
    segment = Segment.of(tiers=["GOLD", "GOLD"], tags=[" VIP ", "vip"])
    assert segment.tiers == (CustomerTier.GOLD,) and segment.tags == ("vip",)
    assert segment.published()["tiers"] == ["GOLD"]


def test_adding_nobody_records_nothing() -> None:
    campaign = planned()
    campaign.collect_events()
    campaign.members_added(0, segment=Segment.of(tags=["x"]), customer_ids=(), at=T0, by=None)
    assert campaign.pending_events == []
    campaign.members_added(3, segment=None, customer_ids=(uuid.uuid4(),), at=T0, by=None)
    assert campaign.pending_events[0].payload["added"] == 3


def test_webhooks_may_subscribe_to_campaign_events() -> None:
    from domain.webhook import check_event_types

    assert check_event_types(["campaign.created", "campaign.response_recorded"]) == ("campaign.created",
                                                                                      "campaign.response_recorded")

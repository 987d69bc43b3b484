"""The Customer aggregate and Interaction: every business rule, no I/O.

The life-cycle table below is written out independently of `domain.customer.ALLOWED_MOVES`
on purpose: if someone edits the production table, these tests say so.
"""
from __future__ import annotations

import copy
import itertools
import json
import uuid
from dataclasses import asdict
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.customer import (
    MAX_ATTRIBUTES_BYTES,
    Contact,
    Customer,
    CustomerKind,
    CustomerTier,
    Interaction,
    InteractionKind,
    LifecycleStage,
    StageChange,
    check_attributes,
    check_contacts,
    check_tags,
    normalise_code,
)
from domain.shared import (
    Conflict,
    DomainError,
    Duplicate,
    ForbiddenTransition,
    InvalidInput,
    LimitExceeded,
    NotAuthorized,
    NotFound,
)
from tests.conftest import examples

L = LifecycleStage
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
ALICE = uuid.UUID("00000000-0000-0000-0000-00000000a11c")
BOB = uuid.UUID("00000000-0000-0000-0000-000000000b0b")

# The life cycle, spelled out: LEAD -> PROSPECT -> ACTIVE -> LOYAL; any of those -> AT_RISK;
# AT_RISK -> ACTIVE or CHURNED; CHURNED -> ACTIVE (with a reason). Nothing else.
ALLOWED = {
    (L.LEAD, L.PROSPECT), (L.PROSPECT, L.ACTIVE), (L.ACTIVE, L.LOYAL),
    (L.LEAD, L.AT_RISK), (L.PROSPECT, L.AT_RISK), (L.ACTIVE, L.AT_RISK), (L.LOYAL, L.AT_RISK),
    (L.AT_RISK, L.ACTIVE), (L.AT_RISK, L.CHURNED),
    (L.CHURNED, L.ACTIVE),
}
ALL_PAIRS = list(itertools.product(list(L), list(L)))


def customer(**overrides: object) -> Customer:
    args: dict[str, object] = {"code": "acme-1", "name": "Acme", "kind": CustomerKind.COMPANY, "at": T0, "by": ALICE}
    args.update(overrides)
    return Customer.register(**args)  # type: ignore[arg-type]


def state(c: Customer) -> dict[str, object]:
    """Everything about a customer except its pending events."""
    data = asdict(c)
    data.pop("pending_events")
    return data


# --------------------------------------------------------------------------- registration


def test_register_sets_defaults_history_and_records_created_event() -> None:
    c = customer(code="  acme-1 ", name="  Acme Tools  ")
    assert c.code == "ACME-1"
    assert c.name == "Acme Tools"
    assert c.kind is CustomerKind.COMPANY
    assert c.tier is CustomerTier.STANDARD
    assert c.stage is L.LEAD
    assert c.owner_id is None and c.contacts == [] and c.tags == [] and c.attributes == {}
    assert c.created_at == c.updated_at == T0
    assert c.stage_history == [StageChange(None, L.LEAD, T0, ALICE, None)]
    [event] = c.pending_events
    assert event.type == "customer.created"
    assert event.aggregate_type == "customer"
    assert event.aggregate_id == c.id
    assert event.actor_id == ALICE
    assert event.occurred_at == T0
    assert event.payload == {"code": "ACME-1", "name": "Acme Tools", "kind": "COMPANY", "tier": "STANDARD",
                             "lifecycleStage": "LEAD", "ownerId": None, "tags": []}


def test_register_at_a_given_stage_starts_history_there() -> None:
    owner = uuid.uuid4()
    c = customer(stage=L.ACTIVE, tier=CustomerTier.GOLD, owner_id=owner, kind="PERSON")
    assert c.stage is L.ACTIVE and c.tier is CustomerTier.GOLD and c.kind is CustomerKind.PERSON
    assert c.stage_history == [StageChange(None, L.ACTIVE, T0, ALICE, None)]
    assert c.pending_events[0].payload["lifecycleStage"] == "ACTIVE"
    assert c.pending_events[0].payload["ownerId"] == str(owner)


@pytest.mark.parametrize("name", ["", "   ", None])
def test_register_needs_a_name(name: str | None) -> None:
    with pytest.raises(InvalidInput) as err:
        customer(name=name)
    assert err.value.field == ("name",)


def test_register_refuses_a_name_over_200_characters() -> None:
    assert customer(name="x" * 200).name == "x" * 200
    with pytest.raises(InvalidInput) as err:
        customer(name="x" * 201)
    assert err.value.field == ("name",)


def test_each_registration_gets_its_own_identity() -> None:
    assert customer().id != customer().id


# --------------------------------------------------------------------------- codes


@pytest.mark.parametrize(("raw", "expected"), [
    ("acme", "ACME"), ("  c-000123 ", "C-000123"), ("a.b_c-d", "A.B_C-D"), ("0", "0"), ("x" * 40, "X" * 40),
])
def test_codes_are_trimmed_and_upper_cased(raw: str, expected: str) -> None:
    assert normalise_code(raw) == expected


@pytest.mark.parametrize("raw", ["a b", "acme/1", "acme#", "café", "a,b", "ü", "tab\there", "x" * 41, "", "   "])
def test_bad_codes_are_refused_on_the_code_field(raw: str) -> None:
    with pytest.raises(InvalidInput) as err:
        normalise_code(raw)
    assert err.value.field == ("code",)


def test_code_errors_name_the_given_field() -> None:
    with pytest.raises(InvalidInput) as err:
        normalise_code("a b", "customerCode")
    assert err.value.field == ("customerCode",)


def test_register_refuses_a_bad_code() -> None:
    with pytest.raises(InvalidInput) as err:
        customer(code="no spaces")
    assert err.value.field == ("code",)


# --------------------------------------------------------------------------- contacts


def test_contact_is_trimmed_and_its_email_normalised() -> None:
    c = Contact.create(0, "  Ana Silva ", " Ana.Silva@Example.COM ", " +351 1 ", " CEO ")
    assert (c.name, c.email, c.phone, c.title, c.primary) == ("Ana Silva", "ana.silva@example.com", "+351 1", "CEO",
                                                              False)


@pytest.mark.parametrize("email", [None, "", "   "])
def test_a_blank_contact_email_means_none(email: str | None) -> None:
    assert Contact.create(0, "Ana", email).email is None


@pytest.mark.parametrize("email", ["ana", "ana@example", "@example.com", "ana@@example.com", "a na@example.com"])
def test_a_bad_contact_email_points_at_that_contact(email: str) -> None:
    with pytest.raises(InvalidInput) as err:
        Contact.create(2, "Ana", email)
    assert err.value.field == ("contacts", "2", "email")


@pytest.mark.parametrize(("kwargs", "leaf"), [
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"name": "Ana", "phone": "1" * 41}, "phone"),
    ({"name": "Ana", "title": "t" * 101}, "title"),
])
def test_contact_field_errors_carry_the_contact_index(kwargs: dict[str, str], leaf: str) -> None:
    with pytest.raises(InvalidInput) as err:
        Contact.create(3, **kwargs)
    assert err.value.field == ("contacts", "3", leaf)


def test_contact_length_limits_are_inclusive() -> None:
    c = Contact.create(0, "x" * 200, phone="1" * 40, title="t" * 100)
    assert len(c.name) == 200 and len(c.phone or "") == 40 and len(c.title or "") == 100


def test_the_first_contact_becomes_primary_when_none_is_marked() -> None:
    contacts = check_contacts([Contact.create(0, "A"), Contact.create(1, "B"), Contact.create(2, "C")])
    assert [c.primary for c in contacts] == [True, False, False]


def test_promoting_the_first_contact_keeps_its_identity_and_data() -> None:
    first = Contact.create(0, "A", "a@example.com", "1", "Boss")
    [promoted] = check_contacts([first])
    assert promoted.id == first.id
    assert (promoted.name, promoted.email, promoted.phone, promoted.title) == ("A", "a@example.com", "1", "Boss")


def test_an_explicit_primary_is_kept_and_the_first_is_not_promoted() -> None:
    contacts = check_contacts([Contact.create(0, "A"), Contact.create(1, "B", primary=True)])
    assert [c.primary for c in contacts] == [False, True]


def test_only_one_contact_may_be_primary() -> None:
    with pytest.raises(InvalidInput) as err:
        check_contacts([Contact.create(0, "A"), Contact.create(1, "B", primary=True),
                        Contact.create(2, "C", primary=True)])
    assert err.value.field == ("contacts", "2", "primary")


def test_no_contacts_is_fine() -> None:
    assert check_contacts([]) == []


def test_at_most_fifty_contacts() -> None:
    fifty = [Contact.create(i, f"C{i}") for i in range(50)]
    assert len(check_contacts(fifty)) == 50
    with pytest.raises(InvalidInput) as err:
        check_contacts([*fifty, Contact.create(50, "one too many")])
    assert err.value.field == ("contacts",)


def test_register_applies_the_contact_rules() -> None:
    c = customer(contacts=[Contact.create(0, "A"), Contact.create(1, "B")])
    assert [x.primary for x in c.contacts] == [True, False]
    with pytest.raises(InvalidInput):
        customer(contacts=[Contact.create(0, "A", primary=True), Contact.create(1, "B", primary=True)])


# --------------------------------------------------------------------------- tags


def test_tags_are_trimmed_lower_cased_deduplicated_and_sorted() -> None:
    """Sorted, so the same set of tags in another order is no change (and reloads compare equal)."""
    assert check_tags([" VIP ", "Retail", "vip", "retail ", "b2b"]) == ["b2b", "retail", "vip"]


@pytest.mark.parametrize("bad", ["", "   ", "x" * 51])
def test_a_bad_tag_points_at_its_position(bad: str) -> None:
    with pytest.raises(InvalidInput) as err:
        check_tags(["ok", bad])
    assert err.value.field == ("tags", "1")


def test_a_fifty_character_tag_is_fine() -> None:
    assert check_tags(["x" * 50]) == ["x" * 50]


def test_at_most_fifty_tags() -> None:
    fifty = [f"t{i:02d}" for i in range(50)]
    assert check_tags(fifty) == fifty
    with pytest.raises(InvalidInput) as err:
        check_tags([*fifty, "t50"])
    assert err.value.field == ("tags",)


def test_register_normalises_tags() -> None:
    assert customer(tags=["VIP", "vip", " Retail"]).tags == ["retail", "vip"]


# --------------------------------------------------------------------------- attributes


def test_no_attributes_means_an_empty_object() -> None:
    assert check_attributes(None) == {}
    assert customer(attributes=None).attributes == {}


@pytest.mark.parametrize("bad", [[1, 2], "text", 3, True])
def test_attributes_must_be_an_object(bad: object) -> None:
    with pytest.raises(InvalidInput) as err:
        check_attributes(bad)
    assert err.value.field == ("attributes",)


def _attributes_of_size(size: int) -> dict[str, str]:
    overhead = len(json.dumps({"k": ""}))
    value = {"k": "x" * (size - overhead)}
    assert len(json.dumps(value)) == size
    return value


def test_attributes_up_to_the_limit_are_kept() -> None:
    value = _attributes_of_size(MAX_ATTRIBUTES_BYTES)
    assert MAX_ATTRIBUTES_BYTES == 16_384
    assert check_attributes(value) == value


def test_attributes_over_the_limit_are_refused() -> None:
    with pytest.raises(InvalidInput) as err:
        check_attributes(_attributes_of_size(MAX_ATTRIBUTES_BYTES + 1))
    assert err.value.field == ("attributes",)
    with pytest.raises(InvalidInput):
        customer(attributes=_attributes_of_size(MAX_ATTRIBUTES_BYTES + 1))


def test_nested_attributes_are_kept_as_given() -> None:
    value = {"segment": {"size": 12, "regions": ["north", "south"]}, "score": 0.5, "flag": None}
    assert customer(attributes=value).attributes == value


# --------------------------------------------------------------------------- life cycle


def test_the_table_has_ten_allowed_moves_out_of_thirty_six() -> None:
    assert len(ALL_PAIRS) == 36
    assert len(ALLOWED) == 10


@pytest.mark.parametrize(("from_", "to"), ALL_PAIRS, ids=[f"{a.value}->{b.value}" for a, b in ALL_PAIRS])
def test_every_stage_move(from_: LifecycleStage, to: LifecycleStage) -> None:
    c = customer(stage=from_)
    c.collect_events()
    before = state(c)
    later = T0 + timedelta(hours=1)
    if (from_, to) in ALLOWED:
        c.change_stage(to, at=later, by=BOB, reason="  checked with the account team  ")
        assert c.stage is to
        assert c.updated_at == later
        assert c.stage_history[-1] == StageChange(from_, to, later, BOB, "checked with the account team")
        assert len(c.stage_history) == 2
        [event] = c.collect_events()
        assert event.type == "customer.stage_changed"
        assert event.actor_id == BOB and event.occurred_at == later and event.aggregate_id == c.id
        assert event.payload == {"from": from_.value, "to": to.value, "reason": "checked with the account team",
                                 "code": "ACME-1"}
    else:
        with pytest.raises(ForbiddenTransition) as err:
            c.change_stage(to, at=later, by=BOB, reason="a reason does not make it legal")
        assert err.value.code == "FORBIDDEN_TRANSITION"
        assert err.value.field == ("to",)
        assert state(c) == before
        assert c.pending_events == []


@pytest.mark.parametrize(("from_", "to"), sorted(p for p in ALLOWED if p[0] is not L.CHURNED))
def test_moves_other_than_a_win_back_need_no_reason(from_: LifecycleStage, to: LifecycleStage) -> None:
    c = customer(stage=from_)
    c.change_stage(to, at=T0, by=ALICE)
    assert c.stage is to
    assert c.stage_history[-1].reason is None


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_winning_back_a_churned_customer_needs_a_reason(reason: str | None) -> None:
    c = customer(stage=L.CHURNED)
    c.collect_events()
    before = state(c)
    with pytest.raises(InvalidInput) as err:
        c.change_stage(L.ACTIVE, at=T0, by=ALICE, reason=reason)
    assert err.value.field == ("reason",)
    assert state(c) == before and c.pending_events == []


def test_a_forbidden_move_from_churned_is_forbidden_even_without_a_reason() -> None:
    with pytest.raises(ForbiddenTransition):
        customer(stage=L.CHURNED).change_stage(L.LOYAL, at=T0, by=ALICE)


def test_a_win_back_with_a_reason_is_recorded() -> None:
    c = customer(stage=L.CHURNED)
    c.change_stage(L.ACTIVE, at=T0, by=BOB, reason="Signed a new contract")
    assert c.stage is L.ACTIVE
    assert c.stage_history[-1] == StageChange(L.CHURNED, L.ACTIVE, T0, BOB, "Signed a new contract")


def test_a_reason_over_1000_characters_is_refused() -> None:
    c = customer()
    c.change_stage(L.PROSPECT, at=T0, by=ALICE, reason="r" * 1000)
    with pytest.raises(InvalidInput) as err:
        c.change_stage(L.ACTIVE, at=T0, by=ALICE, reason="r" * 1001)
    assert err.value.field == ("reason",)
    assert c.stage is L.PROSPECT


def test_stage_accepts_its_string_value() -> None:
    c = customer()
    c.change_stage("PROSPECT", at=T0, by=ALICE)  # type: ignore[arg-type]
    assert c.stage is L.PROSPECT


def test_an_unknown_stage_is_not_a_stage() -> None:
    with pytest.raises(ValueError):
        customer().change_stage("WON", at=T0, by=ALICE)  # type: ignore[arg-type]


@settings(max_examples=examples(200), deadline=None)
@given(st.data())
def test_walks_along_allowed_moves_are_recorded_step_by_step(data: st.DataObject) -> None:
    """Any walk along allowed moves succeeds, and stage_history records who, when and why for each."""
    actors = [ALICE, BOB, None]
    c = customer()
    expected = [StageChange(None, L.LEAD, T0, ALICE, None)]
    now = T0
    for _ in range(data.draw(st.integers(0, 25), label="steps")):
        to = data.draw(st.sampled_from(sorted(b for a, b in ALLOWED if a is c.stage)), label="to")
        by = data.draw(st.sampled_from(actors), label="by")
        now += timedelta(minutes=data.draw(st.integers(0, 10_000), label="minutes"))
        needs_reason = c.stage is L.CHURNED
        reason = data.draw(st.text("abc xyz", min_size=1, max_size=30).filter(str.strip) if needs_reason
                           else st.none() | st.text("abc xyz", min_size=1, max_size=30).filter(str.strip),
                           label="reason")
        expected.append(StageChange(c.stage, to, now, by, reason.strip() if reason else None))
        c.change_stage(to, at=now, by=by, reason=reason)
        assert c.stage is to
    assert c.stage_history == expected
    assert all((h.from_stage, h.to_stage) in ALLOWED for h in c.stage_history[1:])
    assert [h.from_stage for h in c.stage_history[1:]] == [h.to_stage for h in c.stage_history[:-1]]
    events = c.collect_events()[1:]
    assert [(e.payload["from"], e.payload["to"], e.actor_id, e.occurred_at, e.payload["reason"]) for e in events] == [
        (h.from_stage.value, h.to_stage.value, h.by, h.at, h.reason) for h in expected[1:]  # type: ignore[union-attr]
    ]


@settings(max_examples=examples(300), deadline=None)
@given(st.lists(st.tuples(st.sampled_from(list(L)), st.none() | st.sampled_from(["", "  ", "won back", "risk"])),
                max_size=30))
def test_random_attempts_only_ever_pass_through_allowed_moves(attempts: list[tuple[LifecycleStage, str | None]]) -> None:
    """Throw arbitrary moves at a customer: the legal ones happen, the others change nothing."""
    c = customer()
    c.collect_events()
    applied = 0
    for i, (to, reason) in enumerate(attempts):
        at = T0 + timedelta(minutes=i + 1)
        before = state(c)
        legal = (c.stage, to) in ALLOWED
        needs_reason = c.stage is L.CHURNED
        if legal and not (needs_reason and not (reason or "").strip()):
            c.change_stage(to, at=at, by=BOB, reason=reason)
            applied += 1
            assert c.stage is to
            assert c.stage_history[-1] == StageChange(before["stage"], to, at, BOB,  # type: ignore[arg-type]
                                                      (reason or "").strip() or None)
        else:
            with pytest.raises(ForbiddenTransition if not legal else InvalidInput):
                c.change_stage(to, at=at, by=BOB, reason=reason)
            assert state(c) == before
    assert len(c.stage_history) == applied + 1
    assert all((h.from_stage, h.to_stage) in ALLOWED for h in c.stage_history[1:])
    assert all(h.by == BOB for h in c.stage_history[1:])
    assert all(h.reason for h in c.stage_history[1:] if h.from_stage is L.CHURNED)
    assert len(c.collect_events()) == applied


# --------------------------------------------------------------------------- update


def test_an_update_that_changes_nothing_returns_false_and_records_nothing() -> None:
    owner = uuid.uuid4()
    c = customer(tier=CustomerTier.GOLD, owner_id=owner, tags=["vip", "retail"], attributes={"a": 1},
                 contacts=[Contact.create(0, "Ana", "ana@example.com"), Contact.create(1, "Ben")])
    c.collect_events()
    before = state(c)
    changed = c.update(
        at=T0 + timedelta(days=1), by=BOB, name="  Acme  ", tier=CustomerTier.GOLD, owner_id=owner,
        contacts=[Contact.create(0, " Ana ", "ANA@example.com"), Contact.create(1, "Ben")],
        tags=["VIP", " Retail "], attributes={"a": 1},
    )
    assert changed is False
    assert state(c) == before
    assert c.pending_events == []


def test_an_update_with_no_fields_changes_nothing() -> None:
    c = customer()
    c.collect_events()
    assert c.update(at=T0, by=ALICE) is False
    assert c.pending_events == []


@pytest.mark.parametrize(("kwargs", "changed", "check"), [
    ({"name": "Acme Group"}, ["name"], lambda c: c.name == "Acme Group"),
    ({"tier": CustomerTier.STRATEGIC}, ["tier"], lambda c: c.tier is CustomerTier.STRATEGIC),
    ({"tags": ["new"]}, ["tags"], lambda c: c.tags == ["new"]),
    ({"attributes": {"b": 2}}, ["attributes"], lambda c: c.attributes == {"b": 2}),
    ({"attributes": {}}, ["attributes"], lambda c: c.attributes == {}),
    ({"contacts": [Contact.create(0, "Other")]}, ["contacts"], lambda c: [x.name for x in c.contacts] == ["Other"]),
    ({"contacts": []}, ["contacts"], lambda c: c.contacts == []),
    ({"name": "N", "tier": CustomerTier.SILVER}, ["name", "tier"], lambda c: c.name == "N"),
])
def test_an_update_records_what_changed(kwargs: dict[str, object], changed: list[str], check: object) -> None:
    c = customer(tags=["vip"], attributes={"a": 1}, contacts=[Contact.create(0, "Ana")])
    c.collect_events()
    later = T0 + timedelta(hours=2)
    assert c.update(at=later, by=BOB, **kwargs) is True  # type: ignore[arg-type]
    assert check(c)  # type: ignore[operator]
    assert c.updated_at == later
    [event] = c.collect_events()
    assert event.type == "customer.updated" and event.actor_id == BOB and event.occurred_at == later
    assert event.payload["changed"] == changed
    assert event.payload["name"] == c.name and event.payload["tier"] == c.tier.value


def test_owner_can_be_set_changed_and_cleared() -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    c = customer()
    assert c.update(at=T0, by=ALICE, owner_id=first) is True and c.owner_id == first
    assert c.update(at=T0, by=ALICE, owner_id=first) is False
    assert c.update(at=T0, by=ALICE, owner_id=second) is True and c.owner_id == second
    assert c.update(at=T0, by=ALICE, clear_owner=True) is True and c.owner_id is None
    assert c.update(at=T0, by=ALICE, clear_owner=True) is False
    owner_changes = [e.payload["changed"] for e in c.collect_events()[1:]]
    assert owner_changes == [["owner"], ["owner"], ["owner"]]


def test_update_applies_the_contact_rules() -> None:
    c = customer()
    c.update(at=T0, by=ALICE, contacts=[Contact.create(0, "A"), Contact.create(1, "B")])
    assert [x.primary for x in c.contacts] == [True, False]
    with pytest.raises(InvalidInput):
        c.update(at=T0, by=ALICE, contacts=[Contact.create(0, "A", primary=True), Contact.create(1, "B", primary=True)])


def test_moving_the_primary_flag_is_a_change() -> None:
    c = customer(contacts=[Contact.create(0, "A"), Contact.create(1, "B")])
    assert c.update(at=T0, by=ALICE, contacts=[Contact.create(0, "A"), Contact.create(1, "B", primary=True)])
    assert [x.primary for x in c.contacts] == [False, True]


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"name": "  "}, ("name",)),
    ({"tags": ["ok", ""]}, ("tags", "1")),
    ({"attributes": [1]}, ("attributes",)),
])
def test_update_validates_its_input(kwargs: dict[str, object], field: tuple[str, ...]) -> None:
    with pytest.raises(InvalidInput) as err:
        customer().update(at=T0, by=ALICE, **kwargs)  # type: ignore[arg-type]
    assert err.value.field == field


def test_a_refused_update_leaves_the_customer_as_it_was() -> None:
    c = customer()
    c.collect_events()
    before = state(c)
    with pytest.raises(InvalidInput):
        c.update(at=T0 + timedelta(days=1), by=BOB, name="Renamed", tier=CustomerTier.GOLD, tags=["  "])
    assert state(c) == before


# --------------------------------------------------------------------------- versions and events


def test_check_version_accepts_none_and_the_current_version() -> None:
    c = customer()
    c.version = 3
    c.check_version(None)
    c.check_version(3)


@pytest.mark.parametrize("stale", [0, 2, 4])
def test_check_version_refuses_a_stale_version(stale: int) -> None:
    c = customer()
    c.version = 3
    with pytest.raises(Conflict) as err:
        c.check_version(stale)
    assert err.value.code == "CONFLICT"
    assert err.value.field == ("expectedVersion",)


def test_collect_events_hands_over_pending_events_once() -> None:
    c = customer()
    c.change_stage(L.PROSPECT, at=T0, by=ALICE)
    events = c.collect_events()
    assert [e.type for e in events] == ["customer.created", "customer.stage_changed"]
    assert len({e.id for e in events}) == 2
    assert c.collect_events() == [] and c.pending_events == []


def test_domain_errors_carry_stable_codes() -> None:
    assert [cls.code for cls in (InvalidInput, NotFound, Conflict, ForbiddenTransition, Duplicate, LimitExceeded)] == [
        "INVALID", "NOT_FOUND", "CONFLICT", "FORBIDDEN_TRANSITION", "DUPLICATE", "LIMIT_EXCEEDED"]
    assert all(issubclass(cls, DomainError) for cls in (InvalidInput, NotFound, Conflict, ForbiddenTransition,
                                                        Duplicate, LimitExceeded))
    assert not issubclass(NotAuthorized, DomainError) and NotAuthorized.code == "FORBIDDEN"


# --------------------------------------------------------------------------- interactions


def log(**overrides: object) -> Interaction:
    args: dict[str, object] = {"customer_id": uuid.uuid4(), "kind": InteractionKind.CALL, "summary": "Called",
                               "occurred_at": None, "author_id": ALICE, "department_id": None, "rating": None,
                               "at": T0}
    args.update(overrides)
    return Interaction.log(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize("rating", [1, 2, 3, 4, 5])
def test_feedback_carries_a_rating_from_one_to_five(rating: int) -> None:
    assert log(kind=InteractionKind.FEEDBACK, rating=rating).rating == rating


@pytest.mark.parametrize("rating", [None, 0, 6, -1, 10])
def test_feedback_without_a_valid_rating_is_refused(rating: int | None) -> None:
    with pytest.raises(InvalidInput) as err:
        log(kind=InteractionKind.FEEDBACK, rating=rating)
    assert err.value.field == ("rating",)


@pytest.mark.parametrize("kind", [k for k in InteractionKind if k is not InteractionKind.FEEDBACK])
@pytest.mark.parametrize("rating", [0, 1, 5])
def test_only_feedback_is_rated(kind: InteractionKind, rating: int) -> None:
    with pytest.raises(InvalidInput) as err:
        log(kind=kind, rating=rating)
    assert err.value.field == ("rating",)
    assert log(kind=kind, rating=None).rating is None


def test_an_interaction_without_a_time_happened_now() -> None:
    assert log(occurred_at=None).occurred_at == T0


def test_past_interactions_and_other_time_zones_are_fine() -> None:
    assert log(occurred_at=T0 - timedelta(days=400)).occurred_at == T0 - timedelta(days=400)
    lisbon_noon = datetime(2025, 3, 3, 10, 0, tzinfo=timezone(timedelta(hours=1)))  # 09:00 UTC
    assert log(occurred_at=lisbon_noon).occurred_at == T0


def test_a_little_clock_skew_is_tolerated_but_the_future_is_not() -> None:
    assert log(occurred_at=T0 + timedelta(minutes=5)).occurred_at == T0 + timedelta(minutes=5)
    with pytest.raises(InvalidInput) as err:
        log(occurred_at=T0 + timedelta(minutes=5, seconds=1))
    assert err.value.field == ("occurredAt",)


def test_interaction_time_needs_a_time_zone() -> None:
    with pytest.raises(InvalidInput) as err:
        log(occurred_at=datetime(2025, 3, 3, 8, 0))
    assert err.value.field == ("occurredAt",)


@pytest.mark.parametrize("summary", ["", "  ", "s" * 5001])
def test_an_interaction_needs_a_bounded_summary(summary: str) -> None:
    with pytest.raises(InvalidInput) as err:
        log(summary=summary)
    assert err.value.field == ("summary",)


def test_logging_records_author_department_and_event() -> None:
    customer_id, department = uuid.uuid4(), uuid.uuid4()
    when = T0 - timedelta(hours=1)
    i = log(customer_id=customer_id, kind="FEEDBACK", summary="  Happy  ", occurred_at=when, rating=4,
            department_id=department)
    assert i.kind is InteractionKind.FEEDBACK and i.summary == "Happy"
    assert (i.customer_id, i.author_id, i.department_id, i.occurred_at, i.recorded_at) == (
        customer_id, ALICE, department, when, T0)
    [event] = i.collect_events()
    assert event.type == "interaction.logged" and event.aggregate_id == i.id and event.actor_id == ALICE
    assert event.occurred_at == T0
    assert event.payload == {"customerId": str(customer_id), "kind": "FEEDBACK", "rating": 4, "summary": "Happy",
                             "occurredAt": when.isoformat(), "departmentId": str(department)}


def test_an_interaction_without_a_department_says_so() -> None:
    assert log().collect_events()[0].payload["departmentId"] is None


def test_register_does_not_share_mutable_state_between_customers() -> None:
    tags = ["a"]
    one, two = customer(tags=tags), customer(tags=tags)
    one.tags.append("b")
    assert two.tags == ["a"] and tags == ["a"]
    copy.deepcopy(one)  # aggregates can be copied (fakes and snapshots rely on it)



def test_deeply_nested_attributes_are_invalid_input_not_a_recursion_error() -> None:
    from domain.customer import MAX_ATTRIBUTES_DEPTH
    deep: dict[str, object] = {}
    for _ in range(5000):
        deep = {"a": deep}
    with pytest.raises(InvalidInput) as err:
        check_attributes(deep)
    assert err.value.field == ("attributes",) and "levels deep" in err.value.message
    shallow: dict[str, object] = {"x": 1}
    for _ in range(MAX_ATTRIBUTES_DEPTH - 1):
        shallow = {"a": shallow}
    assert check_attributes(shallow) is shallow
    with pytest.raises(InvalidInput):
        check_attributes({"a": shallow})
    chain: list[object] = []
    for _ in range(MAX_ATTRIBUTES_DEPTH):
        chain = [chain]
    with pytest.raises(InvalidInput):
        check_attributes({"list": chain})

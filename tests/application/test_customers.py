"""Customer use cases (application/customers.py) driven through in-memory fakes at the ports."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from application.customers import (
    UNCHANGED,
    ChangeLifecycleStage,
    ContactData,
    CreateCustomer,
    LogInteraction,
    UpdateCustomer,
    change_lifecycle_stage,
    create_customer,
    log_interaction,
    update_customer,
)
from application.organisation import UpdateStaff, update_staff
from domain.customer import Customer, CustomerKind, CustomerTier, InteractionKind, LifecycleStage, StageChange
from domain.shared import Conflict, Duplicate, ForbiddenTransition, InvalidInput, NotFound
from tests.application.conftest import Org
from tests.application.fakes import FakeClock, InMemoryStore, RecordingPublisher

L = LifecycleStage


async def new_customer(store: InMemoryStore, clock: FakeClock, org: Org, **kwargs: object) -> Customer:
    args: dict[str, object] = {"name": "Acme", "kind": CustomerKind.COMPANY}
    args.update(kwargs)
    return await create_customer(store.uow(), clock, org.admin, CreateCustomer(**args))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- create


async def test_create_generates_sequential_codes_and_stores_the_customer(
        store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    first = await new_customer(store, clock, org, name="Acme")
    second = await new_customer(store, clock, org, name="Birch & Sons")
    assert (first.code, second.code) == ("C-000001", "C-000002")
    stored = store.customer(first.id)
    assert (stored.code, stored.name, stored.kind, stored.version) == ("C-000001", "Acme", CustomerKind.COMPANY, 1)
    assert stored.stage is L.LEAD and stored.created_at == clock.now()
    assert stored.stage_history == [StageChange(None, L.LEAD, clock.now(), org.admin.id, None)]
    assert first.version == 1


async def test_create_commits_a_created_event_by_the_actor(
        store: InMemoryStore, clock: FakeClock, org: Org, publisher: RecordingPublisher) -> None:
    customer = await new_customer(store, clock, org, tags=("VIP",))
    [event] = store.committed_events
    assert event.type == "customer.created" and event.aggregate_id == customer.id
    assert event.actor_id == org.admin.id and event.occurred_at == clock.now()
    assert event.payload["code"] == customer.code and event.payload["tags"] == ["vip"]
    assert publisher.published == [[event]]


async def test_create_applies_the_domain_rules(store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    customer = await new_customer(
        store, clock, org, code="  vip-7 ", name="  Acme  ", tier=CustomerTier.GOLD, lifecycle_stage=L.PROSPECT,
        owner_id=org.sales_member.id, tags=("VIP", "vip", "Retail"), attributes={"segment": "smb"},
        contacts=(ContactData("Ana", "ANA@Example.com"), ContactData("Ben")),
    )
    stored = store.customer(customer.id)
    assert (stored.code, stored.name, stored.tier, stored.stage, stored.owner_id) == (
        "VIP-7", "Acme", CustomerTier.GOLD, L.PROSPECT, org.sales_member.id)
    assert stored.tags == ["retail", "vip"] and stored.attributes == {"segment": "smb"}
    assert [(c.name, c.email, c.primary) for c in stored.contacts] == [("Ana", "ana@example.com", True),
                                                                       ("Ben", None, False)]


async def test_the_owner_is_whoever_registers_the_customer_unless_given(store: InMemoryStore, clock: FakeClock,
                                                                         org: Org) -> None:
    """As for orders: a customer nobody owns had nobody to answer for it."""
    mine = await create_customer(store.uow(), clock, org.sales_member,
                                 CreateCustomer(name="Mine", kind=CustomerKind.COMPANY))
    given = await create_customer(store.uow(), clock, org.sales_member, CreateCustomer(
        name="Theirs", kind=CustomerKind.COMPANY, owner_id=org.admin.id))
    assert (store.customer(mine.id).owner_id, store.customer(given.id).owner_id) == (org.sales_member.id, org.admin.id)


async def test_generated_codes_skip_codes_given_by_hand(store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    await new_customer(store, clock, org, code="c-000001")
    await new_customer(store, clock, org, code="C-000003")
    generated = [(await new_customer(store, clock, org)).code for _ in range(3)]
    assert generated == ["C-000002", "C-000004", "C-000005"]


@pytest.mark.parametrize("taken", ["ACME-1", "acme-1", "  Acme-1 "])
async def test_a_taken_code_is_a_duplicate_and_nothing_is_written(
        store: InMemoryStore, clock: FakeClock, org: Org, taken: str) -> None:
    await new_customer(store, clock, org, code="ACME-1")
    before = store.dump()
    with pytest.raises(Duplicate) as err:
        await new_customer(store, clock, org, code=taken, name="Other")
    assert err.value.field == ("code",)
    assert store.dump() == before


async def test_a_bad_code_is_invalid(store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    with pytest.raises(InvalidInput) as err:
        await new_customer(store, clock, org, code="not valid")
    assert err.value.field == ("code",)
    assert store.customers == {} and store.committed_events == []


@pytest.mark.parametrize("owner", ["unknown", "retired"])
async def test_the_owner_must_be_an_active_staff_member(
        store: InMemoryStore, clock: FakeClock, org: Org, owner: str) -> None:
    owner_id = uuid.uuid4() if owner == "unknown" else org.retired.id
    before = store.dump()
    with pytest.raises(NotFound) as err:
        await new_customer(store, clock, org, owner_id=owner_id)
    assert err.value.field == ("ownerId",)
    assert store.dump() == before


async def test_bad_contact_input_points_at_the_contact_and_writes_nothing(
        store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    before = store.dump()
    with pytest.raises(InvalidInput) as err:
        await new_customer(store, clock, org, contacts=(ContactData("Ana"), ContactData("Ben", "not-an-email")))
    assert err.value.field == ("contacts", "1", "email")
    assert store.dump() == before


async def test_create_refuses_two_primary_contacts(store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    with pytest.raises(InvalidInput):
        await new_customer(store, clock, org, contacts=(ContactData("A", primary=True), ContactData("B", primary=True)))
    assert store.customers == {}


# --------------------------------------------------------------------------- update


async def test_update_changes_the_stored_customer_and_emits_an_event(
        store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    customer = await new_customer(store, clock, org)
    clock.advance(hours=1)
    updated = await update_customer(store.uow(), clock, org.sales_member, UpdateCustomer(
        customer.id, expected_version=1, name="Acme Group", tier=CustomerTier.SILVER, tags=("b2b",)))
    assert updated.version == 2
    stored = store.customer(customer.id)
    assert (stored.name, stored.tier, stored.tags, stored.version, stored.updated_at) == (
        "Acme Group", CustomerTier.SILVER, ["b2b"], 2, clock.now())
    event = store.committed_events[-1]
    assert event.type == "customer.updated" and event.actor_id == org.sales_member.id
    assert event.payload["changed"] == ["name", "tier", "tags"]


async def test_an_update_that_changes_nothing_writes_nothing_and_emits_nothing(
        store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    customer = await new_customer(
        store, clock, org, tier=CustomerTier.GOLD, owner_id=org.sales_member.id, tags=("vip", "retail"),
        attributes={"a": 1}, contacts=(ContactData("Ana", "ana@example.com"), ContactData("Ben")))
    before = store.dump()
    clock.advance(hours=1)
    result = await update_customer(store.uow(), clock, org.admin, UpdateCustomer(
        customer.id, expected_version=1, name=" Acme ", tier=CustomerTier.GOLD, owner_id=org.sales_member.id,
        tags=("VIP", "Retail"), attributes={"a": 1},
        contacts=(ContactData(" Ana ", "ANA@example.com"), ContactData("Ben"))))
    assert store.dump() == before
    assert result.version == 1


async def test_an_empty_update_writes_nothing(store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    customer = await new_customer(store, clock, org, owner_id=org.sales_member.id)
    before = store.dump()
    await update_customer(store.uow(), clock, org.admin, UpdateCustomer(customer.id))
    assert store.dump() == before
    assert store.customer(customer.id).owner_id == org.sales_member.id  # UNCHANGED is the default


async def test_a_stale_expected_version_is_a_conflict_and_nothing_is_written(
        store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    customer = await new_customer(store, clock, org)
    await update_customer(store.uow(), clock, org.admin, UpdateCustomer(customer.id, expected_version=1, name="v2"))
    before = store.dump()
    with pytest.raises(Conflict) as err:
        await update_customer(store.uow(), clock, org.admin, UpdateCustomer(customer.id, expected_version=1,
                                                                             name="lost update"))
    assert err.value.field == ("expectedVersion",)
    assert store.dump() == before
    assert store.customer(customer.id).name == "v2"


async def test_without_expected_version_the_last_write_wins(store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    customer = await new_customer(store, clock, org)
    await update_customer(store.uow(), clock, org.admin, UpdateCustomer(customer.id, name="one"))
    await update_customer(store.uow(), clock, org.admin, UpdateCustomer(customer.id, name="two"))
    assert (store.customer(customer.id).name, store.customer(customer.id).version) == ("two", 3)


async def test_owner_is_set_cleared_or_left_alone(store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    customer = await new_customer(store, clock, org)
    await update_customer(store.uow(), clock, org.admin, UpdateCustomer(customer.id, owner_id=org.sales_member.id))
    assert store.customer(customer.id).owner_id == org.sales_member.id
    await update_customer(store.uow(), clock, org.admin, UpdateCustomer(customer.id, owner_id=UNCHANGED, name="N"))
    assert store.customer(customer.id).owner_id == org.sales_member.id
    await update_customer(store.uow(), clock, org.admin, UpdateCustomer(customer.id, owner_id=None))
    assert store.customer(customer.id).owner_id is None
    assert [e.payload["changed"] for e in store.committed_events[1:]] == [["owner"], ["name"], ["owner"]]


@pytest.mark.parametrize("owner", ["unknown", "retired"])
async def test_update_refuses_an_unknown_or_inactive_owner(
        store: InMemoryStore, clock: FakeClock, org: Org, owner: str) -> None:
    customer = await new_customer(store, clock, org)
    before = store.dump()
    owner_id = uuid.uuid4() if owner == "unknown" else org.retired.id
    with pytest.raises(NotFound) as err:
        await update_customer(store.uow(), clock, org.admin, UpdateCustomer(customer.id, owner_id=owner_id, name="X"))
    assert err.value.field == ("ownerId",)
    assert store.dump() == before


async def test_update_of_an_unknown_customer_is_not_found(store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    with pytest.raises(NotFound) as err:
        await update_customer(store.uow(), clock, org.admin, UpdateCustomer(uuid.uuid4(), name="X"))
    assert err.value.field == ("id",)


async def test_update_with_invalid_input_writes_nothing(store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    customer = await new_customer(store, clock, org)
    before = store.dump()
    with pytest.raises(InvalidInput) as err:
        await update_customer(store.uow(), clock, org.admin, UpdateCustomer(
            customer.id, name="Renamed", contacts=(ContactData("Ana", "nope"),)))
    assert err.value.field == ("contacts", "0", "email")
    assert store.dump() == before


async def test_update_replaces_contacts(store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    customer = await new_customer(store, clock, org, contacts=(ContactData("Ana"),))
    await update_customer(store.uow(), clock, org.admin, UpdateCustomer(
        customer.id, contacts=(ContactData("Ana"), ContactData("Ben", primary=True))))
    assert [(c.name, c.primary) for c in store.customer(customer.id).contacts] == [("Ana", False), ("Ben", True)]


# --------------------------------------------------------------------------- life-cycle stage


async def test_change_stage_is_stored_with_who_when_and_why(
        store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    customer = await new_customer(store, clock, org)
    clock.advance(days=1)
    moved = await change_lifecycle_stage(store.uow(), clock, org.sales_member, ChangeLifecycleStage(
        customer.id, L.PROSPECT, reason="Asked for a quote", expected_version=1))
    assert moved.stage is L.PROSPECT and moved.version == 2
    stored = store.customer(customer.id)
    assert stored.stage is L.PROSPECT and stored.version == 2
    assert stored.stage_history[-1] == StageChange(L.LEAD, L.PROSPECT, clock.now(), org.sales_member.id,
                                                   "Asked for a quote")
    event = store.committed_events[-1]
    assert event.type == "customer.stage_changed" and event.actor_id == org.sales_member.id
    assert event.payload == {"from": "LEAD", "to": "PROSPECT", "reason": "Asked for a quote", "code": customer.code}


async def test_a_forbidden_move_writes_nothing(store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    customer = await new_customer(store, clock, org)
    before = store.dump()
    with pytest.raises(ForbiddenTransition) as err:
        await change_lifecycle_stage(store.uow(), clock, org.admin, ChangeLifecycleStage(customer.id, L.LOYAL))
    assert err.value.field == ("to",)
    assert store.dump() == before


async def test_a_stale_version_on_stage_change_is_a_conflict(store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    customer = await new_customer(store, clock, org)
    await change_lifecycle_stage(store.uow(), clock, org.admin, ChangeLifecycleStage(customer.id, L.PROSPECT))
    before = store.dump()
    with pytest.raises(Conflict):
        await change_lifecycle_stage(store.uow(), clock, org.admin, ChangeLifecycleStage(
            customer.id, L.ACTIVE, expected_version=1))
    assert store.dump() == before


async def test_win_back_needs_a_reason_through_the_use_case(store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    customer = await new_customer(store, clock, org, lifecycle_stage=L.CHURNED)
    before = store.dump()
    with pytest.raises(InvalidInput) as err:
        await change_lifecycle_stage(store.uow(), clock, org.admin, ChangeLifecycleStage(customer.id, L.ACTIVE))
    assert err.value.field == ("reason",)
    assert store.dump() == before
    await change_lifecycle_stage(store.uow(), clock, org.admin, ChangeLifecycleStage(
        customer.id, L.ACTIVE, reason="New contract"))
    assert store.customer(customer.id).stage_history[-1].reason == "New contract"


async def test_a_whole_life_cycle_is_kept_in_order(store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    customer = await new_customer(store, clock, org)
    path = [L.PROSPECT, L.ACTIVE, L.LOYAL, L.AT_RISK, L.CHURNED, L.ACTIVE]
    for to in path:
        clock.advance(days=1)
        await change_lifecycle_stage(store.uow(), clock, org.admin, ChangeLifecycleStage(
            customer.id, to, reason="because"))
    history = store.customer(customer.id).stage_history
    assert [h.to_stage for h in history] == [L.LEAD, *path]
    assert [h.at for h in history] == sorted(h.at for h in history)
    assert store.customer(customer.id).version == 1 + len(path)


async def test_stage_change_of_an_unknown_customer(store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    with pytest.raises(NotFound) as err:
        await change_lifecycle_stage(store.uow(), clock, org.admin, ChangeLifecycleStage(uuid.uuid4(), L.PROSPECT))
    assert err.value.field == ("customerId",)


# --------------------------------------------------------------------------- interactions


async def test_log_interaction_records_the_authors_department(
        store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    customer = await new_customer(store, clock, org)
    clock.advance(minutes=30)
    interaction = await log_interaction(store.uow(), clock, org.service_member, LogInteraction(
        customer.id, InteractionKind.FEEDBACK, "Happy with the fix", rating=5))
    stored = store.interactions[interaction.id]
    assert (stored.customer_id, stored.author_id, stored.department_id) == (
        customer.id, org.service_member.id, org.service.id)
    assert (stored.kind, stored.rating, stored.summary) == (InteractionKind.FEEDBACK, 5, "Happy with the fix")
    assert stored.occurred_at == stored.recorded_at == clock.now()
    event = store.committed_events[-1]
    assert event.type == "interaction.logged" and event.actor_id == org.service_member.id
    assert event.payload["departmentId"] == str(org.service.id)
    assert event.payload["customerId"] == str(customer.id)


async def test_the_department_is_the_one_at_the_time_of_logging(
        store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    customer = await new_customer(store, clock, org)
    first = await log_interaction(store.uow(), clock, org.sales_member, LogInteraction(
        customer.id, InteractionKind.CALL, "Intro call"))
    moved = await update_staff(store.uow(), clock, org.admin, UpdateStaff(
        org.sales_member.id, department_id=org.service.id))
    second = await log_interaction(store.uow(), clock, moved, LogInteraction(
        customer.id, InteractionKind.CALL, "Follow-up"))
    assert store.interactions[first.id].department_id == org.sales.id
    assert store.interactions[second.id].department_id == org.service.id


async def test_an_interaction_can_be_dated_in_the_past(store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    customer = await new_customer(store, clock, org)
    when = clock.now() - timedelta(days=2)
    interaction = await log_interaction(store.uow(), clock, org.admin, LogInteraction(
        customer.id, InteractionKind.MEETING, "Visit", occurred_at=when))
    assert store.interactions[interaction.id].occurred_at == when
    assert store.interactions[interaction.id].recorded_at == clock.now()


@pytest.mark.parametrize(("kind", "rating", "occurred_in", "field"), [
    (InteractionKind.FEEDBACK, None, None, ("rating",)),
    (InteractionKind.FEEDBACK, 6, None, ("rating",)),
    (InteractionKind.CALL, 3, None, ("rating",)),
    (InteractionKind.NOTE, None, timedelta(hours=1), ("occurredAt",)),
])
async def test_interaction_rules_hold_through_the_use_case(
        store: InMemoryStore, clock: FakeClock, org: Org, kind: InteractionKind, rating: int | None,
        occurred_in: timedelta | None, field: tuple[str, ...]) -> None:
    customer = await new_customer(store, clock, org)
    before = store.dump()
    occurred_at = clock.now() + occurred_in if occurred_in else None
    with pytest.raises(InvalidInput) as err:
        await log_interaction(store.uow(), clock, org.admin, LogInteraction(
            customer.id, kind, "Something", occurred_at=occurred_at, rating=rating))
    assert err.value.field == field
    assert store.dump() == before


async def test_logging_for_an_unknown_customer_is_not_found(store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    before = store.dump()
    with pytest.raises(NotFound) as err:
        await log_interaction(store.uow(), clock, org.admin, LogInteraction(uuid.uuid4(), InteractionKind.NOTE, "x"))
    assert err.value.field == ("customerId",)
    assert store.dump() == before


async def test_logging_leaves_the_customer_alone(store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    customer = await new_customer(store, clock, org)
    await log_interaction(store.uow(), clock, org.admin, LogInteraction(customer.id, InteractionKind.NOTE, "x"))
    assert store.customer(customer.id).version == 1

"""Create-once semantics of `idempotencyKey` (application/idempotency.py) through the create use cases."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from application.customers import (
    ContactData,
    CreateCustomer,
    LogInteraction,
    UpdateCustomer,
    create_customer,
    log_interaction,
    update_customer,
)
from application.idempotency import fingerprint
from application.organisation import CreateStaff, create_staff
from domain.customer import CustomerKind, InteractionKind
from domain.organisation import Role
from domain.shared import InvalidInput, NotAuthorized, NotFound
from tests.application.conftest import Org
from tests.application.fakes import FakeClock, InMemoryStore


def create(key: str | None = "key-1", **kwargs: object) -> CreateCustomer:
    args: dict[str, object] = {"name": "Acme", "kind": CustomerKind.COMPANY, "tags": ("vip",),
                               "contacts": (ContactData("Ana", "ana@example.com"),), "idempotency_key": key}
    args.update(kwargs)
    return CreateCustomer(**args)  # type: ignore[arg-type]


async def test_a_retry_returns_the_first_result_and_writes_nothing_new(
        store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    first = await create_customer(store.uow(), clock, org.admin, create())
    before = store.dump()
    clock.advance(minutes=5)
    again = await create_customer(store.uow(), clock, org.admin, create())
    assert again.id == first.id and again.code == first.code == "C-000001"
    assert store.dump() == before  # no customer, no event, no sequence number, no key


async def test_a_retry_returns_the_customer_as_it_is_now(store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    first = await create_customer(store.uow(), clock, org.admin, create())
    await update_customer(store.uow(), clock, org.admin, UpdateCustomer(first.id, name="Renamed"))
    again = await create_customer(store.uow(), clock, org.admin, create())
    assert again.id == first.id and again.name == "Renamed" and again.version == 2


@pytest.mark.parametrize("other", [
    {"name": "Acme Ltd"},
    {"kind": CustomerKind.PERSON},
    {"tags": ("vip", "retail")},
    {"contacts": (ContactData("Ana", "ana@example.org"),)},
    {"code": "ACME"},
])
async def test_the_same_key_with_other_input_is_invalid(
        store: InMemoryStore, clock: FakeClock, org: Org, other: dict[str, object]) -> None:
    await create_customer(store.uow(), clock, org.admin, create())
    before = store.dump()
    with pytest.raises(InvalidInput) as err:
        await create_customer(store.uow(), clock, org.admin, create(**other))
    assert err.value.field == ("idempotencyKey",)
    assert store.dump() == before


async def test_keys_are_scoped_per_actor(store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    mine = await create_customer(store.uow(), clock, org.sales_member, create())
    theirs = await create_customer(store.uow(), clock, org.service_member, create())
    assert mine.id != theirs.id
    assert len(store.customers) == 2
    # and a key used by one actor with some input does not block another actor's different input
    other = await create_customer(store.uow(), clock, org.sales_manager, create(name="Something else"))
    assert other.id not in (mine.id, theirs.id)


async def test_keys_are_scoped_per_use_case(store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    customer = await create_customer(store.uow(), clock, org.admin, create(key="shared"))
    interaction = await log_interaction(store.uow(), clock, org.admin, LogInteraction(
        customer.id, InteractionKind.NOTE, "Met them", idempotency_key="shared"))
    assert interaction.customer_id == customer.id
    assert len(store.interactions) == 1


async def test_different_keys_create_different_customers(store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    one = await create_customer(store.uow(), clock, org.admin, create(key="a"))
    two = await create_customer(store.uow(), clock, org.admin, create(key="b"))
    assert one.id != two.id and (one.code, two.code) == ("C-000001", "C-000002")


async def test_without_a_key_every_call_creates(store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    one = await create_customer(store.uow(), clock, org.admin, create(key=None))
    two = await create_customer(store.uow(), clock, org.admin, create(key=None))
    assert one.id != two.id
    assert store.idempotency == {}


@pytest.mark.parametrize("key", ["", "   ", "k" * 201])
async def test_a_key_must_be_one_to_two_hundred_characters(
        store: InMemoryStore, clock: FakeClock, org: Org, key: str) -> None:
    with pytest.raises(InvalidInput) as err:
        await create_customer(store.uow(), clock, org.admin, create(key=key))
    assert err.value.field == ("idempotencyKey",)
    assert store.customers == {}


async def test_a_two_hundred_character_key_is_fine(store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    await create_customer(store.uow(), clock, org.admin, create(key="k" * 200))
    assert len(store.customers) == 1


async def test_a_failed_attempt_does_not_use_up_the_key(store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    with pytest.raises(NotFound):
        await create_customer(store.uow(), clock, org.admin, create(owner_id=uuid.uuid4()))
    assert store.idempotency == {} and store.customers == {}
    fixed = await create_customer(store.uow(), clock, org.admin, create(owner_id=org.sales_member.id))
    assert store.customer(fixed.id).owner_id == org.sales_member.id


async def test_log_interaction_retry_returns_the_first_interaction(
        store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    customer = await create_customer(store.uow(), clock, org.admin, create(key=None))
    cmd = LogInteraction(customer.id, InteractionKind.FEEDBACK, "Great", rating=5, idempotency_key="fb-1")
    first = await log_interaction(store.uow(), clock, org.sales_member, cmd)
    before = store.dump()
    clock.advance(minutes=1)
    again = await log_interaction(store.uow(), clock, org.sales_member, cmd)
    assert again.id == first.id and again.recorded_at == first.recorded_at
    assert store.dump() == before
    with pytest.raises(InvalidInput) as err:
        await log_interaction(store.uow(), clock, org.sales_member, LogInteraction(
            customer.id, InteractionKind.FEEDBACK, "Great", rating=4, idempotency_key="fb-1"))
    assert err.value.field == ("idempotencyKey",)
    assert store.dump() == before


async def test_create_staff_retry_returns_the_first_person(store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    cmd = CreateStaff("Ana", "ana@example.com", org.sales.id, Role.MEMBER, idempotency_key="hire-ana")
    first = await create_staff(store.uow(), clock, org.admin, cmd)
    before = store.dump()
    again = await create_staff(store.uow(), clock, org.admin, cmd)
    assert again.id == first.id
    assert store.dump() == before
    with pytest.raises(InvalidInput) as err:
        await create_staff(store.uow(), clock, org.admin, CreateStaff(
            "Ana", "ana@example.com", org.sales.id, Role.KEY_USER, idempotency_key="hire-ana"))
    assert err.value.field == ("idempotencyKey",)
    assert store.dump() == before


async def test_a_replayed_key_does_not_let_a_non_admin_in(store: InMemoryStore, clock: FakeClock, org: Org) -> None:
    cmd = CreateStaff("Ana", "ana@example.com", org.sales.id, Role.MEMBER, idempotency_key="hire-ana")
    await create_staff(store.uow(), clock, org.admin, cmd)
    before = store.dump()
    with pytest.raises(NotAuthorized):
        await create_staff(store.uow(), clock, org.sales_manager, cmd)
    assert store.dump() == before


# --------------------------------------------------------------------------- the fingerprint itself


@dataclass(frozen=True)
class Cmd:
    name: str
    n: int
    idempotency_key: str | None = None


def test_the_fingerprint_ignores_the_key_and_sees_every_field() -> None:
    assert fingerprint(Cmd("a", 1, "x")) == fingerprint(Cmd("a", 1, "y")) == fingerprint(Cmd("a", 1))
    assert fingerprint(Cmd("a", 1)) != fingerprint(Cmd("a", 2))
    assert fingerprint(Cmd("a", 1)) != fingerprint(Cmd("b", 1))
    assert fingerprint({"b": 1, "a": 2}) == fingerprint({"a": 2, "b": 1})

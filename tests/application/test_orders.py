"""transitionOrder as a use case (application/orders.py) through in-memory fakes: the department that owns
each move, the owner's rights, stale versions, refusals that write nothing, and events handed to the
publisher only after the commit."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from application import orders as ou
from domain.customer import Customer, CustomerKind, CustomerTier
from domain.order import Order, OrderStatus
from domain.organisation import Role, Staff
from domain.shared import Conflict, ForbiddenTransition, NotAuthorized, NotFound
from tests.application.fakes import FakeClock, OrdersAndWorkflowsStore, RecordingPublisher

S = OrderStatus
DEPARTMENTS = ("SALES", "WAREHOUSE", "FINANCE", "MARKETING")


@pytest.fixture
def publisher() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture
def store(publisher: RecordingPublisher) -> OrdersAndWorkflowsStore:
    return OrdersAndWorkflowsStore(publisher)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def people(store: OrdersAndWorkflowsStore) -> dict[str, Staff]:
    departments = {code: store.add_department(code) for code in DEPARTMENTS}
    found = {f"{code.lower()}.{role.value.lower()}": store.add_staff(role=role, department=department)
             for code, department in departments.items() for role in (Role.MEMBER, Role.MANAGER)}
    found["admin"] = store.add_staff(role=Role.ADMIN, department=departments["MARKETING"])
    return found


async def new_order(store: OrdersAndWorkflowsStore, clock: FakeClock, taker: Staff,
                    owner: Staff | None = None) -> Order:
    customer = Customer.register(code=f"C{uuid.uuid4().hex[:6]}".upper(), name="Acme", kind=CustomerKind.COMPANY,
                                 tier=CustomerTier.GOLD, at=clock.now(), by=None)
    customer.collect_events()
    customer.version = 1
    store.customers[customer.id] = customer
    return await ou.create_order(store.uow(), clock, taker, ou.CreateOrder(
        customer_id=customer.id, currency="EUR", owner_id=owner.id if owner else None,
        lines=(ou.OrderLineData(sku="X-1", quantity="2", unit_price="10.50"),)))


async def move(store: OrdersAndWorkflowsStore, clock: FakeClock, who: Staff, order: Order, to: OrderStatus,
               version: int | None = None) -> Order:
    return await ou.transition_order(store.uow(), clock, who, ou.TransitionOrder(order.id, to, version))


async def test_the_whole_way_each_department_doing_its_part(store: OrdersAndWorkflowsStore, clock: FakeClock,
                                                            people: dict[str, Staff],
                                                            publisher: RecordingPublisher) -> None:
    order = await new_order(store, clock, people["sales.member"])
    placed = clock.advance(hours=1)
    order = await move(store, clock, people["sales.member"], order, S.CONFIRMED, version=1)
    assert (order.status, order.placed_at, order.version) == (S.CONFIRMED, placed, 2)
    for who, to in (("warehouse.member", S.IN_FULFILLMENT), ("warehouse.member", S.SHIPPED),
                    ("finance.member", S.INVOICED), ("finance.manager", S.PAID)):
        clock.advance(hours=1)
        order = await move(store, clock, people[who], order, to, version=order.version)
    stored = store.order(order.id)
    assert (stored.status, stored.placed_at, stored.version, stored.updated_at) == (S.PAID, placed, 6, clock.now())
    types = [e.type for batch in publisher.published for e in batch]
    assert types == ["order.created", "order.confirmed", "order.in_fulfillment", "order.shipped", "order.invoiced",
                     "order.paid"]
    assert [e.actor_id for e in store.committed_events[1:3]] == [people["sales.member"].id,
                                                                   people["warehouse.member"].id]


@pytest.mark.parametrize("who, to", [
    ("warehouse.manager", S.CONFIRMED), ("finance.member", S.CANCELLED), ("marketing.manager", S.CONFIRMED),
])
async def test_other_departments_may_not_confirm_or_cancel(store: OrdersAndWorkflowsStore, clock: FakeClock,
                                                           people: dict[str, Staff], who: str,
                                                           to: OrderStatus) -> None:
    order = await new_order(store, clock, people["sales.member"])
    before = store.dump()
    with pytest.raises(NotAuthorized):
        await move(store, clock, people[who], order, to)
    assert store.dump() == before


@pytest.mark.parametrize("who, start, to", [
    ("sales.manager", [S.CONFIRMED], S.IN_FULFILLMENT),
    ("finance.manager", [S.CONFIRMED, S.IN_FULFILLMENT], S.SHIPPED),
    ("warehouse.manager", [S.CONFIRMED, S.IN_FULFILLMENT, S.SHIPPED], S.INVOICED),
    ("sales.member", [S.CONFIRMED, S.IN_FULFILLMENT, S.SHIPPED, S.INVOICED], S.PAID),
])
async def test_each_later_step_is_one_departments(store: OrdersAndWorkflowsStore, clock: FakeClock,
                                                  people: dict[str, Staff], who: str, start: list[OrderStatus],
                                                  to: OrderStatus) -> None:
    order = await new_order(store, clock, people["sales.member"])
    for step in start:
        order = await move(store, clock, people["admin"], order, step)
    with pytest.raises(NotAuthorized):
        await move(store, clock, people[who], order, to)
    assert store.order(order.id).status is start[-1]


async def test_the_owner_outside_sales_confirms_their_order(store: OrdersAndWorkflowsStore, clock: FakeClock,
                                                            people: dict[str, Staff]) -> None:
    owner = people["marketing.member"]
    order = await new_order(store, clock, people["sales.member"], owner=owner)
    order = await move(store, clock, owner, order, S.CONFIRMED)
    with pytest.raises(NotAuthorized):
        await move(store, clock, owner, order, S.IN_FULFILLMENT)  # the warehouse's work, even for the owner
    assert (await move(store, clock, owner, order, S.CANCELLED)).status is S.CANCELLED


async def test_admins_move_anything_the_machine_allows(store: OrdersAndWorkflowsStore, clock: FakeClock,
                                                       people: dict[str, Staff]) -> None:
    order = await new_order(store, clock, people["sales.member"])
    order = await move(store, clock, people["admin"], order, S.CONFIRMED)
    with pytest.raises(ForbiddenTransition):
        await move(store, clock, people["admin"], order, S.SHIPPED)  # skipping fulfilment
    assert (await move(store, clock, people["admin"], order, S.CANCELLED)).status is S.CANCELLED


async def test_a_stale_version_is_a_conflict_and_changes_nothing(store: OrdersAndWorkflowsStore, clock: FakeClock,
                                                                 people: dict[str, Staff]) -> None:
    order = await new_order(store, clock, people["sales.member"])
    await move(store, clock, people["sales.member"], order, S.CONFIRMED, version=1)
    before = store.dump()
    with pytest.raises(Conflict) as err:
        await move(store, clock, people["sales.member"], order, S.CANCELLED, version=1)
    assert err.value.field == ("expectedVersion",)
    assert store.dump() == before


async def test_two_writers_from_the_same_read_one_wins(store: OrdersAndWorkflowsStore, clock: FakeClock,
                                                        people: dict[str, Staff]) -> None:
    order = await new_order(store, clock, people["sales.member"])
    first, second = store.uow(), store.uow()
    async with first, second:
        mine = await first.orders.get(order.id)
        theirs = await second.orders.get(order.id)
        assert mine is not None and theirs is not None
        mine.transition(S.CONFIRMED, at=clock.now(), by=None)
        theirs.transition(S.CANCELLED, at=clock.now(), by=None)
        await first.orders.save(mine)
        await first.commit()
        with pytest.raises(Conflict):  # at the save or at the commit, whichever notices first
            await second.orders.save(theirs)
            await second.commit()
    assert store.order(order.id).status is S.CONFIRMED


async def test_an_unknown_order_is_not_found(store: OrdersAndWorkflowsStore, clock: FakeClock,
                                             people: dict[str, Staff]) -> None:
    with pytest.raises(NotFound) as err:
        await ou.transition_order(store.uow(), clock, people["admin"], ou.TransitionOrder(uuid.uuid4(), S.CONFIRMED))
    assert err.value.field == ("orderId",)


async def test_confirmation_time_is_the_clocks(store: OrdersAndWorkflowsStore, clock: FakeClock,
                                               people: dict[str, Staff]) -> None:
    order = await new_order(store, clock, people["sales.member"])
    clock.advance(timedelta(days=2))
    assert (await move(store, clock, people["sales.manager"], order, S.CONFIRMED)).placed_at == clock.now()

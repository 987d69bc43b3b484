"""Use cases for customers and their interactions."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from application.idempotency import replay_or_create
from application.ports import Clock, UnitOfWork
from domain.customer import (
    Contact,
    Customer,
    CustomerKind,
    CustomerTier,
    Interaction,
    InteractionKind,
    LifecycleStage,
    normalise_code,
)
from domain.organisation import Staff
from domain.shared import Duplicate, InvalidInput, NotFound

CUSTOMER_CODE_SEQUENCE = "customer_code"


@dataclass(frozen=True)
class ContactData:
    name: str
    email: str | None = None
    phone: str | None = None
    title: str | None = None
    primary: bool | None = None


@dataclass(frozen=True)
class CreateCustomer:
    name: str
    kind: CustomerKind
    code: str | None = None
    tier: CustomerTier | None = None
    lifecycle_stage: LifecycleStage | None = None
    owner_id: uuid.UUID | None = None
    contacts: tuple[ContactData, ...] = ()
    tags: tuple[str, ...] = ()
    attributes: dict[str, Any] | None = None
    idempotency_key: str | None = None


UNCHANGED: Any = object()


@dataclass(frozen=True)
class UpdateCustomer:
    customer_id: uuid.UUID
    expected_version: int | None = None
    name: str | None = None
    tier: CustomerTier | None = None
    owner_id: uuid.UUID | None = UNCHANGED
    contacts: tuple[ContactData, ...] | None = None
    tags: tuple[str, ...] | None = None
    attributes: dict[str, Any] | None = None


@dataclass(frozen=True)
class ChangeLifecycleStage:
    customer_id: uuid.UUID
    to: LifecycleStage
    reason: str | None = None
    expected_version: int | None = None


@dataclass(frozen=True)
class LogInteraction:
    customer_id: uuid.UUID
    kind: InteractionKind
    summary: str
    occurred_at: datetime | None = None
    rating: int | None = None
    idempotency_key: str | None = field(default=None)


def build_contacts(contacts: tuple[ContactData, ...] | list[ContactData]) -> list[Contact]:
    return [Contact.create(i, c.name, c.email, c.phone, c.title, c.primary) for i, c in enumerate(contacts)]


async def next_customer_code(uow: UnitOfWork) -> str:
    """C-000123, skipping numbers somebody already used as a hand-given code."""
    while True:
        code = f"C-{await uow.sequences.next_value(CUSTOMER_CODE_SEQUENCE):06d}"
        if await uow.customers.get_by_code(code) is None:
            return code


async def require_owner(uow: UnitOfWork, owner_id: uuid.UUID | None, field_name: str = "ownerId") -> None:
    if owner_id is None:
        return
    owner = await uow.staff.get(owner_id)
    if owner is None or not owner.active:
        raise NotFound("The owner must be an active staff member.", field=(field_name,))


async def create_customer(uow: UnitOfWork, clock: Clock, actor: Staff, cmd: CreateCustomer) -> Customer:
    """Register a customer; its owner is the given staff member, else whoever registers it (as for orders).
    Raises Duplicate (code taken), NotFound (owner), InvalidInput."""

    async def create() -> uuid.UUID:
        contacts = build_contacts(cmd.contacts)
        if cmd.code is not None:
            code = normalise_code(cmd.code)
            if await uow.customers.get_by_code(code) is not None:
                raise Duplicate(f"Customer code {code} is taken.", field=("code",))
        else:
            code = await next_customer_code(uow)
        owner_id = cmd.owner_id if cmd.owner_id is not None else actor.id
        await require_owner(uow, owner_id)
        customer = Customer.register(
            code=code, name=cmd.name, kind=cmd.kind, tier=cmd.tier, stage=cmd.lifecycle_stage,
            owner_id=owner_id, contacts=contacts, tags=list(cmd.tags), attributes=cmd.attributes,
            at=clock.now(), by=actor.id,
        )
        await uow.customers.add(customer)
        return customer.id

    async with uow:
        customer_id, _ = await replay_or_create(
            uow, scope=f"createCustomer:{actor.id}", key=cmd.idempotency_key, command=cmd, create=create
        )
        customer = await uow.customers.get(customer_id)  # as written (or as first written, for a replay), before the commit
        await uow.commit()
    assert customer is not None
    return customer


async def _load(uow: UnitOfWork, customer_id: uuid.UUID, field_name: str) -> Customer:
    customer = await uow.customers.get(customer_id, for_update=True)
    if customer is None:
        raise NotFound("No such customer.", field=(field_name,))
    return customer


async def sales_department_id(uow: UnitOfWork) -> uuid.UUID | None:
    department = await uow.departments.get_by_code("SALES")
    return department.id if department else None


async def update_customer(uow: UnitOfWork, clock: Clock, actor: Staff, cmd: UpdateCustomer) -> Customer:
    """Change a customer's details. Raises NotAuthorized (reassigning without the right), NotFound,
    Conflict, InvalidInput."""
    async with uow:
        customer = await _load(uow, cmd.customer_id, "id")
        customer.check_version(cmd.expected_version)
        clear_owner = cmd.owner_id is None
        owner_id = None if cmd.owner_id is UNCHANGED else cmd.owner_id
        if cmd.owner_id is not UNCHANGED:
            customer.check_owner_change(cmd.owner_id, actor=actor, sales_department_id=await sales_department_id(uow))
        await require_owner(uow, owner_id)
        changed = customer.update(
            at=clock.now(), by=actor.id, name=cmd.name, tier=cmd.tier, owner_id=owner_id,
            clear_owner=clear_owner,
            contacts=build_contacts(cmd.contacts) if cmd.contacts is not None else None,
            tags=list(cmd.tags) if cmd.tags is not None else None, attributes=cmd.attributes,
        )
        if changed:
            await uow.customers.save(customer)
            await uow.commit()
    return customer


async def change_lifecycle_stage(uow: UnitOfWork, clock: Clock, actor: Staff, cmd: ChangeLifecycleStage) -> Customer:
    """Move a customer along the life cycle. Raises NotFound, Conflict, ForbiddenTransition, InvalidInput."""
    async with uow:
        customer = await _load(uow, cmd.customer_id, "customerId")
        customer.check_version(cmd.expected_version)
        customer.change_stage(cmd.to, at=clock.now(), by=actor.id, reason=cmd.reason)
        await uow.customers.save(customer)
        await uow.commit()
    return customer


async def log_interaction(uow: UnitOfWork, clock: Clock, actor: Staff, cmd: LogInteraction) -> Interaction:
    """Record a call, e-mail, meeting, note or rated feedback, under the author's department.
    Raises NotFound (customer), InvalidInput."""

    async def create() -> uuid.UUID:
        customer = await _load(uow, cmd.customer_id, "customerId")
        interaction = Interaction.log(
            customer_id=customer.id, kind=cmd.kind, summary=cmd.summary, occurred_at=cmd.occurred_at,
            author_id=actor.id, department_id=actor.department_id, rating=cmd.rating, at=clock.now(),
        )
        await uow.interactions.add(interaction)
        return interaction.id

    async with uow:
        interaction_id, _ = await replay_or_create(
            uow, scope=f"logInteraction:{actor.id}", key=cmd.idempotency_key, command=cmd, create=create
        )
        interaction = await uow.interactions.get(interaction_id)  # as written (or as first written, for a replay), before the commit
        await uow.commit()
    if interaction is None:
        raise InvalidInput("The interaction could not be read back.")
    return interaction

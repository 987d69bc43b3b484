"""The Customer aggregate: identity, contacts, life-cycle stage with its history; and interactions."""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from domain.organisation import Role, Staff, normalise_email
from domain.shared import (
    AggregateRoot,
    DomainEvent,
    ForbiddenTransition,
    InvalidInput,
    NotAuthorized,
    published_as,
    require_text,
)

MAX_CONTACTS = 50
MAX_TAGS = 50
MAX_ATTRIBUTES_BYTES = 16_384
CODE_ALPHABET = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


class CustomerKind(StrEnum):
    COMPANY = "COMPANY"
    PERSON = "PERSON"


class CustomerTier(StrEnum):
    STANDARD = "STANDARD"
    SILVER = "SILVER"
    GOLD = "GOLD"
    STRATEGIC = "STRATEGIC"


class LifecycleStage(StrEnum):
    LEAD = "LEAD"
    PROSPECT = "PROSPECT"
    ACTIVE = "ACTIVE"
    LOYAL = "LOYAL"
    AT_RISK = "AT_RISK"
    CHURNED = "CHURNED"


S = LifecycleStage
ALLOWED_MOVES: dict[LifecycleStage, frozenset[LifecycleStage]] = {
    S.LEAD: frozenset({S.PROSPECT, S.AT_RISK}),
    S.PROSPECT: frozenset({S.ACTIVE, S.AT_RISK}),
    S.ACTIVE: frozenset({S.LOYAL, S.AT_RISK}),
    S.LOYAL: frozenset({S.AT_RISK}),
    S.AT_RISK: frozenset({S.ACTIVE, S.CHURNED}),
    S.CHURNED: frozenset({S.ACTIVE}),
}


def normalise_code(code: str, field_name: str = "code") -> str:
    text = (require_text(code, field_name, max_length=40) or "").upper()
    if not set(text) <= CODE_ALPHABET:
        raise InvalidInput("A code may hold only letters, digits, '-', '_' and '.'.", field=(field_name,))
    return text


@dataclass(frozen=True)
class Contact:
    name: str
    email: str | None = None
    phone: str | None = None
    title: str | None = None
    primary: bool = False
    id: uuid.UUID = field(default_factory=uuid.uuid4)

    @classmethod
    def create(cls, index: int, name: str, email: str | None = None, phone: str | None = None,
               title: str | None = None, primary: bool | None = None) -> "Contact":
        where = ("contacts", str(index))
        try:
            return cls(
                name=require_text(name, "name", max_length=200) or "",
                email=normalise_email(email) if email and email.strip() else None,
                phone=require_text(phone, "phone", max_length=40, required=False),
                title=require_text(title, "title", max_length=100, required=False),
                primary=bool(primary),
            )
        except InvalidInput as err:
            raise InvalidInput(err.message, field=where + (err.field or ())) from None

    def same_as(self, other: "Contact") -> bool:
        return (self.name, self.email, self.phone, self.title, self.primary) == (
            other.name, other.email, other.phone, other.title, other.primary)


def check_contacts(contacts: list[Contact]) -> list[Contact]:
    """Rule: AtMostOnePrimaryContact; the first becomes primary when none is marked."""
    if len(contacts) > MAX_CONTACTS:
        raise InvalidInput(f"At most {MAX_CONTACTS} contacts.", field=("contacts",))
    primaries = [i for i, c in enumerate(contacts) if c.primary]
    if len(primaries) > 1:
        raise InvalidInput("Only one contact may be primary.", field=("contacts", str(primaries[1]), "primary"))
    if contacts and not primaries:
        first = contacts[0]
        contacts = [Contact(first.name, first.email, first.phone, first.title, True, first.id), *contacts[1:]]
    return contacts


def check_tags(tags: list[str]) -> list[str]:
    if len(tags) > MAX_TAGS:
        raise InvalidInput(f"At most {MAX_TAGS} tags.", field=("tags",))
    clean: list[str] = []
    for i, tag in enumerate(tags):
        text = (tag or "").strip().lower()
        if not text or len(text) > 50:
            raise InvalidInput("A tag must be 1 to 50 characters.", field=("tags", str(i)))
        if text not in clean:
            clean.append(text)
    return sorted(clean)


MAX_ATTRIBUTES_DEPTH = 32
"""How deeply objects and arrays may nest in attributes (the attributes object is level 1)."""


def _nesting_exceeds(value: Any, limit: int) -> bool:
    """Whether dicts/lists/tuples nest more than `limit` levels, found without recursion
    (a cycle counts as too deep)."""
    stack = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if depth > limit:
            return True
        children = current.values() if isinstance(current, dict) else current
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list, tuple)))
    return False


def check_attributes(attributes: Any) -> dict[str, Any]:
    if attributes is None:
        return {}
    if not isinstance(attributes, dict):
        raise InvalidInput("attributes must be a JSON object.", field=("attributes",))
    if _nesting_exceeds(attributes, MAX_ATTRIBUTES_DEPTH):
        raise InvalidInput(f"attributes nest more than {MAX_ATTRIBUTES_DEPTH} levels deep.", field=("attributes",))
    if len(json.dumps(attributes, default=str)) > MAX_ATTRIBUTES_BYTES:
        raise InvalidInput(f"attributes are larger than {MAX_ATTRIBUTES_BYTES} bytes.", field=("attributes",))
    return attributes


@dataclass(frozen=True)
class StageChange:
    from_stage: LifecycleStage | None
    to_stage: LifecycleStage
    at: datetime
    by: uuid.UUID | None
    reason: str | None


@dataclass(eq=False, kw_only=True)
class Customer(AggregateRoot):
    aggregate_type = "customer"

    code: str
    name: str
    kind: CustomerKind
    tier: CustomerTier = CustomerTier.STANDARD
    stage: LifecycleStage = LifecycleStage.LEAD
    owner_id: uuid.UUID | None = None
    contacts: list[Contact] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    attributes: dict[str, Any] = field(default_factory=dict)
    stage_history: list[StageChange] = field(default_factory=list)
    created_at: datetime
    updated_at: datetime

    @classmethod
    def register(
        cls, *, code: str, name: str, kind: CustomerKind, at: datetime, by: uuid.UUID | None,
        tier: CustomerTier | None = None, stage: LifecycleStage | None = None,
        owner_id: uuid.UUID | None = None, contacts: list[Contact] | None = None,
        tags: list[str] | None = None, attributes: Any = None,
    ) -> "Customer":
        stage = LifecycleStage(stage or LifecycleStage.LEAD)
        customer = cls(
            id=uuid.uuid4(),
            code=normalise_code(code),
            name=require_text(name, "name", max_length=200) or "",
            kind=CustomerKind(kind),
            tier=CustomerTier(tier or CustomerTier.STANDARD),
            stage=stage,
            owner_id=owner_id,
            contacts=check_contacts(list(contacts or [])),
            tags=check_tags(list(tags or [])),
            attributes=check_attributes(attributes),
            stage_history=[StageChange(None, stage, at, by, None)],
            created_at=at,
            updated_at=at,
        )
        customer.record(CustomerCreated(**customer._state(at, by)))
        return customer

    def _state(self, at: datetime, by: uuid.UUID | None) -> dict[str, Any]:
        """The envelope and the customer's state as every CustomerEvent carries it."""
        return {"aggregate_id": self.id, "occurred_at": at, "actor_id": by, "code": self.code, "name": self.name,
                "kind": self.kind, "tier": self.tier, "lifecycle_stage": self.stage, "owner_id": self.owner_id,
                "tags": list(self.tags)}

    def update(
        self, *, at: datetime, by: uuid.UUID | None, name: str | None = None, tier: CustomerTier | None = None,
        owner_id: uuid.UUID | None = None, clear_owner: bool = False, contacts: list[Contact] | None = None,
        tags: list[str] | None = None, attributes: Any = None,
    ) -> bool:
        """Apply the given changes; returns False (and records nothing) when nothing differs.

        Everything is validated before anything is assigned, so a refused update leaves the
        customer exactly as it was.
        """
        wanted: dict[str, Any] = {}
        if name is not None:
            wanted["name"] = require_text(name, "name", max_length=200) or ""
        if tier is not None:
            wanted["tier"] = CustomerTier(tier)
        if clear_owner:
            wanted["owner_id"] = None
        elif owner_id is not None:
            wanted["owner_id"] = owner_id
        if contacts is not None:
            new_contacts = check_contacts(contacts)
            same = len(new_contacts) == len(self.contacts) and all(
                a.same_as(b) for a, b in zip(new_contacts, self.contacts))
            if not same:
                wanted["contacts"] = new_contacts
        if tags is not None:
            wanted["tags"] = check_tags(tags)
        if attributes is not None:
            wanted["attributes"] = check_attributes(attributes)
        changed = [key for key, value in wanted.items() if getattr(self, key) != value]
        if not changed:
            return False
        for key in changed:
            setattr(self, key, wanted[key])
        self.updated_at = at
        names = {"owner_id": "owner"}
        self.record(CustomerUpdated(**self._state(at, by), changed=[names.get(k, k) for k in changed]))
        return True

    def check_owner_change(self, new_owner_id: uuid.UUID | None, *, actor: Staff,
                           sales_department_id: uuid.UUID | None) -> None:
        """Rule: OnlyTheOwnerSalesLeadsOrAnAdminReassignACustomer. The owner sees the customer's
        complaints and their internal timeline, so ownership cannot be free for anyone to take."""
        if new_owner_id == self.owner_id or actor.is_admin or actor.id == self.owner_id:
            return
        if actor.active and actor.department_id == sales_department_id and actor.role.at_least(Role.KEY_USER):
            return
        raise NotAuthorized("Only the customer's owner, sales key users and managers, or an admin may change "
                            "the owner.")

    def change_stage(self, to: LifecycleStage, *, at: datetime, by: uuid.UUID | None, reason: str | None = None) -> None:
        """Move along the life cycle.

        Rules: StagesMoveOnlyAlongTheLifeCycle (LEAD -> PROSPECT -> ACTIVE -> LOYAL, any of
        those -> AT_RISK -> ACTIVE or CHURNED); AWinBackNeedsAReason (CHURNED -> ACTIVE).
        """
        to = LifecycleStage(to)
        reason = require_text(reason, "reason", max_length=1000, required=False)
        if to not in ALLOWED_MOVES[self.stage]:
            raise ForbiddenTransition.listing(f"A customer cannot move from {self.stage.value} to {to.value}.",
                                              self.stage, ALLOWED_MOVES[self.stage], field=("to",))
        if self.stage is LifecycleStage.CHURNED and not reason:
            raise InvalidInput("Winning back a churned customer needs a reason.", field=("reason",))
        change = StageChange(self.stage, to, at, by, reason)
        self.stage_history.append(change)
        self.stage = to
        self.updated_at = at
        self.record(CustomerStageChanged(aggregate_id=self.id, occurred_at=at, actor_id=by, from_=change.from_stage,
                                         to=to, reason=reason, code=self.code))


class InteractionKind(StrEnum):
    CALL = "CALL"
    EMAIL = "EMAIL"
    MEETING = "MEETING"
    FEEDBACK = "FEEDBACK"
    NOTE = "NOTE"


@dataclass(eq=False, kw_only=True)
class Interaction(AggregateRoot):
    """A touch point with a customer; records which department the author belonged to at the time."""

    aggregate_type = "interaction"

    customer_id: uuid.UUID
    kind: InteractionKind
    occurred_at: datetime
    author_id: uuid.UUID | None
    department_id: uuid.UUID | None
    summary: str
    rating: int | None = None
    recorded_at: datetime

    @classmethod
    def log(
        cls, *, customer_id: uuid.UUID, kind: InteractionKind, summary: str, occurred_at: datetime | None,
        author_id: uuid.UUID | None, department_id: uuid.UUID | None, rating: int | None, at: datetime,
    ) -> "Interaction":
        """Rules: FeedbackCarriesARatingFromOneToFive; OnlyFeedbackIsRated; NoInteractionsInTheFuture."""
        kind = InteractionKind(kind)
        if kind is InteractionKind.FEEDBACK:
            if rating is None or not 1 <= rating <= 5:
                raise InvalidInput("Feedback needs a rating from 1 to 5.", field=("rating",))
        elif rating is not None:
            raise InvalidInput("Only FEEDBACK interactions carry a rating.", field=("rating",))
        when = occurred_at or at
        if when.tzinfo is None:
            raise InvalidInput("occurredAt needs a time-zone offset.", field=("occurredAt",))
        if (when - at).total_seconds() > 300:
            raise InvalidInput("occurredAt lies in the future.", field=("occurredAt",))
        interaction = cls(
            id=uuid.uuid4(),
            customer_id=customer_id,
            kind=kind,
            occurred_at=when,
            author_id=author_id,
            department_id=department_id,
            summary=require_text(summary, "summary", max_length=5000) or "",
            rating=rating,
            recorded_at=at,
        )
        interaction.record(InteractionLogged(
            aggregate_id=interaction.id, occurred_at=at, actor_id=author_id, customer_id=customer_id, kind=kind,
            rating=rating, summary=interaction.summary, logged_occurred_at=when, department_id=department_id))
        return interaction


# ----------------------------------------------------------------------------------- events


@dataclass(frozen=True, kw_only=True)
class CustomerEvent(DomainEvent):
    """The customer as it is once the event happened."""

    aggregate_type = "customer"

    code: str
    name: str
    kind: CustomerKind
    tier: CustomerTier
    lifecycle_stage: LifecycleStage
    owner_id: uuid.UUID | None
    tags: list[str]


@dataclass(frozen=True, kw_only=True)
class CustomerCreated(CustomerEvent):
    event_name = "created"


@dataclass(frozen=True, kw_only=True)
class CustomerUpdated(CustomerEvent):
    event_name = "updated"
    changed: list[str]


@dataclass(frozen=True, kw_only=True)
class CustomerStageChanged(DomainEvent):
    aggregate_type = "customer"
    event_name = "stage_changed"
    from_: LifecycleStage | None = published_as("from")
    to: LifecycleStage
    reason: str | None
    code: str


@dataclass(frozen=True, kw_only=True)
class InteractionLogged(DomainEvent):
    aggregate_type = "interaction"
    event_name = "logged"
    customer_id: uuid.UUID
    kind: InteractionKind
    rating: int | None
    summary: str
    logged_occurred_at: datetime = published_as("occurredAt")
    department_id: uuid.UUID | None

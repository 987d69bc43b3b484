"""Building blocks shared by every aggregate: errors, events, the aggregate root."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from enum import Enum, StrEnum
from typing import Any, ClassVar, Collection, Sequence, TypeVar

E = TypeVar("E", bound=StrEnum)


class DomainError(Exception):
    """A business rule said no. `code` is stable and mapped, in one place, to an API error code.

    `field` names the offending input as a path relative to the command, e.g. ("contacts", "0", "email").
    """

    code: ClassVar[str] = "INVALID"

    def __init__(self, message: str, field: Sequence[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = tuple(field) if field else None


class InvalidInput(DomainError):
    code = "INVALID"


class NotFound(DomainError):
    code = "NOT_FOUND"


class Conflict(DomainError):
    """Someone else changed the aggregate first (stale expectedVersion), or two writes raced."""

    code = "CONFLICT"


class ForbiddenTransition(DomainError):
    code = "FORBIDDEN_TRANSITION"

    @classmethod
    def listing(cls, message: str, current: Enum, allowed: Collection[Enum],
                field: Sequence[str] | None = None) -> "ForbiddenTransition":
        """`message` and what the machine allows from `current` instead (in the states' declared order), so
        the caller knows the way on rather than guessing."""
        names = [state.value for state in type(current) if state in allowed]
        then = (f" From {current.value} it can become {', '.join(names[:-1])} or {names[-1]}." if len(names) > 1
                else f" From {current.value} it can only become {names[0]}." if names
                else f" {current.value} is final.")
        return cls(message + then, field=field)


class Duplicate(DomainError):
    code = "DUPLICATE"


class LimitExceeded(DomainError):
    code = "LIMIT_EXCEEDED"


class NotAuthorized(Exception):
    """The actor may not do this. Reported as a top-level error, never as a userError,
    and deliberately without detail so it leaks nothing about the target."""

    code = "FORBIDDEN"

    def __init__(self, message: str = "You are not allowed to do this.") -> None:
        super().__init__(message)
        self.message = message


ENVELOPE = frozenset({"aggregate_id", "occurred_at", "actor_id", "id"})


def unpublished(default: Any = None) -> Any:
    """A field an in-transaction handler needs that is not part of the published payload."""
    return field(default=default, metadata={"published": False})


def published_as(name: str, **metadata: Any) -> Any:
    """A field published under another name (`from` is a keyword) or format (`timespec`)."""
    return field(metadata={"json": name, **metadata})


def _camel(name: str) -> str:
    head, *rest = name.rstrip("_").split("_")
    return head + "".join(part.title() for part in rest)


def _published(value: Any, timespec: str | None) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat(timespec=timespec) if timespec else value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_published(item, timespec) for item in value]
    return value


@dataclass(frozen=True, kw_only=True)
class DomainEvent:
    """Something that happened to an aggregate, named in the past tense (`ComplaintFiled`, published as
    `complaint.filed`).

    A subclass names its aggregate and itself (`aggregate_type`, `event_name`) and carries its payload as fields;
    the envelope (`aggregate_id`, `occurred_at`, `actor_id`, `id`) is common to all. `payload` is what is
    published (outbox, webhooks, broker, subscriptions, the event feed): every other field in declaration
    order (base classes' first), named in camelCase (or as `published_as` says), ids and enums as strings,
    datetimes in ISO 8601. A `flatten` field's mapping is spread into the payload in its place; an
    `unpublished()` field is for handlers only."""

    aggregate_type: ClassVar[str] = "aggregate"
    event_name: ClassVar[str] = "happened"

    aggregate_id: uuid.UUID
    occurred_at: datetime
    actor_id: uuid.UUID | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)

    @property
    def type(self) -> str:
        return f"{self.aggregate_type}.{self.event_name}"

    @property
    def payload(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name in ENVELOPE or not f.metadata.get("published", True):
                continue
            value = getattr(self, f.name)
            if f.metadata.get("flatten"):
                out.update(value)
            else:
                out[f.metadata.get("json", _camel(f.name))] = _published(value, f.metadata.get("timespec"))
        return out


@dataclass(frozen=True, kw_only=True)
class StoredEvent(DomainEvent):
    """An event read back from where it was published (an outbox row, a NOTIFY): type and payload as data."""

    stored_type: str
    stored_aggregate_type: str
    stored_payload: dict[str, Any]

    @property  # type: ignore[override]
    def type(self) -> str:
        return self.stored_type

    @property  # type: ignore[override]
    def aggregate_type(self) -> str:  # type: ignore[override]
        return self.stored_aggregate_type

    @property
    def payload(self) -> dict[str, Any]:
        return self.stored_payload

    @classmethod
    def of(cls, *, type: str, aggregate_type: str, aggregate_id: uuid.UUID, occurred_at: datetime,
           payload: dict[str, Any], actor_id: uuid.UUID | None = None, id: uuid.UUID | None = None) -> "StoredEvent":
        return cls(stored_type=type, stored_aggregate_type=aggregate_type, stored_payload=payload,
                   aggregate_id=aggregate_id, occurred_at=occurred_at, actor_id=actor_id, id=id or uuid.uuid4())


@dataclass(eq=False, kw_only=True)
class AggregateRoot:
    """Identity, an optimistic-concurrency version, and events waiting to be published."""

    aggregate_type: ClassVar[str] = "aggregate"

    id: uuid.UUID
    version: int = 0
    pending_events: list[DomainEvent] = field(default_factory=list, repr=False)

    def record(self, event: DomainEvent) -> None:
        """Collect an event of this aggregate; the unit of work hands it to the message bus and the outbox."""
        assert event.aggregate_type == self.aggregate_type and event.aggregate_id == self.id, event
        self.pending_events.append(event)

    def collect_events(self) -> list[DomainEvent]:
        events, self.pending_events = self.pending_events, []
        return events

    def check_version(self, expected: int | None) -> None:
        """Refuse a write based on a stale read (`expectedVersion`)."""
        if expected is not None and expected != self.version:
            raise Conflict(
                f"{self.aggregate_type} was changed by someone else (version {self.version}, you had {expected}); reload and retry.",
                field=("expectedVersion",),
            )


def require_text(value: str | None, field_name: str, *, max_length: int, required: bool = True) -> str | None:
    """Trim and bound a free-text input; empty required text is refused."""
    if value is None:
        if required:
            raise InvalidInput(f"{field_name} is required.", field=(field_name,))
        return None
    text = value.strip()
    if required and not text:
        raise InvalidInput(f"{field_name} must not be blank.", field=(field_name,))
    if len(text) > max_length:
        raise InvalidInput(f"{field_name} is longer than {max_length} characters.", field=(field_name,))
    return text or None


def coerce_choice(enum: type[E], value: object, field_name: str) -> E:
    """`value` as a member of `enum`, or InvalidInput listing the allowed values."""
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise InvalidInput(f"{field_name} must be one of {allowed}.", field=(field_name,)) from None


def as_utc(at: datetime, what: str = "This") -> datetime:
    """An aware datetime in UTC; a naive one is a programming error (ValueError naming `what` needs it)."""
    if at.tzinfo is UTC:
        return at
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{what} needs aware datetimes.")
    return at.astimezone(UTC)

"""Building blocks shared by every aggregate: errors, events, the aggregate root."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class DomainEvent:
    """Something that happened, named in the past tense (`customer.created`)."""

    type: str
    aggregate_type: str
    aggregate_id: uuid.UUID
    occurred_at: datetime
    payload: dict[str, Any]
    actor_id: uuid.UUID | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)


@dataclass(eq=False, kw_only=True)
class AggregateRoot:
    """Identity, an optimistic-concurrency version, and events waiting to be published."""

    aggregate_type: ClassVar[str] = "aggregate"

    id: uuid.UUID
    version: int = 0
    pending_events: list[DomainEvent] = field(default_factory=list, repr=False)

    def record(self, type_: str, at: datetime, payload: dict[str, Any], actor_id: uuid.UUID | None) -> None:
        self.pending_events.append(
            DomainEvent(
                type=f"{self.aggregate_type}.{type_}",
                aggregate_type=self.aggregate_type,
                aggregate_id=self.id,
                occurred_at=at,
                payload=payload,
                actor_id=actor_id,
            )
        )

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

"""Domain errors -> userErrors, and the GraphQL errors the API raises, each with extensions.code."""
from __future__ import annotations

from enum import Enum
from typing import Awaitable, Callable, TypeVar

import strawberry
from graphql import GraphQLError

from application.ports import DependencyUnavailable
from domain.shared import DomainError, NotAuthorized

T = TypeVar("T")


@strawberry.enum
class ErrorCode(Enum):
    INVALID = "INVALID"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    FORBIDDEN_TRANSITION = "FORBIDDEN_TRANSITION"
    DUPLICATE = "DUPLICATE"
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
    DEPENDENCY_UNAVAILABLE = "DEPENDENCY_UNAVAILABLE"
    RATE_LIMITED = "RATE_LIMITED"  # as `extensions.code` of an HTTP 429 (api/common/rate_limits.py)


@strawberry.type
class UserError:
    field: list[str] | None = strawberry.field(
        description='Path to the offending input field, e.g. ["input", "lines", "0", "quantity"]')
    message: str
    code: ErrorCode

    @classmethod
    def from_domain(cls, err: DomainError, root: tuple[str, ...] = ("input",)) -> "UserError":
        return cls(field=[*root, *err.field] if err.field else None, message=err.message, code=ErrorCode(err.code))


def api_error(message: str, code: str, **extra: object) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code, **extra})


def forbidden(err: NotAuthorized | None = None) -> GraphQLError:
    return api_error(err.message if err else "You are not allowed to do this.", "FORBIDDEN")


async def attempt(run: Callable[[], Awaitable[T]]) -> tuple[T | None, list[UserError]]:
    """Run a mutation's use case: business-rule failures become userErrors; refusals of
    authority become a top-level FORBIDDEN error."""
    try:
        return await run(), []
    except DomainError as err:
        return None, [UserError.from_domain(err)]
    except NotAuthorized as err:
        raise forbidden(err) from None


async def read(run: Callable[[], Awaitable[T]]) -> T:
    """Run a query: bad arguments become a GraphQL error with the domain code; an unavailable external system
    one with DEPENDENCY_UNAVAILABLE."""
    try:
        return await run()
    except DomainError as err:
        raise api_error(err.message, err.code, field=list(err.field or ())) from None
    except NotAuthorized as err:
        raise forbidden(err) from None
    except DependencyUnavailable as err:  # the ERP or finance system: this field is null, the rest stands
        raise api_error(str(err), "DEPENDENCY_UNAVAILABLE", system=err.system) from None

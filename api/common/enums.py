"""The domain's enums as GraphQL enums, each under its own name."""
from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry


def graphql_enums(*enums: type[Enum]) -> tuple[Any, ...]:
    return tuple(strawberry.enum(e, name=e.__name__) for e in enums)

"""Apollo Federation: the entities a partner subgraph may extend, each keyed by its global ID.

`Customer`, `Order`, `Complaint`, `Opportunity` and `Staff` carry `@key(fields: "id")` (ENTITY_KEY) and a
`resolve_reference` that goes through the request's DataLoaders, so `_entities` with many
representations of one type is one batch (one SQL statement) and sees exactly what `node` sees."""
from __future__ import annotations

import uuid
from typing import Any, Awaitable, Callable, TypeVar

from strawberry import UNSET
from strawberry.federation.schema_directives import Key

from api.common.errors import api_error
from api.common.relay import parse_global_id

T = TypeVar("T")

ENTITY_KEY = Key(fields="id", resolvable=UNSET)  # `@key(fields: "id")`; on a type: `directives=[ENTITY_KEY]`


async def load_entity(type_name: str, global_id: str, load: Callable[[uuid.UUID], Awaitable[Any]],
                      convert: Callable[[Any], T]) -> T | None:
    """The entity behind a representation's `id`: None when it names another type or nothing the caller
    may see; INVALID when it is not an ID this API handed out."""
    try:
        found, raw_id = parse_global_id(global_id)
    except ValueError:
        raise api_error(f"{global_id!r} is not a valid {type_name} ID.", "INVALID", field=["representations"]) \
            from None
    if found != type_name:
        return None
    view = await load(raw_id)
    return convert(view) if view is not None else None

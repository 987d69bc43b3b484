"""Read models that answer a whole selection at once, as a JSON document built by the database.

The hot read paths (a page of customers with their latest complaints, a customer with its contacts) do not
resolve field by field: the API hands the client's selection over as a tree of `Selected` fields, and a
`DocumentReads` adapter compiles it into one SQL statement that builds the JSON (PostgreSQL's
`json_build_object`/`json_agg`, SQLite's `json_object`/`json_group_array`), so no Python runs per row or per
field. An adapter answers None for a selection it cannot compile (a field computed in Python, such as SLA
clocks, ERP costs or Money); the API then resolves it field by field as before. Both paths apply the same
visibility rules: the complaint scope goes into the statement as the same WHERE clause the loaders use.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Awaitable, Callable, Protocol, Sequence

from application.queries.complaints import ComplaintFilter, ComplaintScope
from application.queries.orders import OrderFilter
from application.queries.pagination import PageRequest
from application.queries.views import CustomerFilter, CustomerSort
from domain.organisation import Staff


@dataclass(frozen=True)
class Selected:
    """One field the client selected: its response key (alias or name), its name and type in the schema, its
    arguments (variables resolved) and what it selects in turn."""

    key: str
    name: str
    type_name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    fields: tuple["Selected", ...] = ()

    @cached_property
    def signature(self) -> str:
        """What the field asks for, as text: equal for equal selections (a key for what is compiled of it)."""
        return repr(self)


ScopeOf = Callable[[], Awaitable[ComplaintScope]]  # the reader's complaint scope, looked up only if needed


@dataclass(frozen=True)
class SignIn:
    """A request's sign-in still to be checked: the staff member its token names, read in the same statement as
    a document, so that a hot read costs one round trip, authentication included. `accept` gets that member as
    stored (None when there is none) before the document is used, and raises to refuse it."""

    staff_id: uuid.UUID
    accept: Callable[[Staff | None], None]


class DocumentReads(Protocol):
    async def customers(self, fields: Sequence[Selected], filter: CustomerFilter, sort: CustomerSort,
                        page: PageRequest, scope_of: ScopeOf, sign_in: SignIn | None = None) -> bytes | None:
        """The customers connection as JSON text, or None when the selection needs the resolvers."""

    async def customer(self, fields: Sequence[Selected], *, id: Any = None, code: str | None = None,
                       scope_of: ScopeOf, sign_in: SignIn | None = None) -> bytes | None:
        """One customer (by id or code) as JSON text (`null` when there is none), or None as above."""

    async def complaints(self, fields: Sequence[Selected], filter: ComplaintFilter, page: PageRequest,
                         scope_of: ScopeOf, sign_in: SignIn | None = None) -> bytes | None:
        """The complaints connection (the reader's, newest first) as JSON text, or None as above; SLA clocks are
        computed at the adapter's clock, as the resolvers compute them."""

    async def board(self, fields: Sequence[Selected], filter: OrderFilter, scope_of: ScopeOf,
                    sign_in: SignIn | None = None) -> bytes | None:
        """The order Kanban as JSON text, or None as above."""

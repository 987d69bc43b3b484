"""`auditLog` for ADMINs (others get FORBIDDEN), and `AuditedWrites`, which tells the unit of work who runs
which mutation (application/audit.py). Nothing in the API edits or deletes the log."""
from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any, Iterator

import strawberry
from strawberry.extensions import SchemaExtension
from strawberry.scalars import JSON
from strawberry.types import Info
from strawberry.types.graphql import OperationType

from api.common.errors import forbidden, read
from api.common.exposure import REQUEST_ID
from api.common.relay import Connection, Node, page_request, parse_global_id, to_global_id
from api.context import Context
from api.integrations.api_keys import ApiKey, load_api_key
from api.organisation.types import Staff, load_staff
from application.audit import AUDIT, AuditContext
from application.queries.audit import AuditFilter as AuditFilterQuery
from application.queries.audit import AuditView
from domain.shared import InvalidInput

NODE_TYPES = {"customer": "Customer", "interaction": "Interaction", "staff": "Staff", "order": "Order",
              "workflow": "WorkflowInstance", "complaint": "Complaint", "webhook": "Webhook", "api_key": "ApiKey"}


@strawberry.enum
class AuditOperation(enum.Enum):
    CREATE = "CREATE"
    UPDATE = "UPDATE"
    DELETE = "DELETE"


@strawberry.type(description="One recorded write: who, when, what, and the changed fields before and after")
class AuditEntry(Node):
    id: strawberry.ID
    at: datetime
    aggregate_type: str = strawberry.field(
        description="e.g. customer, complaint, order, workflow_instance, staff, webhook")
    aggregate_id: strawberry.ID
    operation: str = strawberry.field(description="The GraphQL mutation (or CLI command) that wrote")
    kind: AuditOperation
    before: JSON | None = strawberry.field(description="{field: value} of the changed fields before the write "
                                                       "(null for a create)")
    after: JSON | None = strawberry.field(description="{field: value} of the changed fields after the write")
    request_id: str | None
    actor_id: strawberry.Private[uuid.UUID | None]
    api_key_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field(description="The staff member, or null when an API key wrote")
    async def actor(self, info: Info[Context, None]) -> Staff | None:
        return None if self.api_key_id is not None else await load_staff(info, self.actor_id)

    @strawberry.field
    async def api_key(self, info: Info[Context, None]) -> ApiKey | None:
        return await load_api_key(info, self.api_key_id) if self.api_key_id is not None else None

    @classmethod
    def from_view(cls, v: AuditView) -> "AuditEntry":
        return cls(id=to_global_id("AuditEntry", v.id), at=v.at, aggregate_type=v.aggregate_type,
                   aggregate_id=to_global_id(NODE_TYPES.get(v.aggregate_type, v.aggregate_type), v.aggregate_id),
                   operation=v.operation, kind=AuditOperation(v.kind), before=v.before, after=v.after,
                   request_id=v.request_id, actor_id=v.actor_id, api_key_id=v.api_key_id)


@strawberry.input
class AuditFilter:
    aggregate_id: strawberry.ID | None = None
    aggregate_type: str | None = None
    actor_id: strawberry.ID | None = None
    from_: datetime | None = strawberry.field(default=None, name="from")
    to: datetime | None = None

    def parsed(self) -> AuditFilterQuery:
        return AuditFilterQuery(aggregate_id=_raw(self.aggregate_id, "aggregateId"), aggregate_type=self.aggregate_type,
                                actor_id=_raw(self.actor_id, "actorId"), from_=self.from_, to=self.to)


def _raw(global_id: str | None, field: str) -> uuid.UUID | None:
    if global_id is None:
        return None
    try:
        return parse_global_id(global_id)[1]
    except ValueError:
        raise InvalidInput(f"{field} is not a valid ID.", field=("filter", field)) from None


@strawberry.type
class AuditQuery:
    @strawberry.field(description="Every recorded write, newest first; for admins")
    async def audit_log(self, info: Info[Context, None], first: int | None = None, after: str | None = None,
                        filter: AuditFilter | None = None) -> Connection[AuditEntry]:
        if not info.context.admin:
            raise forbidden()

        async def run():  # type: ignore[no-untyped-def]
            return await info.context.audit.log((filter or AuditFilter()).parsed(),
                                                                   page_request(first, after))

        return Connection.from_page(await read(run), AuditEntry.from_view)


class AuditedWrites(SchemaExtension):
    """For a mutation: who writes (the member, and the API key when one signed the request), which mutation(s),
    and the request id, for the audit records its writes leave (application/audit.py)."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if context.operation_type is OperationType.MUTATION:
            ctx: Any = context.context
            state = (getattr(getattr(ctx, "request", None), "scope", None) or {}).get("state", {})
            actor = getattr(ctx, "actor", None)
            document = context.graphql_document
            fields = [s.name.value for d in (document.definitions if document else ())
                      for s in getattr(getattr(d, "selection_set", None), "selections", ()) if hasattr(s, "name")]
            token = AUDIT.set(AuditContext(actor_id=actor.id if actor is not None else None,
                                           api_key_id=state.get("api_key_id"), operation=", ".join(fields) or None,
                                           request_id=REQUEST_ID.get()))
            try:
                yield
            finally:  # the mutation's, not whatever runs later in the same context (an in-process caller's)
                AUDIT.reset(token)
            return
        yield

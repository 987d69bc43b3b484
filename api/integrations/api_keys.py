"""API keys for partner systems: `createApiKey` (the secret shown once), `revokeApiKey`, `apiKeys` and the ApiKey
node, for ADMINs (others get FORBIDDEN, and `node` gives them null). Rules in domain/api_key.py.

A request made with a key has the rights of the member it acts as, narrowed by its scopes: `ScopedKeys` refuses
a mutation (FORBIDDEN) to a key without `write`."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Awaitable, Iterator

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types import Info
from strawberry.types.graphql import OperationType

from api.common.errors import UserError, forbidden
from api.common.payloads import Payload, write, written
from api.common.relay import Node, decode_id, to_global_id
from api.context import Context
from api.nodes import Loaded, load_node
from api.organisation.types import Staff, load_staff
from application.api_keys import CreateApiKey, create_api_key, revoke_api_key
from domain.api_key import WRITE
from domain.api_key import ApiKey as ApiKeyRecord


@strawberry.type(description="A credential for a partner system; the secret is shown once and stored only as a "
                             "hash")
class ApiKey(Node, Loaded, loader="api_key_by_id"):
    id: strawberry.ID
    name: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    created_by_id: strawberry.Private[uuid.UUID | None]
    acts_as_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def created_by(self, info: Info[Context, None]) -> Staff | None:
        return await load_staff(info, self.created_by_id)

    @strawberry.field(description="The staff identity the key acts as (its rights are that person's, narrowed by "
                                  "scopes)")
    async def acts_as(self, info: Info[Context, None]) -> Staff:
        staff = await load_staff(info, self.acts_as_id)
        assert staff is not None  # a foreign key: the member is never deleted
        return staff

    @classmethod
    def from_view(cls, key: ApiKeyRecord) -> "ApiKey":
        return cls(id=to_global_id("ApiKey", key.id), name=key.name, scopes=list(key.scopes),
                   created_at=key.created_at, last_used_at=key.last_used_at, revoked_at=key.revoked_at,
                   created_by_id=key.created_by, acts_as_id=key.acts_as)

    @classmethod
    async def load(cls, info: Info[Context, None], raw_id: Any) -> "ApiKey | None":
        """The ApiKey node, for ADMINs only (null for everybody else, as if it did not exist)."""
        if not info.context.admin:
            return None
        return await load_node(info.context.loaders.api_key_by_id.load, raw_id, cls.from_view)


@strawberry.input
class CreateApiKeyInput:
    name: str
    scopes: list[str]
    acts_as_id: strawberry.ID


@strawberry.input
class RevokeApiKeyInput:
    api_key_id: strawberry.ID


@strawberry.type
class ApiKeyPayload(Payload):
    api_key: ApiKey | None = written(ApiKey)
    secret: str | None = strawberry.field(description="Shown once")
    user_errors: list[UserError]


load_api_key = ApiKey.load


@strawberry.type
class ApiKeyQuery:
    @strawberry.field(description="Every API key, revoked ones too, oldest first; for admins")
    async def api_keys(self, info: Info[Context, None]) -> list[ApiKey]:
        if not info.context.admin:
            raise forbidden()
        return [ApiKey.from_view(k) for k in await info.context.api_keys.all()]


@strawberry.type
class ApiKeyMutation:
    @strawberry.mutation(description="Issue an API key acting as a staff member (admins); the payload's secret is "
                                     "shown once. Scopes: read (always), write (mutations), federation (the SDL for a gateway)")
    async def create_api_key(self, info: Info[Context, None], input: CreateApiKeyInput) -> ApiKeyPayload:
        def issue(ctx: Context) -> Awaitable[Any]:
            if not info.context.admin:
                raise forbidden()
            return create_api_key(ctx.api_keys, ctx.uow(), ctx.clock, ctx.actor, CreateApiKey(
                input.name, tuple(input.scopes), decode_id(input.acts_as_id, "Staff", "actsAsId")))

        issued, errors = await write(info, issue)
        return ApiKeyPayload(written_id=issued.api_key.id if issued else None,
                             secret=issued.secret if issued else None, user_errors=errors)

    @strawberry.mutation(description="Revoke an API key at once (admins); a revoked key stays revoked")
    async def revoke_api_key(self, info: Info[Context, None], input: RevokeApiKeyInput) -> ApiKeyPayload:
        def revoke(ctx: Context) -> Awaitable[Any]:
            if not info.context.admin:
                raise forbidden()
            return revoke_api_key(ctx.api_keys, ctx.clock, ctx.actor, decode_id(input.api_key_id, "ApiKey", "apiKeyId"))

        revoked, errors = await write(info, revoke)
        return ApiKeyPayload(written_id=revoked.id if revoked else None, secret=None, user_errors=errors)


class ScopedKeys(SchemaExtension):
    """A request made with an API key runs a mutation only if the key has the `write` scope."""

    def on_execute(self) -> Iterator[None]:
        context: Any = self.execution_context.context
        request = getattr(context, "request", None)
        scopes = (getattr(request, "scope", None) or {}).get("state", {}).get("scopes")
        if scopes is not None and WRITE not in scopes and \
                self.execution_context.operation_type is OperationType.MUTATION:
            raise GraphQLError("This API key may not write (it lacks the write scope).",
                               extensions={"code": "FORBIDDEN"})
        yield

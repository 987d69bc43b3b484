"""The strawberry Schema, assembled from each part's queries and mutations."""
from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors, MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.tools import merge_types
from strawberry.types import Info

from api.common.errors import api_error
from api.common.relay import Node
from api.context import Context
from api.customers.mutations import CustomerMutation
from api.customers.queries import CustomerQuery
from api.nodes import resolve_global_id
from api.organisation.mutations import OrganisationMutation
from api.organisation.queries import OrganisationQuery

MAX_NODES = 100


@strawberry.type
class NodeQuery:
    @strawberry.field
    async def node(self, info: Info[Context, None], id: strawberry.ID) -> Node | None:
        try:
            return await resolve_global_id(info, id)
        except ValueError:
            raise api_error("id is not a valid ID.", "INVALID", field=["id"]) from None

    @strawberry.field
    async def nodes(self, info: Info[Context, None], ids: list[strawberry.ID]) -> list[Node | None]:
        if len(ids) > MAX_NODES:
            raise api_error(f"At most {MAX_NODES} ids at once.", "LIMIT_EXCEEDED", field=["ids"])
        found = []
        for i, gid in enumerate(ids):
            try:
                found.append(await resolve_global_id(info, gid))
            except ValueError:
                raise api_error(f"ids[{i}] is not a valid ID.", "INVALID", field=["ids", str(i)]) from None
        return found


Query = merge_types("Query", (NodeQuery, OrganisationQuery, CustomerQuery))
Mutation = merge_types("Mutation", (OrganisationMutation, CustomerMutation))


def _expected(error: GraphQLError) -> bool:
    """Errors we raised on purpose carry a code; anything else is a fault whose details stay in the log."""
    return bool(error.extensions and error.extensions.get("code")) or error.original_error is None


def build_schema(max_depth: int = 12) -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        extensions=[
            lambda: QueryDepthLimiter(max_depth=max_depth),
            lambda: MaxAliasesLimiter(max_alias_count=30),
            lambda: MaxTokensLimiter(max_token_count=5000),
            lambda: MaskErrors(should_mask_error=lambda e: not _expected(e),
                               error_message="Internal error; it has been logged."),
        ],
    )

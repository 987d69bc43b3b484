"""The strawberry Schema, assembled from each part's queries and mutations."""
from __future__ import annotations

import asyncio

import re
from collections import Counter
from decimal import Decimal
from typing import Any, Iterable

import strawberry
from opentelemetry.trace import TracerProvider
from strawberry.extensions.tracing import OpenTelemetryExtension
import strawberry.federation
from strawberry.federation.schema import FederationAny
from graphql import GraphQLError
from strawberry.extensions import AddValidationRules, MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.tools import merge_types
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types import Info

from application.ports import StreamInterrupted
from infrastructure.db.faults import database_fault
from api.common.cost import QueryCostLimiter, QueryFieldLimiter
from api.common.documents import ParserCache, ValidationCache
from api.common.compiled import ExecutionContext
from api.common.errors import api_error
from api.common.exposure import Exposure, MaskFaults, log_fault
from api.common.money import MoneyInput
from api.common.relay import Node, parse_global_id
from api.common.scalars import DecimalDefinition
from api.common.trusted_documents import TrustedDocumentsOnly
from api.campaigns.mutations import CampaignMutation
from api.campaigns.queries import CampaignQuery
from api.complaints.mutations import ComplaintMutation
from api.complaints.queries import ComplaintQuery
from api.complaints.subscriptions import ComplaintSubscription
from api.context import Context
from api.orders.subscriptions import OrderSubscription
from api.opportunities.mutations import OpportunityMutation
from api.opportunities.queries import OpportunityQuery
from api.opportunities.subscriptions import OpportunitySubscription
from api.events.queries import EventQuery
from api.audit.queries import AuditedWrites, AuditQuery
from api.integrations.api_keys import ApiKeyMutation, ApiKeyQuery, ScopedKeys
from api.integrations.queries import IntegrationQuery
from api.integrations.webhooks import WebhookMutation, WebhookQuery
from api.customers.imports import ImportMutation
from api.customers.mutations import CustomerMutation
from api.customers.queries import CustomerQuery
from api.nodes import resolve_global_id, resolve_node
from api.organisation.mutations import OrganisationMutation
from api.orders.mutations import OrderMutation
from api.orders.queries import OrderQuery
from api.organisation.queries import OrganisationQuery
from api.profitability.access import FieldAccessMutation, FieldAccessQuery
from api.profitability.queries import ProfitabilityQuery
from api.maturity.queries import MaturityMutation, MaturityQuery
from api.rollout.mutations import RolloutMutation
from api.rollout.queries import RolloutQuery
from api.workflows.mutations import WorkflowMutation
from api.workflows.queries import WorkflowQuery
from api.workflows.subscriptions import WorkflowSubscription

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
        parsed = []
        for i, gid in enumerate(ids):
            try:
                parsed.append(parse_global_id(gid))
            except ValueError:
                raise api_error(f"ids[{i}] is not a valid ID.", "INVALID", field=["ids", str(i)]) from None
        # all at once, so each type's DataLoader fetches its ids in one batch
        return list(await asyncio.gather(*(resolve_node(info, type_name, raw_id) for type_name, raw_id in parsed)))


Query = merge_types("Query", (NodeQuery, IntegrationQuery, OrganisationQuery, CustomerQuery, OrderQuery, CampaignQuery,
                              OpportunityQuery, WorkflowQuery, ComplaintQuery, EventQuery, WebhookQuery,
                              ProfitabilityQuery, ApiKeyQuery, AuditQuery, FieldAccessQuery, RolloutQuery,
                              MaturityQuery))
Mutation = merge_types("Mutation", (OrganisationMutation, CustomerMutation, ImportMutation, OrderMutation, CampaignMutation,
                                    OpportunityMutation, WorkflowMutation, ComplaintMutation, WebhookMutation,
                                    ApiKeyMutation, FieldAccessMutation, RolloutMutation,
                                    MaturityMutation))
Subscription = merge_types("Subscription", (WorkflowSubscription, ComplaintSubscription, OrderSubscription,
                                            OpportunitySubscription))


def _coded(error: GraphQLError) -> GraphQLError:
    """Give a failure that is not a fault its code (in place): live events missed (EVENTS_MISSED), the database
    away (SERVICE_UNAVAILABLE) or a passing database failure (TRANSIENT, infrastructure/db/faults.py)."""
    if error.original_error is None or (error.extensions and error.extensions.get("code")):
        return error
    known = error.original_error if isinstance(error.original_error, StreamInterrupted) \
        else database_fault(error.original_error)
    if known is not None:
        error.message = str(known)
        error.extensions = {**(error.extensions or {}), "code": known.code}
    return error


def _expected(error: GraphQLError) -> bool:
    """Errors we raised on purpose carry a code; request-level errors (syntax, validation, variables that do
    not coerce) have no path and are the client's; anything else is a fault whose details stay in the log."""
    return bool(error.extensions and error.extensions.get("code")) or error.original_error is None \
        or not error.path


class _Behaviour:
    """What both the API schema and the federation subgraph schema do beyond strawberry's."""

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Only faults are logged. Errors raised on purpose carry a code (bad input, FORBIDDEN, and an
        unavailable ERP or finance system, which its adapter logs once in crm.integrations rather than
        once per field), and validation errors are the client's; neither is a server problem."""
        for error in errors:
            if not _expected(_coded(error)):
                log_fault(error)  # with the request id the masked message shows (api/common/exposure.py)

    async def execute(self, *args: Any, allowed_operation_types: Iterable[OperationType] | None = None,
                      **kwargs: Any) -> ExecutionResult:
        """`execute` cannot stream: subscriptions go over a WebSocket (graphql-transport-ws), and one sent
        as a plain HTTP request is refused as a bad request."""
        allowed = set(allowed_operation_types if allowed_operation_types is not None else OperationType)
        allowed.discard(OperationType.SUBSCRIPTION)
        return await super().execute(*args, allowed_operation_types=allowed, **kwargs)  # type: ignore[misc]

    async def stream(self, *args: Any, allowed_operation_types: Iterable[OperationType] | None = None,
                     **kwargs: Any) -> Any:
        """Over a WebSocket only subscriptions run. A socket keeps whoever opened it, while every HTTP
        request is authenticated afresh (a deactivated or demoted person loses their rights at once);
        subscriptions re-read their subscriber on every event."""
        return await super().stream(*args, allowed_operation_types=(OperationType.SUBSCRIPTION,),  # type: ignore[misc]
                                    **kwargs)


# How strawberry prints an entity's key on its type line; the API schema leaves it out.
_KEY_ON_TYPE = re.compile(r'^((?:extend )?type \w+(?: implements [\w &]+)?) @key\(fields: "id"\)( \{)$', re.MULTILINE)


class Schema(_Behaviour, strawberry.Schema):
    """The API schema (`crm schema`, the contract): the served types without federation's additions."""

    def _warn_for_federation_directives(self) -> None:
        """The entities' @key is expected: the same types also make the federation subgraph (served)."""

    def as_str(self) -> str:
        return _KEY_ON_TYPE.sub(r"\1\2", super().as_str())

    __str__ = as_str


class FederationSchema(_Behaviour, strawberry.federation.Schema):
    """The served schema: the API schema plus Apollo Federation 2 (`_service`, `_entities`, `@key` on the
    entities in api/common/federation.py); `crm schema --federation` prints its SDL."""

    def entities_resolver(self, info: Info, representations: list[FederationAny]) -> list[FederationAny]:
        """As strawberry's, capped like `nodes`: at most MAX_NODES representations of each type (a gateway asks
        for one page of each entity type at a time; a type that is no entity fails at its first)."""
        per_type = Counter(r.get("__typename") if isinstance(r, dict) else None for r in representations)
        if any(count > MAX_NODES for count in per_type.values()):
            raise api_error(f"At most {MAX_NODES} representations of each type at once.", "LIMIT_EXCEEDED",
                            field=["representations"])
        return super().entities_resolver(info, representations)


CACHED_DOCUMENTS = 128  # parsed and validated documents kept (LRUs shared by every request; small ones only)


def _extensions(max_depth: int, exposure: Exposure) -> list[Any]:
    """Per request, in this order (each stage's hooks run in list order before the stage, in reverse after it):
    the token limit (a parse option, so it applies to every parse) and the depth and alias rules; the parser
    cache; the field limit (before validation), the validation cache (which leaves a document refused for its
    size unvalidated), the cost budget (after validation, before execution: api/common/cost.py); suggestions
    hidden unless `exposure` shows them; faults masked, with a request id (api/common/exposure.py).

    The depth and alias rules are made once here, not per request: ValidationCache keys on the rule classes,
    and a limiter made per request makes new classes (and misses) every time. A document refused by any rule
    stays refused: its errors are what is cached, and a parse error (syntax, too many tokens) is never cached."""
    rules = [*QueryDepthLimiter(max_depth=max_depth).validation_rules,
             *MaxAliasesLimiter(max_alias_count=30).validation_rules, *exposure.validation_rules()]
    return [
        lambda: MaxTokensLimiter(max_token_count=5000),
        lambda: AddValidationRules(rules),
        lambda: ParserCache(maxsize=CACHED_DOCUMENTS),
        QueryFieldLimiter,
        TrustedDocumentsOnly,  # with CRM_TRUSTED_DOCUMENTS: a document not in the manifest is refused here
        lambda: ValidationCache(maxsize=CACHED_DOCUMENTS),
        QueryCostLimiter,
        ScopedKeys,
        AuditedWrites,
        *exposure.extensions(),
        lambda: MaskFaults(should_mask_error=lambda e: not _expected(_coded(e))),
    ]


def build_schema(max_depth: int = 12, *, federation: bool = False, exposure: Exposure = Exposure(),
                 tracer_provider: TracerProvider | None = None) -> strawberry.Schema:
    """The API schema, or with `federation` the Apollo Federation 2 subgraph the app serves (a superset);
    `exposure`: what it tells about itself (all of it unless said otherwise); `tracer_provider`: a span for each
    resolver that does work (infrastructure/tracing.py)."""
    traced = [lambda: OpenTelemetryExtension(tracer_provider=tracer_provider)] if tracer_provider is not None else []
    schema_class: type[strawberry.Schema] = FederationSchema if federation else Schema
    return schema_class(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[MoneyInput],  # in the contract, though no operation takes it yet
        scalar_overrides={Decimal: DecimalDefinition},
        extensions=[*_extensions(max_depth, exposure), *traced],
        execution_context_class=ExecutionContext,  # hands fields the database answered as JSON through
    )

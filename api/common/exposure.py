"""What the API tells about itself, and what a fault tells: production keeps both to the minimum.

- Introspection (`__schema`, `__type`), "Did you mean ...?" suggestions in error messages and the federation
  SDL (`_service`) each map the schema for an attacker (a suggestion-only tool recovered 92 types and 324
  fields): in production each is off unless its setting turns it on (infrastructure/settings.py `describes`).
  The SDL is also given to an API key with the `federation` scope (a gateway's), whatever the setting.
  `__typename` always answers: clients need it and it names only what they asked for.
- A fault is masked ("Internal error"), and the message carries a request id that the logged trace carries
  too, so a report from a user finds the trace.
"""
from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Iterator

from graphql import FieldNode, GraphQLError, ValidationRule
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import MaskErrors, SchemaExtension
from strawberry.types.graphql import OperationType

from domain.api_key import FEDERATION

log = logging.getLogger("crm.api.faults")
REQUEST_ID: ContextVar[str | None] = ContextVar("crm_request_id", default=None)
SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")
FAULT_MESSAGE = "Internal error (request {request_id}); it has been logged."


@dataclass(frozen=True)
class Exposure:
    introspection: bool = True
    suggestions: bool = True
    federation_sdl: bool = True

    def validation_rules(self) -> list[type[ValidationRule]]:
        return [] if self.introspection else [NoSchemaIntrospectionCustomRule]

    def extensions(self) -> list[type[SchemaExtension]]:
        return ([] if self.suggestions else [HideSuggestions]) + ([] if self.federation_sdl else [ServiceSdlByScope])


class ServiceSdlByScope(SchemaExtension):
    """`_service` (the federation SDL) only for an API key with the `federation` scope (CRM_FEDERATION_SDL is off).
    Decided per request, not by a validation rule: validation results are cached per document, whoever sends it."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        asks = document is not None and context.operation_type is OperationType.QUERY and any(
            isinstance(s, FieldNode) and s.name.value == "_service"
            for d in document.definitions for s in getattr(getattr(d, "selection_set", None), "selections", ()))
        request = getattr(context.context, "request", None)
        scopes = (getattr(request, "scope", None) or {}).get("state", {}).get("scopes") or ()
        if asks and FEDERATION not in scopes:
            raise GraphQLError("The federation SDL (_service) is offered to a gateway's API key only.",
                               extensions={"code": "FORBIDDEN"})
        yield


class HideSuggestions(SchemaExtension):
    """Error messages without graphql-core's "Did you mean ...?" (validation and variable coercion alike)."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [_without_suggestions(e) for e in result.errors]


def _without_suggestions(error: GraphQLError) -> GraphQLError:
    message = SUGGESTION.sub("", error.message)
    if message == error.message:
        return error
    return GraphQLError(message, error.nodes, error.source, error.positions, error.path, error.original_error,
                        error.extensions)


class MaskFaults(MaskErrors):
    """strawberry's MaskErrors, each operation with a request id: in the masked message and
    `extensions.requestId`, and in the log line of the fault (`log_fault`)."""

    def on_operation(self) -> Iterator[None]:
        """The HTTP request's id (api/common/request_log.py), or a new one (an operation on a WebSocket)."""
        request = getattr(self.execution_context.context, "request", None)
        given = (getattr(request, "scope", None) or {}).get("state", {}).get("request_id")
        REQUEST_ID.set(given or uuid.uuid4().hex[:16])
        yield from super().on_operation()

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        request_id = REQUEST_ID.get()
        return GraphQLError(FAULT_MESSAGE.format(request_id=request_id), error.nodes, error.source, error.positions,
                            error.path, None, {"code": "INTERNAL_ERROR", "requestId": request_id})


def log_fault(error: GraphQLError) -> None:
    log.error("request %s: %s", REQUEST_ID.get(), error.message, exc_info=error.original_error or error)

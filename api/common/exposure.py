"""What the API tells about itself, and what a fault tells: production keeps both to the minimum.

- Introspection (`__schema`, `__type`), "Did you mean ...?" suggestions in error messages and the federation
  SDL (`_service`) each map the schema for an attacker (a suggestion-only tool recovered 92 types and 324
  fields): in production each is off unless its setting turns it on (infrastructure/settings.py `describes`).
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
from typing import Any, Iterator

from graphql import FieldNode, GraphQLError, ValidationRule, get_named_type
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import MaskErrors, SchemaExtension

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
        return ([] if self.introspection else [NoSchemaIntrospectionCustomRule]) + \
            ([] if self.federation_sdl else [NoServiceSdl])


class NoServiceSdl(ValidationRule):
    """`_service` (the federation SDL) is not offered (CRM_FEDERATION_SDL)."""

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        parent = self.context.get_parent_type()
        if node.name.value == "_service" and parent is not None and get_named_type(parent).name == "Query":
            self.report_error(GraphQLError("The federation SDL (_service) is not offered here.", node))


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
        REQUEST_ID.set(uuid.uuid4().hex[:16])
        yield from super().on_operation()

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        request_id = REQUEST_ID.get()
        return GraphQLError(FAULT_MESSAGE.format(request_id=request_id), error.nodes, error.source, error.positions,
                            error.path, None, {"code": "INTERNAL_ERROR", "requestId": request_id})


def log_fault(error: GraphQLError) -> None:
    log.error("request %s: %s", REQUEST_ID.get(), error.message, exc_info=error.original_error or error)

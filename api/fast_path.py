"""Whole operations the database answers, served without the GraphQL executor.

A query whose every root field is a hot read path (`customers`, `customer`, `complaints`, `orderBoard`) and
whose whole selection compiles into SQL (infrastructure/db/queries/documents.py) needs nothing from strawberry or graphql-core's executor but
its arguments: per request the executor's context, extensions and field resolution only cost time (about as
much as the statement itself). Such a document is learnt the first time the regular path answers it without
an error (so it was parsed, validated and within every limit); from then on a request for it is answered
here: its variables coerced and the query cost checked as the regular path does, its arguments read, each
root field's JSON built by one statement, and the response written around them.

Anything unusual goes back to the regular path, which then answers or reports it as ever: variables that do
not coerce, a cost over budget, bad page arguments or ids, a selection the compiler declines, any fault.
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

import orjson
from graphql import (
    GraphQLBoolean,
    GraphQLID,
    GraphQLInt,
    GraphQLNonNull,
    GraphQLString,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    Node,
    VariableNode,
    Visitor,
    visit,
    GraphQLError,
    GraphQLField,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    get_named_type,
    parse,
)
from graphql.execution.get_variable_signature import GraphQLVariableSignature, get_variable_signature
from graphql.execution.values import VariableValues, VariableValueSource, get_argument_values, get_variable_values
from graphql.pyutils import Undefined

from api.common.compiled import Declined, children
from api.common.cost import estimate_cost
from api.common.relay import decode_id, page_request
from api.common.sign_in import PendingSignIn
from api.complaints.loaders import scope_of
from api.complaints.queries import complaints_filter
from api.customers.queries import customers_arguments
from api.orders.queries import board_filter
from application.queries.complaints import ComplaintScope
from application.queries.documents import DocumentReads, Selected, SignIn
from application.queries.views import OrganisationQueries
from domain.organisation import Staff
from domain.shared import DomainError

log = logging.getLogger("crm.api")
KEPT = 256  # documents
KEPT_PER_OPERATION = 64  # costs and selections per document


INT_RANGE = range(-2 ** 31, 2 ** 31)
# what a variable of a built-in scalar type takes as it is: graphql-core's coercion gives the same value back
_TAKES_AS_IS: dict[Any, Callable[[Any], bool]] = {
    GraphQLID: lambda value: type(value) is str,
    GraphQLString: lambda value: type(value) is str,
    GraphQLInt: lambda value: type(value) is int and value in INT_RANGE,
    GraphQLBoolean: lambda value: type(value) is bool,
}


@dataclass(frozen=True)
class _PlainVariables:
    """The operation's variables when each is a built-in scalar without a default (`$id: ID!`): a request whose
    values are of those very types, every one given, has them coerced to themselves, as graphql-core's
    `get_variable_values` would, without its walk (about a tenth of a hot read's Python); a nullable one left out
    is left out. Anything else (a non-null one missing or null, a value of another type) goes to graphql-core,
    which coerces or reports it."""

    variables: tuple[tuple[str, GraphQLVariableSignature, Callable[[Any], bool], bool], ...]  # ..., takes, nullable

    @classmethod
    def of(cls, schema: GraphQLSchema, operation: OperationDefinitionNode) -> "_PlainVariables | None":
        variables = []
        for definition in operation.variable_definitions or ():
            signature = get_variable_signature(schema, definition)
            if isinstance(signature, GraphQLError) or definition.default_value is not None:
                return None
            nullable = not isinstance(signature.type, GraphQLNonNull)
            takes = _TAKES_AS_IS.get(signature.type if nullable else signature.type.of_type)
            if takes is None:
                return None
            variables.append((signature.name, signature, takes, nullable))
        return cls(tuple(variables))

    def coerced(self, inputs: dict[str, Any]) -> VariableValues | None:
        sources, coerced = {}, {}
        for name, signature, takes, nullable in self.variables:
            value = inputs.get(name, Undefined)
            if value is Undefined and nullable:
                sources[name] = VariableValueSource(signature)
                continue
            if not (takes(value) or (value is None and nullable)):
                return None
            sources[name] = VariableValueSource(signature, value)
            coerced[name] = value
        return VariableValues(sources, coerced)


@dataclass(frozen=True)
class _PlainArguments:
    """A root field's arguments when each one given is a variable (`customer(id: $id)`) and each has no default
    or null: read from the coerced variables as graphql-core's `get_argument_values` reads them (a variable left
    out: the argument's default). A non-null argument's variable left out or null goes to graphql-core."""

    given: tuple[tuple[str, str, bool, Any], ...]  # (argument's name, variable's, argument is non-null, default)
    nulls: tuple[str, ...]  # the arguments not given whose default is null

    @classmethod
    def of(cls, definition: GraphQLField, node: FieldNode) -> "_PlainArguments | None":
        nodes = {argument.name.value: argument.value for argument in node.arguments or ()}
        given, nulls = [], []
        for name, argument in definition.args.items():
            out = argument.out_name or name
            value = nodes.get(name)
            if argument.default_value is not None and argument.default_value is not Undefined:
                return None  # a default of its own: graphql-core's
            if isinstance(value, VariableNode):
                given.append((out, value.name.value, isinstance(argument.type, GraphQLNonNull), argument.default_value))
            elif value is not None:
                return None  # a literal: graphql-core's
            elif argument.default_value is None:
                nulls.append(out)
            elif isinstance(argument.type, GraphQLNonNull):
                return None
        return cls(tuple(given), tuple(nulls))

    def values(self, variables: VariableValues) -> dict[str, Any] | None:
        arguments: dict[str, Any] = {}
        coerced = variables.coerced
        for out, variable, non_null, default in self.given:
            value = coerced.get(variable, Undefined)
            if value is Undefined:
                if non_null:
                    return None
                if default is None:
                    arguments[out] = None
            elif value is None and non_null:
                return None
            else:
                arguments[out] = value
        for out in self.nulls:
            arguments[out] = None
        return arguments


@dataclass(frozen=True)
class _Root:
    key: str
    node: FieldNode
    definition: GraphQLField
    plain: _PlainArguments | None = None


@dataclass
class _Operation:
    document: DocumentNode
    operation: OperationDefinitionNode
    plain: _PlainVariables | None
    roots: tuple[_Root, ...]
    fragments: dict[str, FragmentDefinitionNode]
    # The variables the query cost depends on (page sizes, and all below the root fields), and those the
    # selections below the root fields depend on: a request repeating their values reuses what was worked out
    # (a customer looked up by id is the same selection whatever the id).
    cost_variables: tuple[str, ...]
    selection_variables: tuple[str, ...]
    costs: dict[tuple[str, ...], int] = field(default_factory=dict)
    selections: dict[tuple[int, tuple[str, ...]], tuple[Selected, ...]] = field(default_factory=dict)

    def remember(self, kept: dict[Any, Any], key: Any, value: Any) -> Any:
        if len(kept) >= KEPT_PER_OPERATION:
            kept.clear()
        kept[key] = value
        return value


def _variables(node: Node) -> set[str]:
    found: set[str] = set()

    class Names(Visitor):
        def enter_variable(self, variable: VariableNode, *_: Any) -> None:
            found.add(variable.name.value)

    visit(node, Names())
    return found


class _Request:
    """One request's reader, the lazily looked-up complaint scope, and the sign-in to check (if pending) with
    the first document read."""

    def __init__(self, actor: Staff, organisation: OrganisationQueries, documents: DocumentReads,
                 sign_in: PendingSignIn | None) -> None:
        self.actor, self.organisation, self.documents = actor, organisation, documents
        self.sign_in = sign_in
        self._scope: ComplaintScope | None = None

    def check(self) -> SignIn | None:
        return self.sign_in.with_first_read() if self.sign_in is not None else None

    async def scope(self) -> ComplaintScope:
        if self._scope is None:
            self._scope = await scope_of(self.organisation, self.actor)
        return self._scope


async def _customers(request: _Request, arguments: dict[str, Any], fields: tuple[Selected, ...]) -> bytes | None:
    page = page_request(arguments.get("first"), arguments.get("after"), arguments.get("last"), arguments.get("before"))
    if page.backward:
        return None
    query, sort = customers_arguments(arguments)
    return await request.documents.customers(fields, query, sort, page, scope_of=request.scope, sign_in=request.check())


async def _customer(request: _Request, arguments: dict[str, Any], fields: tuple[Selected, ...]) -> bytes | None:
    id, code = arguments.get("id"), arguments.get("code")
    if (id is None) == (code is None):
        return None
    raw_id = decode_id(id, "Customer", "id") if id is not None else None
    return await request.documents.customer(fields, id=raw_id, code=code, scope_of=request.scope,
                                            sign_in=request.check())


async def _complaints(request: _Request, arguments: dict[str, Any], fields: tuple[Selected, ...]) -> bytes | None:
    page = page_request(arguments.get("first"), arguments.get("after"), arguments.get("last"), arguments.get("before"))
    if page.backward:
        return None
    return await request.documents.complaints(fields, complaints_filter(arguments), page, scope_of=request.scope,
                                              sign_in=request.check())


async def _order_board(request: _Request, arguments: dict[str, Any], fields: tuple[Selected, ...]) -> bytes | None:
    return await request.documents.board(fields, board_filter(arguments), scope_of=request.scope,
                                         sign_in=request.check())


ANSWERS: dict[str, Callable[[_Request, dict[str, Any], tuple[Selected, ...]], Awaitable[bytes | None]]] = {
    "customers": _customers,
    "customer": _customer,
    "orderBoard": _order_board,
    "complaints": _complaints,
}


class FastPath:
    def __init__(self, schema: GraphQLSchema, max_cost: Callable[[], int]) -> None:
        self._schema = schema
        self._max_cost = max_cost
        self._operations: OrderedDict[tuple[str, str | None], _Operation | None] = OrderedDict()

    def knows(self, query: str, operation_name: str | None) -> bool:
        return (query, operation_name) in self._operations

    def learn(self, query: str, operation_name: str | None) -> None:
        """The regular path answered this document without an error: keep whether it can be answered here."""
        self._operations[(query, operation_name)] = self._analyse(query, operation_name)
        if len(self._operations) > KEPT:
            self._operations.popitem(last=False)

    def _analyse(self, query: str, operation_name: str | None) -> _Operation | None:
        document = parse(query)
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        chosen = [o for o in operations if operation_name is None or (o.name and o.name.value == operation_name)]
        if len(chosen) != 1 or chosen[0].operation is not OperationType.QUERY or chosen[0].directives:
            return None
        operation = chosen[0]
        query_type = self._schema.query_type
        assert query_type is not None
        roots = []
        paging, below = set(), set()
        for node in operation.selection_set.selections:
            if not isinstance(node, FieldNode) or node.directives or node.name.value not in ANSWERS:
                return None
            definition = query_type.fields[node.name.value]
            roots.append(_Root(node.alias.value if node.alias else node.name.value, node, definition,
                               _PlainArguments.of(definition, node)))
            for argument in node.arguments or ():
                if argument.name.value in ("first", "last"):
                    paging |= _variables(argument)
            if node.selection_set is not None:
                below |= _variables(node.selection_set)
        if len({r.key for r in roots}) != len(roots):
            return None
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        for fragment in fragments.values():
            below |= _variables(fragment)
        return _Operation(document, operation, _PlainVariables.of(self._schema, operation), tuple(roots), fragments,
                          tuple(sorted(paging | below)), tuple(sorted(below)))

    async def answer(self, body: dict[str, Any], actor: Staff, organisation: OrganisationQueries,
                     documents: DocumentReads, sign_in: PendingSignIn | None = None) -> bytes | None:
        """The response body, or None: the regular path answers. With a pending `sign_in`, `actor` is the member
        as last admitted, and the first document read checks the sign-in (api/common/sign_in.py)."""
        query, name = body.get("query"), body.get("operationName")
        known = self._operations.get((query, name)) if isinstance(query, str) else None  # type: ignore[arg-type]
        if known is None or not isinstance(body.get("variables") or {}, dict):
            return None
        inputs = body.get("variables") or {}
        variables = known.plain.coerced(inputs) if known.plain is not None else None
        if variables is None:
            variables = get_variable_values(self._schema, known.operation.variable_definitions or (), inputs)
            if isinstance(variables, list):
                return None
        try:
            cost_key = tuple(repr(inputs.get(n)) for n in known.cost_variables)
            cost = known.costs.get(cost_key)
            if cost is None:
                cost = known.remember(known.costs, cost_key, estimate_cost(self._schema, known.document, name, inputs))
            if cost > self._max_cost():
                return None
            selection_key = tuple(repr(variables.coerced.get(n)) for n in known.selection_variables)
            request = _Request(actor, organisation, documents, sign_in)
            parts = []
            for number, root in enumerate(known.roots):
                arguments = root.plain.values(variables) if root.plain is not None else None
                if arguments is None:
                    arguments = get_argument_values(root.definition, root.node, variables)
                fields = known.selections.get((number, selection_key))
                if fields is None:
                    fields = known.remember(known.selections, (number, selection_key), children(
                        [root.node], get_named_type(root.definition.type), known.fragments, variables.coerced))
                answer = await ANSWERS[root.node.name.value](request, arguments, fields)
                if answer is None:
                    return None
                parts.append(orjson.dumps(root.key) + b":" + answer)
        except (Declined, DomainError, GraphQLError):
            return None
        if sign_in is not None and sign_in.actor is None:
            return None  # no document checked it: not an answer to give
        return b'{"data":{' + b",".join(parts) + b"}}"

"""Refuse, before anything runs, a document that is too big to validate quickly or would read too much.

Two checks, each a single pass over the document (linear in its size), each refusing the whole document
with `LIMIT_EXCEEDED` and its figure in `extensions`:

- **Fields**, after parsing and before validation: graphql-core's OverlappingFieldsCanBeMerged is
  quadratic in the fields of a selection set, so ~1,000 repeated fields keep one validation (and the event
  loop) busy for half a second or more. Fields are counted once where they are written (a fragment's body
  once, however often it is spread); a fragment spread and an inline fragment count as a field each.
- **Cost**, after validation and before execution (so before any SQL): the estimated number of rows. Each
  connection field (a field whose type is a `...Connection`) reads `first` or `last` rows (variables
  resolved; the default page size when neither is given) for each row of the connection it sits in; a
  batch look-up (`nodes(ids)`, `_entities(representations)`) reads one row per id. The estimate is the sum
  of those products over every path, fragments, inline fragments and aliases included: for
  `customers(first: 100) { complaints(first: 100) { ... } }` it is 100 + 100 x 100 = 10,100. The Kanban's
  columns multiply by their number (one per board status, each paging its own orders). Other fields (single
  objects, and the short lists such as `departments` or an order's `lines`) add no rows and do not multiply. `@skip`/`@include` with a known condition are honoured.

The limits come from the request's settings (`CRM_MAX_QUERY_COST`, `CRM_MAX_QUERY_FIELDS`), else the
defaults in `infrastructure/settings.py`.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    BooleanValueNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    NullValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
)
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from application.queries.pagination import DEFAULT_PAGE_SIZE
from domain.order import BOARD_STATUSES
from infrastructure.settings import Settings

_DEFAULTS = Settings()

# Batch look-ups: (type, field) of a list field that returns one item per element of this argument.
SIZED_BY_ARGUMENT = {("Query", "nodes"): "ids", ("Query", "_entities"): "representations"}
# lists whose length the domain fixes: the Kanban has one column per board status, each with its own page
FIXED_LISTS = {("OrderBoard", "columns"): len(BOARD_STATUSES)}


def count_fields(document: DocumentNode) -> int:
    """Fields as written in the document, a fragment spread or inline fragment counting as one (no recursion,
    no expansion of fragments)."""
    count = 0
    pending: list[SelectionSetNode] = [d.selection_set for d in document.definitions
                                       if isinstance(d, (OperationDefinitionNode, FragmentDefinitionNode))]
    while pending:
        for selection in pending.pop().selections:
            count += 1
            nested = getattr(selection, "selection_set", None)
            if nested is not None:
                pending.append(nested)
    return count


def estimate_cost(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None = None,
                  variables: Mapping[str, Any] | None = None) -> int:
    """The estimated rows of the operation that would run (of the costliest one when that is ambiguous).

    Expects a valid document (it ignores what it cannot resolve against the schema)."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name is not None and o.name.value == operation_name]
    costs = [0]
    for operation in operations:
        root = schema.get_root_type(operation.operation)
        if root is not None:
            given = variables if isinstance(variables, Mapping) else {}
            estimator = _Estimator(schema, fragments, _variable_values(operation, given))
            costs.append(estimator.selection_set(operation.selection_set, root))
    return max(costs)


def _variable_values(operation: OperationDefinitionNode, given: Mapping[str, Any]) -> dict[str, Any]:
    """The operation's variables as sent, or their defaults."""
    values: dict[str, Any] = {}
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        if name in given:
            values[name] = given[name]
        elif definition.default_value is not None:
            values[name] = _literal(definition.default_value, {})
    return values


def _literal(node: ValueNode, variables: Mapping[str, Any]) -> Any:
    if isinstance(node, VariableNode):
        return variables.get(node.name.value)
    if isinstance(node, IntValueNode):
        try:
            return int(node.value)
        except ValueError:  # more digits than Python converts (an ID may be written as one): no page size
            return None
    if isinstance(node, BooleanValueNode):
        return node.value
    if isinstance(node, ListValueNode):
        return list(node.values)
    if isinstance(node, NullValueNode):
        return None
    return node  # another kind of literal: only its presence matters here


def _argument(node: Any, name: str, variables: Mapping[str, Any]) -> Any:
    for argument in node.arguments or ():
        if argument.name.value == name:
            return _literal(argument.value, variables)
    return None


class _Estimator:
    """Rows per one row of the parent, for a selection set; fragments are costed once each."""

    def __init__(self, schema: GraphQLSchema, fragments: Mapping[str, FragmentDefinitionNode],
                 variables: Mapping[str, Any]) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.fragment_costs: dict[str, int] = {}

    def selection_set(self, selection_set: SelectionSetNode, parent: GraphQLNamedType | None) -> int:
        total = 0
        for selection in selection_set.selections:
            if not self._included(selection):
                continue
            if isinstance(selection, FieldNode):
                total += self._field(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                on = self.schema.get_type(selection.type_condition.name.value) if selection.type_condition \
                    else parent
                total += self.selection_set(selection.selection_set, on)
            elif isinstance(selection, FragmentSpreadNode):
                total += self._fragment(selection.name.value)
        return total

    def _fragment(self, name: str) -> int:
        if name not in self.fragment_costs:
            fragment = self.fragments.get(name)
            self.fragment_costs[name] = 0  # a cycle (refused by validation anyway) adds nothing
            if fragment is not None:
                self.fragment_costs[name] = self.selection_set(
                    fragment.selection_set, self.schema.get_type(fragment.type_condition.name.value))
        return self.fragment_costs[name]

    def _field(self, node: FieldNode, parent: GraphQLNamedType | None) -> int:
        if not isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType)):
            return 0  # __typename on a union
        definition = parent.fields.get(node.name.value)
        if definition is None:
            return 0  # __typename, and introspection (__schema, __type), which reads no rows
        child = get_named_type(definition.type)
        inner = self.selection_set(node.selection_set, child) if node.selection_set else 0
        rows = self._rows(node, parent, child)
        return inner if rows is None else rows + rows * inner

    def _rows(self, node: FieldNode, parent: GraphQLNamedType, child: GraphQLNamedType) -> int | None:
        """Rows this field reads per row of its parent; None when it is neither a connection nor a batch."""
        if child.name.endswith("Connection"):
            sizes = [_whole(_argument(node, name, self.variables)) for name in ("first", "last")]
            given = [size for size in sizes if size is not None]
            return max(given) if given else DEFAULT_PAGE_SIZE
        fixed = FIXED_LISTS.get((parent.name, node.name.value))
        if fixed is not None:
            return fixed
        sized_by = SIZED_BY_ARGUMENT.get((parent.name, node.name.value))
        if sized_by is not None:
            items = _argument(node, sized_by, self.variables)
            return 0 if items is None else len(items) if isinstance(items, list) else 1
        return None

    def _included(self, selection: FieldNode | InlineFragmentNode | FragmentSpreadNode) -> bool:
        for directive in selection.directives or ():
            if directive.name.value in ("skip", "include"):
                condition = _argument(directive, "if", self.variables)
                if isinstance(condition, bool) and condition == (directive.name.value == "skip"):
                    return False
        return True


def _whole(value: Any) -> int | None:
    """A page size as given (a variable's 100.0 is coerced to 100 too); anything else counts as not given."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return max(value, 0)


def limit_exceeded(message: str, **figures: int) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "LIMIT_EXCEEDED", **figures})


class _Limiter(SchemaExtension):
    """A limit from the request context's `settings` (the app's Context), else the default, unless given."""

    setting: str

    def __init__(self, limit: int | None = None) -> None:
        self._limit = limit

    @property
    def limit(self) -> int:
        if self._limit is not None:
            return self._limit
        return getattr(getattr(self.execution_context.context, "settings", None) or _DEFAULTS, self.setting)


class QueryFieldLimiter(_Limiter):
    """Refuses a document with more than `max_query_fields` fields before it is validated. Place it before
    ValidationCache (api/common/documents.py), which then leaves the refused document unvalidated; anywhere
    else the refusal still stands, but only after the validation it is meant to spare."""

    setting = "max_query_fields"

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None:
            fields, limit = count_fields(context.graphql_document), self.limit
            if fields > limit:
                context.pre_execution_errors = [limit_exceeded(
                    f"The document selects {fields:,} fields; at most {limit:,} are allowed (a fragment spread "
                    "or an inline fragment counts as one).", fields=fields, maxFields=limit)]
        yield


class QueryCostLimiter(_Limiter):
    """Refuses a valid document whose estimated rows exceed `max_query_cost`, after validation and before
    execution. Place it after ValidationCache; if nothing has validated the document yet, it validates it
    itself (strawberry's validation then sees it done), so a refusal is never overwritten by a later one.

    (strawberry decides whether to go on inside the validation hooks, so a refusal has to be in place
    before they unwind: this hook works before its `yield`.)"""

    setting = "max_query_cost"

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and context.pre_execution_errors is None:
            context.pre_execution_errors = validate_document(context.schema._schema, document,
                                                             context.validation_rules)
        if document is not None and not context.pre_execution_errors:  # valid: now what would it cost
            cost, budget = estimate_cost(context.schema._schema, document, context.operation_name,
                                         context.variables), self.limit
            if cost > budget:
                # a new list: the one there may be ValidationCache's, shared with later requests
                context.pre_execution_errors = [limit_exceeded(
                    f"The query would read an estimated {cost:,} rows; at most {budget:,} are allowed. Ask for "
                    "smaller pages (first/last) or fewer nested connections.", cost=cost, budget=budget)]
        yield


__all__ = ["QueryCostLimiter", "QueryFieldLimiter", "count_fields", "estimate_cost", "limit_exceeded"]

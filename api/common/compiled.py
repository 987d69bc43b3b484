"""Fields answered by the database as finished JSON (application/queries/documents.py), handed through the
executor untouched.

A root resolver on a hot path (`customers`, `customer`, `complaints`, `orderBoard`) offers its selection to the request's DocumentReads;
when that compiles it, the resolver returns `Precompiled(json)` and `ExecutionContext.complete_value` puts the
JSON text into the result as it is (an `orjson.Fragment`, written verbatim by the response encoder) instead of
resolving and completing every field below in Python. Anything the compiler does not know (a field computed in
Python, an abstract type, an unknown directive) makes it decline, and the resolvers answer as before.
"""
from __future__ import annotations

from typing import Any

import orjson
from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLBoolean,
    GraphQLObjectType,
    InlineFragmentNode,
    SelectionSetNode,
    get_named_type,
    value_from_ast,
)
from graphql.pyutils import Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types import Info
from strawberry.utils.str_converters import to_camel_case

from application.queries.documents import Selected


def input_query(arguments: dict[str, Any], name: str, input_type: Any, absent: Any) -> Any:
    """An input-object argument as graphql-core coerced it (a dict keyed by GraphQL names) turned into what the
    resolver's strawberry input gives: the input's `to_query()`, or `absent` without the argument (for
    api/fast_path.py, which has no resolver to convert it)."""
    given = arguments.get(name)
    if given is None:
        return absent
    fields = input_type.__strawberry_definition__.fields
    return input_type(**{f.python_name: given.get(f.graphql_name or to_camel_case(f.python_name))
                         for f in fields}).to_query()


class Precompiled:
    """A field's complete value, already JSON."""

    __slots__ = ("fragment",)

    def __init__(self, document: bytes) -> None:
        self.fragment = orjson.Fragment(document)


class ExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor, but a Precompiled value is complete as it is (no field below it runs)."""

    def complete_value(self, return_type: Any, field_details_list: Any, info: Any, path: Any, result: Any,
                       position_context: Any) -> Any:
        if isinstance(result, Precompiled):
            return result.fragment
        return super().complete_value(return_type, field_details_list, info, path, result, position_context)


class Declined(Exception):
    pass


def selection(info: Info[Any, Any]) -> tuple[Selected, ...] | None:
    """What the resolving field selects, as a tree of Selected (fragments inlined, @skip/@include applied,
    variables resolved), or None where it cannot be described so (abstract types, other directives)."""
    raw = info._raw_info
    parent = raw.parent_type
    definition = parent.fields[raw.field_name]
    try:
        return children(list(raw.field_nodes), get_named_type(definition.type), raw.fragments,
                         raw.variable_values or {})
    except Declined:
        return None


def children(nodes: list[FieldNode], parent: Any, fragments: dict[str, Any],
              variables: dict[str, Any]) -> tuple[Selected, ...]:
    if not isinstance(parent, GraphQLObjectType):
        raise Declined
    groups: dict[str, list[FieldNode]] = {}
    for node in nodes:
        if node.selection_set is not None:
            _collect(node.selection_set, parent, fragments, variables, groups)
    found = []
    for key, group in groups.items():
        first = group[0]
        name = first.name.value
        if name == "__typename":
            found.append(Selected(key, name, "String"))
            continue
        definition = parent.fields.get(name)
        if definition is None:
            raise Declined
        named = get_named_type(definition.type)
        arguments = {}
        for argument in first.arguments or ():
            argument_definition = definition.args.get(argument.name.value)
            if argument_definition is None:
                raise Declined
            value = value_from_ast(argument.value, argument_definition.type, variables)
            if value is Undefined:
                raise Declined
            arguments[argument.name.value] = value
        below = children(group, named, fragments, variables) if first.selection_set is not None else ()
        found.append(Selected(key, name, named.name, arguments, below))
    return tuple(found)


def _collect(selections: SelectionSetNode, parent: GraphQLObjectType, fragments: dict[str, Any],
             variables: dict[str, Any], groups: dict[str, list[FieldNode]]) -> None:
    for node in selections.selections:
        if not _included(node, variables):
            continue
        if isinstance(node, FieldNode):
            groups.setdefault(node.alias.value if node.alias else node.name.value, []).append(node)
        elif isinstance(node, InlineFragmentNode):
            if node.type_condition is None or _applies(node.type_condition.name.value, parent):
                _collect(node.selection_set, parent, fragments, variables, groups)
        elif isinstance(node, FragmentSpreadNode):
            fragment = fragments.get(node.name.value)
            if fragment is None:
                raise Declined
            if _applies(fragment.type_condition.name.value, parent):
                _collect(fragment.selection_set, parent, fragments, variables, groups)


def _applies(type_name: str, parent: GraphQLObjectType) -> bool:
    return type_name == parent.name or any(i.name == type_name for i in parent.interfaces)


def _included(node: Any, variables: dict[str, Any]) -> bool:
    for directive in node.directives or ():
        name = directive.name.value
        if name not in ("skip", "include"):
            raise Declined  # a directive this path does not know
        condition = next((a for a in directive.arguments if a.name.value == "if"), None)
        value = value_from_ast(condition.value, GraphQLBoolean, variables) if condition else Undefined
        if value is Undefined:
            raise Declined
        if (name == "skip") == bool(value):
            return False
    return True

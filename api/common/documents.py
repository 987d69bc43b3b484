"""Parsed and validated documents kept across requests, so the same document is parsed and validated once, not
on every request: strawberry's ParserCache and ValidationCache, with what this API needs of them.

- **Only documents a client would send again are kept, and only small ones**: at most MAX_CACHED_TOKENS
  tokens. A parsed document keeps its whole token list (about half a kilobyte per token), so strawberry's
  cache would keep up to `maxsize` documents of 5,000 tokens (3 MB each) that an attacker varies on every
  request; the garbage collector then walks all of them, and the event loop waits. Larger documents are
  parsed and validated afresh each time (a millisecond or two; and refused before validation when they
  exceed the field limit, api/common/cost.py).
- **A document that does not parse is answered as without the cache**: strawberry's own parse reports the
  error. (strawberry's ParserCache raises it from the hook: an HTTP request survives that, but a WebSocket
  operation dies with an exception instead of the protocol's answer, the socket closed with 4400.)
- **A refusal stands**: parse errors are never kept; the validation cache keeps a document's errors, so a
  document refused by a rule (depth, aliases, ...) stays refused, and it never validates a document that an
  extension before it has already refused (QueryFieldLimiter).

The validation cache keys on (schema, document, rules): the rules must be the same classes on every request
for it to hit (api/schema.py makes them once).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from graphql import DocumentNode, GraphQLError, parse
from graphql.language import Token, TokenKind
from strawberry.extensions import ParserCache as StrawberryParserCache
from strawberry.extensions import ValidationCache as StrawberryValidationCache

MAX_CACHED_TOKENS = 1_000  # GraphiQL's introspection query has ~200, a rich page ~100-400
DEFAULT_MAXSIZE = 128


def _tokens(document: DocumentNode, more_than: int) -> int:
    """The document's tokens (not counting comments), counted up to `more_than` + 1."""
    count = 0
    token: Token | None = document.loc.start_token if document.loc else None
    while token is not None and count <= more_than:
        if token.kind not in (TokenKind.SOF, TokenKind.EOF, TokenKind.COMMENT):
            count += 1
        token = token.next
    return count


class ParsedDocuments:
    """An LRU of parsed documents by (text, parse options) that keeps only documents of at most
    MAX_CACHED_TOKENS tokens; callable like `graphql.parse`."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._documents: OrderedDict[tuple[str, tuple[tuple[str, Any], ...]], DocumentNode] = OrderedDict()
        self._held: set[int] = set()  # ids of the documents in _documents (alive while they are in it)
        self._lock = threading.Lock()

    def __call__(self, query: str, **options: Any) -> DocumentNode:
        key = (query, tuple(sorted(options.items())))
        with self._lock:
            document = self._documents.get(key)
            if document is not None:
                self._documents.move_to_end(key)
                return document
        document = parse(query, **options)  # a GraphQLError (syntax, too many tokens) is not kept
        if _tokens(document, MAX_CACHED_TOKENS) <= MAX_CACHED_TOKENS:
            with self._lock:
                if key not in self._documents:
                    self._documents[key] = document
                    self._held.add(id(document))
                    while len(self._documents) > self.maxsize:
                        self._held.discard(id(self._documents.popitem(last=False)[1]))
        return document

    def holds(self, document: DocumentNode) -> bool:
        return id(document) in self._held


_PARSED: dict[int, ParsedDocuments] = {}


def parsed_documents(maxsize: int = DEFAULT_MAXSIZE) -> ParsedDocuments:
    """The LRU for this maxsize, shared by every request and schema (as strawberry's is)."""
    return _PARSED.setdefault(maxsize, ParsedDocuments(maxsize))


def is_cached(document: DocumentNode) -> bool:
    return any(cache.holds(document) for cache in list(_PARSED.values()))


class ParserCache(StrawberryParserCache):
    """strawberry's ParserCache on a ParsedDocuments LRU (small documents only); a document that does not parse
    is left to strawberry's own parse, which answers with the error."""

    def __init__(self, maxsize: int = DEFAULT_MAXSIZE) -> None:
        super().__init__(maxsize)
        self.cached_parse_document = parsed_documents(maxsize)

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        try:
            context.graphql_document = self.cached_parse_document(context.query, **context.parse_options)
        except GraphQLError:
            pass  # parsed again, uncached, by strawberry, whose error becomes the result
        yield


class ValidationCache(StrawberryValidationCache):
    """strawberry's ValidationCache (one LRU of errors per maxsize) for the documents ParserCache keeps; others
    are validated afresh (kept here they would stay alive in this cache instead). A document already refused
    by an extension before this one is not validated at all."""

    def __init__(self, maxsize: int = DEFAULT_MAXSIZE) -> None:
        super().__init__(maxsize)

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.pre_execution_errors is not None or context.graphql_document is None \
                or not is_cached(context.graphql_document):
            yield  # refused already, or strawberry validates it uncached
            return
        yield from super().on_validate()


__all__ = ["MAX_CACHED_TOKENS", "ParsedDocuments", "ParserCache", "ValidationCache", "is_cached", "parsed_documents"]

"""The edge: every GraphQL request's input is checked here, once, before anything parses it further.

Input the store cannot hold (domain/storable.py: NUL, lone surrogates, NaN/Infinity, numbers beyond what a
field takes) and bodies that are not UTF-8 are the client's mistake: HTTP 400 with code BAD_REQUEST, never a
fault nor a stored row. `operation_flaw` is the one check; RequestGuard applies it to JSON bodies (which it
parses once per request: the fast path reads the result, api/app.py), GraphQLApp to GET parameters and
multipart operations. A deeply nested body would make Python's JSON parser run out of recursion: 400 too.
"""
from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import (GraphQLError, GraphQLSchema, IntValueNode, TypeInfo, TypeInfoVisitor, Visitor,
                     get_named_type, parse, visit)
from graphql.language import FloatValueNode, ListTypeNode, NonNullTypeNode, StringValueNode, TypeNode
from starlette.datastructures import UploadFile
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.storable import number_flaw, text_flaw, unstorable

NUL_ESCAPES = (b"\\u0000", b"\\U0000", b"\x00")
INT_MIN, INT_MAX = -2 ** 31, 2 ** 31 - 1  # GraphQL's Int
MAX_TOKENS = 5000  # as the schema's MaxTokensLimiter: a longer document is refused there, unchecked here
KEPT_DOCUMENTS, KEPT_QUERY_LENGTH = 512, 16_384
MAX_NUMBER_DIGITS = 20  # a JSON integer with more digits is beyond every field's range (and slow to convert)
# orjson parses a body as json.loads does, except: NaN, Infinity, lone surrogates, numbers beyond a float and
# nesting over 1,024 it refuses (then json.loads decides, as before), and integers beyond 64 bits it makes floats;
# so only bodies without digit runs that long and without deep nesting go to it
DIGITS, LONG_NUMBER = bytes.maketrans(b"012345678", b"999999999"), b"9" * 19  # a run of 19 digits (no regex: 7x faster)
SAFE_DIGITS = b"9" * 16  # a whole number of fewer digits is within what JSON carries exactly (2^53 - 1: 16 digits)
FAST_JSON_BYTES, FAST_JSON_NESTING = 64 * 1024, 256


def _error(message: str, code: str = "BAD_REQUEST") -> bytes:
    return json.dumps({"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}).encode()


@dataclass(frozen=True)
class _Document:
    flaw: str | None  # in an inline literal, or the document is not Unicode
    int_variables: frozenset[str]  # variables declared Int (or lists of it): 32-bit


def _is_int(type_node: TypeNode) -> bool:
    while isinstance(type_node, (NonNullTypeNode, ListTypeNode)):
        type_node = type_node.type
    return type_node.name.value == "Int"  # type: ignore[attr-defined]


class _Literals(Visitor):
    """The first inline literal the store cannot hold; an Int-typed literal must fit GraphQL's 32 bits (a JSON
    scalar's only JSON's 53)."""

    def __init__(self, type_info: TypeInfo | None) -> None:
        super().__init__()
        self.type_info = type_info
        self.flaw: str | None = None

    def _found(self, flaw: str | None) -> Any:
        if flaw:
            self.flaw = flaw
            return self.BREAK
        return None

    def enter_int_value(self, node: IntValueNode, *_: Any) -> Any:
        value = int(node.value) if len(node.value) <= MAX_NUMBER_DIGITS else None
        expected = get_named_type(self.type_info.get_input_type()) if self.type_info else None
        if value is None or (expected is not None and expected.name == "Int" and not INT_MIN <= value <= INT_MAX):
            return self._found(f"{node.value} is out of range for {expected.name if expected else 'a number'}.")
        return self._found(number_flaw(value))

    def enter_float_value(self, node: FloatValueNode, *_: Any) -> Any:
        return self._found(number_flaw(float(node.value)))

    def enter_string_value(self, node: StringValueNode, *_: Any) -> Any:
        return self._found(text_flaw(node.value))


class OperationChecker:
    """`flaw(operation)`: what makes a parsed GraphQL request (query, variables, extensions) unacceptable, or None.
    What a document's literals and declarations say is kept per document text (small documents)."""

    def __init__(self, schema: GraphQLSchema | None = None) -> None:
        self._schema = schema
        self._documents: OrderedDict[str, _Document] = OrderedDict()
        self._lock = threading.Lock()

    def flaw(self, operation: object, storable: bool = False) -> str | None:
        """`storable`: the caller knows the store can hold every value in it (domain/storable.py)."""
        for item in operation if isinstance(operation, list) else [operation]:
            found = None if storable else unstorable(item)
            if found:
                path, problem = found
                return f"{problem} (at {'.'.join(path)})" if path else problem
            if isinstance(item, dict) and isinstance(item.get("query"), str):
                document = self._document(item["query"])
                if document.flaw:
                    return document.flaw
                variables = item.get("variables")
                if document.int_variables and isinstance(variables, dict):
                    for name in document.int_variables & variables.keys():
                        if not _fits_int(variables[name]):
                            return f"Variable ${name} is out of range for Int ({INT_MIN} to {INT_MAX})."
        return None

    def _document(self, query: str) -> _Document:
        with self._lock:
            known = self._documents.get(query)
            if known is not None:
                self._documents.move_to_end(query)
                return known
        document = self._read(query)
        if len(query) <= KEPT_QUERY_LENGTH:
            with self._lock:
                self._documents[query] = document
                while len(self._documents) > KEPT_DOCUMENTS:
                    self._documents.popitem(last=False)
        return document

    def _read(self, query: str) -> _Document:
        try:
            node = parse(query, no_location=True, max_tokens=MAX_TOKENS)
        except GraphQLError as err:  # the view reports syntax errors; one that is about Unicode is ours
            unicode = "Unicode" in err.message or "Invalid character" in err.message
            return _Document(err.message if unicode else None, frozenset())
        type_info = TypeInfo(self._schema) if self._schema is not None else None
        literals = _Literals(type_info)
        visit(node, TypeInfoVisitor(type_info, literals) if type_info else literals)
        ints = frozenset(d.variable.name.value for op in node.definitions
                         for d in getattr(op, "variable_definitions", None) or () if _is_int(d.type))
        return _Document(literals.flaw, ints)


def carries_upload(value: object) -> bool:
    """Whether a multipart request's variables hold a file (what multipart is accepted for)."""
    if isinstance(value, UploadFile):
        return True
    if isinstance(value, dict):
        return any(carries_upload(v) for v in value.values())
    if isinstance(value, list):
        return any(carries_upload(v) for v in value)
    return False


def _fits_int(value: object) -> bool:
    if isinstance(value, list):
        return all(_fits_int(v) for v in value)
    return not isinstance(value, int) or isinstance(value, bool) or INT_MIN <= value <= INT_MAX


class _NumberTooLong(ValueError):
    pass


def _whole_number(text: str) -> int:
    if len(text) > MAX_NUMBER_DIGITS + 1:
        raise _NumberTooLong(text)
    return int(text)


class _BodyTooLarge(Exception):
    """Raised from `receive` when the body passes its limit (not a ValueError: nothing on the way may take it
    for a malformed body)."""


def replaying(body: bytes, receive: Receive, more: bool = False) -> Receive:
    """A `receive` that hands the app a body already read (whole, unless `more` is to come), then whatever the
    client sends next."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": more}

    return replay


class RequestGuard:
    """The body's size is counted on the stream, whatever the framing (Content-Length, chunked, or a length
    that lies): `max_upload_bytes` for multipart uploads, `max_json_bytes` for anything else; over it, 413
    LIMIT_EXCEEDED. A JSON body is then read whole, checked (OperationChecker) and parsed once."""

    def __init__(self, app: ASGIApp, max_json_bytes: int, max_upload_bytes: int,
                 checker: OperationChecker | None = None) -> None:
        self.app = app
        self.max_json_bytes = max_json_bytes
        self.max_upload_bytes = max_upload_bytes
        self.checker = checker or OperationChecker()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        limit = self.max_upload_bytes if content_type == b"multipart/form-data" else self.max_json_bytes
        declared = headers.get(b"content-length", b"0").strip()
        if declared.isdigit() and int(declared) > limit:  # refused before a byte is read
            await self._refuse(send, 413, "Request too large.", "LIMIT_EXCEEDED")
            return
        if scope.get("method") != "POST" or content_type != b"application/json":
            await self._counted(scope, receive, send, limit)
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > limit:
                await self._refuse(send, 413, "Request too large.", "LIMIT_EXCEEDED")
                return
        problem, parsed = self.parsed(bytes(body))
        if problem:
            await self._refuse(send, 400, problem)
            return
        scope.setdefault("state", {})["json_body"] = parsed  # parsed once: the fast path (api/app.py) reads it
        await self.app(scope, replaying(bytes(body), receive), send)

    async def _counted(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        """The app, reading a body that may not pass `limit` bytes: refused with 413 when it does."""
        received = 0
        started = False

        async def counting() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise _BodyTooLarge()
            return message

        async def watching(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting, watching)
        except _BodyTooLarge:
            if started:
                raise
            await self._refuse(send, 413, "Request too large.", "LIMIT_EXCEEDED")

    def parsed(self, body: bytes) -> tuple[str | None, object]:
        """What is wrong with the body, if anything; else the parsed JSON (None when it is not JSON at all:
        the GraphQL view answers that itself)."""
        if any(escape in body for escape in NUL_ESCAPES):
            return "Text may not contain NUL characters.", None
        body = body.removeprefix(b"\xef\xbb\xbf")
        if len(body) < FAST_JSON_BYTES and LONG_NUMBER not in (digits := body.translate(DIGITS)) \
                and body.count(b"[") + body.count(b"{") < FAST_JSON_NESTING:
            try:
                parsed = orjson.loads(body)  # what json.loads below gives for such a body, about 5x faster
            except orjson.JSONDecodeError:
                pass  # NaN, a lone surrogate, not UTF-8, not JSON ...: the same checks as ever say what
            else:
                if not isinstance(parsed, (dict, list)):
                    return "A GraphQL request is a JSON object.", None
                # what orjson takes holds no NUL (escaped ones are refused above, raw ones it refuses), no lone
                # surrogate and no infinite number; without a run of 16 digits, no whole number beyond 2^53 either
                return self.checker.flaw(parsed, storable=SAFE_DIGITS not in digits), parsed
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as err:
            return f"The body is not valid UTF-8 (byte {err.start}).", None
        try:
            parsed = json.loads(text, parse_int=_whole_number)
        except RecursionError:
            return "The request is nested too deeply.", None
        except _NumberTooLong:
            return "A number in the body is out of range.", None
        except ValueError:
            return None, None
        if not isinstance(parsed, (dict, list)):  # strawberry would fault on `0`, `"x"` or `null`
            return "A GraphQL request is a JSON object.", None
        return self.checker.flaw(parsed), parsed

    @staticmethod
    async def _refuse(send: Send, status: int, message: str, code: str = "BAD_REQUEST") -> None:
        body = _error(message, code)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


__all__ = ["OperationChecker", "RequestGuard"]

"""What the store can hold (rule InputTheStoreCanHold): text without NUL characters (PostgreSQL refuses them in
text, SQLite would keep them) and without lone surrogates (not Unicode: no database encodes them), finite numbers
(NaN and Infinity are not JSON: stored, every later read of the row is broken), and whole numbers within what JSON
carries exactly (2^53 - 1). Input is checked against it at the edge (api/common/limits.py for GraphQL requests,
application/imports.py for import rows), so nothing further in needs to care.
"""
from __future__ import annotations

import math
import re
from typing import Any

MAX_JSON_INTEGER = 2 ** 53 - 1
SURROGATE = re.compile("[\ud800-\udfff]")

Flaw = tuple[tuple[str, ...], str]


def text_flaw(text: str) -> str | None:
    if "\x00" in text:
        return "Text may not contain NUL characters."
    if SURROGATE.search(text):
        return "Text may not contain lone surrogates (it is not valid Unicode)."
    return None


def number_flaw(number: int | float) -> str | None:
    if isinstance(number, float) and not math.isfinite(number):
        return "Numbers must be finite (no NaN or Infinity)."
    if isinstance(number, int) and abs(number) > MAX_JSON_INTEGER:
        return f"Whole numbers may be at most {MAX_JSON_INTEGER} in magnitude."
    return None


def _flawless(value: Any) -> bool:
    """Whether `value` has no flaw at all: `unstorable`'s walk without the paths, which it needs only for a flaw
    (a request's body is nearly always flawless, and building every item's path was most of the walk)."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str:
            if "\x00" in item or SURROGATE.search(item):
                return False
        elif kind is dict:
            for key in item:
                if isinstance(key, str) and text_flaw(key):
                    return False
            stack.extend(item.values())
        elif kind is list or kind is tuple:
            stack.extend(item)
        elif kind is int or kind is float:
            if number_flaw(item):
                return False
        elif isinstance(item, (str, int, float, dict, list, tuple)) and not isinstance(item, bool):
            return False  # a subclass: the walk below decides
    return True


def unstorable(value: Any) -> Flaw | None:
    """The first flaw in a JSON-like value (dicts, lists, text, numbers) with its path, or None. Walks without
    recursion: a value may nest as deeply as its parser allowed."""
    if _flawless(value):
        return None
    stack: list[tuple[tuple[str, ...], Any]] = [((), value)]
    while stack:
        path, item = stack.pop()
        problem = None
        if isinstance(item, str):
            problem = text_flaw(item)
        elif isinstance(item, (int, float)) and not isinstance(item, bool):
            problem = number_flaw(item)
        elif isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and (problem := text_flaw(key)):
                    break
                stack.append(((*path, str(key)), child))
        elif isinstance(item, (list, tuple)):
            stack.extend(((*path, str(i)), child) for i, child in enumerate(item))
        if problem:
            return path, problem
    return None

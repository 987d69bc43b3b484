"""Streaming readers for import files (CSV and JSON): customers, and a campaign's members.

A reader turns a binary stream into `(row number, fields)` pairs without holding the file
in memory. It owns everything about the file format: CSV's column names, its ';'-separated
tags, its JSON-text attributes cell and its flat contact columns all become the same field
shape a JSON file uses. Checking the values is the use case's job (application.imports).

A file that cannot be read at all (not UTF-8, not a JSON array, no `code`/`name` column,
broken syntax) raises InvalidInput with field ("file",), possibly after some rows were
yielded; the use case then rolls back.
"""
from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO, Iterator

import ijson

from domain.shared import InvalidInput

Row = tuple[int, Any]

FILE_FIELD = ("file",)
CSV_COLUMNS = ("code", "name", "kind", "tier", "lifecycleStage", "ownerEmail", "tags", "attributes",
               "contactName", "contactEmail", "contactPhone", "contactTitle")
REQUIRED_COLUMNS = ("code", "name")
CONTACT_COLUMNS = {"contactName": "name", "contactEmail": "email", "contactPhone": "phone",
                   "contactTitle": "title"}
TAG_SEPARATOR = ";"


@dataclass(frozen=True)
class FileShape:
    """What one kind of import file holds: its CSV columns, those the header must have (one of each group), and
    what its JSON array holds (for the messages)."""

    columns: tuple[str, ...]
    required: tuple[tuple[str, ...], ...]
    items: str
    nested: bool = False  # CSV's tags, attributes and contact columns become the JSON shape's lists and objects


CUSTOMERS = FileShape(CSV_COLUMNS, tuple((c,) for c in REQUIRED_COLUMNS), "customer objects", nested=True)
OPPORTUNITIES = FileShape(("number", "customerCode", "name", "amount", "currency", "stage", "probability",
                           "expectedCloseDate", "ownerEmail", "lostReason", "campaignId"), (), "opportunity objects")
CAMPAIGN_MEMBERS = FileShape(("customerCode", "customerId", "contactEmail", "status"),
                             (("customerCode", "customerId"),), "member objects")


class FileFormat(StrEnum):
    CSV = "CSV"
    JSON = "JSON"

    @classmethod
    def for_path(cls, path: str | Path) -> "FileFormat | None":
        """The format a file name suggests (.csv, .json), or None."""
        return {".csv": cls.CSV, ".json": cls.JSON}.get(Path(path).suffix.lower())


def read_rows(stream: BinaryIO, file_format: FileFormat, shape: FileShape = CUSTOMERS) -> Iterator[Row]:
    return read_csv(stream, shape) if file_format is FileFormat.CSV else read_json(stream, shape)


def _broken(message: str) -> InvalidInput:
    return InvalidInput(message, field=FILE_FIELD)


def read_csv(stream: BinaryIO, shape: FileShape = CUSTOMERS) -> Iterator[Row]:
    """Rows of a UTF-8 CSV file (a BOM is allowed) whose first line names the columns.

    Row 1 is the first record after the header; blank records are skipped but still counted,
    so a row number stays the record's position whatever lies between. An empty cell means
    "not given".
    """
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    try:
        records = csv.reader(text, strict=True)
        header = _csv_header(next(records, None), shape)
        for number, cells in enumerate(records, start=1):
            if not any(cell.strip() for cell in cells):
                continue
            yield number, _csv_row(number, header, cells) if shape.nested else _flat_row(number, header, cells)
    except UnicodeDecodeError:
        raise _broken("The file is not UTF-8 text.") from None
    except csv.Error as err:
        raise _broken(f"The CSV is malformed near line {records.line_num}: {err}.") from None
    finally:
        text.detach()  # leave the caller's stream open


def _csv_header(cells: list[str] | None, shape: FileShape) -> list[str]:
    if cells is None:
        raise _broken("The file is empty; expected a header line naming the columns.")
    known = {c.lower(): c for c in shape.columns}
    header: list[str] = []
    unknown: list[str] = []
    for cell in cells:
        name = known.get(cell.strip().lower())
        if name is None:
            unknown.append(cell.strip())
        header.append(name or "")
    if unknown:
        raise _broken(f"Unknown column(s) {', '.join(map(repr, unknown))}; the columns are {', '.join(shape.columns)}.")
    duplicated = sorted({c for c in header if header.count(c) > 1})
    if duplicated:
        raise _broken(f"Column(s) {', '.join(duplicated)} appear more than once in the header.")
    missing = [" or ".join(group) for group in shape.required if not set(group) & set(header)]
    if missing:
        raise _broken(f"The header lacks the required column(s) {', '.join(missing)}.")
    return header


def _flat_row(number: int, header: list[str], cells: list[str]) -> dict[str, Any]:
    """Every non-empty cell under its column's name."""
    _check_width(number, header, cells)
    return {column: cell.strip() for column, cell in zip(header, cells) if cell.strip()}


def _check_width(number: int, header: list[str], cells: list[str]) -> None:
    if any(cell.strip() for cell in cells[len(header):]):
        raise _broken(f"Row {number} has {len(cells)} cells but the header names {len(header)} columns.")


def _csv_row(number: int, header: list[str], cells: list[str]) -> dict[str, Any]:
    _check_width(number, header, cells)
    row: dict[str, Any] = {}
    contact: dict[str, str] = {}
    for column, cell in zip(header, cells):
        value = cell.strip()
        if not value:
            continue
        if column in CONTACT_COLUMNS:
            contact[CONTACT_COLUMNS[column]] = value
        elif column == "tags":
            row["tags"] = [tag.strip() for tag in value.split(TAG_SEPARATOR) if tag.strip()]
        elif column == "attributes":
            row["attributes"] = _json_or_text(value)
        else:
            row[column] = value
    if contact:
        row["contacts"] = [contact]
    return row


def _json_or_text(value: str) -> Any:
    """The decoded JSON, or the text itself, which the domain then refuses as not an object."""
    try:
        return json.loads(value)
    except ValueError:
        return value


MAX_ROW_DEPTH = 32
"""How deeply arrays and objects may nest inside one row (the row itself is level 1)."""
MAX_ROW_SIZE = 1_000_000
"""A bound on one row's size: characters of its keys and strings plus one per value."""


def read_json(stream: BinaryIO, shape: FileShape = CUSTOMERS) -> Iterator[Row]:
    """Items of a top-level JSON array; row n is the item at index n - 1.

    Items are yielded as decoded (an item that is not an object is the use case's row error).
    The file is walked event by event (ijson.basic_parse, which keeps no per-level prefix
    strings) and a row nested deeper than MAX_ROW_DEPTH or larger than MAX_ROW_SIZE is a file
    error raised as soon as it is seen, so a hostile file cannot make memory grow with its depth.
    """
    backend = ijson.get_backend("python") if _surrogate_escapes(stream) else ijson
    events = backend.basic_parse(stream, use_float=True)
    count = 0
    try:
        first = next(events, None)
        if first is None or first[0] != "start_array":
            raise _broken(f"The file must hold a JSON array of {shape.items}.")
        for count, item in enumerate(_json_items(events), start=1):
            yield count, item
    except ijson.JSONError as err:
        detail = str(err).strip().splitlines()[0] if str(err).strip() else "syntax error"
        where = f" after row {count}" if count else ""
        raise _broken(f"The file is not valid JSON{where}: {detail}.") from None
    except UnicodeDecodeError:
        raise _broken("The file is not UTF-8 text.") from None


SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
SCAN_CHUNK = 1 << 20


def _surrogate_escapes(stream: BinaryIO) -> bool:
    """Whether a (seekable) file holds a surrogate escape (`\\ud83d`). The fast parser (yajl) turns a lone one
    into "?", silently; the pure-Python one keeps it, so the row is refused (application/imports.py) rather
    than stored altered. Most files hold none and keep the fast parser; a stream that cannot seek does too."""
    if not stream.seekable():
        return False
    start, tail = stream.tell(), b""
    try:
        while chunk := stream.read(SCAN_CHUNK):
            if SURROGATE_ESCAPE.search(tail + chunk):
                return True
            tail = chunk[-5:]
        return False
    finally:
        stream.seek(start)


_SCALAR_EVENTS = frozenset(("null", "boolean", "integer", "double", "number", "string"))


def _json_items(events: Iterator[tuple[str, Any]]) -> Iterator[Any]:
    """The items of the top-level array whose start_array event was already consumed."""
    row = 0
    for event, value in events:
        if event == "end_array":
            for _ in events:  # let the parser report anything after the array
                pass
            return
        row += 1
        yield _json_value(event, value, events, row)


def _json_value(event: str, value: Any, events: Iterator[tuple[str, Any]], row: int) -> Any:
    """One item built iteratively from its first event, refusing deep or huge rows."""
    if event in _SCALAR_EVENTS:
        if isinstance(value, str) and len(value) > MAX_ROW_SIZE:
            raise _too_large(row)
        return value
    size = 0
    stack: list[tuple[Any, str | None]] = []  # (container, pending key for a dict)
    while True:
        size += 1 + (len(value) if isinstance(value, str) else 0)
        if size > MAX_ROW_SIZE:
            raise _too_large(row)
        if event == "map_key":
            stack[-1] = (stack[-1][0], value)
            event, value = next(events)
            continue
        if event in ("start_map", "start_array"):
            if len(stack) >= MAX_ROW_DEPTH:
                raise _broken(f"Row {row} nests arrays and objects more than {MAX_ROW_DEPTH} levels deep.")
            stack.append(({} if event == "start_map" else [], None))
            event, value = next(events)
            continue
        if event in ("end_map", "end_array"):
            built, _ = stack.pop()
        else:
            built = value
        if not stack:
            return built
        container, key = stack[-1]
        if isinstance(container, dict):
            container[key] = built
        else:
            container.append(built)
        event, value = next(events)


def _too_large(row: int) -> InvalidInput:
    return _broken(f"Row {row} is too large; a row may hold at most about {MAX_ROW_SIZE:,} characters.")

"""The import file readers: one field shape for CSV and JSON, row numbers, unreadable files."""
from __future__ import annotations

import io
import json
from typing import Any

import pytest

from domain.shared import InvalidInput
from infrastructure.importing import FileFormat, read_csv, read_json, read_rows


def csv_rows(text: str | bytes) -> list[tuple[int, Any]]:
    return list(read_csv(io.BytesIO(text.encode() if isinstance(text, str) else text)))


def json_rows(data: Any) -> list[tuple[int, Any]]:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return list(read_json(io.BytesIO(raw)))


def file_error(read: Any, content: Any) -> str:
    with pytest.raises(InvalidInput) as caught:
        read(content)
    assert caught.value.field == ("file",)
    return caught.value.message


def test_csv_cells_become_the_json_field_shape() -> None:
    text = ("code,name,kind,tier,lifecycleStage,ownerEmail,tags,attributes,contactName,contactEmail,contactPhone,"
            "contactTitle\n"
            'A-1, Acme ,COMPANY,GOLD,LEAD,o@x.example,vip; export ;;,"{""size"": 3}",Ann,ann@x.example,+1,Boss\n')
    assert csv_rows(text) == [(1, {
        "code": "A-1", "name": "Acme", "kind": "COMPANY", "tier": "GOLD", "lifecycleStage": "LEAD",
        "ownerEmail": "o@x.example", "tags": ["vip", "export"], "attributes": {"size": 3},
        "contacts": [{"name": "Ann", "email": "ann@x.example", "phone": "+1", "title": "Boss"}],
    })]


def test_empty_csv_cells_are_left_out_and_contact_columns_only_make_a_contact_when_filled() -> None:
    assert csv_rows("code,name,tags,contactName,contactEmail\nA,,,,\n") == [(1, {"code": "A"})]
    assert csv_rows("code,name,contactEmail\nA,B,e@x.example\n") == [
        (1, {"code": "A", "name": "B", "contacts": [{"email": "e@x.example"}]})]


def test_an_attributes_cell_that_is_not_json_is_passed_on_as_text_for_the_domain_to_refuse() -> None:
    assert csv_rows("code,name,attributes\nA,B,{oops\n") == [(1, {"code": "A", "name": "B", "attributes": "{oops"})]


def test_csv_rows_count_records_after_the_header_including_blank_lines() -> None:
    text = 'code,name\nA,x\n\n"B","multi\nline"\n,\nC,z\n'
    assert [(n, row.get("code")) for n, row in csv_rows(text)] == [(1, "A"), (3, "B"), (5, "C")]


def test_csv_header_names_are_case_insensitive_and_a_bom_is_allowed() -> None:
    assert csv_rows("\ufeffCODE, Name ,OWNEREMAIL\nA,B,c@x.example\n".encode()) == [
        (1, {"code": "A", "name": "B", "ownerEmail": "c@x.example"})]


def test_trailing_empty_cells_are_ignored_but_extra_values_break_the_file() -> None:
    assert csv_rows("code,name\nA,B,,\n") == [(1, {"code": "A", "name": "B"})]
    assert "Row 2 has 3 cells" in file_error(csv_rows, "code,name\nA,B\nC,D,E\n")


@pytest.mark.parametrize(("content", "hint"), [
    ("", "empty"),
    ("name,kind\n", "lacks the required column(s) code"),
    ("code,kind\n", "lacks the required column(s) name"),
    ("code,name,colour\n", "Unknown column(s) 'colour'"),
    ("code,name,Code\n", "more than once"),
    (b"code,name\nA,\xff\n", "not UTF-8"),
    ('code,name\n"A,B\n', "malformed"),
])
def test_unreadable_csv_is_a_file_error(content: str | bytes, hint: str) -> None:
    assert hint in file_error(csv_rows, content)


def test_json_items_are_rows_numbered_from_one_whatever_they_hold() -> None:
    assert json_rows([{"code": "A", "attributes": {"x": 1.5, "n": [1, None]}}, 7, "text"]) == [
        (1, {"code": "A", "attributes": {"x": 1.5, "n": [1, None]}}), (2, 7), (3, "text")]
    assert json_rows([]) == []


def test_json_numbers_are_plain_floats_and_ints_so_they_can_be_stored() -> None:
    [(_, row)] = json_rows(b'[{"attributes": {"f": 0.1, "i": 3}}]')
    assert type(row["attributes"]["f"]) is float and type(row["attributes"]["i"]) is int


@pytest.mark.parametrize(("content", "hint"), [
    (b"", "not valid JSON"),
    (b'{"code": "A"}', "must hold a JSON array"),
    (b'"text"', "must hold a JSON array"),
    (b"[1, 2", "not valid JSON after row 2"),
    (b"[1] [2]", "not valid JSON after row 1"),
    (b"\xff\xfe[", "not valid JSON"),
])
def test_unreadable_json_is_a_file_error(content: bytes, hint: str) -> None:
    assert hint in file_error(json_rows, content)


def test_a_json_file_error_comes_after_the_rows_before_it() -> None:
    rows = read_json(io.BytesIO(b'[{"code": "A"}, {"code": ]'))
    assert next(rows) == (1, {"code": "A"})
    with pytest.raises(InvalidInput):
        next(rows)


def test_readers_stream_and_leave_the_callers_stream_open() -> None:
    stream = io.BytesIO(("code,name\n" + "".join(f"C{i},N\n" for i in range(10_000))).encode())
    rows = read_rows(stream, FileFormat.CSV)
    assert next(rows) == (1, {"code": "C0", "name": "N"})
    assert stream.tell() < len(stream.getvalue())
    assert sum(1 for _ in rows) == 9_999
    assert not stream.closed


def test_the_format_follows_the_file_extension() -> None:
    assert FileFormat.for_path("x/customers.CSV") is FileFormat.CSV
    assert FileFormat.for_path("customers.json") is FileFormat.JSON
    assert FileFormat.for_path("customers.txt") is None


def test_json_nested_deeper_than_the_bound_is_a_file_error_raised_while_streaming() -> None:
    from infrastructure.importing import MAX_ROW_DEPTH
    depth = 100_000
    stream = io.BytesIO(b"[" + b"[" * depth + b"]" * depth + b"]")
    rows = read_json(stream)
    with pytest.raises(InvalidInput) as caught:
        next(rows)
    assert caught.value.field == ("file",)
    assert f"more than {MAX_ROW_DEPTH} levels deep" in caught.value.message
    assert stream.tell() < len(stream.getvalue())  # refused without reading the whole file


def test_json_nesting_up_to_the_bound_is_read() -> None:
    from infrastructure.importing import MAX_ROW_DEPTH
    nested: Any = {"x": 1}
    for _ in range(MAX_ROW_DEPTH - 1):
        nested = [nested]
    assert json_rows([{"code": "A"}, nested]) == [(1, {"code": "A"}), (2, nested)]
    assert "levels deep" in file_error(json_rows, [{"code": "A"}, [nested]])


def test_a_json_row_that_is_too_large_is_a_file_error() -> None:
    from infrastructure.importing import MAX_ROW_SIZE
    assert "too large" in file_error(json_rows, [{"code": "A", "attributes": {"s": "x" * MAX_ROW_SIZE}}])
    assert "too large" in file_error(json_rows, ["x" * (MAX_ROW_SIZE + 1)])
    assert "too large" in file_error(json_rows, [[0] * (MAX_ROW_SIZE + 1)])
    assert json_rows([{"code": "A", "attributes": {"s": "x" * 1000}}])[0][0] == 1

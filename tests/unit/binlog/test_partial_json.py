"""PARTIAL_UPDATE_ROWS (binlog_row_value_options=PARTIAL_JSON): JSON paths, applying diffs,
and whole events built byte by byte after MySQL's writer (sql/rpl_record.cc pack_row,
sql/json_diff.cc Json_diff_vector::write_binary)."""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonb import jsonb

from dm.binlog.events import EventDecoder, RowsEvent
from dm.binlog.rows import ABSENT, ColumnInfo, TableSchema
from dm.binlog.rows.coltypes import ColumnType as T
from dm.binlog.rows.json_binary import json_text, parse_text, render
from dm.binlog.rows.json_diff import (
    INSERT,
    REMOVE,
    REPLACE,
    ArrayLeg,
    DiffVector,
    JsonDiff,
    JsonDiffError,
    MissingBeforeImage,
    apply_diffs,
    parse_path,
    patch_json_text,
    read_diff_vector,
)
from dm.errors import DMError

# --- paths --------------------------------------------------------------------------------


def test_paths_as_the_server_writes_them() -> None:
    assert parse_path("$") == []
    assert parse_path('$.a."b c"[2][last][last-1]') == [
        "a", "b c", ArrayLeg(2), ArrayLeg(0, True), ArrayLeg(1, True)]
    assert parse_path(' $ . a [ last - 3 ] .b') == ["a", ArrayLeg(3, True), "b"]
    assert parse_path('$."a\\"q".\\u0041b') == ['a"q', "Ab"]
    assert parse_path("$.é_1$") == ["é_1$"]


@pytest.mark.parametrize("path", ["", "a", "$.*", "$[*]", "$**.a", "$[1 to 2]", "$.",
                                  "$[", "$[x]", '$."open', "$a", "$[1"])
def test_paths_that_name_no_single_value_are_refused(path: str) -> None:
    with pytest.raises(ValueError):
        parse_path(path)


def test_array_leg_positions_follow_json_array_index() -> None:
    assert [ArrayLeg(i).position(3) for i in (0, 2, 3, 9)] == [0, 2, 3, 3]
    assert [ArrayLeg(i, True).position(3) for i in (0, 2, 3)] == [2, 0, 0]
    assert ArrayLeg(2).within(3) and not ArrayLeg(3).within(3)


# --- applying diffs -----------------------------------------------------------------------

DOC = '{"a": {"b": 1, "c": [1, 2]}, "old": true, "list": [10, 20, 30]}'


def _apply(doc: str, *diffs: tuple[int, str, Any]) -> str:
    tree = parse_text(doc)
    return render(apply_diffs(tree, tuple(JsonDiff(op, p, parse_text(v) if v else None)
                                          for op, p, v in diffs)))


def test_replace_a_nested_member() -> None:
    assert _apply(DOC, (REPLACE, "$.a.b", '"two"')) == \
        '{"a": {"b": "two", "c": [1, 2]}, "old": true, "list": [10, 20, 30]}'
    assert _apply(DOC, (REPLACE, "$.a.c[last]", '{"x": 1.50}')) == \
        '{"a": {"b": 1, "c": [1, {"x": 1.50}]}, "old": true, "list": [10, 20, 30]}'


def test_insert_into_an_array() -> None:
    assert _apply(DOC, (INSERT, "$.list[1]", "15")) == \
        '{"a": {"b": 1, "c": [1, 2]}, "old": true, "list": [10, 15, 20, 30]}'
    assert _apply("[1, 2]", (INSERT, "$[7]", "3")) == "[1, 2, 3]"  # past the end: appended
    assert _apply("[1, 2]", (INSERT, "$[last]", "3")) == "[1, 3, 2]"  # before the last


def test_insert_a_member_keeps_mysql_key_order() -> None:
    # MySQL stores members shorter key first, then bytewise: the full image reads the same
    assert _apply(DOC, (INSERT, '$."a b"', "5"), (INSERT, "$.Z", "null")) == \
        '{"Z": null, "a": {"b": 1, "c": [1, 2]}, "a b": 5, "old": true, ' \
        '"list": [10, 20, 30]}'


def test_remove() -> None:
    assert _apply(DOC, (REMOVE, "$.old", ""), (REMOVE, "$.a.c[0]", "")) == \
        '{"a": {"b": 1, "c": [2]}, "list": [10, 20, 30]}'


def test_diffs_apply_in_order() -> None:
    assert _apply('{"a": []}', (INSERT, "$.a[0]", '{"k": 1}'), (REPLACE, "$.a[0].k", "2"),
                  (INSERT, "$.a[0].j", "[]")) == '{"a": [{"j": [], "k": 2}]}'


@pytest.mark.parametrize(("doc", "diff"), [
    (DOC, (REPLACE, "$.nope", "1")),
    (DOC, (REPLACE, "$.list[3]", "1")),
    (DOC, (REPLACE, "$.a[0]", "1")),  # no auto-wrapping, as in the server
    (DOC, (INSERT, "$.old", "1")),  # already there
    (DOC, (INSERT, "$.a.b.c", "1")),  # parent is a scalar
    (DOC, (INSERT, "$.list.x", "1")),  # member of an array
    (DOC, (REMOVE, "$.list[3]", "")),
    (DOC, (REMOVE, "$.x.y", "")),
    (DOC, (REPLACE, "$", "1")),  # the whole document
])
def test_diffs_that_do_not_fit_are_errors(doc: str, diff: tuple[int, str, str]) -> None:
    with pytest.raises(JsonDiffError, match=diff[1].replace("$", r"\$").replace("[", r"\[")):
        _apply(doc, diff)


def test_patch_needs_the_before_value() -> None:
    vector = DiffVector((JsonDiff(REMOVE, "$.old"),))
    assert patch_json_text(DOC, DiffVector(()), "doc") == DOC  # empty vector: unchanged
    assert patch_json_text(DOC, vector, "doc") == \
        '{"a": {"b": 1, "c": [1, 2]}, "list": [10, 20, 30]}'
    with pytest.raises(MissingBeforeImage) as err:
        patch_json_text(ABSENT, vector, "doc")
    assert err.value.column == "doc"
    with pytest.raises(JsonDiffError, match="NULL"):
        patch_json_text(None, vector, "doc")


# --- the diff vector's bytes --------------------------------------------------------------


def _packed(n: int) -> bytes:
    if n < 0xFB:
        return bytes([n])
    if n < 1 << 16:
        return b"\xfc" + n.to_bytes(2, "little")
    return b"\xfd" + n.to_bytes(3, "little")


def diff_bytes(op: int, path: str, value: Any = None) -> bytes:
    raw = path.encode()
    out = bytes([op]) + _packed(len(raw)) + raw
    if op != REMOVE:
        doc = jsonb(value)
        out += _packed(len(doc)) + doc
    return out


def vector_bytes(*diffs: bytes) -> bytes:
    body = b"".join(diffs)
    return struct.pack("<I", len(body)) + body


def test_read_diff_vector() -> None:
    long_path = "$." + "k" * 300
    data = vector_bytes(diff_bytes(REPLACE, "$.a.b", "two"), diff_bytes(INSERT, "$.l[1]", 15),
                        diff_bytes(REMOVE, long_path)) + b"rest"
    vector, end = read_diff_vector(data, 0)
    assert data[end:] == b"rest"
    assert [(d.op, d.path) for d in vector.diffs] == [
        (REPLACE, "$.a.b"), (INSERT, "$.l[1]"), (REMOVE, long_path)]
    assert render(vector.diffs[0].value) == '"two"' and render(vector.diffs[1].value) == "15"
    assert read_diff_vector(b"\x00\x00\x00\x00", 0)[0] == DiffVector(())


@pytest.mark.parametrize("data", [
    vector_bytes(b"\x07\x01$"),  # unknown operation
    vector_bytes(diff_bytes(REPLACE, "$.a", 1))[:-1],  # cut short
    struct.pack("<I", 3) + b"\x00\x09$",  # path runs past the vector
    b"\x01\x00",
])
def test_bad_diff_vectors(data: bytes) -> None:
    with pytest.raises((ValueError, IndexError)):
        read_diff_vector(data, 0)


# --- whole events -------------------------------------------------------------------------

TABLE_ID = 77
COLUMNS = [("id", T.LONG, b""), ("doc", T.JSON, b"\x04"), ("n", T.LONG, b""),
           ("doc2", T.JSON, b"\x04")]
SCHEMA = TableSchema("db", "t", [ColumnInfo("id", "int"), ColumnInfo("doc", "json"),
                                 ColumnInfo("n", "int"), ColumnInfo("doc2", "json")])


def _event(kind: int, body: bytes) -> bytes:
    return struct.pack("<IBIIIH", 1700000000, kind, 1, 19 + len(body), 0, 0) + body


def _table_map(columns: Sequence[tuple[str, int, bytes]] = COLUMNS) -> bytes:
    metas = b"".join(m for _, _, m in columns)
    body = (TABLE_ID.to_bytes(6, "little") + b"\x01\x00" + b"\x02db\x00" + b"\x01t\x00"
            + bytes([len(columns)]) + bytes(t for _, t, _ in columns)
            + bytes([len(metas)]) + metas + b"\xff" * ((len(columns) + 7) // 8))
    return _event(19, body)


def _value(v: Any) -> bytes:
    if isinstance(v, bytes):  # a diff vector, already framed
        return v
    if isinstance(v, int):
        return struct.pack("<i", v)
    doc: bytes = jsonb(v)  # `jsonb` (tests/unit/binlog/jsonb.py) is untyped to mypy
    return struct.pack("<I", len(doc)) + doc


def _image(values: list[Any], present: list[bool]) -> bytes:
    cols = [v for v, p in zip(values, present, strict=True) if p]
    nulls = sum(1 << k for k, v in enumerate(cols) if v is None)
    nbytes = (len(cols) + 7) // 8
    return nulls.to_bytes(nbytes, "little") + b"".join(_value(v) for v in cols if v is not None)


def _after(values: list[Any], present: list[bool], partial: int | None) -> bytes:
    """value_options, partial bits (one per JSON column of the table), then the image."""
    head = b"\x00" if partial is None else b"\x01" + bytes([partial])
    return head + _image(values, present)


def _partial_update(rows: list[tuple[bytes, bytes]], before: list[bool],
                    after: list[bool]) -> bytes:
    bits = [sum(1 << i for i, p in enumerate(m) if p) for m in (before, after)]
    body = (TABLE_ID.to_bytes(6, "little") + b"\x01\x00" + b"\x02\x00" + bytes([len(before)])
            + bytes(bits) + b"".join(b + a for b, a in rows))
    return _event(39, body)


def _decode(*events: bytes, schema: TableSchema | None = SCHEMA) -> RowsEvent:
    dec = EventDecoder(lambda db, t: schema)
    out = [dec.decode(e) for e in events]
    assert isinstance(out[-1], RowsEvent)
    return out[-1]


FULL = [True] * 4
BEFORE_DOC = {"a": {"b": 1, "c": [1, 2]}, "list": [10, 20, 30], "old": True}


def test_partial_update_event_with_a_full_before_image() -> None:
    doc_diffs = vector_bytes(diff_bytes(REPLACE, "$.a.b", "two"),
                             diff_bytes(INSERT, "$.list[1]", 15),
                             diff_bytes(REMOVE, "$.old"),
                             diff_bytes(INSERT, '$."a b"', {"x": [None, 2.5]}))
    rows = [
        # doc as diffs (partial bit 0), doc2 in full (bit 1 clear)
        (_image([1, BEFORE_DOC, 5, [1]], FULL), _after([1, doc_diffs, 6, [2]], FULL, 0b01)),
        # no diff in this row: value_options 0 and no partial bits at all
        (_image([2, [1], 5, None], FULL), _after([2, [1, 2], 5, {"k": "v"}], FULL, None)),
        # both columns partial; doc unchanged (empty vector), doc2 gets an element
        (_image([3, BEFORE_DOC, 5, [1]], FULL),
         _after([3, vector_bytes(), 5, vector_bytes(diff_bytes(INSERT, "$[0]", 0))], FULL,
                0b11)),
    ]
    event = _decode(_table_map(), _partial_update(rows, FULL, FULL))
    assert event.kind == "update" and event.header.type == 39
    want_doc = {"a": {"b": "two", "c": [1, 2]}, "list": [10, 15, 20, 30],
                "a b": {"x": [None, 2.5]}}
    assert event.rows == [
        ((1, json_text(jsonb(BEFORE_DOC)), 5, "[1]"), (1, json_text(jsonb(want_doc)), 6, "[2]")),
        ((2, "[1]", 5, None), (2, "[1, 2]", 5, '{"k": "v"}')),
        ((3, json_text(jsonb(BEFORE_DOC)), 5, "[1]"),
         (3, json_text(jsonb(BEFORE_DOC)), 5, "[0, 1]")),
    ]
    assert event.rows[0][1][1] == \
        '{"a": {"b": "two", "c": [1, 2]}, "a b": {"x": [null, 2.5]}, "list": [10, 15, 20, 30]}'


def test_partial_bits_count_json_columns_left_out_of_the_after_image() -> None:
    after = [True, False, True, True]  # doc is not in the after image, doc2 still has bit 1
    rows = [(_image([1, [0], 5, [1]], FULL),
             _after([1, None, 6, vector_bytes(diff_bytes(REPLACE, "$[0]", "x"))], after,
                    0b10))]
    event = _decode(_table_map(), _partial_update(rows, FULL, after))
    assert event.rows == [((1, "[0]", 5, "[1]"), (1, ABSENT, 6, '["x"]'))]


def test_minimal_before_image_is_a_coded_error() -> None:
    before = [True, False, False, False]  # binlog_row_image=MINIMAL: the key only
    after = [False, True, False, False]
    rows = [(_image([1, None, None, None], before),
             _after([None, vector_bytes(diff_bytes(REMOVE, "$.old")), None, None], after,
                    0b01))]
    event = _decode(_table_map(), _partial_update(rows, before, after))
    with pytest.raises(DMError) as err:
        _ = event.rows
    assert err.value.code == 28111
    assert "column doc of `db`.`t`" in err.value.message
    assert "binlog_row_image=FULL" in err.value.workaround
    assert "binlog_row_value_options=''" in err.value.workaround


def test_a_diff_that_does_not_fit_names_column_and_path() -> None:
    rows = [(_image([1, BEFORE_DOC, 5, [1]], FULL),
             _after([1, vector_bytes(diff_bytes(REPLACE, "$.gone", 1)), 5, [1]], FULL, 0b01))]
    event = _decode(_table_map(), _partial_update(rows, FULL, FULL))
    with pytest.raises(DMError) as err:
        _ = event.rows
    assert err.value.code == 28101
    assert "column doc" in err.value.message and "REPLACE $.gone" in err.value.message


def test_a_corrupt_diff_vector_is_a_coded_error() -> None:
    rows = [(_image([1, BEFORE_DOC, 5, [1]], FULL),
             _after([1, vector_bytes(b"\x05\x01$"), 5, [1]], FULL, 0b01))]
    event = _decode(_table_map(), _partial_update(rows, FULL, FULL))
    with pytest.raises(DMError) as err:
        _ = event.rows
    assert err.value.code == 28101 and "operation 5" in err.value.message


def test_update_and_partial_update_of_one_table_use_their_own_decoders() -> None:
    dec = EventDecoder(lambda db, t: SCHEMA)
    dec.decode(_table_map())
    plain = _partial_update([(_image([1, [1], 5, [1]], FULL),
                              _image([1, [2], 5, [1]], FULL))], FULL, FULL)
    plain = plain[:4] + bytes([31]) + plain[5:]  # the same bytes as UPDATE_ROWS_V2
    partial = _partial_update([(_image([1, [1], 5, [1]], FULL),
                                _after([1, [2], 5, [1]], FULL, None))], FULL, FULL)
    for _ in range(2):
        a, b = dec.decode(plain), dec.decode(partial)
        assert isinstance(a, RowsEvent) and isinstance(b, RowsEvent)
        assert a.rows == b.rows == [((1, "[1]", 5, "[1]"), (1, "[2]", 5, "[1]"))]


@given(st.binary(min_size=1, max_size=40), st.integers(0, 120))
def test_fuzzed_partial_events_only_raise_coded_errors(noise: bytes, at: int) -> None:
    doc_diffs = vector_bytes(diff_bytes(REPLACE, "$.a.b", "two"), diff_bytes(REMOVE, "$.old"))
    event = _partial_update([(_image([1, BEFORE_DOC, 5, [1]], FULL),
                              _after([1, doc_diffs, 6, [2]], FULL, 0b01))], FULL, FULL)
    at = 19 + min(at, len(event) - 20)
    mutated = event[:at] + noise + event[at + len(noise):]
    mutated = mutated[:9] + struct.pack("<I", len(mutated)) + mutated[13:]
    dec = EventDecoder(lambda db, t: SCHEMA)
    dec.decode(_table_map())
    with contextlib.suppress(DMError):
        rows = dec.decode(mutated)
        _ = getattr(rows, "rows", None)


@given(st.text(alphabet='$.[]"\\ lastto-*09aé', max_size=20), st.binary(max_size=60))
def test_fuzzed_paths_and_vectors_raise_value_errors(path: str, data: bytes) -> None:
    with contextlib.suppress(ValueError):
        parse_path(path)
    with contextlib.suppress(ValueError, IndexError, struct.error, UnicodeDecodeError):
        read_diff_vector(data, 0)


def test_an_after_image_of_unchanged_json_columns_from_go_mysql() -> None:
    """The after image of go-mysql's TestRowsEventDecodeImageWithEmptyJSON (taken from a
    server): value_options 1, all three JSON columns partial with empty diff vectors, i.e.
    unchanged. go-mysql reads them as empty values; the server's replica keeps the before
    value, and so does pydm."""
    columns = [("a", T.LONG, b""), ("b", T.LONG, b""), ("j1", T.JSON, b"\x04"),
               ("j2", T.JSON, b"\x04"), ("j3", T.JSON, b"\x04"), ("d1", T.DATETIME2, b"\x00"),
               ("d2", T.DATETIME2, b"\x00"), ("c", T.LONG, b"")]
    after = (b"\x01\x07\x00\xf6+\x0f\x00\xeb\xafP\x02" + b"\x00" * 12
             + b"\x99\xac\xfa\xbe\xc3\x99\xaf\xab1\x184\x11\x00\x00")
    docs = [{"k": 1}, [1, "two"], "three"]
    before = _image([994294, 38842347, *docs, None, None, 4404], [True] * 8)
    event = _decode(_table_map(columns), _partial_update([(before, after)], [True] * 8,
                                                         [True] * 8), schema=None)
    ((old, new),) = event.rows
    assert new[:2] == (994294, 38842347) and new[7] == 4404
    assert new[2:5] == old[2:5] == ('{"k": 1}', '[1, "two"]', '"three"')

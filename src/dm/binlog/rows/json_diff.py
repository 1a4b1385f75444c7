"""MySQL partial JSON updates (`binlog_row_value_options=PARTIAL_JSON`): read the diff vector
a PARTIAL_UPDATE_ROWS after image holds for a JSON column, and apply it to the document of
the before image, the way the server's replica does (sql/json_diff.cc, apply_json_diffs).

A diff vector is a 4-byte little-endian length, then that many bytes of diffs, each:
one operation byte (0 REPLACE, 1 INSERT, 2 REMOVE), the path as a length-encoded string
(`$.a[2]."b c"`), and, except for REMOVE, the new value as length-encoded binary JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from dm.binlog.rows.json_binary import parse_binary, parse_text, render

REPLACE, INSERT, REMOVE = 0, 1, 2
OPERATIONS = {REPLACE: "REPLACE", INSERT: "INSERT", REMOVE: "REMOVE"}


class JsonDiffError(ValueError):
    """A diff that does not fit the document (the upstream and its binlog disagree)."""


class MissingBeforeImage(Exception):
    """A partial JSON column whose before image is absent (binlog_row_image is not FULL)."""

    def __init__(self, column: str) -> None:
        super().__init__(column)
        self.column = column


@dataclass(frozen=True, slots=True)
class ArrayLeg:
    """`[n]` (from_end False) or `[last-n]` (from_end True)."""

    index: int
    from_end: bool = False

    def position(self, length: int) -> int:
        """Where the leg points in an array of `length` (clamped like Json_array_index)."""
        if self.from_end:
            return length - self.index - 1 if self.index < length else 0
        return min(self.index, length)

    def within(self, length: int) -> bool:
        return self.index < length


Leg = str | ArrayLeg  # a member name, or an array cell


@dataclass(frozen=True, slots=True)
class JsonDiff:
    op: int
    path: str
    value: Any = None  # a tree (json_binary.parse_binary); unused by REMOVE

    def __str__(self) -> str:
        return f"{OPERATIONS[self.op]} {self.path}"


@dataclass(frozen=True, slots=True)
class DiffVector:
    """The diffs of one JSON column of one after image; empty means "unchanged"."""

    diffs: tuple[JsonDiff, ...]


def packed_int(buf: bytes, pos: int) -> tuple[int, int]:
    """A length-encoded integer (diff lengths; a partial after image's value_options)."""
    first = buf[pos]
    if first < 0xFB:
        return first, pos + 1
    width = {0xFC: 2, 0xFD: 3, 0xFE: 8}.get(first)
    if width is None:
        raise ValueError(f"bad length-encoded integer prefix 0x{first:02x} at {pos}")
    return int.from_bytes(buf[pos + 1:pos + 1 + width], "little"), pos + 1 + width


def _chunk(buf: bytes, pos: int, end: int, what: str) -> tuple[bytes, int]:
    n, pos = packed_int(buf, pos)
    if pos + n > end:
        raise ValueError(f"JSON diff {what} of {n} bytes runs past the diff vector")
    return bytes(buf[pos:pos + n]), pos + n


def read_diff_vector(buf: bytes, pos: int) -> tuple[DiffVector, int]:
    """The diff vector at buf[pos] and the position after it."""
    if pos + 4 > len(buf):
        raise ValueError("JSON diff vector length runs past the event")
    end = pos + 4 + int.from_bytes(buf[pos:pos + 4], "little")
    if end > len(buf):
        raise ValueError(f"JSON diff vector of {end - pos - 4} bytes runs past the event")
    pos += 4
    diffs = []
    while pos < end:
        op = buf[pos]
        if op not in OPERATIONS:
            raise ValueError(f"unknown JSON diff operation {op}")
        raw_path, pos = _chunk(buf, pos + 1, end, "path")
        value = None
        if op != REMOVE:
            raw_value, pos = _chunk(buf, pos, end, "value")
            value = parse_binary(raw_value)
        diffs.append(JsonDiff(op, raw_path.decode("utf-8"), value))
    return DiffVector(tuple(diffs)), end


# --- paths -------------------------------------------------------------------------------

_WHITESPACE = " \t\n\r\v\f"


def _member_end(path: str, i: int) -> int:
    if path[i] == '"':
        i += 1
        while i < len(path):
            if path[i] == "\\":
                i += 2
                continue
            if path[i] == '"':
                return i + 1
            i += 1
        raise ValueError("unterminated quoted member name")
    while i < len(path) and path[i] not in _WHITESPACE + "[.*":
        i += 1
    return i


def _array_index(path: str, i: int) -> tuple[ArrayLeg, int]:
    from_end = path.startswith("last", i)
    if from_end:
        i = _skip_ws(path, i + 4)
        if not path.startswith("-", i):
            return ArrayLeg(0, True), i
        i = _skip_ws(path, i + 1)
    start = i
    while i < len(path) and path[i].isascii() and path[i].isdigit():
        i += 1
    if i == start:
        raise ValueError("expected an array index")
    return ArrayLeg(int(path[start:i]), from_end), i


def _skip_ws(path: str, i: int) -> int:
    while i < len(path) and path[i] in _WHITESPACE:
        i += 1
    return i


def parse_path(path: str) -> list[Leg]:
    """The legs of a JSON path that names one value (`$`, `.name`, `."name"`, `[n]`,
    `[last]`, `[last-n]`); wildcards, `**` and ranges never appear in a diff."""
    i = _skip_ws(path, 0)
    if not path.startswith("$", i):
        raise ValueError(f"JSON path {path!r} does not start with $")
    legs: list[Leg] = []
    i = _skip_ws(path, i + 1)
    while i < len(path):
        if path[i] == ".":
            i = _skip_ws(path, i + 1)
            if i == len(path) or path[i] == "*":
                raise ValueError(f"JSON path {path!r} has a wildcard or no member name")
            end = _member_end(path, i)
            raw = path[i:end]
            legs.append(json.loads(raw if raw.startswith('"') else f'"{raw}"'))
            i = end
        elif path[i] == "[":
            leg, i = _array_index(path, _skip_ws(path, i + 1))
            i = _skip_ws(path, i)
            if not path.startswith("]", i):
                raise ValueError(f"JSON path {path!r}: only single array cells are supported")
            legs.append(leg)
            i += 1
        else:
            raise ValueError(f"JSON path {path!r}: unexpected {path[i]!r} at {i}")
        i = _skip_ws(path, i)
    return legs


# --- applying ----------------------------------------------------------------------------

_MISSING = object()


def _child(node: Any, leg: Leg) -> Any:
    if isinstance(leg, str):
        return node.get(leg, _MISSING) if isinstance(node, dict) else _MISSING
    if isinstance(node, list) and leg.within(len(node)):
        return node[leg.position(len(node))]
    return _MISSING


def _seek(doc: Any, legs: list[Leg]) -> Any:
    for leg in legs:
        doc = _child(doc, leg)
        if doc is _MISSING:
            break
    return doc


def _key_order(key: str) -> tuple[int, bytes]:
    raw = key.encode("utf-8")
    return len(raw), raw  # MySQL keeps object members shorter-first, then bytewise


def _apply_one(doc: Any, diff: JsonDiff) -> None:
    legs = parse_path(diff.path)
    if not legs:
        raise JsonDiffError("a diff cannot change the whole document")
    parent, leg = _seek(doc, legs[:-1]), legs[-1]
    if parent is _MISSING or not isinstance(parent, dict | list):
        raise JsonDiffError("its parent is not in the document")
    if diff.op == REPLACE:
        _replace(parent, leg, diff.value)
    elif diff.op == INSERT:
        _insert(parent, leg, diff.value)
    else:
        _remove(parent, leg)


def _replace(parent: dict[str, Any] | list[Any], leg: Leg, value: Any) -> None:
    if _child(parent, leg) is _MISSING:
        raise JsonDiffError("the value to replace is not in the document")
    if isinstance(parent, dict):
        assert isinstance(leg, str)
        parent[leg] = value
    else:
        assert isinstance(leg, ArrayLeg)
        parent[leg.position(len(parent))] = value


def _insert(parent: dict[str, Any] | list[Any], leg: Leg, value: Any) -> None:
    if isinstance(parent, dict) and isinstance(leg, str):
        if leg in parent:
            raise JsonDiffError("the member to insert is already there")
        parent[leg] = value
        ordered = sorted(parent.items(), key=lambda kv: _key_order(kv[0]))
        parent.clear()
        parent.update(ordered)
    elif isinstance(parent, list) and isinstance(leg, ArrayLeg):
        parent.insert(leg.position(len(parent)), value)
    else:
        raise JsonDiffError("the path does not fit its parent's type")


def _remove(parent: dict[str, Any] | list[Any], leg: Leg) -> None:
    if _child(parent, leg) is _MISSING:
        raise JsonDiffError("the value to remove is not in the document")
    if isinstance(parent, dict):
        assert isinstance(leg, str)
        del parent[leg]
    else:
        assert isinstance(leg, ArrayLeg)
        del parent[leg.position(len(parent))]


def apply_diffs(doc: Any, diffs: tuple[JsonDiff, ...]) -> Any:
    """Apply diffs in order to a tree (json_binary.parse_binary/parse_text), in place; the
    tree is returned. A diff that does not fit raises JsonDiffError naming it."""
    for diff in diffs:
        try:
            _apply_one(doc, diff)
        except JsonDiffError as exc:
            raise JsonDiffError(f"{diff}: {exc}") from None
    return doc


def patch_json_text(before: Any, vector: DiffVector, column: str) -> str:
    """The after value of a partial JSON column: its diffs applied to the before image's
    JSON text (`before` is ABSENT when the before image left the column out)."""
    if not isinstance(before, str):
        if before is None:
            raise JsonDiffError(f"column {column}: cannot apply JSON diffs to NULL")
        raise MissingBeforeImage(column)
    if not vector.diffs:
        return before
    try:
        return render(apply_diffs(parse_text(before), vector.diffs))
    except JsonDiffError as exc:
        raise JsonDiffError(f"column {column}: cannot apply the JSON diff {exc}") from None

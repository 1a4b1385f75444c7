"""Per-table row decoders: Python source generated from the column list, compiled once.

A generated decoder reads every row image of one rows event in a single call: a fast path
for rows without NULLs (runs of fixed-width columns read by one struct call) and a
per-column path otherwise. Rows are tuples in table order; a column the event does not
carry (minimal row image) holds `ABSENT`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from types import CodeType
from typing import Any, Final

from dm.binlog.rows import values as v
from dm.binlog.rows.charsets import decode_latin1, is_binary, python_codec
from dm.binlog.rows.coltypes import BLOB_TYPES, ColumnType
from dm.binlog.rows.json_binary import json_text
from dm.binlog.rows.json_diff import packed_int, patch_json_text, read_diff_vector
from dm.errors import BINLOG_CHARSET_UNKNOWN, BINLOG_COLUMN_UNSUPPORTED

T = ColumnType
RowsDecoder = Callable[[bytes, int, int], list[Any]]


class _Absent:
    """The value of a column missing from a minimal row image (not the same as NULL)."""

    _instance: _Absent | None = None

    def __new__(cls) -> _Absent:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ABSENT"

    def __reduce__(self) -> str:
        return "ABSENT"


ABSENT: Final = _Absent()


@dataclass(frozen=True)
class ColumnSpec:
    """Everything needed to decode one column: binlog type and metadata (ENUM/SET/CHAR
    already unwrapped from STRING) plus what the schema adds."""

    name: str
    type: int
    meta: int
    unsigned: bool = False
    charset: str | None = None  # None: unknown, the value stays bytes
    members: tuple[str, ...] | None = None  # ENUM / SET members
    type_name: str = ""


_STRUCT: dict[int, tuple[str, str, int]] = {  # signed code, unsigned code, size
    T.TINY: ("b", "B", 1), T.SHORT: ("h", "H", 2), T.LONG: ("i", "I", 4),
    T.LONGLONG: ("q", "Q", 8), T.FLOAT: ("f", "f", 4), T.DOUBLE: ("d", "d", 8)}
_FIXED_HELPERS: dict[int, tuple[int, Callable[[bytes, int], Any]]] = {
    T.DATE: (3, v.read_date), T.YEAR: (1, v.read_year),
}
_U32 = struct.Struct("<I").unpack_from


class _Source:
    """Collects generated lines and the helper objects they refer to by name."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.ns: dict[str, Any] = {"ABSENT": ABSENT, "_U32": _U32, "_latin1": decode_latin1,
                                   "_json": json_text, "int_from": int.from_bytes}
        self._names: dict[int, str] = {}

    def bind(self, obj: Any) -> str:
        key = id(obj)
        if key not in self._names:
            self._names[key] = f"_h{len(self._names)}"
            self.ns[self._names[key]] = obj
        return self._names[key]

    def emit(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)


def _prefix_expr(nbytes: int) -> str:
    return {1: "buf[pos]", 2: "buf[pos] | buf[pos + 1] << 8",
            3: "int_from(buf[pos:pos + 3], 'little')", 4: "_U32(buf, pos)[0]"}[nbytes]


def _text_conversion(spec: ColumnSpec, table: str) -> str:
    """A template turning the bytes expression `{s}` into the column's value."""
    if spec.type == T.JSON:
        return "_json({s})"
    if spec.type == T.GEOMETRY or spec.charset is None:
        return "{s}"
    if is_binary(spec.charset):
        if spec.type == T.STRING and spec.meta:  # BINARY(n): the server strips the 0x00 pad
            return "{s}.ljust(" + str(spec.meta) + ", b'\\x00')"
        return "{s}"
    if spec.charset.lower() == "latin1":
        return "_latin1({s})"
    codec = python_codec(spec.charset)
    if codec is None:
        raise BINLOG_CHARSET_UNKNOWN(column=spec.name, table=table, charset=spec.charset)
    return "{s}.decode(" + repr(codec) + ")"


def _prefix_len(spec: ColumnSpec) -> int | None:
    if spec.type == T.STRING:
        return 1 if spec.meta < 256 else 2
    if spec.type in (T.VARCHAR, T.VAR_STRING):
        return 1 if spec.meta < 256 else 2
    if spec.type in BLOB_TYPES or spec.type in (T.GEOMETRY, T.JSON):
        return spec.meta
    return None


def _fixed_reader(spec: ColumnSpec) -> tuple[int, Callable[[bytes, int], Any]] | None:
    t, meta = spec.type, spec.meta
    if t in _FIXED_HELPERS:
        return _FIXED_HELPERS[t]
    if t == T.NEWDECIMAL:
        return v.decimal_reader(meta >> 8, meta & 0xFF)
    if t == T.TIME:  # meta: fractional digits of MariaDB 5.3's format, from the schema
        return v.time_hires_reader(meta) if meta else (3, v.read_time_v1)
    if t == T.DATETIME:
        return v.datetime_hires_reader(meta) if meta else (8, v.read_datetime_v1)
    if t == T.TIMESTAMP:
        return v.timestamp_hires_reader(meta) if meta else (4, v.read_timestamp_v1)
    if t == T.DATETIME2:
        return v.datetime2_reader(meta)
    if t == T.TIMESTAMP2:
        return v.timestamp2_reader(meta)
    if t == T.TIME2:
        return v.time2_reader(meta)
    if t == T.BIT:
        return v.bit_reader(meta)
    if t == T.ENUM:
        return v.enum_reader(meta & 0xFF, spec.members)
    if t == T.SET:
        return v.set_reader(meta & 0xFF, spec.members)
    return None


def _emit_column(src: _Source, ind: int, var: str, spec: ColumnSpec, table: str) -> None:
    """Lines that set `var` from buf at pos and move pos past the value."""
    if spec.type in _STRUCT:
        signed, unsigned, size = _STRUCT[spec.type]
        fn = src.bind(struct.Struct("<" + (unsigned if spec.unsigned else signed)).unpack_from)
        src.emit(ind, f"{var} = {fn}(buf, pos)[0]; pos += {size}")
    elif spec.type == T.INT24:
        src.emit(ind, f"{var} = int_from(buf[pos:pos + 3], 'little', signed="
                      f"{not spec.unsigned}); pos += 3")
    elif spec.type == T.NULL:
        src.emit(ind, f"{var} = None")
    elif (fixed := _fixed_reader(spec)) is not None:
        size, reader = fixed
        src.emit(ind, f"{var} = {src.bind(reader)}(buf, pos); pos += {size}")
    elif (plen := _prefix_len(spec)) is not None:
        conv = _text_conversion(spec, table).format(s="buf[pos:pos + n]")
        src.emit(ind, f"n = {_prefix_expr(plen)}; pos += {plen}")
        src.emit(ind, f"{var} = {conv}; pos += n")
    else:
        raise BINLOG_COLUMN_UNSUPPORTED(column=spec.name, table=table, type=_type_name(spec.type))


def _type_name(code: int) -> str:
    try:
        return ColumnType(code).name
    except ValueError:
        return str(code)


def _emit_fast(src: _Source, ind: int, cols: list[tuple[str, ColumnSpec]], table: str) -> None:
    """No NULLs in this image: read runs of fixed-width numbers with one struct call."""
    run: list[tuple[str, str, int]] = []

    def flush() -> None:
        if not run:
            return
        fmt = "<" + "".join(c for _, c, _ in run)
        fn = src.bind(struct.Struct(fmt).unpack_from)
        names = ", ".join(n for n, _, _ in run)
        src.emit(ind, f"{names}, = {fn}(buf, pos); pos += {sum(s for _, _, s in run)}")
        run.clear()

    for var, spec in cols:
        if spec.type in _STRUCT:
            signed, unsigned, size = _STRUCT[spec.type]
            run.append((var, unsigned if spec.unsigned else signed, size))
        else:
            flush()
            _emit_column(src, ind, var, spec, table)
    flush()


def _emit_image(src: _Source, ind: int, specs: list[ColumnSpec], present: list[bool],
                out: str, table: str) -> None:
    cols = [(f"c{i}", s) for i, (s, p) in enumerate(zip(specs, present, strict=True)) if p]
    nbytes = (len(cols) + 7) // 8
    if nbytes == 1:
        src.emit(ind, "nulls = buf[pos]; pos += 1")
    elif nbytes:
        src.emit(ind, f"nulls = int_from(buf[pos:pos + {nbytes}], 'little'); pos += {nbytes}")
    else:
        src.emit(ind, "nulls = 0")
    src.emit(ind, "if not nulls:")
    _emit_fast(src, ind + 1, cols, table)
    if cols:
        src.emit(ind, "else:")
        for k, (var, spec) in enumerate(cols):
            src.emit(ind + 1, f"if nulls & {1 << k}:")
            src.emit(ind + 2, f"{var} = None")
            src.emit(ind + 1, "else:")
            _emit_column(src, ind + 2, var, spec, table)
    else:
        src.emit(ind + 1, "pass")
    names = [f"c{i}" if p else "ABSENT" for i, p in enumerate(present)]
    src.emit(ind, f"{out} = ({', '.join(names)}{',' if len(names) == 1 else ''})")


def _emit_partial_image(src: _Source, ind: int, specs: list[ColumnSpec], present: list[bool],
                        out: str, table: str) -> None:
    """The after image of a PARTIAL_UPDATE_ROWS event: value_options (a packed integer),
    then, when it has PARTIAL_JSON (bit 0), one bit per JSON column of the table (present
    or not), then the null bits and values as usual, except that a JSON column whose bit is
    set holds a diff vector, applied here to the before image's value (`row`)."""
    json_bit = {i: j for j, i in enumerate(i for i, s in enumerate(specs) if s.type == T.JSON)}
    src.emit(ind, f"options, pos = {src.bind(packed_int)}(buf, pos)")
    if json_bit:
        nbytes = (len(json_bit) + 7) // 8
        src.emit(ind, "if options & 1:")
        src.emit(ind + 1, f"partial = int_from(buf[pos:pos + {nbytes}], 'little'); "
                          f"pos += {nbytes}")
        src.emit(ind, "else:")
        src.emit(ind + 1, "partial = 0")
    cols = [(i, s) for i, (s, p) in enumerate(zip(specs, present, strict=True)) if p]
    nbytes = (len(cols) + 7) // 8
    src.emit(ind, f"nulls = int_from(buf[pos:pos + {nbytes}], 'little'); pos += {nbytes}")
    diffs, patch = src.bind(read_diff_vector), src.bind(patch_json_text)
    for k, (i, spec) in enumerate(cols):
        src.emit(ind, f"if nulls & {1 << k}:")
        src.emit(ind + 1, f"c{i} = None")
        if i in json_bit:
            src.emit(ind, f"elif partial & {1 << json_bit[i]}:")
            src.emit(ind + 1, f"c{i}, pos = {diffs}(buf, pos)")
            src.emit(ind + 1, f"c{i} = {patch}(row[{i}], c{i}, {spec.name!r})")
        src.emit(ind, "else:")
        _emit_column(src, ind + 1, f"c{i}", spec, table)
    names = [f"c{i}" if p else "ABSENT" for i, p in enumerate(present)]
    src.emit(ind, f"{out} = ({', '.join(names)}{',' if len(names) == 1 else ''})")


@lru_cache(maxsize=512)
def _compile(source: str) -> CodeType:
    return compile(source, "<binlog row decoder>", "exec")


def build_rows_decoder(specs: list[ColumnSpec], present: list[bool],
                       present_after: list[bool] | None, table: str, *,
                       partial_json: bool = False) -> RowsDecoder:
    """A function (buf, pos, end) -> rows for one table and column-presence pattern. Rows
    are tuples, or (before, after) pairs of tuples when `present_after` is given.
    `partial_json`: the after images are those of a PARTIAL_UPDATE_ROWS event; JSON diffs
    come back applied, as the full JSON text."""
    src = _Source()
    src.emit(0, "def decode_rows(buf, pos, end):")
    src.emit(1, "rows = []")
    src.emit(1, "append = rows.append")
    src.emit(1, "while pos < end:")
    _emit_image(src, 2, specs, present, "row", table)
    if present_after is None:
        src.emit(2, "append(row)")
    else:
        emit_after = _emit_partial_image if partial_json else _emit_image
        emit_after(src, 2, specs, present_after, "after", table)
        src.emit(2, "append((row, after))")
    src.emit(1, "if pos != end:")
    src.emit(2, "raise ValueError(f'row images end at {pos}, the event at {end}')")
    src.emit(1, "return rows")
    ns = src.ns
    exec(_compile("\n".join(src.lines)), ns)
    fn: RowsDecoder = ns["decode_rows"]
    return fn

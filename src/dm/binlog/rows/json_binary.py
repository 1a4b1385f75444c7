"""MySQL's binary JSON (JSON columns in row events) to JSON text as MySQL prints it."""

from __future__ import annotations

import base64
import json
import struct
from typing import Any

from dm.binlog.rows.values import decimal_reader

_SMALL_OBJ, _LARGE_OBJ, _SMALL_ARR, _LARGE_ARR, _LITERAL = 0, 1, 2, 3, 4
_INT16, _UINT16, _INT32, _UINT32, _INT64, _UINT64, _DOUBLE, _STRING, _OPAQUE = (
    5, 6, 7, 8, 9, 10, 11, 12, 15)
_INLINE_SMALL = {_LITERAL, _INT16, _UINT16}
_INLINE_LARGE = _INLINE_SMALL | {_INT32, _UINT32}
_SCALARS = {_INT16: "<h", _UINT16: "<H", _INT32: "<i", _UINT32: "<I", _INT64: "<q",
            _UINT64: "<Q", _DOUBLE: "<d"}
_LITERALS = {0: "null", 1: "true", 2: "false"}
_MAX_DEPTH = 150  # MySQL refuses documents nested deeper than 100
_MYSQL_TYPE_DATE, _MYSQL_TYPE_TIME, _MYSQL_TYPE_DATETIME, _MYSQL_TYPE_TIMESTAMP = 10, 11, 12, 7
_MYSQL_TYPE_NEWDECIMAL = 246


class _Text:
    """A fragment that is already JSON text (numbers must not be re-rendered by json)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def _varlen(data: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7


def _double_text(v: float) -> str:
    text = repr(v)
    return text.replace("e+", "e") if "e" in text else text


def _packed_temporal(kind: int, data: bytes) -> str:
    """Opaque DATE/TIME/DATETIME: MySQL's packed 64-bit temporal integer."""
    packed = struct.unpack_from("<q", data)[0]
    sign = "-" if packed < 0 else ""
    packed = abs(packed)
    usec, whole = packed % (1 << 24), packed >> 24
    frac = f".{usec:06d}" if usec else ""
    if kind == _MYSQL_TYPE_TIME:
        hms = whole
        return (f"{sign}{(hms >> 12) % (1 << 10):02d}:{(hms >> 6) % 64:02d}:{hms % 64:02d}"
                + frac)
    ymd, hms = whole >> 17, whole % (1 << 17)
    ym = ymd >> 5
    text = f"{ym // 13:04d}-{ym % 13:02d}-{ymd % 32:02d}"
    if kind == _MYSQL_TYPE_DATE:
        return text
    return f"{text} {hms >> 12:02d}:{(hms >> 6) % 64:02d}:{hms % 64:02d}{frac}"


def _opaque(data: bytes, pos: int) -> Any:
    kind = data[pos]
    n, pos = _varlen(data, pos + 1)
    raw = data[pos:pos + n]
    if kind in (_MYSQL_TYPE_DATE, _MYSQL_TYPE_TIME, _MYSQL_TYPE_DATETIME, _MYSQL_TYPE_TIMESTAMP):
        return _packed_temporal(kind, raw)
    if kind == _MYSQL_TYPE_NEWDECIMAL:
        _, read = decimal_reader(raw[0], raw[1])
        return _Text(str(read(raw, 2)))
    return f"base64:type{kind}:{base64.b64encode(raw).decode()}"


def _value(kind: int, data: bytes, pos: int, depth: int = 0) -> Any:
    if kind in (_SMALL_OBJ, _LARGE_OBJ, _SMALL_ARR, _LARGE_ARR):
        if depth >= _MAX_DEPTH:
            raise ValueError(f"JSON nested deeper than {_MAX_DEPTH} levels")
        return _container(kind, data, pos, depth + 1)
    if kind == _LITERAL:
        if data[pos] not in _LITERALS:
            raise ValueError(f"unknown JSON literal {data[pos]}")
        return _Text(_LITERALS[data[pos]])
    if kind == _DOUBLE:
        return _Text(_double_text(struct.unpack_from("<d", data, pos)[0]))
    if kind in _SCALARS:
        return _Text(str(struct.unpack_from(_SCALARS[kind], data, pos)[0]))
    if kind == _STRING:
        n, pos = _varlen(data, pos)
        return data[pos:pos + n].decode("utf-8")
    if kind == _OPAQUE:
        return _opaque(data, pos)
    raise ValueError(f"unknown JSON value type {kind}")


def _container(kind: int, data: bytes, base: int, depth: int) -> Any:
    large = kind in (_LARGE_OBJ, _LARGE_ARR)
    fmt, w = ("<I", 4) if large else ("<H", 2)
    count = struct.unpack_from(fmt, data, base)[0]
    inline = _INLINE_LARGE if large else _INLINE_SMALL
    is_obj = kind in (_SMALL_OBJ, _LARGE_OBJ)
    entries = base + 2 * w + (count * (w + 2) if is_obj else 0)
    values = []
    for i in range(count):
        p = entries + i * (1 + w)
        vkind = data[p]
        if vkind in inline:
            values.append(_value(vkind, data, p + 1, depth))
        else:
            offset = struct.unpack_from(fmt, data, p + 1)[0]
            values.append(_value(vkind, data, base + offset, depth))
    if not is_obj:
        return values
    keys = []
    for i in range(count):
        p = base + 2 * w + i * (w + 2)
        off = struct.unpack_from(fmt, data, p)[0]
        klen = struct.unpack_from("<H", data, p + w)[0]
        keys.append(data[base + off:base + off + klen].decode("utf-8"))
    return dict(zip(keys, values, strict=True))


def _render(v: Any) -> str:
    if isinstance(v, _Text):
        return v.text
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(k, ensure_ascii=False)}: {_render(x)}"
                               for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(_render(x) for x in v) + "]"
    return _PY_LITERALS[v]  # None, True, False from parse_text


_PY_LITERALS = {None: "null", True: "true", False: "false"}


def parse_binary(data: bytes) -> Any:
    """A binary JSON value as a tree: dicts (keys in MySQL's order), lists, str, and
    number/literal leaves that keep MySQL's text. `render` turns it into JSON text."""
    if not data:
        return _Text("null")
    return _value(data[0], data, 1)


def parse_text(text: str) -> Any:
    """The tree of JSON text that `json_text` produced (numbers keep their text exactly)."""
    return json.loads(text, parse_int=_Text, parse_float=_Text)


def render(tree: Any) -> str:
    """JSON text of a tree from `parse_binary` or `parse_text`, as MySQL prints it."""
    return _render(tree)


def json_text(data: bytes) -> str:
    """The JSON text of a binary JSON value ("null" for an empty value, as MySQL does)."""
    return _render(parse_binary(data))

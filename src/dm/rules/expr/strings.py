"""String functions: LENGTH, CHAR_LENGTH, LOWER, UPPER, CONCAT, SUBSTRING, TRIM."""

from __future__ import annotations

from typing import Any

from dm.rules.expr.arithmetic import round_int
from dm.rules.expr.collations import DEFAULT, combine
from dm.rules.expr.nodes import Builder, Handler, Node, Row, Unsupported, const, make, sql, unary
from dm.rules.expr.values import as_bytes, as_text


def _length(v: Any) -> int:
    if isinstance(v, bytes | bytearray):
        return len(v)
    return len(as_text(v).encode("utf-8"))


def _char_length(v: Any) -> int:
    if isinstance(v, bytes | bytearray):
        return len(v)
    return len(as_text(v))


def _lower(v: Any) -> Any:
    return bytes(v) if isinstance(v, bytes | bytearray) else as_text(v).lower()


def _upper(v: Any) -> Any:
    return bytes(v) if isinstance(v, bytes | bytearray) else as_text(v).upper()


def _substring(s: Any, pos: Any, length: Any) -> Any:
    text: str | bytes = bytes(s) if isinstance(s, bytes | bytearray) else as_text(s)
    p = round_int(pos)
    n = len(text)
    if p == 0:
        return text[:0]
    start = p - 1 if p > 0 else n + p
    if start < 0:
        return text[:0]
    if length is _ABSENT:
        return text[start:]
    count = round_int(length)
    return text[start:start + count] if count > 0 else text[:0]


def _trim(s: Any, remove: Any, position: str) -> Any:
    binary = isinstance(s, bytes | bytearray) or isinstance(remove, bytes | bytearray)
    text: Any = as_bytes(s) if binary else as_text(s)
    rem: Any = as_bytes(remove) if binary else as_text(remove)
    if not rem:
        return text
    if position in ("BOTH", "LEADING"):
        while text.startswith(rem):
            text = text[len(rem):]
    if position in ("BOTH", "TRAILING"):
        while text.endswith(rem):
            text = text[:len(text) - len(rem)]
    return text


_ABSENT = object()


def _concat(values: list[Any]) -> Any:
    if any(isinstance(v, bytes | bytearray) for v in values):
        return b"".join(as_bytes(v) for v in values)
    return "".join(as_text(v) for v in values)


def _length_fn(c: Builder, e: Any) -> Node:
    return unary(_length if e.args.get("binary") else _char_length, coll=DEFAULT)(c, e)


def _concat_fn(c: Builder, e: Any) -> Node:
    parts = [c.node(x) for x in e.expressions]
    fns = [p.fn for p in parts]

    def fn(row: Row) -> Any:
        values = [f(row) for f in fns]
        return None if any(v is None for v in values) else _concat(values)

    return make(fn, parts, combine(*(p.coll for p in parts)))


def _substring_fn(c: Builder, e: Any) -> Node:
    s, start = c.arg(e, "this"), c.arg(e, "start")
    length = c.node(e.args["length"]) if e.args.get("length") is not None else None
    return _substring_of(s, start, length)


def _substring_of(s: Node, start: Node, length: Node | None) -> Node:
    fs, fstart = s.fn, start.fn
    flen = length.fn if length is not None else (lambda _row: _ABSENT)

    def fn(row: Row) -> Any:
        v, p, n = fs(row), fstart(row), flen(row)
        if v is None or p is None or n is None:
            return None
        return _substring(v, p, n)

    return make(fn, [s, start] + ([length] if length is not None else []), s.coll)


def _trim_fn(c: Builder, e: Any) -> Node:
    s = c.arg(e, "this")
    remove = c.node(e.expression) if e.args.get("expression") is not None else const(" ")
    position = str(e.args.get("position") or "BOTH").upper()
    if position not in ("BOTH", "LEADING", "TRAILING"):
        raise Unsupported(f"{sql(e)}: unknown TRIM position {position}")
    fs, fr = s.fn, remove.fn

    def fn(row: Row) -> Any:
        v = fs(row)
        if v is None:
            return None
        r = fr(row)
        return None if r is None else _trim(v, r, position)

    return make(fn, [s, remove], s.coll)


def _anonymous(c: Builder, e: Any) -> Node:
    name = str(e.this).lower()
    args = [c.node(x) for x in e.expressions]
    if name == "octet_length" and len(args) == 1:
        f = args[0].fn
        return make(lambda row: None if (v := f(row)) is None else _length(v), args)
    if name == "mid" and len(args) in (2, 3):
        return _substring_of(args[0], args[1], args[2] if len(args) == 3 else None)
    raise Unsupported(f"{sql(e)}: function {name.upper()} is not supported")


HANDLERS: dict[str, Handler] = {
    "Length": _length_fn,
    "Lower": unary(_lower), "Upper": unary(_upper),
    "Concat": _concat_fn, "Substring": _substring_fn, "Trim": _trim_fn,
    "Anonymous": _anonymous,
}

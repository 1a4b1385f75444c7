"""A small writer of MySQL's binary JSON (small containers only), to build test events."""

from __future__ import annotations

import struct
from typing import Any

_SMALL_OBJ, _SMALL_ARR, _LITERAL = 0, 2, 4
_INT16, _INT32, _INT64, _DOUBLE, _STRING = 5, 7, 9, 11, 12
_INLINE = {_LITERAL, _INT16}


def _varlen(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _encode(v: Any) -> tuple[int, bytes]:
    if v is None or isinstance(v, bool):
        return _LITERAL, bytes([{None: 0, True: 1, False: 2}[v]])
    if isinstance(v, int):
        if -(1 << 15) <= v < 1 << 15:
            return _INT16, struct.pack("<h", v)
        if -(1 << 31) <= v < 1 << 31:
            return _INT32, struct.pack("<i", v)
        return _INT64, struct.pack("<q", v)
    if isinstance(v, float):
        return _DOUBLE, struct.pack("<d", v)
    if isinstance(v, str):
        raw = v.encode()
        return _STRING, _varlen(len(raw)) + raw
    if isinstance(v, dict):
        items = sorted(v.items(), key=lambda kv: (len(kv[0].encode()), kv[0].encode()))
        return _SMALL_OBJ, _container([k for k, _ in items], [x for _, x in items])
    return _SMALL_ARR, _container(None, list(v))


def _container(keys: list[str] | None, values: list[Any]) -> bytes:
    n = len(values)
    head = 4 + (4 * n if keys is not None else 0) + 3 * n
    key_bytes = [k.encode() for k in keys] if keys is not None else []
    tail = bytearray(b"".join(key_bytes))
    key_entries = bytearray()
    off = head
    for raw in key_bytes:
        key_entries += struct.pack("<HH", off, len(raw))
        off += len(raw)
    value_entries = bytearray()
    for v in values:
        kind, body = _encode(v)
        if kind in _INLINE:
            value_entries += bytes([kind]) + body.ljust(2, b"\x00")
        else:
            value_entries += bytes([kind]) + struct.pack("<H", head + len(tail))
            tail += body
    size = head + len(tail)
    return struct.pack("<HH", n, size) + bytes(key_entries + value_entries + tail)


def jsonb(v: Any) -> bytes:
    """The binary JSON of a Python value (dict keys are stored in MySQL's order)."""
    kind, body = _encode(v)
    return bytes([kind]) + body

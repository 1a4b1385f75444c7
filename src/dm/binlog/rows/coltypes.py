"""Binlog column type codes and the per-column metadata a TABLE_MAP carries for them."""

from __future__ import annotations

from enum import IntEnum


class ColumnType(IntEnum):
    DECIMAL = 0
    TINY = 1
    SHORT = 2
    LONG = 3
    FLOAT = 4
    DOUBLE = 5
    NULL = 6
    TIMESTAMP = 7
    LONGLONG = 8
    INT24 = 9
    DATE = 10
    TIME = 11
    DATETIME = 12
    YEAR = 13
    NEWDATE = 14
    VARCHAR = 15
    BIT = 16
    TIMESTAMP2 = 17
    DATETIME2 = 18
    TIME2 = 19
    TYPED_ARRAY = 20
    JSON = 245
    NEWDECIMAL = 246
    ENUM = 247
    SET = 248
    TINY_BLOB = 249
    MEDIUM_BLOB = 250
    LONG_BLOB = 251
    BLOB = 252
    VAR_STRING = 253
    STRING = 254
    GEOMETRY = 255


T = ColumnType
_ONE_BYTE_META = {T.FLOAT, T.DOUBLE, T.BLOB, T.TINY_BLOB, T.MEDIUM_BLOB, T.LONG_BLOB,
                  T.GEOMETRY, T.JSON, T.TIMESTAMP2, T.DATETIME2, T.TIME2}
_TWO_BYTE_META_LE = {T.VARCHAR, T.VAR_STRING, T.BIT}
_TWO_BYTE_META_BE = {T.NEWDECIMAL, T.STRING, T.ENUM, T.SET}

NUMERIC_TYPES = frozenset({T.TINY, T.SHORT, T.INT24, T.LONG, T.LONGLONG, T.NEWDECIMAL,
                           T.FLOAT, T.DOUBLE, T.DECIMAL})
BLOB_TYPES = frozenset({T.BLOB, T.TINY_BLOB, T.MEDIUM_BLOB, T.LONG_BLOB})


def read_metas(types: bytes, meta: bytes) -> list[int]:
    """One metadata integer per column. Two-byte NEWDECIMAL/STRING metas are kept as
    (first byte << 8 | second byte): precision/scale, real type/length."""
    out, pos = [], 0
    for code in types:
        if code in _ONE_BYTE_META:
            out.append(meta[pos])
            pos += 1
        elif code in _TWO_BYTE_META_LE:
            out.append(meta[pos] | meta[pos + 1] << 8)
            pos += 2
        elif code in _TWO_BYTE_META_BE:
            out.append(meta[pos] << 8 | meta[pos + 1])
            pos += 2
        else:
            out.append(0)
    return out


def real_type(code: int, meta: int) -> tuple[int, int]:
    """(real type, meta) of a STRING column: ENUM and SET hide in STRING's metadata, and
    CHAR lengths above 255 borrow two bits of its real-type byte."""
    if code != T.STRING or meta < 256:
        return code, meta
    byte0, byte1 = meta >> 8, meta & 0xFF
    if (byte0 & 0x30) != 0x30:
        return byte0 | 0x30, byte1 | (((byte0 & 0x30) ^ 0x30) << 4)
    return byte0, byte1


def is_character_type(code: int, meta: int) -> bool:
    """Columns counted by the charset blocks of the optional metadata (MySQL's rule)."""
    rt, _ = real_type(code, meta)
    return rt in (T.STRING, T.VAR_STRING, T.VARCHAR) or rt in BLOB_TYPES


def is_enum_or_set(code: int, meta: int) -> bool:
    return real_type(code, meta)[0] in (T.ENUM, T.SET)

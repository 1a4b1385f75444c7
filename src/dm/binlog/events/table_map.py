"""TABLE_MAP: which table a table id stands for, its column types, and (MySQL 8 / MariaDB
10.5+) the optional metadata blocks: signedness, charsets, names, ENUM/SET members, keys."""

from __future__ import annotations

from dataclasses import dataclass, field

from dm.binlog.events._wire import bits_msb_first, packed_bytes, packed_int
from dm.binlog.events.base import Event, EventHeader
from dm.binlog.rows.coltypes import (
    NUMERIC_TYPES,
    ColumnType,
    is_character_type,
    is_enum_or_set,
    read_metas,
    real_type,
)

SIGNEDNESS, DEFAULT_CHARSET, COLUMN_CHARSET, COLUMN_NAME = 1, 2, 3, 4
SET_STR_VALUE, ENUM_STR_VALUE, GEOMETRY_TYPE, SIMPLE_PRIMARY_KEY = 5, 6, 7, 8
PRIMARY_KEY_WITH_PREFIX, ENUM_AND_SET_DEFAULT_CHARSET, ENUM_AND_SET_COLUMN_CHARSET = 9, 10, 11
COLUMN_VISIBILITY = 12


@dataclass(slots=True)
class OptionalMetadata:
    """Per-column facts from the optional metadata; None where the server did not log them.
    Lists are indexed by column; charsets are collation ids."""

    unsigned: list[bool] | None = None
    collations: list[int | None] | None = None  # character and ENUM/SET columns
    names: list[str] | None = None
    members: list[tuple[bytes, ...] | None] | None = None  # ENUM/SET member bytes
    geometry_types: list[int] | None = None
    primary_key: list[int] | None = None
    visibility: list[bool] | None = None


@dataclass(slots=True)
class TableMapEvent(Event):
    table_id: int
    flags: int
    schema: str
    table: str
    column_types: bytes
    column_metas: list[int]
    nullable: list[bool]
    optional: OptionalMetadata = field(default_factory=OptionalMetadata)

    @property
    def column_count(self) -> int:
        return len(self.column_types)

    @property
    def label(self) -> str:
        return f"`{self.schema}`.`{self.table}`"


def _packed_list(data: bytes) -> list[int]:
    out, pos = [], 0
    while pos < len(data):
        value, pos = packed_int(data, pos)
        out.append(value)
    return out


def _charset_block(data: bytes, columns: list[int], default: bool) -> dict[int, int]:
    """Collation per column index for the columns in `columns` (in order)."""
    if not default:
        return dict(zip(columns, _packed_list(data), strict=False))
    values = _packed_list(data)
    result = dict.fromkeys(columns, values[0])
    for i in range(1, len(values) - 1, 2):
        if values[i] < len(columns):
            result[columns[values[i]]] = values[i + 1]
    return result


def _strings(data: bytes) -> list[bytes]:
    out, pos = [], 0
    while pos < len(data):
        value, pos = packed_bytes(data, pos)
        out.append(value)
    return out


def _member_lists(data: bytes) -> list[tuple[bytes, ...]]:
    out, pos = [], 0
    while pos < len(data):
        count, pos = packed_int(data, pos)
        members = []
        for _ in range(count):
            value, pos = packed_bytes(data, pos)
            members.append(value)
        out.append(tuple(members))
    return out


def _optional(data: bytes, types: bytes, metas: list[int]) -> OptionalMetadata:
    n = len(types)
    numeric = [i for i in range(n) if real_type(types[i], metas[i])[0] in NUMERIC_TYPES]
    character = [i for i in range(n) if is_character_type(types[i], metas[i])]
    enum_set = [i for i in range(n) if is_enum_or_set(types[i], metas[i])]
    enums = [i for i in enum_set if real_type(types[i], metas[i])[0] == ColumnType.ENUM]
    sets = [i for i in enum_set if real_type(types[i], metas[i])[0] == ColumnType.SET]
    om = OptionalMetadata()
    collations: dict[int, int] = {}
    members: dict[int, tuple[bytes, ...]] = {}
    pos = 0
    while pos < len(data):
        kind = data[pos]
        length, pos = packed_int(data, pos + 1)
        block = bytes(data[pos:pos + length])
        pos += length
        if kind == SIGNEDNESS:
            flags = bits_msb_first(block, len(numeric))
            om.unsigned = [False] * n
            for i, flag in zip(numeric, flags, strict=True):
                om.unsigned[i] = flag
        elif kind in (DEFAULT_CHARSET, COLUMN_CHARSET):
            collations.update(_charset_block(block, character, kind == DEFAULT_CHARSET))
        elif kind in (ENUM_AND_SET_DEFAULT_CHARSET, ENUM_AND_SET_COLUMN_CHARSET):
            collations.update(_charset_block(block, enum_set,
                                             kind == ENUM_AND_SET_DEFAULT_CHARSET))
        elif kind == COLUMN_NAME:
            om.names = [s.decode("utf-8") for s in _strings(block)]
        elif kind in (ENUM_STR_VALUE, SET_STR_VALUE):
            cols = enums if kind == ENUM_STR_VALUE else sets
            members.update(zip(cols, _member_lists(block), strict=False))
        elif kind == GEOMETRY_TYPE:
            om.geometry_types = _packed_list(block)  # one per GEOMETRY column, in order
        elif kind == SIMPLE_PRIMARY_KEY:
            om.primary_key = _packed_list(block)
        elif kind == PRIMARY_KEY_WITH_PREFIX:
            om.primary_key = _packed_list(block)[0::2]
        elif kind == COLUMN_VISIBILITY:
            om.visibility = bits_msb_first(block, n)
    if collations:
        om.collations = [collations.get(i) for i in range(n)]
    if members:
        om.members = [members.get(i) for i in range(n)]
    return om


def parse_table_map(header: EventHeader, buf: bytes, start: int, end: int,
                    table_id_len: int) -> TableMapEvent:
    table_id = int.from_bytes(buf[start:start + table_id_len], "little")
    pos = start + table_id_len
    flags = buf[pos] | buf[pos + 1] << 8
    pos += 2
    schema_len = buf[pos]
    schema = bytes(buf[pos + 1:pos + 1 + schema_len]).decode("utf-8", "surrogateescape")
    pos += schema_len + 2
    table_len = buf[pos]
    table = bytes(buf[pos + 1:pos + 1 + table_len]).decode("utf-8", "surrogateescape")
    pos += table_len + 2
    ncols, pos = packed_int(buf, pos)
    types = bytes(buf[pos:pos + ncols])
    pos += ncols
    meta_bytes, pos = packed_bytes(buf, pos)
    metas = read_metas(types, meta_bytes)
    nbytes = (ncols + 7) // 8
    nullable = [bool(buf[pos + (i >> 3)] >> (i & 7) & 1) for i in range(ncols)]
    pos += nbytes
    optional = _optional(bytes(buf[pos:end]), types, metas) if pos < end else OptionalMetadata()
    return TableMapEvent(header, table_id, flags, schema, table, types, metas, nullable,
                         optional)

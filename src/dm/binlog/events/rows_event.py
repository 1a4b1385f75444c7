"""WRITE/UPDATE/DELETE rows events (v1, v2, MySQL partial JSON updates, MariaDB compressed);
rows decode on first use."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from dm.binlog.events.base import Event, EventHeader
from dm.binlog.events.codes import EventType as E
from dm.binlog.events.table_map import TableMapEvent
from dm.binlog.rows.codegen import RowsDecoder
from dm.binlog.rows.json_diff import MissingBeforeImage
from dm.errors import BINLOG_EVENT_DECODE, BINLOG_PARTIAL_JSON_NO_BEFORE, DMError

STMT_END_F = 0x01


class RowsKind(StrEnum):
    WRITE = "insert"
    UPDATE = "update"
    DELETE = "delete"


KIND_OF: dict[int, RowsKind] = {
    E.WRITE_ROWS_V1: RowsKind.WRITE, E.WRITE_ROWS_V2: RowsKind.WRITE,
    E.UPDATE_ROWS_V1: RowsKind.UPDATE, E.UPDATE_ROWS_V2: RowsKind.UPDATE,
    E.PARTIAL_UPDATE_ROWS: RowsKind.UPDATE,
    E.DELETE_ROWS_V1: RowsKind.DELETE, E.DELETE_ROWS_V2: RowsKind.DELETE,
    E.MARIADB_WRITE_ROWS_COMPRESSED_V1: RowsKind.WRITE,
    E.MARIADB_UPDATE_ROWS_COMPRESSED_V1: RowsKind.UPDATE,
    E.MARIADB_DELETE_ROWS_COMPRESSED_V1: RowsKind.DELETE,
    E.MARIADB_WRITE_ROWS_COMPRESSED: RowsKind.WRITE,
    E.MARIADB_UPDATE_ROWS_COMPRESSED: RowsKind.UPDATE,
    E.MARIADB_DELETE_ROWS_COMPRESSED: RowsKind.DELETE,
}
V2_TYPES = frozenset({E.WRITE_ROWS_V2, E.UPDATE_ROWS_V2, E.DELETE_ROWS_V2,
                      E.PARTIAL_UPDATE_ROWS})
COMPRESSED_TYPES = frozenset(range(E.MARIADB_WRITE_ROWS_COMPRESSED_V1,
                                   E.MARIADB_DELETE_ROWS_COMPRESSED + 1))
MARIADB_COMPRESSED_V2 = frozenset({E.MARIADB_WRITE_ROWS_COMPRESSED,
                                   E.MARIADB_UPDATE_ROWS_COMPRESSED,
                                   E.MARIADB_DELETE_ROWS_COMPRESSED})


def mariadb_uncompress(data: bytes) -> bytes:
    """MariaDB log_bin_compress: 1 byte (0x80 | size-of-length), the uncompressed length
    big-endian, then a zlib stream."""
    nlen = data[0] & 0x07
    length = int.from_bytes(data[1:1 + nlen], "big")
    out = zlib.decompress(data[1 + nlen:])
    if len(out) != length:
        raise ValueError(f"uncompressed {len(out)} bytes, header says {length}")
    return out


def event_where(file: str, header: EventHeader) -> str:
    """`file:position` of an event's first byte, for messages."""
    if header.log_pos:
        return f"{file or '?'}:{header.log_pos - header.event_size}"
    return f"{file or '?'} (an event with no position)"


@dataclass(slots=True)
class RowsEvent(Event):
    """Row changes of one table. `rows` are tuples in table order (WRITE: new rows, DELETE:
    old rows) or (before, after) pairs (UPDATE); a column missing from a minimal image is
    `ABSENT`. `columns_present` says which columns the images carry."""

    kind: RowsKind
    table_id: int
    flags: int
    table: TableMapEvent
    columns_present: list[bool]
    columns_present_after: list[bool] | None
    file: str
    _decoder: RowsDecoder | None = field(default=None, repr=False)
    _buf: bytes = field(default=b"", repr=False)
    _pos: int = field(default=0, repr=False)
    _end: int = field(default=0, repr=False)
    _rows: list[Any] | None = field(default=None, repr=False)

    @property
    def where(self) -> str:
        return event_where(self.file, self.header)

    @property
    def rows(self) -> list[Any]:
        if self._rows is None:
            assert self._decoder is not None
            try:
                self._rows = self._decoder(self._buf, self._pos, self._end)
            except DMError:
                raise
            except MissingBeforeImage as exc:
                raise BINLOG_PARTIAL_JSON_NO_BEFORE(where=self.where, column=exc.column,
                                                    table=self.table.label) from exc
            except (IndexError, ValueError, TypeError, UnicodeDecodeError,
                    struct.error) as exc:
                raise BINLOG_EVENT_DECODE(exc, event=f"{self.kind} rows of {self.table.label}",
                                          where=self.where, detail=str(exc)) from exc
            self._buf = b""
        return self._rows

"""One decoder for binlog files and the network stream: bytes of one event in, event out.

It keeps the stream's state: the FORMAT_DESCRIPTION (checksums, post-header sizes), the
current file name (from ROTATE) and the mapped tables.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Iterator
from weakref import WeakKeyDictionary

from dm.binlog.events import control, gtid, query
from dm.binlog.events._wire import U16, packed_int
from dm.binlog.events.base import (
    CHECKSUM_LEN,
    HEADER,
    HEADER_LEN,
    LOG_EVENT_BINLOG_IN_USE_F,
    Event,
    EventHeader,
    UnknownEvent,
)
from dm.binlog.events.codes import EventType as E
from dm.binlog.events.codes import type_name
from dm.binlog.events.format_description import (
    CHECKSUM_CRC32,
    FormatDescriptionEvent,
    parse_format_description,
)
from dm.binlog.events.payload import (
    READABLE,
    PayloadError,
    TransactionPayloadEvent,
    inner_events,
    parse_transaction_payload,
)
from dm.binlog.events.rows_event import (
    COMPRESSED_TYPES,
    KIND_OF,
    MARIADB_COMPRESSED_V2,
    V2_TYPES,
    RowsEvent,
    RowsKind,
    event_where,
    mariadb_uncompress,
)
from dm.binlog.events.tables import BoundDecoder, TableRegistry
from dm.binlog.rows.codegen import RowsDecoder, build_rows_decoder
from dm.binlog.rows.schema import SchemaProvider
from dm.errors import (
    BINLOG_CHECKSUM_MISMATCH,
    BINLOG_EVENT_DECODE,
    BINLOG_PAYLOAD_COMPRESSED,
    BINLOG_TRUNCATED,
    DMError,
)

Parser = Callable[[EventHeader, bytes, int, int], Event]

_SIMPLE: dict[int, Parser] = {
    E.QUERY: query.parse_query,
    E.EXECUTE_LOAD_QUERY: query.parse_execute_load_query,
    E.STOP: control.parse_stop,
    E.INTVAR: control.parse_intvar,
    E.RAND: control.parse_rand,
    E.USER_VAR: control.parse_user_var,
    E.XID: control.parse_xid,
    E.XA_PREPARE: control.parse_xa_prepare,
    E.HEARTBEAT: control.parse_heartbeat,
    E.HEARTBEAT_V2: control.parse_heartbeat_v2,
    E.ROWS_QUERY: control.parse_rows_query,
    E.GTID: gtid.parse_gtid,
    E.ANONYMOUS_GTID: gtid.parse_gtid,
    E.PREVIOUS_GTIDS: gtid.parse_previous_gtids,
    E.TRANSACTION_PAYLOAD: parse_transaction_payload,
    E.MARIADB_ANNOTATE_ROWS: control.parse_annotate_rows,
    E.MARIADB_BINLOG_CHECKPOINT: control.parse_binlog_checkpoint,
    E.MARIADB_GTID: gtid.parse_mariadb_gtid,
    E.MARIADB_GTID_LIST: gtid.parse_mariadb_gtid_list,
}
# rows event type -> (kind, has extra data, has after images, MariaDB-compressed)
_ROWS_LAYOUT: dict[int, tuple[RowsKind, bool, bool, bool]] = {
    t: (kind, t in V2_TYPES or t in MARIADB_COMPRESSED_V2, kind is RowsKind.UPDATE,
        t in COMPRESSED_TYPES) for t, kind in KIND_OF.items()}
_unpack_header = HEADER.unpack_from
_new_tuple = tuple.__new__  # EventHeader._make without its Python frame
_FORMAT_DESCRIPTION = int(E.FORMAT_DESCRIPTION)
_PARTIAL_UPDATE_ROWS = int(E.PARTIAL_UPDATE_ROWS)
# CRC-32 over an event *with* its little-endian checksum appended is always this value
_CRC32_RESIDUE = 0x2144DF1C
_U32 = struct.Struct("<I").unpack_from
_crc32 = zlib.crc32


class EventDecoder:
    """Decode events one at a time, in stream order.

    `checksum` says whether events carry a CRC32 before the first FORMAT_DESCRIPTION is
    seen (a network stream starts with a fake ROTATE, checksummed as negotiated); after it,
    the FORMAT_DESCRIPTION decides. `schema_provider` supplies column names, signedness,
    charsets and ENUM/SET members (see `TableSchema`)."""

    def __init__(self, schema_provider: SchemaProvider | None = None, *,
                 checksum: bool = False, file_name: str = "",
                 verify_checksum: bool = True) -> None:
        self.file_name = file_name
        self.fde: FormatDescriptionEvent | None = None
        self.tables = TableRegistry(schema_provider)
        self._crc = checksum
        self._verify = verify_checksum
        self._table_id_len = 6
        self._dispatch = self._build_dispatch()
        self._partial: WeakKeyDictionary[RowsDecoder, RowsDecoder] = WeakKeyDictionary()

    def decode(self, buf: bytes, start: int = 0) -> Event:
        """The event whose header starts at buf[start]; buf may hold more after it."""
        try:
            header: EventHeader = _new_tuple(EventHeader, _unpack_header(buf, start))
        except struct.error:
            raise BINLOG_TRUNCATED(where=f"{self.file_name}:?",
                                   detail="short event header") from None
        size = header[3]
        end = start + size
        if end > len(buf) or size < HEADER_LEN:
            raise BINLOG_TRUNCATED(where=event_where(self.file_name, header),
                                   detail=f"{len(buf) - start} of {size} bytes")
        t = header[1]
        if t == _FORMAT_DESCRIPTION:
            return self._format_description(header, buf, start, end)
        if self._crc:
            if self._verify and _crc32(memoryview(buf)[start:end]) != _CRC32_RESIDUE:
                raise BINLOG_CHECKSUM_MISMATCH(event=type_name(t),
                                               where=event_where(self.file_name, header))
            end -= CHECKSUM_LEN
        try:
            return self._dispatch.get(t, self._unknown)(header, buf, start + HEADER_LEN, end)
        except DMError:
            raise
        except (IndexError, ValueError, struct.error, UnicodeDecodeError, zlib.error) as exc:
            raise BINLOG_EVENT_DECODE(exc, event=type_name(t),
                                      where=event_where(self.file_name, header),
                                      detail=str(exc)) from exc

    def _format_description(self, header: EventHeader, buf: bytes, start: int,
                            end: int) -> FormatDescriptionEvent:
        fde = parse_format_description(header, buf, start + HEADER_LEN, end)
        self.fde = fde
        self._crc = fde.checksum_alg == CHECKSUM_CRC32
        if self._crc and self._verify:
            data = bytearray(buf[start:end])
            data[17] &= ~LOG_EVENT_BINLOG_IN_USE_F  # set after the CRC was computed
            if _crc32(data[:-CHECKSUM_LEN]) != _U32(data, len(data) - CHECKSUM_LEN)[0]:
                raise BINLOG_CHECKSUM_MISMATCH(event="FORMAT_DESCRIPTION",
                                               where=event_where(self.file_name, header))
        post = fde.post_header_length(E.TABLE_MAP)
        self._table_id_len = 4 if post == 6 else 6
        return fde

    def _build_dispatch(self) -> dict[int, Parser]:
        dispatch: dict[int, Parser] = dict(_SIMPLE)
        dispatch.update(dict.fromkeys(KIND_OF, self._rows))
        dispatch[E.TABLE_MAP] = self._table_map
        dispatch[E.ROTATE] = self._rotate
        dispatch[E.MARIADB_QUERY_COMPRESSED] = self._compressed_query
        return dispatch

    def _unknown(self, header: EventHeader, buf: bytes, body: int, end: int) -> Event:
        return UnknownEvent(header, bytes(buf[body:end]))

    def _table_map(self, header: EventHeader, buf: bytes, body: int, end: int) -> Event:
        return self.tables.table_map(header, buf, body, end, self._table_id_len)

    def _rotate(self, header: EventHeader, buf: bytes, body: int, end: int) -> Event:
        event = control.parse_rotate(header, buf, body, end)
        self.file_name = event.next_file
        return event

    def _compressed_query(self, header: EventHeader, buf: bytes, body: int,
                          end: int) -> query.QueryEvent:
        event = query.parse_query(header, buf, body, end)
        event.query_bytes = mariadb_uncompress(event.query_bytes)
        return event

    def _rows(self, header: EventHeader, buf: bytes, body: int, end: int) -> RowsEvent:
        t = header[1]
        kind, has_extra, is_update, compressed = _ROWS_LAYOUT[t]
        idlen = self._table_id_len
        table_id = int.from_bytes(buf[body:body + idlen], "little")
        pos = body + idlen
        flags = buf[pos] | buf[pos + 1] << 8
        pos += 2
        if has_extra:
            pos += U16(buf, pos)[0]  # extra data, its length includes these two bytes
        ncols = buf[pos]
        if ncols < 251:
            pos += 1
        else:
            ncols, pos = packed_int(buf, pos)
        nbytes = (ncols + 7) >> 3
        present = bytes(buf[pos:pos + nbytes])
        pos += nbytes
        present_after = None
        if is_update:
            present_after = bytes(buf[pos:pos + nbytes])
            pos += nbytes
        if compressed:
            buf = mariadb_uncompress(bytes(buf[pos:end]))
            pos, end = 0, len(buf)
        bound = self.tables.decoder(table_id, present, present_after, self.file_name, header)
        if len(bound.table.column_types) != ncols:
            raise BINLOG_EVENT_DECODE(event=str(kind), where=event_where(self.file_name, header),
                                      detail=f"{ncols} columns, TABLE_MAP has "
                                             f"{bound.table.column_count}")
        decode = bound.decode
        if t == _PARTIAL_UPDATE_ROWS:
            decode = self._partial_decoder(table_id, bound)
        return RowsEvent(header, kind, table_id, flags, bound.table, bound.present,
                         bound.present_after, self.file_name, decode, buf, pos, end)

    def _partial_decoder(self, table_id: int, bound: BoundDecoder) -> RowsDecoder:
        """The PARTIAL_UPDATE_ROWS twin of a table's UPDATE decoder (same columns, after
        images with JSON diffs); it lives as long as the UPDATE decoder it was built for."""
        fn = self._partial.get(bound.decode)
        if fn is None:
            specs = self.tables.columns(table_id)
            assert specs is not None  # resolved by tables.decoder()
            fn = build_rows_decoder(specs, bound.present, bound.present_after,
                                    bound.table.label, partial_json=True)
            self._partial[bound.decode] = fn
        return fn

    def expand(self, event: TransactionPayloadEvent) -> Iterator[Event]:
        """The events inside a TRANSACTION_PAYLOAD, decompressed as they are read (they carry
        no checksums)."""
        where = event_where(self.file_name, event.header)
        if event.compression not in READABLE:
            raise BINLOG_PAYLOAD_COMPRESSED(where=where, algorithm=event.compression_name)
        crc = self._crc
        self._crc = False
        try:
            for data in inner_events(event):
                yield self.decode(data)
        except PayloadError as exc:
            raise BINLOG_EVENT_DECODE(exc, event="TRANSACTION_PAYLOAD", where=where,
                                      detail=str(exc)) from exc
        finally:
            self._crc = crc

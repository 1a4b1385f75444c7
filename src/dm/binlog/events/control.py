"""Small events: ROTATE, STOP, XID, XA_PREPARE, INTVAR, RAND, USER_VAR, HEARTBEAT, ROWS_QUERY,
annotations."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from dm.binlog.events._wire import U32, U64, packed_bytes, packed_int
from dm.binlog.events.base import Event, EventHeader


@dataclass(slots=True)
class RotateEvent(Event):
    """The next events are in `next_file` from `position` (sent first, as a fake, on a dump)."""

    position: int
    next_file: str


@dataclass(slots=True)
class StopEvent(Event):
    pass


@dataclass(slots=True)
class XidEvent(Event):
    """The COMMIT of a transactional (InnoDB) transaction."""

    xid: int


@dataclass(slots=True)
class XaPrepareEvent(Event):
    """The end of an XA transaction's rows: XA PREPARE, or MySQL's XA COMMIT ... ONE PHASE."""

    one_phase: bool
    format_id: int
    gtrid: bytes
    bqual: bytes


@dataclass(slots=True)
class IntvarEvent(Event):
    kind: int  # 1 = LAST_INSERT_ID, 2 = INSERT_ID
    value: int


@dataclass(slots=True)
class RandEvent(Event):
    seed1: int
    seed2: int


@dataclass(slots=True)
class UserVarEvent(Event):
    """A user variable a statement-based event relies on; `value` stays raw for strings
    (in `charset`, a collation id) and decimals."""

    name: str
    is_null: bool
    value_type: int = 0  # 0 string, 1 real, 2 int, 4 decimal
    charset: int = 0
    value: bytes | int | float | None = None
    unsigned: bool = False


@dataclass(slots=True)
class HeartbeatEvent(Event):
    """Sent by the source when idle; `log_file`/`log_pos` say where it stands."""

    log_file: str
    log_pos: int


@dataclass(slots=True)
class RowsQueryEvent(Event):
    """The statement behind the next rows events (MySQL ROWS_QUERY, MariaDB ANNOTATE_ROWS).
    Only a reader that wants the text pays for decoding it."""

    query_bytes: bytes

    @property
    def query(self) -> str:
        return self.query_bytes.decode("utf-8", "surrogateescape")


@dataclass(slots=True)
class BinlogCheckpointEvent(Event):
    """MariaDB: binlog files before `file` are no longer needed for crash recovery."""

    file: str


def parse_rotate(header: EventHeader, buf: bytes, start: int, end: int) -> RotateEvent:
    (pos,) = U64(buf, start)
    return RotateEvent(header, pos, bytes(buf[start + 8:end]).decode("utf-8", "surrogateescape"))


def parse_stop(header: EventHeader, buf: bytes, start: int, end: int) -> StopEvent:
    return StopEvent(header)


def parse_xid(header: EventHeader, buf: bytes, start: int, end: int) -> XidEvent:
    return XidEvent(header, U64(buf, start)[0])


def parse_xa_prepare(header: EventHeader, buf: bytes, start: int, end: int) -> XaPrepareEvent:
    (format_id,) = U32(buf, start + 1)
    (gtrid_len,) = U32(buf, start + 5)
    (bqual_len,) = U32(buf, start + 9)
    data = start + 13
    return XaPrepareEvent(header, bool(buf[start]), format_id,
                          bytes(buf[data:data + gtrid_len]),
                          bytes(buf[data + gtrid_len:data + gtrid_len + bqual_len]))


def parse_intvar(header: EventHeader, buf: bytes, start: int, end: int) -> IntvarEvent:
    return IntvarEvent(header, buf[start], U64(buf, start + 1)[0])


def parse_rand(header: EventHeader, buf: bytes, start: int, end: int) -> RandEvent:
    s1, s2 = struct.unpack_from("<QQ", buf, start)
    return RandEvent(header, s1, s2)


def parse_user_var(header: EventHeader, buf: bytes, start: int, end: int) -> UserVarEvent:
    (n,) = U32(buf, start)
    pos = start + 4 + n
    name = bytes(buf[start + 4:pos]).decode("utf-8", "surrogateescape")
    if buf[pos]:
        return UserVarEvent(header, name, True)
    vtype, charset, length = buf[pos + 1], *struct.unpack_from("<II", buf, pos + 2)
    pos += 10
    raw = bytes(buf[pos:pos + length])
    unsigned = pos + length < end and bool(buf[pos + length] & 1)
    value: bytes | int | float = raw
    if vtype == 1:
        value = struct.unpack("<d", raw)[0]
    elif vtype == 2:
        value = int.from_bytes(raw, "little", signed=not unsigned)
    return UserVarEvent(header, name, False, vtype, charset, value, unsigned)


def parse_heartbeat(header: EventHeader, buf: bytes, start: int, end: int) -> HeartbeatEvent:
    name = bytes(buf[start:end]).decode("utf-8", "surrogateescape")
    return HeartbeatEvent(header, name, header.log_pos)


def parse_heartbeat_v2(header: EventHeader, buf: bytes, start: int, end: int) -> HeartbeatEvent:
    """MySQL 8.0.26+: type/length/value fields; 0 = log file name, 1 = position."""
    pos, name, log_pos = start, "", header.log_pos
    while pos < end:
        field, pos = packed_int(buf, pos)
        value, pos = packed_bytes(buf, pos)
        if field == 0:
            name = value.decode("utf-8", "surrogateescape")
        elif field == 1:
            log_pos = packed_int(value, 0)[0]
    return HeartbeatEvent(header, name, log_pos)


def parse_rows_query(header: EventHeader, buf: bytes, start: int, end: int) -> RowsQueryEvent:
    # The first byte is a length that overflows for long statements: the text runs to the end.
    return RowsQueryEvent(header, bytes(buf[start + 1:end]))


def parse_annotate_rows(header: EventHeader, buf: bytes, start: int, end: int) -> RowsQueryEvent:
    return RowsQueryEvent(header, bytes(buf[start:end]))


def parse_binlog_checkpoint(header: EventHeader, buf: bytes, start: int,
                            end: int) -> BinlogCheckpointEvent:
    (n,) = U32(buf, start)
    return BinlogCheckpointEvent(header, bytes(buf[start + 4:start + 4 + n]).decode("utf-8"))

"""GTID events: MySQL GTID / ANONYMOUS_GTID / PREVIOUS_GTIDS, MariaDB GTID / GTID_LIST."""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass

from dm.binlog.events._wire import U32, U64, packed_int
from dm.binlog.events.base import Event, EventHeader
from dm.binlog.location.mariadb_gtid import MariaDBGTID, MariaDBGTIDSet
from dm.binlog.location.mysql_gtid import MySQLGTIDSet

_MYSQL_GTID = struct.Struct("<B16sQ")
_LOGICAL_CLOCK = struct.Struct("<BQQ")


@dataclass(slots=True)
class GtidEvent(Event):
    """MySQL: the next transaction's GTID (`sid` is None for an ANONYMOUS_GTID)."""

    commit_flag: int
    sid: str | None
    gno: int
    last_committed: int = 0
    sequence_number: int = 0
    immediate_commit_timestamp: int | None = None  # microseconds since the epoch
    original_commit_timestamp: int | None = None
    transaction_length: int | None = None

    @property
    def gtid(self) -> str | None:
        return None if self.sid is None else f"{self.sid}:{self.gno}"


@dataclass(slots=True)
class PreviousGtidsEvent(Event):
    """MySQL: the GTIDs executed before this binlog file (second event of every file)."""

    gtid_set: MySQLGTIDSet


# MariaDB GTID event flags
FL_STANDALONE = 0x01
FL_GROUP_COMMIT_ID = 0x02
FL_TRANSACTIONAL = 0x04
FL_ALLOW_PARALLEL = 0x08
FL_WAITED = 0x10
FL_DDL = 0x20
FL_PREPARED_XA = 0x40
FL_COMPLETED_XA = 0x80


@dataclass(slots=True)
class MariadbGtidEvent(Event):
    """MariaDB: the next event group's GTID (replaces BEGIN); the server id is the header's."""

    sequence: int
    domain_id: int
    flags: int
    commit_id: int | None = None
    # XA PREPARE / XA COMMIT groups: their transaction's xid (gtrid None: none)
    xa_gtrid: bytes | None = None
    xa_bqual: bytes = b""
    xa_format_id: int = 0

    @property
    def gtid(self) -> MariaDBGTID:
        return MariaDBGTID(self.domain_id, self.header.server_id, self.sequence)

    @property
    def standalone(self) -> bool:
        """A group without BEGIN/COMMIT (DDL, or non-transactional statements)."""
        return bool(self.flags & FL_STANDALONE)

    @property
    def prepared_xa(self) -> bool:
        """The group of an XA transaction up to its XA PREPARE (its XA START is implied:
        no query event logs it)."""
        return bool(self.flags & FL_PREPARED_XA)


@dataclass(slots=True)
class MariadbGtidListEvent(Event):
    """MariaDB: the binlog state at the start of a file (second event of every file)."""

    gtids: list[MariaDBGTID]

    @property
    def gtid_set(self) -> MariaDBGTIDSet:
        return MariaDBGTIDSet.of(self.gtids)


def _commit_timestamps(buf: bytes, pos: int, end: int) -> tuple[int | None, int | None, int]:
    """(immediate, original, next position): 7-byte microsecond stamps, the high bit of the
    immediate one saying that a different original one follows."""
    if pos + 7 > end:
        return None, None, pos
    immediate = int.from_bytes(buf[pos:pos + 7], "little")
    pos += 7
    original = immediate
    if immediate & (1 << 55):
        immediate &= (1 << 55) - 1
        original = int.from_bytes(buf[pos:pos + 7], "little")
        pos += 7
    return immediate, original, pos


def parse_gtid(header: EventHeader, buf: bytes, start: int, end: int) -> GtidEvent:
    flag, sid_bytes, gno = _MYSQL_GTID.unpack_from(buf, start)
    sid = None if header.type == 34 else str(uuid.UUID(bytes=sid_bytes))
    pos = start + _MYSQL_GTID.size
    ev = GtidEvent(header, flag, sid, gno)
    if pos < end and buf[pos] == 2:  # logical clock: last_committed, sequence_number
        _, ev.last_committed, ev.sequence_number = _LOGICAL_CLOCK.unpack_from(buf, pos)
        pos += _LOGICAL_CLOCK.size
        ev.immediate_commit_timestamp, ev.original_commit_timestamp, pos = (
            _commit_timestamps(buf, pos, end))
        if pos < end:
            ev.transaction_length = packed_int(buf, pos)[0]
    return ev


def parse_previous_gtids(header: EventHeader, buf: bytes, start: int,
                         end: int) -> PreviousGtidsEvent:
    return PreviousGtidsEvent(header, MySQLGTIDSet.decode(bytes(buf[start:end])))


def parse_mariadb_gtid(header: EventHeader, buf: bytes, start: int,
                       end: int) -> MariadbGtidEvent:
    (seq,) = U64(buf, start)
    (domain,) = U32(buf, start + 8)
    flags = buf[start + 12]
    ev = MariadbGtidEvent(header, seq, domain, flags)
    pos = start + 13
    if flags & FL_GROUP_COMMIT_ID:
        ev.commit_id = U64(buf, pos)[0]
        pos += 8
    if flags & (FL_PREPARED_XA | FL_COMPLETED_XA):
        (ev.xa_format_id,) = U32(buf, pos)
        gtrid_len, bqual_len = buf[pos + 4], buf[pos + 5]
        ev.xa_gtrid = bytes(buf[pos + 6:pos + 6 + gtrid_len])
        ev.xa_bqual = bytes(buf[pos + 6 + gtrid_len:pos + 6 + gtrid_len + bqual_len])
    return ev


def parse_mariadb_gtid_list(header: EventHeader, buf: bytes, start: int,
                            end: int) -> MariadbGtidListEvent:
    count = U32(buf, start)[0] & 0x0FFFFFFF  # the top 4 bits are flags
    gtids = []
    for i in range(count):
        domain, server, seq = struct.unpack_from("<IIQ", buf, start + 4 + 16 * i)
        gtids.append(MariaDBGTID(domain, server, seq))
    return MariadbGtidListEvent(header, gtids)

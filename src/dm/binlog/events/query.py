"""QUERY events: DDL and BEGIN/COMMIT text, with the session state in their status variables."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from dm.binlog.events._wire import U16
from dm.binlog.events.base import Event, EventHeader
from dm.binlog.rows.charsets import charset_of_collation, decode_latin1, python_codec

Q_FLAGS2, Q_SQL_MODE, Q_CATALOG, Q_AUTO_INCREMENT, Q_CHARSET = 0, 1, 2, 3, 4
Q_TIME_ZONE, Q_CATALOG_NZ, Q_LC_TIME_NAMES, Q_CHARSET_DATABASE = 5, 6, 7, 8
Q_TABLE_MAP_FOR_UPDATE, Q_MASTER_DATA_WRITTEN, Q_INVOKER, Q_UPDATED_DB_NAMES = 9, 10, 11, 12
Q_MICROSECONDS, Q_COMMIT_TS, Q_COMMIT_TS2, Q_EXPLICIT_DEFAULTS_FOR_TIMESTAMP = 13, 14, 15, 16
Q_DDL_LOGGED_WITH_XID, Q_DEFAULT_COLLATION_FOR_UTF8MB4, Q_SQL_REQUIRE_PRIMARY_KEY = 17, 18, 19
Q_DEFAULT_TABLE_ENCRYPTION, Q_HRNOW, Q_XID, Q_GTID_FLAGS3 = 20, 128, 129, 130

# Status variables of fixed size; the others are handled one by one below.
_FIXED = {
    Q_FLAGS2: 4, Q_SQL_MODE: 8, Q_AUTO_INCREMENT: 4, Q_CHARSET: 6, Q_LC_TIME_NAMES: 2,
    Q_CHARSET_DATABASE: 2, Q_TABLE_MAP_FOR_UPDATE: 8, Q_MASTER_DATA_WRITTEN: 4,
    Q_MICROSECONDS: 3, Q_COMMIT_TS: 8, Q_COMMIT_TS2: 8, Q_EXPLICIT_DEFAULTS_FOR_TIMESTAMP: 1,
    Q_DDL_LOGGED_WITH_XID: 8, Q_DEFAULT_COLLATION_FOR_UTF8MB4: 2, Q_SQL_REQUIRE_PRIMARY_KEY: 1,
    Q_DEFAULT_TABLE_ENCRYPTION: 1, Q_HRNOW: 3, Q_XID: 8, Q_GTID_FLAGS3: 1,
}


@dataclass(slots=True)
class StatusVars:
    """The status variables DM needs; `complete` is False if an unknown one stopped parsing."""

    sql_mode: int | None = None
    charset_client: int | None = None  # collation ids
    collation_connection: int | None = None
    collation_server: int | None = None
    time_zone: str | None = None
    catalog: str | None = None
    updated_db_names: tuple[str, ...] | None = None
    ddl_xid: int | None = None
    complete: bool = True


def _skip_len(buf: bytes, pos: int) -> int:
    return pos + 1 + buf[pos]


def parse_status_vars(buf: bytes, pos: int, end: int) -> StatusVars:
    sv = StatusVars()
    while pos < end:
        key = buf[pos]
        pos += 1
        if key == Q_SQL_MODE:
            sv.sql_mode = struct.unpack_from("<Q", buf, pos)[0]
        elif key == Q_CHARSET:
            sv.charset_client, sv.collation_connection, sv.collation_server = (
                struct.unpack_from("<HHH", buf, pos))
        elif key in (Q_DDL_LOGGED_WITH_XID, Q_XID):
            sv.ddl_xid = struct.unpack_from("<Q", buf, pos)[0]
        if key in _FIXED:
            pos += _FIXED[key]
        elif key in (Q_TIME_ZONE, Q_CATALOG_NZ):
            text = bytes(buf[pos + 1:_skip_len(buf, pos)]).decode("utf-8", "surrogateescape")
            if key == Q_TIME_ZONE:
                sv.time_zone = text
            else:
                sv.catalog = text
            pos = _skip_len(buf, pos)
        elif key == Q_CATALOG:
            pos = _skip_len(buf, pos) + 1
        elif key == Q_INVOKER:
            pos = _skip_len(buf, _skip_len(buf, pos))
        elif key == Q_UPDATED_DB_NAMES:
            pos, sv.updated_db_names = _db_names(buf, pos)
        else:
            sv.complete = False
            break
    return sv


def _db_names(buf: bytes, pos: int) -> tuple[int, tuple[str, ...] | None]:
    count = buf[pos]
    pos += 1
    if count == 254:  # OVER_MAX_DBS_IN_EVENT_MTS
        return pos, None
    names = []
    for _ in range(count):
        stop = buf.index(b"\0", pos)
        names.append(bytes(buf[pos:stop]).decode("utf-8", "surrogateescape"))
        pos = stop + 1
    return pos, tuple(names)


@dataclass(slots=True)
class QueryEvent(Event):
    thread_id: int
    exec_time: int
    error_code: int
    schema: str
    status: StatusVars
    query_bytes: bytes

    @property
    def query(self) -> str:
        """The statement decoded with the session's character_set_client; text that is not
        valid in it keeps its bytes as surrogate escapes (so encoding it back is exact)."""
        charset = charset_of_collation(self.status.charset_client or 0) or "utf8mb4"
        if charset == "latin1":
            return decode_latin1(self.query_bytes)
        return self.query_bytes.decode(python_codec(charset) or "utf-8", "surrogateescape")


def _parse(header: EventHeader, buf: bytes, start: int, end: int, extra: int) -> QueryEvent:
    thread_id, exec_time = struct.unpack_from("<II", buf, start)
    schema_len = buf[start + 8]
    (error_code,) = U16(buf, start + 9)
    (status_len,) = U16(buf, start + 11)
    pos = start + 13 + extra
    status = parse_status_vars(buf, pos, pos + status_len)
    pos += status_len
    schema = bytes(buf[pos:pos + schema_len]).decode("utf-8", "surrogateescape")
    pos += schema_len + 1
    return QueryEvent(header, thread_id, exec_time, error_code, schema, status,
                      bytes(buf[pos:end]))


def parse_query(header: EventHeader, buf: bytes, start: int, end: int) -> QueryEvent:
    return _parse(header, buf, start, end, 0)


def parse_execute_load_query(header: EventHeader, buf: bytes, start: int,
                             end: int) -> QueryEvent:
    """EXECUTE_LOAD_QUERY: a QUERY post-header plus 13 bytes (file id, positions, dup flag)."""
    return _parse(header, buf, start, end, 13)

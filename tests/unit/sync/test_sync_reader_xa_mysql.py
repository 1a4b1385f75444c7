"""The reader on MySQL's spelling of XA transactions, from events built here (no MySQL
server runs on this machine, and the binlog fixtures hold no XA): MySQL logs XA START as
a query event (MariaDB implies it in its GTID event), and XA COMMIT ... ONE PHASE as an
XA_PREPARE event with its one-phase flag set. The MariaDB spelling is tested against
the server (tests/integration/test_sync_reader_xa.py)."""

from __future__ import annotations

import io
import os
from typing import Any

import pytest

from dm.binlog.events import (
    Event,
    EventHeader,
    GtidEvent,
    QueryEvent,
    RowsEvent,
    RowsKind,
    StatusVars,
    TableMapEvent,
    XaPrepareEvent,
)
from dm.binlog.events.codes import EventType
from dm.binlog.location import Location
from dm.binlog.replica import ReplicaConfig
from dm.errors import DMError
from dm.sync.frames import read_frame, write_frame
from dm.sync.reader import Reader, ReaderSetup, _xa_group
from dm.sync.records import ROWS, SCHEMA, XA_ENDED, XA_PREPARED, XID, Record, TableAnswer

_SETUP = ReaderSetup(ReplicaConfig("127.0.0.1", 3306, "root", "", 1),
                     Location("binlog.000001", 4), False, os.getpid())
_UUID = "3e11fa47-71ca-11e1-9e33-c80aa9429562"


class _Binlog:
    """Events of one file, each placed after the previous one."""

    def __init__(self) -> None:
        self.pos = 4
        self.events: list[Event] = []

    def _header(self, kind: EventType, size: int = 50) -> EventHeader:
        self.pos += size
        return EventHeader(1_700_000_000, int(kind), 1, size, self.pos, 0)

    def gtid(self, gno: int) -> None:
        self.events.append(GtidEvent(self._header(EventType.GTID), 0, _UUID, gno))

    def query(self, sql: str) -> None:
        self.events.append(QueryEvent(self._header(EventType.QUERY), 1, 0, 0, "db",
                                      StatusVars(charset_client=45), sql.encode()))

    def rows(self, table: str, *rows: Any) -> None:
        tm = TableMapEvent(self._header(EventType.TABLE_MAP), 7, 1, "db", table, b"\x03",
                           [0], [False])
        self.events.append(tm)
        self.events.append(RowsEvent(self._header(EventType.WRITE_ROWS_V2), RowsKind.WRITE,
                                     7, 1, tm, [True], None, "binlog.000001",
                                     _rows=list(rows)))

    def xa_prepare(self, gtrid: bytes, one_phase: bool = False) -> None:
        self.events.append(XaPrepareEvent(self._header(EventType.XA_PREPARE), one_phase, 1,
                                          gtrid, b""))


def _records(binlog: _Binlog) -> list[Record]:
    answers = io.BytesIO()
    for _ in range(20):
        write_frame(answers, TableAnswer(None))
    answers.seek(0)
    out = io.BytesIO()
    reader = Reader(_SETUP, answers, out)
    reader.pump(binlog.events, ready=lambda: True)
    stream, records = io.BytesIO(out.getvalue()), []
    while (frame := read_frame(stream)) is not None:
        records += [r for r in frame[1] if r[0] != SCHEMA]
    return records


def test_mysql_xa_start_holds_the_rows_until_xa_commit() -> None:
    log = _Binlog()
    log.gtid(1)
    log.query("XA START X'6b',X'',1")
    log.rows("t", (1,), (2,))
    log.query("XA END X'6b',X'',1")
    log.xa_prepare(b"k")
    log.gtid(2)
    log.query("BEGIN")
    log.rows("t", (3,))
    log.query("COMMIT")
    log.gtid(3)
    log.query("XA COMMIT X'6b',X'',1")
    commit_start = log.pos - 50
    records = _records(log)
    assert [r[0] for r in records] == [XA_PREPARED, ROWS, XID, ROWS, XA_ENDED]
    assert records[0][2:] == (4, 1_700_000_000, f"{_UUID}:1", "X'6b',X'',1")
    assert records[3][1] == commit_start and records[3][6] == [(1,), (2,)]
    assert records[4][4] == f"{_UUID}:3" and records[4][6:] == (True, True)


def test_mysql_xa_commit_one_phase_is_an_xa_prepare_event() -> None:
    log = _Binlog()
    log.gtid(1)
    log.query("XA START X'6f',X'',1")
    log.rows("t", (1,))
    log.query("XA END X'6f',X'',1")
    log.xa_prepare(b"o", one_phase=True)
    records = _records(log)
    assert [r[0] for r in records] == [ROWS, XID]  # at its own place, committed
    assert records[1][3] == f"{_UUID}:1"


def test_mysql_xa_rollback_drops_the_rows() -> None:
    log = _Binlog()
    log.gtid(1)
    log.query("XA START X'72',X'',1")
    log.rows("t", (1,))
    log.query("XA END X'72',X'',1")
    log.xa_prepare(b"r")
    log.gtid(2)
    log.query("XA ROLLBACK X'72',X'',1")
    records = _records(log)
    assert [r[0] for r in records] == [XA_PREPARED, XA_ENDED]
    assert records[1][6:] == (False, True)


def test_a_prepared_group_found_from_a_gtid_set_is_the_one_its_xa_start_names() -> None:
    """Read again from a GTID set (another server's binlog after a switch), other groups
    come first: only the group whose XA START names the transaction is read, up to its
    XA PREPARE; a stream without it ends in 36107."""
    log = _Binlog()
    log.gtid(1)
    log.query("XA START X'61',X'',1")  # another prepared transaction
    log.rows("t", (1,))
    log.query("XA END X'61',X'',1")
    log.xa_prepare(b"a")
    log.gtid(2)
    log.query("BEGIN")
    log.rows("t", (2,))
    log.query("COMMIT")
    log.gtid(3)
    log.query("XA START X'62',X'',1")
    log.rows("t", (3,))
    log.query("XA END X'62',X'',1")
    log.xa_prepare(b"b")
    log.gtid(4)
    log.query("XA COMMIT X'62',X'',1")
    after = Location("binlog.000001", 4)
    group = list(_xa_group(iter(log.events), "X'62',X'',1", after))
    assert group == log.events[11:17]  # from its GTID event to its XA PREPARE
    with pytest.raises(DMError) as gone:
        list(_xa_group(iter(log.events), "X'63',X'',1", after))
    assert gone.value.code == 36107

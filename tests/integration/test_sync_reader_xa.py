"""The binlog reader on a real MariaDB binlog of XA transactions: a prepared transaction's
rows are held and sent at its XA COMMIT, placed there; after an XA ROLLBACK never; the
same whether they stayed in memory or were spilled to a file."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from dm.binlog.events import read_binlog_file
from dm.binlog.location import Location
from dm.binlog.replica import ReplicaConfig
from dm.binlog.rows.schema import ColumnInfo, TableSchema
from dm.sandbox import MariaDB
from dm.sync.frames import read_frame, write_frame
from dm.sync.reader import Reader, ReaderSetup
from dm.sync.records import ROWS, SCHEMA, XA_ENDED, XA_PREPARED, XID, Record, TableAnswer
from tests.integration.conftest import binlog_end

pytestmark = pytest.mark.integration

_SCHEMA = TableSchema("xa_read", "t", [ColumnInfo("id", "int"), ColumnInfo("v", "int")])


def _records(upstream: MariaDB, start: tuple[str, int]) -> list[Record]:
    """What a reader sends for the binlog from `start` to its end (questions left out)."""
    answers = io.BytesIO()
    for _ in range(50):
        write_frame(answers, TableAnswer(_SCHEMA))
    answers.seek(0)
    out = io.BytesIO()
    setup = ReaderSetup(ReplicaConfig("127.0.0.1", upstream.port, "root", "", 1),
                        Location(*start), False, os.getpid())
    reader = Reader(setup, answers, out)
    reader.pump(read_binlog_file(Path(upstream.base / start[0]), reader.schema,
                                 start=start[1]), ready=lambda: True)
    stream, records = io.BytesIO(out.getvalue()), []
    while (frame := read_frame(stream)) is not None:
        records += [r for r in frame[1] if r[0] != SCHEMA]
    return records


@pytest.mark.parametrize("memory", [16 << 20, 0])
def test_prepared_rows_go_at_their_commit(upstream: MariaDB, memory: int,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("dm.sync.xa.MEMORY_BYTES", memory)
    upstream.execute("DROP DATABASE IF EXISTS xa_read", "CREATE DATABASE xa_read",
                     "CREATE TABLE xa_read.t (id INT PRIMARY KEY, v INT)", "FLUSH BINARY LOGS")
    start = binlog_end(upstream)
    upstream.execute("XA START 'kept'", "INSERT INTO xa_read.t VALUES (1, 1), (2, 2)",
                     "UPDATE xa_read.t SET v = 3", "XA END 'kept'", "XA PREPARE 'kept'")
    upstream.execute("XA START 'undone'", "INSERT INTO xa_read.t VALUES (5, 5)",
                     "XA END 'undone'", "XA PREPARE 'undone'")
    upstream.execute("INSERT INTO xa_read.t VALUES (9, 9)")
    upstream.execute("XA ROLLBACK 'undone'", "XA COMMIT 'kept'")
    upstream.execute("XA START 'one'", "INSERT INTO xa_read.t VALUES (7, 7)", "XA END 'one'",
                     "XA COMMIT 'one' ONE PHASE")
    records = _records(upstream, start)
    shape = [(r[0], r[-2] if r[0] == XA_ENDED else None) for r in records
             if r[0] in (ROWS, XA_PREPARED, XA_ENDED, XID)]
    assert shape == [(XA_PREPARED, None), (XA_PREPARED, None), (ROWS, None), (XID, None),
                     (XA_ENDED, False), (ROWS, None), (ROWS, None), (XA_ENDED, True),
                     (ROWS, None), (XID, None)]
    prepared = [r for r in records if r[0] == XA_PREPARED]
    assert prepared[0][2] == start[1]  # where its group (its GTID event) starts
    assert prepared[0][2] < prepared[0][1] <= prepared[1][2] < prepared[1][1]
    commit = next(r for r in records if r[0] == XA_ENDED and r[6])
    released = records[records.index(commit) - 2:records.index(commit)]
    assert commit[5] == "X'6b657074',X'',1"
    assert {r[1] for r in released} == {commit[2]}  # placed at the XA COMMIT's event
    assert [(r[0], r[5], r[6]) for r in released] == [
        (ROWS, "insert", [(1, 1), (2, 2)]), (ROWS, "update", [((1, 1), (1, 3)), ((2, 2), (2, 3))])]
    assert all(r[7] for r in records if r[0] == XA_ENDED)  # both prepares were read

"""The binlog reader process's translation: real MySQL binlog files in, framed records out."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.shared import BINLOG_FIXTURES

from dm.binlog.events import GtidEvent, QueryEvent, RowsEvent, XidEvent, read_binlog_file
from dm.binlog.events.payload import TransactionPayloadEvent
from dm.binlog.location import Location
from dm.binlog.replica import ReplicaConfig
from dm.core.transactions import Role, role_of
from dm.sync.frames import read_frame, write_frame
from dm.sync.reader import Reader, ReaderSetup
from dm.sync.records import QUERY, ROWS, SCHEMA, XID, Record, TableAnswer

CRC32 = BINLOG_FIXTURES / "mysql-5.7.21-checksum-crc32.binlog"
SAKILA = BINLOG_FIXTURES / "mysql-5.5.27-sakila.binlog.gz"
_SETUP = ReaderSetup(ReplicaConfig("127.0.0.1", 3306, "root", "", 1), Location("", 4), False,
                     os.getpid())


def _frames(data: bytes) -> Iterator[tuple[int, list[Record]]]:
    stream = io.BytesIO(data)
    while (frame := read_frame(stream)) is not None:
        yield frame


_ANY_ROWS = TableAnswer(None)


Batches = list[tuple[int, list[Record]]]


def _translate(path: Path, answer: TableAnswer = _ANY_ROWS) -> tuple[Batches, list[Record]]:
    """(data batches, questions asked) of a reader fed `path`, answering each question
    with `answer`."""
    answers = io.BytesIO()
    for _ in range(200):
        write_frame(answers, answer)
    answers.seek(0)
    out = io.BytesIO()
    reader = Reader(_SETUP, answers, out)
    reader.pump(read_binlog_file(path, reader.schema), ready=lambda: True)
    frames = list(_frames(out.getvalue()))
    questions = [f[1][0] for f in frames if f[1] and f[1][0][0] == SCHEMA]
    return [f for f in frames if not (f[1] and f[1][0][0] == SCHEMA)], questions


def _records(batches: Batches) -> list[Record]:
    return [r for _, records in batches for r in records]


def test_rows_and_commits_carry_what_the_syncer_needs() -> None:
    batches, questions = _translate(CRC32)
    events = list(read_binlog_file(CRC32))
    assert sum(n for n, _ in batches) == len(events) == 303
    records = _records(batches)
    rows = [r for r in records if r[0] == ROWS]
    expected_rows = [e for e in read_binlog_file(CRC32) if isinstance(e, RowsEvent)]
    assert [(r[3], r[4], r[5], r[6]) for r in rows] == [
        (e.table.schema, e.table.table, e.kind.value, e.rows) for e in expected_rows]
    assert [r[1] for r in rows] == [e.header.log_pos - e.header.event_size
                                    for e in expected_rows]
    gtids, commits = [], []  # every XID carries its transaction's GTID and its end
    for event in events:
        if isinstance(event, GtidEvent):
            gtids.append(event.gtid)
        elif isinstance(event, XidEvent):
            commits.append((event.header.log_pos, gtids[-1]))
    assert [(r[1], r[3]) for r in records if r[0] == XID] == commits
    assert not [r for r in records if r[0] == QUERY]  # BEGIN is folded away
    assert len(questions) == len({(e.table.schema, e.table.table) for e in expected_rows})


def test_a_statement_makes_the_reader_ask_again() -> None:
    batches, questions = _translate(SAKILA)
    records = _records(batches)
    statements = [e for e in read_binlog_file(SAKILA) if isinstance(e, QueryEvent)
                  and role_of(e.query) is Role.STATEMENT]
    assert [r[6] for r in records if r[0] == QUERY] == [e.query for e in statements]
    assert all(r[8] for r in records if r[0] == QUERY)  # MySQL 5.5: DDL outside BEGIN
    ends = [e for e in read_binlog_file(SAKILA) if isinstance(e, XidEvent)
            or (isinstance(e, QueryEvent) and role_of(e.query) is Role.END)]
    assert [r[1] for r in records if r[0] == XID] == [e.header.log_pos for e in ends]
    epoch_tables: set[tuple[str, str]]
    asked, epoch_tables = 0, set()
    for event in read_binlog_file(SAKILA):
        if isinstance(event, QueryEvent) and role_of(event.query) is Role.STATEMENT:
            epoch_tables = set()
        elif isinstance(event, RowsEvent):
            key = (event.table.schema, event.table.table)
            asked += key not in epoch_tables
            epoch_tables.add(key)
    assert len(questions) == asked > 0
    assert sum(len(r[6]) for r in records if r[0] == ROWS) == 47_273


def test_unwanted_rows_are_left_out_but_commits_are_not() -> None:
    batches, _ = _translate(CRC32, TableAnswer(None, frozenset({"update", "delete"})))
    records = _records(batches)
    kinds = {r[5] for r in records if r[0] == ROWS}
    assert kinds == {"insert"}
    assert len([r for r in records if r[0] == XID]) == 60


def test_batches_are_bounded_by_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Review finding 14: big rows must not pile up into one huge frame."""
    monkeypatch.setattr("dm.sync.reader.MAX_BYTES", 1)
    batches, _ = _translate(CRC32)
    rows_events = [e for e in read_binlog_file(CRC32) if isinstance(e, RowsEvent)]
    assert all(sum(r[0] == ROWS for r in records) <= 1 for _, records in batches)
    assert sum(r[0] == ROWS for _, records in batches for r in records) == len(rows_events)


def test_rows_inside_a_transaction_payload_are_placed_inside_its_span() -> None:
    """MySQL 8's compressed transaction: its inner rows events carry log_pos 0; the k-th
    is placed at the payload event's start + k (never at 0: a table's checkpoint row
    would skip it; never the same place twice: keyless tables' marks tell them apart),
    and rows before a table's `until` are left out."""
    path = BINLOG_FIXTURES / "mysql-8.0.28-transaction-compression.binlog"
    events = list(read_binlog_file(path))
    payload = next(e for e in events if isinstance(e, TransactionPayloadEvent))
    start = payload.header.log_pos - payload.header.event_size
    batches, _ = _translate(path)
    rows = [r for r in _records(batches) if r[0] == ROWS]
    assert rows and [r[1] for r in rows] == list(range(start + 1, start + 1 + len(rows)))
    assert all(r[1] < payload.header.log_pos for r in rows)
    skipped, _ = _translate(path, TableAnswer(None, until=("binlog.999999", 4)))
    assert not [r for r in _records(skipped) if r[0] == ROWS]

"""The binlog reader process: reads and decodes the upstream's binlog on a core of its own.

Started by `feed.py` as `python -m dm.sync.reader`; stdin brings a `ReaderSetup` and
then the syncer's `TableAnswer`s, stdout carries batches of records (records.py). The
syncer's process is GIL-bound: reading and decoding here lets both run at once.

Schemas stay the syncer's: at the first rows of a table the reader asks (a SCHEMA
record, after everything before it), and forgets every answer at each QUERY record,
since a DDL may change any table. A batch goes out when it is full, when the next
event is not yet here, or 5 ms after the previous one: a record waits 5 ms at most.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from dm.binlog.events.base import LOG_EVENT_ARTIFICIAL_F, Event
from dm.binlog.events.control import HeartbeatEvent, RotateEvent, XaPrepareEvent, XidEvent
from dm.binlog.events.gtid import GtidEvent, MariadbGtidEvent
from dm.binlog.events.query import QueryEvent
from dm.binlog.events.rows_event import RowsEvent
from dm.binlog.location import Location, file_key, gtid_text, holds_gtid
from dm.binlog.replica import ReplicaConfig, ReplicaConnection
from dm.binlog.rows.charsets import charset_of_collation
from dm.binlog.rows.schema import TableSchema
from dm.core.transactions import (
    Role,
    XaStatement,
    Xid,
    role_of,
    split_atomic_create_select,
    xa_statement,
)
from dm.errors import SYNC_ROW_IMAGE_INCOMPLETE, SYNC_XA_GROUP_GONE, DMError, wrap
from dm.gctune import tune_gc
from dm.relay.layout import RelayDir
from dm.relay.stream import RelayStream
from dm.sync.frames import read_frame, write_frame
from dm.sync.records import (
    ERROR,
    HEARTBEAT,
    QUERY,
    ROTATE,
    ROWS,
    SCHEMA,
    XA_ENDED,
    XA_PREPARED,
    XID,
    Record,
    TableAnswer,
)
from dm.sync.xa import HeldRecords, XaTransactions

MAX_RECORDS = 2000  # per batch: bounded memory, and the syncer starts early
MAX_ROWS = 4000
MAX_BYTES = 32 << 20  # of rows events per batch: bounded memory whatever the row size
MAX_DELAY = 0.005  # seconds a record may wait for its batch to fill
_PR_SET_PDEATHSIG = 1
_PR_SET_NAME = 15
READER_NAME = b"dm-reader"  # its /proc/<pid>/comm once it reads for a sync unit
# a group that is no XA transaction's, or the end of what is there
_NOT_THE_GROUP = frozenset({XID, QUERY, XA_ENDED, HEARTBEAT})


@dataclass(frozen=True)
class ReaderSetup:
    replica: ReplicaConfig
    start: Location
    by_gtid: bool  # stream from start.gtid_set instead of start's file and position
    parent_pid: int
    relay_dir: Path | None = None  # read this relay log instead of the upstream
    source_id: str = ""
    # where the event groups of XA transactions prepared before `start` and not ended
    # start, and their xids: read first, their rows held (dm.sync.xa)
    xa_groups: tuple[tuple[Location, str], ...] = ()


class Reader:
    def __init__(self, setup: ReaderSetup, answers_in: IO[bytes], out: IO[bytes]) -> None:
        self.setup = setup
        self._in = answers_in
        self._out = out
        self._answers: dict[tuple[str, str], TableAnswer] = {}
        self._records: list[Record] = []
        self._events = 0
        self._rows = 0
        self._bytes = 0  # size of the rows events in the batch
        self._gtid: str | None = None  # the open group's, sent with the record that ends it
        self._open = False  # inside a transaction: only its end ends the group
        self._pos = 0  # end of the last event with a position (inner events have none)
        self._start = 0  # and where it starts
        # the events inside a transaction payload carry no position: the k-th is placed
        # at the payload's start + k, inside its span (no boundary is; marks stay apart)
        self._inner = 0
        self._file = setup.start.file  # the binlog file being read, for errors
        self._xa = XaTransactions()  # prepared XA transactions' rows, held to their end
        self._rereading = False  # reading a prepared XA transaction's group again
        self._group_start = 0  # where the group being read starts (its GTID event)
        # whether the open group's GTID is in a table start's GTID set, for that pair
        self._in_start: tuple[str, object] | None = None
        self._in_start_answer = False
        # what each kind of event does (by its exact class: one lookup per event)
        self._handlers: dict[type, Callable[[Any], None]] = {
            RowsEvent: self._on_rows, XidEvent: self._on_xid, QueryEvent: self._query,
            MariadbGtidEvent: self._on_mariadb_gtid, GtidEvent: self._on_gtid,
            RotateEvent: self._on_rotate, HeartbeatEvent: self._on_heartbeat,
            XaPrepareEvent: self._xa_prepared}
        self._clock = time.monotonic
        self._due = self._clock() + MAX_DELAY  # a stream that never pauses still sends

    def run(self) -> None:
        """Stream until the syncer goes away; a failure is sent to it as an ERROR record."""
        try:
            self._stream()
        except (BrokenPipeError, KeyboardInterrupt):
            return  # the syncer stopped reading: it is stopping
        except Exception as exc:  # noqa: BLE001 - every failure goes to the syncer, coded
            error = exc if isinstance(exc, DMError) else wrap(exc)
            with contextlib.suppress(BrokenPipeError):
                try:  # what was read before the failure is still good
                    self._send()
                except Exception:  # noqa: BLE001 - sending was the failure: the error goes alone
                    self._records, self._events = [], 0
                write_frame(self._out, (0, [(ERROR, error.to_process_error())]))

    def _stream(self) -> None:
        for group, xid in self.setup.xa_groups:
            self._hold_again(group, xid)
        start = self.setup.start
        self._file = start.file
        if self.setup.relay_dir is not None:
            with RelayStream(RelayDir(self.setup.relay_dir), self.setup.source_id,
                             self.schema) as relay:
                relay.start_at(start)
                self.pump(relay.events(), relay.ready)
            return
        replica = ReplicaConnection(self.setup.replica, self.schema, annotate_rows=False)
        if self.setup.by_gtid and start.gtid_set is not None:
            replica.start_at_gtid(start.gtid_set)
        else:
            replica.start_at(start)
        with replica:
            self.pump(replica.events(), replica.ready)

    def _hold_again(self, group: Location, xid: str) -> None:
        """Read the event group of XA transaction `xid`, prepared before the start, from
        `group` to its XA_PREPARE event, holding its rows as when it was first read;
        nothing of it is sent (its XA_PREPARED was, in an earlier run). Where the sync
        goes by GTID, the upstream finds the group after `group`'s GTID set: it may be
        another server now, the old one's promoted replica, whose files and positions
        are not the old one's."""
        self._file = group.file
        self._rereading = True
        if self.setup.relay_dir is not None:
            with RelayStream(RelayDir(self.setup.relay_dir), self.setup.source_id,
                             self.schema) as relay:
                relay.start_at(group)
                self._read_group(relay.events())
        else:
            replica = ReplicaConnection(self.setup.replica, self.schema, annotate_rows=False)
            with replica:
                if self.setup.by_gtid and group.gtid_set is not None:
                    replica.start_at_gtid(group.gtid_set, non_blocking=True)
                    self._read_group(_xa_group(replica.events(), xid, group))
                else:
                    replica.start_at(group)
                    self._read_group(replica.events())
        self._discard()
        self._gtid, self._open, self._rereading = None, False, False

    def _read_group(self, events: Iterable[Event]) -> None:
        for event in events:
            self._translate(event)
            if isinstance(event, XaPrepareEvent):
                return
            if self._xa.open is None and any(r[0] in _NOT_THE_GROUP for r in self._records):
                raise SYNC_XA_GROUP_GONE(where=f"{self._file}:{self._start}")

    def _discard(self) -> None:
        """Nothing read again is sent: its records were sent in an earlier run."""
        self._records, self._events, self._rows, self._bytes = [], 0, 0, 0

    def schema(self, schema: str, table: str) -> TableSchema | None:
        """The decoder's schema provider (asked at each TABLE_MAP): the syncer's answer;
        None before the table's `until` (its rows are skipped, and the binlog may hold
        them under an older schema than the tracked one), except in a prepared XA
        transaction's group read again: its rows are still to be applied."""
        answer = self._answer(schema, table)
        if answer.until is not None and not self._rereading and self._there_already(
                answer, self._start):
            return None
        return answer.schema

    def pump(self, events: Iterable[Event], ready: Callable[[], bool]) -> None:
        """Translate `events` into records, sending a batch when it is full or when
        `ready()` says the next event is not here yet."""
        for event in events:
            self._events += 1
            self._translate(event)
            if (len(self._records) >= MAX_RECORDS or self._rows >= MAX_ROWS  # _full(),
                    or self._bytes >= MAX_BYTES or not ready()  # inline: once an event
                    or (self._events & 63 == 0 and self._clock() >= self._due)):
                self._send()
        self._send()

    def _full(self) -> bool:
        return (len(self._records) >= MAX_RECORDS or self._rows >= MAX_ROWS
                or self._bytes >= MAX_BYTES)

    def _send(self) -> None:
        if self._events or self._records:
            write_frame(self._out, (self._events, self._records))
            self._records = []
            self._events = self._rows = self._bytes = 0
        self._due = self._clock() + MAX_DELAY

    def _translate(self, event: Event) -> None:
        h = event.header
        if h.log_pos and not h.flags & LOG_EVENT_ARTIFICIAL_F:
            self._pos = h.log_pos
            self._start = h.log_pos - h.event_size
            self._inner = 0
        handle = self._handlers.get(type(event))
        if handle is not None:  # the others (TABLE_MAP, FORMAT_DESCRIPTION...) fold away
            handle(event)

    def _on_rows(self, event: RowsEvent) -> None:
        h = event.header
        table = event.table
        kind = event.kind.value
        answer = self._answer(table.schema, table.table)
        if h.log_pos:
            start = h.log_pos - h.event_size
        else:
            self._inner += 1
            start = self._start + self._inner
        if kind in answer.skip or (answer.until is not None and not self._rereading
                                   and self._there_already(answer, start)):
            return
        if False in event.columns_present or (event.columns_present_after is not None
                                              and False in event.columns_present_after):
            raise self._incomplete_image(event)
        rows = event.rows
        record = (ROWS, start, h.timestamp, table.schema, table.table, kind, rows,
                  h.event_size, self._gtid)
        held = self._xa.open
        if held is not None:
            held.append(record)
        else:  # _add_rows, inline: the hot path
            self._rows += len(rows)
            self._bytes += h.event_size
            self._records.append(record)

    def _there_already(self, answer: TableAnswer, pos: int) -> bool:
        """Whether a table's event at `pos` is before the table's start (`until`): by its
        transaction's GTID where the start has a GTID set (positions of two servers mean
        nothing to each other after an upstream switch), else by file and position."""
        assert answer.until is not None
        held = answer.until_gtids
        if held is not None and self._gtid:
            known = self._in_start
            if known is None or known[0] != self._gtid or known[1] is not held:
                inside = holds_gtid(held, self._gtid)
                if inside is None:  # not a GTID of that set's flavour: positions decide
                    return _before((self._file, pos), answer.until)
                self._in_start = (self._gtid, held)
                self._in_start_answer = inside
            return self._in_start_answer
        return _before((self._file, pos), answer.until)

    def _on_xid(self, event: XidEvent) -> None:
        self._end_group(event.header.timestamp)

    def _on_mariadb_gtid(self, event: MariadbGtidEvent) -> None:
        self._group_start = self._start
        self._gtid = str(event.gtid)
        self._open = not event.standalone  # MariaDB writes no BEGIN: this is it
        if event.prepared_xa:  # nor XA START
            self._xa.start()

    def _on_gtid(self, event: GtidEvent) -> None:
        self._group_start = self._start
        self._gtid = event.gtid

    def _on_rotate(self, event: RotateEvent) -> None:
        self._file = event.next_file
        self._records.append((ROTATE, event.next_file, event.position))

    def _on_heartbeat(self, event: HeartbeatEvent) -> None:
        self._records.append((HEARTBEAT, event.log_file, event.log_pos))

    def _incomplete_image(self, event: RowsEvent) -> DMError:
        """A minimal or noblob row image: its missing columns cannot be written exactly."""
        present = [a and (b if event.columns_present_after is not None else True)
                   for a, b in zip(event.columns_present,
                                   event.columns_present_after or event.columns_present,
                                   strict=True)]
        schema = self._answer(event.table.schema, event.table.table).schema
        names = [c.name for c in schema.columns] if schema is not None else []
        missing = [names[i] if i < len(names) else f"#{i + 1}"
                   for i, p in enumerate(present) if not p]
        h = event.header
        return SYNC_ROW_IMAGE_INCOMPLETE(
            table=f"`{event.table.schema}`.`{event.table.table}`",
            where=f"{self._file}:{h.log_pos - h.event_size}", columns=", ".join(missing))

    def _add_rows(self, record: Record) -> None:
        self._rows += len(record[6])
        self._bytes += record[7]
        self._records.append(record)

    def _xa_prepared(self, event: XaPrepareEvent) -> None:
        """An XA transaction's rows end here: held until its XA COMMIT, unless this is
        MySQL's XA COMMIT ... ONE PHASE (or no XA START was read: sent as they came)."""
        if event.one_phase or self._xa.open is None:
            self._commit_open_xa(event.header.timestamp)
            return
        xid = Xid(event.gtrid, event.bqual, event.format_id)
        self._xa.prepare(xid)
        self._records.append((XA_PREPARED, self._pos, self._group_start,
                              event.header.timestamp, self._gtid, str(xid)))
        self._gtid = None
        self._open = False

    def _commit_open_xa(self, timestamp: int) -> None:
        """The XA transaction being read commits now: its rows go at their own places."""
        held = self._xa.take_open()
        if held is not None:
            for record in held:
                self._add_rows(record)
                if self._full():
                    self._send()
            held.close()
        self._end_group(timestamp)

    def _xa_ended(self, xa: XaStatement, event: QueryEvent) -> None:
        """XA COMMIT or XA ROLLBACK of a prepared transaction: its held rows go now, placed
        at this statement, or never."""
        held: HeldRecords | None = self._xa.end(xa.xid)
        start = self._pos - event.header.event_size
        committed = xa.verb == "COMMIT"
        if held is not None:
            if committed:
                for record in held:
                    self._add_rows((ROWS, start, *record[2:8], self._gtid))  # the commit's
                    if self._full():
                        self._send()
            held.close()
        self._records.append((XA_ENDED, self._pos, start, event.header.timestamp, self._gtid,
                              str(xa.xid), committed, held is not None))
        self._gtid = None
        self._open = False

    def _end_group(self, timestamp: int) -> None:
        """The open transaction's group ends here: a safe resume point, with its GTID."""
        self._records.append((XID, self._pos, timestamp, self._gtid))
        self._gtid = None
        self._open = False

    def _query(self, event: QueryEvent) -> None:
        sql = event.query
        role = role_of(sql)
        if role is Role.BEGIN:
            if self._gtid is None:  # no GTID event opened the group (MySQL 5.6 without)
                self._group_start = self._start
            self._open = True
            if xa_statement(sql) is not None:  # MySQL's XA START
                self._xa.start()
        elif role is Role.END:
            xa = xa_statement(sql)
            if xa is None or self._xa.open is not None:  # a COMMIT, or XA ... ONE PHASE
                self._commit_open_xa(event.header.timestamp)
            else:
                self._xa_ended(xa, event)
        elif role is Role.STATEMENT:  # a statement inside a transaction does not end it
            sql, opens = split_atomic_create_select(sql)
            ends = not self._open
            h = event.header
            self._records.append((QUERY, self._pos, self._pos - h.event_size, h.timestamp,
                                  self._gtid if ends else None, event.schema, sql,
                                  event.status.sql_mode, ends, event.status.time_zone,
                                  _charset(event.status.collation_server)))
            if ends:
                self._gtid = None
            self._open = self._open or opens
            self._answers.clear()  # the statement may have changed any table

    def _answer(self, schema: str, table: str) -> TableAnswer:
        answer = self._answers.get((schema, table))
        if answer is None:
            if self._rereading:
                self._discard()
            else:
                self._send()  # the syncer answers after everything before the question
            write_frame(self._out, (0, [(SCHEMA, schema, table)]))
            reply = read_frame(self._in)
            if not isinstance(reply, TableAnswer):
                raise SystemExit(0)  # the syncer is gone
            answer = self._answers[(schema, table)] = reply
        return answer


def _xa_group(events: Iterable[Event], xid: str, after: Location) -> Iterator[Event]:
    """The events of the group that prepares XA transaction `xid`, known by its GTID
    event (MariaDB) or its XA START (MySQL), and the ROTATEs (they name the files): a
    stream from a GTID set may bring other domains' groups first. The stream's end
    without it is an error."""
    opening: Event | None = None  # a MySQL group's GTID event, until its first statement
    mine = False
    for event in events:
        kind = type(event)
        if mine:
            yield event
            if kind is XaPrepareEvent:
                return
        elif kind is RotateEvent:
            yield event
        elif isinstance(event, MariadbGtidEvent):
            mine = event.prepared_xa and event.xa_gtrid is not None and str(Xid(
                event.xa_gtrid, event.xa_bqual, event.xa_format_id)) == xid
            if mine:
                yield event
        elif kind is GtidEvent:
            opening = event
        elif opening is not None and isinstance(event, QueryEvent):
            xa = xa_statement(event.query)
            mine = xa is not None and xa.verb in ("START", "BEGIN") and str(xa.xid) == xid
            if mine:
                yield opening
                yield event
            opening = None
    raise SYNC_XA_GROUP_GONE(where=f"after {gtid_text(after)} (XA transaction {xid})")


def _before(a: tuple[str, int], b: tuple[str, int]) -> bool:
    return (file_key(a[0]), a[1]) < (file_key(b[0]), b[1])


def _charset(collation_id: int | None) -> str | None:
    """The session's character_set_server as its query event logs it (a collation id)."""
    return None if collation_id is None else charset_of_collation(collation_id)


def _prctl(option: int, arg: int | bytes) -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(option, arg)


def main() -> None:
    """Wait for the setup (the worker starts a reader ahead, its imports done before a
    sync unit needs it: dm.sync.feed), then read."""
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # never outlive the worker (kill -9 included)
    parent = os.getppid()
    answers_in = sys.stdin.buffer
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print cannot corrupt frames
    setup = read_frame(answers_in)
    if setup is None:
        raise SystemExit(0)  # started ahead and never used: the worker stopped
    if not isinstance(setup, ReaderSetup):
        raise SystemExit("dm.sync.reader is started by the sync unit, not by hand")
    if parent != setup.parent_pid:
        raise SystemExit(0)
    _prctl(_PR_SET_NAME, READER_NAME)  # `ps` and `top` tell it from a reader started ahead
    tune_gc()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    Reader(setup, answers_in, out).run()


if __name__ == "__main__":  # run the importable module's main: frames pickle its classes
    from dm.sync.reader import main as module_main

    module_main()

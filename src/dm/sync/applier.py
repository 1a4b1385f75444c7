"""`worker-count` appliers, each with its own downstream connection and bounded queue.

`submit` only buffers: changes travel to a worker in chunks (`send`, or a full chunk),
so the syncer pays one queue hand-off per chunk, not per row. A worker takes the chunks
its queue holds, up to `sizing.transaction_changes(batch)` changes, groups them by
downstream table in arrival order, and applies them in one transaction. Causality
(causality.py) decides the worker, so changes to one key always meet in one queue,
in order. `flush()` is a barrier: it returns once everything submitted before it is
committed, which is what a checkpoint or a DDL needs. A lost connection or a
deadlock is retried with the same batch in safe mode, so a downstream restart never
turns into a duplicate-key pause. A batch with changes of tables that safe mode cannot
replay writes their marks (applied.py) in its transaction, and is not retried when its
marks show that the lost COMMIT did happen.

Memory is bounded by bytes as well as by counts: each change comes with the size of its
row in the binlog; a chunk closes at `CHUNK_BYTES`, a worker's batch at `BATCH_BYTES`,
and `submit` waits while `IN_FLIGHT_BYTES` are handed over and not yet applied (one
chunk always goes, however large its rows).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pymysql

from dm import errors
from dm.binlog.location import Location
from dm.db import (
    CONNECTION_LOST,
    LOCK_CONFLICTS,
    Connection,
    Endpoint,
    connect,
    is_lock_conflict,
    lock_conflict_wait,
)
from dm.sync.applied import AppliedMarks, Mark, Table, last_marks
from dm.sync.change import RowChange
from dm.sync.sizing import transaction_changes

log = logging.getLogger(__name__)

StatementBuilder = Callable[[Sequence[RowChange], bool], list[tuple[str, list[Any]]]]
# a transaction applied: the applier's number, each target table's changes by kind, seconds
Applied = Callable[[int, dict[tuple[str, str], Counter[str]], float], None]
# lock conflicts (db.LOCK_CONFLICTS), and: refused, gone away, lost; TiDB's PD timeout,
# TiKV busy, resolve-lock timeout, info schema expired/changed
_RETRYABLE = LOCK_CONFLICTS | CONNECTION_LOST | {9001, 9003, 9004, 8027, 8028}
_RETRYABLE_1105 = ("information schema is out of date", "information schema is changed")
_MAX_RETRIES = 100
_RETRY_INTERVAL = 3.0  # a lost or refused connection: the server may be restarting
_CHUNK = 128  # changes per hand-over to a worker: one queue operation each
_MIN_CHUNKS = 16
CHUNK_BYTES = 1 << 20
BATCH_BYTES = 8 << 20
IN_FLIGHT_BYTES = 64 << 20
_SHOWN_SQL = 300  # characters of a failing statement shown in its error
_NOTHING = object()  # "no control item follows this batch"


@dataclass
class Chunk:
    safe: bool
    changes: list[RowChange]
    read_from: Location  # where the first and the last change were read
    read_to: Location
    size: int = 0  # the changes' bytes in the binlog


class _Barrier:
    def __init__(self, parties: int) -> None:
        self.remaining = parties
        self.done = threading.Event()
        self.lock = threading.Lock()

    def arrive(self) -> None:
        with self.lock:
            self.remaining -= 1
            if self.remaining == 0:
                self.done.set()


class Applier:
    def __init__(self, target: Endpoint, worker_count: int, batch: int, queue_size: int,
                 build: StatementBuilder, marks: AppliedMarks | None = None,
                 applied: Applied | None = None) -> None:
        self.target = target
        self.on_applied = applied
        self.marks = marks
        self.batch = max(1, batch)
        self.take = transaction_changes(self.batch)  # changes a transaction takes at most
        self.build = build
        # queue-size counts changes, as in DM; a queue holds chunks of up to `chunk_size`.
        # Room for a few chunks at least: a syncer blocked on a full queue stalls the whole
        # pipeline behind it (measured: lag p50 9 ms with 16 chunks, 170 ms with 2)
        self.chunk_size = min(self.batch, _CHUNK)
        self.queues: list[queue.Queue[Chunk | _Barrier | None]] = [
            queue.Queue(maxsize=max(_MIN_CHUNKS, queue_size // self.chunk_size))
            for _ in range(max(1, worker_count))]
        self._pending: list[Chunk | None] = [None] * len(self.queues)
        self.failure: errors.DMError | None = None
        self.applied_rows = 0
        self._threads: list[threading.Thread] = []
        self._count_lock = threading.Lock()
        self._in_flight = 0  # bytes handed over, not yet applied
        self._room = threading.Condition()

    @property
    def worker_count(self) -> int:
        return len(self.queues)

    def start(self) -> None:
        for i, q in enumerate(self.queues):
            t = threading.Thread(target=self._worker, args=(i, q), name=f"apply-{i}",
                                 daemon=True)
            t.start()
            self._threads.append(t)

    def submit(self, worker: int, change: RowChange, safe: bool, where: Location,
               size: int = 0) -> None:
        """Buffer a change of `size` bytes read at `where` for `worker` (syncer thread
        only); `send` hands the buffers over."""
        chunk = self._pending[worker]
        if chunk is None or chunk.safe != safe:
            if chunk is not None:
                self._hand_over(worker, chunk)
            chunk = self._pending[worker] = Chunk(safe, [], where, where)
        chunk.changes.append(change)
        chunk.read_to = where
        chunk.size += size
        if len(chunk.changes) >= self.chunk_size or chunk.size >= CHUNK_BYTES:
            self._hand_over(worker, chunk)
            self._pending[worker] = None

    def send(self) -> None:
        """Hand every buffered change to its worker."""
        for worker, chunk in enumerate(self._pending):
            if chunk is not None:
                self._hand_over(worker, chunk)
                self._pending[worker] = None

    def _hand_over(self, worker: int, chunk: Chunk) -> None:
        with self._room:
            while self._in_flight and self._in_flight + chunk.size > IN_FLIGHT_BYTES:
                self.check()
                self._room.wait(0.2)
            self._in_flight += chunk.size
        self.check()
        self.queues[worker].put(chunk)

    def _applied(self, size: int) -> None:
        with self._room:
            self._in_flight -= size
            self._room.notify_all()

    def flush(self) -> None:
        """Wait until everything submitted so far is committed downstream."""
        self.send()
        barrier = _Barrier(self.worker_count)
        for q in self.queues:
            q.put(barrier)
        while not barrier.done.wait(0.2):
            self.check()
        self.check()

    def close(self) -> None:
        """Stop the workers; what `submit` buffered but nobody sent is dropped."""
        for q in self.queues:
            q.put(None)
        for t in self._threads:
            t.join()

    def check(self) -> None:
        """Raise the failure of a batch applied so far, if any."""
        if self.failure is not None:
            raise self.failure

    # --- worker side --------------------------------------------------------------------
    def _session(self) -> Connection:
        return connect(self.target, what="downstream", autocommit=False)

    def _worker(self, index: int, q: queue.Queue[Chunk | _Barrier | None]) -> None:
        conn: Connection | None = None
        while True:
            item: Chunk | _Barrier | object | None = q.get()
            changes: list[RowChange] = []
            safe = False
            read: list[Location] = []
            size = 0
            while isinstance(item, Chunk):
                changes += item.changes
                safe = safe or item.safe
                read += (item.read_from, item.read_to)
                size += item.size
                try:
                    item = q.get_nowait() if len(changes) < self.take and \
                        size < BATCH_BYTES else _NOTHING
                except queue.Empty:
                    item = _NOTHING
            if changes and self.failure is None:
                try:
                    conn = self._apply(conn, changes, safe, f"{read[0].short()} to "
                                                            f"{read[-1].short()}", index)
                except Exception as exc:  # noqa: BLE001 - handed to the syncer via flush()
                    self.failure = errors.wrap(exc)
            if size:
                self._applied(size)  # after a failure too: the syncer must not wait on it
            if isinstance(item, _Barrier):
                item.arrive()
            elif item is None:
                break
        if conn is not None:
            _close_quietly(conn)

    def _apply(self, conn: Connection | None, changes: list[RowChange], safe: bool,
               read: str, index: int = 0) -> Connection:
        by_table: dict[tuple[str, str], list[RowChange]] = {}
        for change in changes:
            by_table.setdefault(change.target, []).append(change)
        marks = last_marks(changes) if self.marks is not None else {}
        began = time.monotonic()
        for attempt in range(_MAX_RETRIES):
            try:
                conn = conn or self._session()
                if attempt and marks and self._committed(conn, marks):
                    break  # the COMMIT whose answer was lost did happen
                self._execute(conn, by_table, safe, marks)
                break
            except (pymysql.err.MySQLError, errors.DMError) as exc:
                if conn is not None:
                    _close_quietly(conn)
                conn = None
                if isinstance(exc, errors.DMError) and exc.code == errors.WORKER_FENCED.code:
                    raise  # not the batch's fault: the worker resumes it (dm.worker.node)
                if not _retryable(exc) or attempt == _MAX_RETRIES - 1:
                    tables = ", ".join(f"`{s}`.`{t}`" for s, t in by_table)
                    failed = "".join(getattr(exc, "__notes__", []))
                    raise errors.DB_EXEC(exc, target=self.target.target,
                                         sql=f"a batch of {len(changes)} changes to {tables} "
                                             f"read from binlog {read}{failed}") from exc
                log.warning("apply failed (%s); retrying in safe mode", exc)
                safe = True  # the lost commit may have happened: replay idempotently
                time.sleep(retry_delay(exc, attempt))
        assert conn is not None
        with self._count_lock:
            self.applied_rows += len(changes)
        if self.on_applied is not None:
            self.on_applied(index, {t: Counter(c.kind for c in cs)  # a StrEnum: its value
                                    for t, cs in by_table.items()}, time.monotonic() - began)
        return conn

    def _committed(self, conn: Connection, marks: dict[Table, Mark]) -> bool:
        assert self.marks is not None
        committed = self.marks.committed(conn, marks)
        conn.commit()  # end the read's snapshot before the batch's transaction
        return committed

    def _execute(self, conn: Connection, by_table: dict[tuple[str, str], list[RowChange]],
                 safe: bool, marks: dict[Table, Mark]) -> None:
        with conn.cursor() as cur:
            for changes in by_table.values():
                for sql, args in self.build(changes, safe):
                    try:
                        cur.execute(sql, args)
                    except pymysql.err.MySQLError as exc:
                        shown = sql if len(sql) <= _SHOWN_SQL else sql[:_SHOWN_SQL] + " ..."
                        exc.add_note(f"; the failing statement: {shown}")
                        raise
            if marks:
                assert self.marks is not None
                self.marks.write(cur, marks)
        conn.commit()


def retry_delay(exc: pymysql.err.MySQLError | errors.DMError, attempt: int) -> float:
    """Seconds before retry `attempt` (0 first) of a batch that failed with `exc`."""
    if is_lock_conflict(exc):
        return lock_conflict_wait(attempt)
    return _RETRY_INTERVAL if attempt else 0.2


def _retryable(exc: pymysql.err.MySQLError | errors.DMError) -> bool:
    """Lost or refused connections and lock conflicts: the same batch can run again."""
    if isinstance(exc, errors.DMError):
        return exc.code == errors.DB_UNREACHABLE.code
    if exc.args and exc.args[0] == 1105:  # TiDB's "unknown error" carries these too
        return any(text in str(exc.args[-1]).lower() for text in _RETRYABLE_1105)
    return bool(exc.args) and exc.args[0] in _RETRYABLE


def _close_quietly(conn: Connection) -> None:
    with contextlib.suppress(pymysql.err.Error):
        conn.close()

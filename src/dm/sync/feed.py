"""The syncer's side of the binlog reader process (reader.py): start it, take its batches,
answer its questions about tables, and stop it.

A worker keeps one reader process started ahead (`warm_reader`): its imports are done
while it waits for a setup, so a sync unit that starts (a task's start, every resume)
does not wait for them (about 0.2 s). It is started from a thread that lives as long as
the worker, because a child's death signal follows the thread that started it.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from dm import errors
from dm.binlog.location import Location
from dm.binlog.replica import ReplicaConfig
from dm.sync.frames import read_frame, write_frame
from dm.sync.reader import ReaderSetup
from dm.sync.records import ERROR, SCHEMA, Batch, TableAnswer

Answer = Callable[[str, str], TableAnswer]
_PIPE_SIZE = 1 << 20  # lets the reader run up to ~1 MiB ahead of the syncer
log = logging.getLogger(__name__)


class BinlogFeed:
    """Batches of records from one reader process; not thread-safe."""

    def __init__(self, replica: ReplicaConfig, start: Location, by_gtid: bool,
                 answer: Answer, relay_dir: Path | None = None, source_id: str = "",
                 xa_groups: tuple[tuple[Location, str], ...] = ()) -> None:
        """With `relay_dir`, the reader reads the relay log there instead of the upstream;
        it first reads the event groups of prepared XA transactions at `xa_groups`
        (where each starts, its xid)."""
        self._answer = answer
        origin = f"relay log {relay_dir}" if relay_dir is not None else replica.target
        self._where = f"{origin} from {start.short() if start.file else start}"
        setup = ReaderSetup(replica, start, by_gtid, os.getpid(), relay_dir, source_id,
                            xa_groups)
        self._proc = _WARM.take()
        try:
            self._hand(setup)
        except OSError:  # the reader started ahead died meanwhile: a new one
            _discard(self._proc)
            self._proc = _start_reader()
            self._hand(setup)

    def _hand(self, setup: ReaderSetup) -> None:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._to: IO[bytes] = self._proc.stdin
        self._from: IO[bytes] = self._proc.stdout
        with contextlib.suppress(OSError):  # above /proc/sys/fs/pipe-max-size: keep 64 KiB
            fcntl.fcntl(self._from.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
        write_frame(self._to, setup)

    def batches(self) -> Iterator[Batch]:
        """(events read, records) until the reader fails; its failure is raised here."""
        while True:
            batch: Batch | None = read_frame(self._from)
            if batch is None:
                code = self._proc.wait()
                raise errors.SYNC_READER_EXITED(exit_code=code, where=self._where)
            records = batch[1]
            if len(records) == 1 and records[0][0] == SCHEMA:
                _, schema, table = records[0]
                write_frame(self._to, self._answer(schema, table))
                continue
            if len(records) == 1 and records[0][0] == ERROR:
                raise errors.DMError.from_process_error(records[0][1])
            yield batch

    def close(self) -> None:
        _discard(self._proc)
        warm_reader()  # for the next start or resume


def warm_reader() -> None:
    """Have a reader process waiting for the next sync unit of this worker."""
    _WARM.warm()


def _start_reader() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "dm.sync.reader"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE)


class _WarmReader:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spare: subprocess.Popen[bytes] | None = None
        self._wanted = threading.Event()
        self._starter: threading.Thread | None = None

    def take(self) -> subprocess.Popen[bytes]:
        """The reader started ahead if it is still there, else a new one."""
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is not None and spare.poll() is None:
            return spare
        if spare is not None:  # it died: reaped, its pipes closed
            _discard(spare)
        return _start_reader()

    def warm(self) -> None:
        with self._lock:
            if self._starter is None:
                self._starter = threading.Thread(target=self._start_spares, daemon=True,
                                                 name="reader-starter")
                self._starter.start()
        self._wanted.set()

    def _start_spares(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            with self._lock:
                if self._spare is None or self._spare.poll() is not None:
                    if self._spare is not None:
                        _discard(self._spare)
                    try:
                        self._spare = _start_reader()
                    except OSError as exc:  # out of processes or files: a sync unit
                        self._spare = None  # starts its own, and says why it cannot
                        log.warning("no binlog reader started ahead: %s", exc)


def _discard(proc: subprocess.Popen[bytes]) -> None:
    for pipe in (proc.stdin, proc.stdout):
        with contextlib.suppress(OSError):
            if pipe is not None:
                pipe.close()
    if proc.poll() is None:
        proc.kill()
    proc.wait()


_WARM = _WarmReader()

"""The syncer's side of the binlog reader process (reader.py): start it, take its batches,
answer its questions about tables, and stop it."""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import sys
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


class BinlogFeed:
    """Batches of records from one reader process; not thread-safe."""

    def __init__(self, replica: ReplicaConfig, start: Location, by_gtid: bool,
                 answer: Answer, relay_dir: Path | None = None, source_id: str = "",
                 xa_groups: tuple[Location, ...] = ()) -> None:
        """With `relay_dir`, the reader reads the relay log there instead of the upstream;
        it first reads the event groups of prepared XA transactions at `xa_groups`."""
        self._answer = answer
        origin = f"relay log {relay_dir}" if relay_dir is not None else replica.target
        self._where = f"{origin} from {start.short() if start.file else start}"
        self._proc = subprocess.Popen([sys.executable, "-m", "dm.sync.reader"],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._to: IO[bytes] = self._proc.stdin
        self._from: IO[bytes] = self._proc.stdout
        with contextlib.suppress(OSError):  # above /proc/sys/fs/pipe-max-size: keep 64 KiB
            fcntl.fcntl(self._from.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
        write_frame(self._to, ReaderSetup(replica, start, by_gtid, os.getpid(), relay_dir,
                                           source_id, xa_groups))

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
        with contextlib.suppress(OSError):
            self._to.close()
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        with contextlib.suppress(OSError):
            self._from.close()

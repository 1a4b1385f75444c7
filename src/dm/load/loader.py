"""The load unit: routed CREATEs, then chunk files loaded by `pool-size` connections.

Each chunk is one transaction: LOAD DATA LOCAL INFILE ... REPLACE (so a replayed or
merged row never fails or doubles) plus its checkpoint row. Any warning (truncation,
bad value) fails the chunk instead of silently changing data. Chunks are accepted
while the dump is still running, so dump and load overlap.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pymysql

from dm import errors
from dm.db import Connection, Endpoint, connect, qualified, quote
from dm.dump.plan import Chunk, TablePlan, schema_file
from dm.dump.tsv import LOAD_OPTIONS
from dm.load.checkpoint import LoaderCheckpoint

log = logging.getLogger(__name__)

# DM's loader sql_mode: no strictness (warnings are checked instead), zero ids kept.
LOAD_SQL_MODE = "IGNORE_SPACE,NO_AUTO_VALUE_ON_ZERO,ALLOW_INVALID_DATES"
_CREATE_TABLE = re.compile(rb"^CREATE TABLE `(?:[^`]|``)+`", re.I)

Router = Callable[[str, str], tuple[str, str]]


@dataclass(frozen=True)
class LoadSettings:
    pool_size: int = 16
    clean_dump_file: bool = True


class Loader:
    def __init__(self, target: Endpoint, settings: LoadSettings, directory: Path,
                 checkpoint: LoaderCheckpoint, route: Router, stop: threading.Event,
                 loaded_before: int = 0) -> None:
        self.target = target
        self.settings = settings
        self.dir = directory
        self.checkpoint = checkpoint
        self.route = route
        self.stop = stop
        self.loaded_chunks = loaded_before  # chunks loaded by earlier runs count too
        self.finished_bytes = 0
        self._queue: queue.Queue[tuple[TablePlan, Chunk, Path] | None] = queue.Queue()
        self._created: set[tuple[str, str]] = set()
        self._create_lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._failures: list[BaseException] = []
        self._threads: list[threading.Thread] = []

    def status(self) -> dict[str, object]:
        return {"finishedBytes": self.finished_bytes, "loadedChunks": self.loaded_chunks}

    def session(self) -> Connection:
        conn = connect(self.target, what="downstream", local_infile=True)
        with conn.cursor() as cur:
            cur.execute("SET SESSION sql_mode = %s", (LOAD_SQL_MODE,))
            cur.execute("SET SESSION foreign_key_checks = 0")
        return conn

    def start(self) -> None:
        for i in range(max(1, self.settings.pool_size)):
            t = threading.Thread(target=self._worker, name=f"load-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def submit(self, table: TablePlan, chunk: Chunk, path: Path) -> None:
        self._queue.put((table, chunk, path))

    def finish(self) -> None:
        """No more chunks will come: wait for the queued ones, raise the first failure."""
        for _ in self._threads:
            self._queue.put(None)
        for t in self._threads:
            t.join()
        if self._failures:
            raise self._failures[0]

    def _worker(self) -> None:
        conn: Connection | None = None
        try:
            while (item := self._queue.get()) is not None:
                if self.stop.is_set() or self._failures:
                    continue
                conn = conn or self.session()
                self._load_chunk(conn, *item)
        except BaseException as exc:  # noqa: BLE001 - reported by finish()
            self._failures.append(exc)
            while self._queue.get() is not None:  # drain so finish() never blocks
                pass
        finally:
            if conn is not None:
                conn.close()

    def _ensure_table(self, conn: Connection, table: TablePlan) -> tuple[str, str]:
        target = self.route(table.schema, table.table)
        with self._create_lock:
            if target not in self._created:
                create = (self.dir / schema_file(table.schema, table.table)).read_bytes()
                create = _CREATE_TABLE.sub(
                    b"CREATE TABLE IF NOT EXISTS " + qualified(*target).encode(), create, 1)
                with conn.cursor() as cur:
                    cur.execute(f"CREATE DATABASE IF NOT EXISTS {quote(target[0])}")
                    cur.execute(create.rstrip(b";\n"))
                self._created.add(target)
        return target

    def _load_chunk(self, conn: Connection, table: TablePlan, chunk: Chunk, path: Path) -> None:
        target = self._ensure_table(conn, table)
        columns = ", ".join(quote(c) for c, _ in table.columns)
        size = path.stat().st_size
        try:
            with conn.cursor() as cur:
                cur.execute("BEGIN")
                cur.execute(f"LOAD DATA LOCAL INFILE {conn.escape(str(path))} REPLACE INTO TABLE "
                            f"{qualified(*target)} {LOAD_OPTIONS} ({columns})")
                if cur.warning_count:
                    cur.execute("SHOW WARNINGS")
                    bad = [w for w in cur.fetchall() if w[0] != "Note"]
                    if bad:
                        raise errors.LOAD_EXEC(f"{bad[0][0]} {bad[0][1]}: {bad[0][2]}",
                                               file=path.name, table=qualified(*target))
                self.checkpoint.record(conn, path.name, *target, size)
                cur.execute("COMMIT")
        except pymysql.err.MySQLError as exc:
            conn.rollback()
            raise errors.LOAD_EXEC(exc, file=path.name, table=qualified(*target)) from exc
        except errors.DMError:
            conn.rollback()
            raise
        if self.settings.clean_dump_file:
            path.unlink(missing_ok=True)
        with self._count_lock:
            self.loaded_chunks += 1
            self.finished_bytes += size

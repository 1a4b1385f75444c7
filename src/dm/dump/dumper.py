"""The dump unit: plan, snapshot, then chunk files written by `threads` connections.

A chunk file appears (atomically renamed) only once complete, so a killed dump
resumes with the chunks still missing; those are taken under a fresh snapshot
whose position is recorded too (see metadata.py).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pymysql

from dm import errors
from dm.core.schemas import Selection
from dm.db import Connection, Endpoint, connect, qualified, query_one, quote
from dm.dump import plan as planning
from dm.dump import schemaguard
from dm.dump.files import DONE_FILE, DataFile, DumpedTable
from dm.dump.metadata import write_metadata
from dm.dump.plan import Chunk, DumpPlan, TablePlan
from dm.dump.snapshot import SnapshotPosition, take_snapshot
from dm.dump.snapshots import record_snapshot, used
from dm.dump.tsv import row_expr
from dm.schema import catalog

log = logging.getLogger(__name__)

_ANNOUNCED_TABLES = 32  # tables planned per word to the loader
_SNAPSHOT_ATTEMPTS = 5  # snapshots taken while DDLs keep slipping in before the plan, or
# while XA transactions are prepared


@dataclass(frozen=True)
class DumpSettings:
    threads: int = 4
    rows: int = 200_000
    chunk_bytes: int = 64 << 20
    consistency: str = "auto"  # auto | flush | lock | none
    where: str = ""  # mydumpers.where / --where: only the rows it selects


ChunkReady = Callable[[DumpedTable, DataFile], None]
PlanReady = Callable[[list[DumpedTable], list[str]], None]  # tables, databases


class Dumper:
    def __init__(self, source: Endpoint, settings: DumpSettings, directory: Path,
                 selection: Selection, skip: Callable[[str], bool],
                 on_plan: PlanReady, on_chunk: ChunkReady, stop: threading.Event) -> None:
        self.source = source
        self.settings = settings
        self.dir = directory
        self.allows = selection.tables
        self.takes_database = selection.databases
        self.skip = skip  # chunk file names already loaded downstream
        self.on_plan = on_plan
        self.on_chunk = on_chunk
        self.stop = stop
        self.total_chunks = 0
        self.done_chunks = 0
        self.finished_bytes = 0
        self.total_tables = 0
        self._lock = threading.Lock()
        self._dumped: dict[tuple[str, str], DumpedTable] = {}

    @property
    def complete(self) -> bool:
        return (self.dir / DONE_FILE).exists()

    def status(self) -> dict[str, object]:
        return {"totalTables": self.total_tables, "totalChunks": self.total_chunks,
                "finishedChunks": self.done_chunks, "finishedBytes": self.finished_bytes,
                "progress": f"{100.0 * self.done_chunks / max(self.total_chunks, 1):.2f} %"}

    def run(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        if self.complete:  # only chunks on disk and not yet loaded are left to hand over
            plan = DumpPlan.load(self.dir)
            if plan is None:
                raise errors.LOAD_DUMP_DIR(path=str(self.dir))
            self._adopt(plan)
            if self._pending(plan):  # a finished dump lost chunk files: never load a hole
                raise errors.LOAD_DUMP_DIR(path=str(self.dir))
            return
        conns = [connect(self.source, what="upstream", raw=True)
                 for _ in range(max(1, self.settings.threads))]
        ctl = connect(self.source, what="upstream")
        planner = connect(self.source, what="upstream")
        locker = self._lock_tables() if self.settings.consistency == "lock" else None
        try:
            self._dump(ctl, planner, conns)
        finally:
            for c in [ctl, planner, *conns, *([locker] if locker else [])]:
                c.close()  # a closed session's LOCK TABLES are released

    def _lock_tables(self) -> Connection:
        """`--consistency lock`, as dumpling's: every table to dump is read-locked from
        before the snapshot until the dump ends, so tables of engines without transactions
        are consistent too; commits elsewhere go on."""
        conn = connect(self.source, what="upstream")
        tables = [(s, t) for s, t, _ in catalog.list_tables(conn, self.allows)]
        if tables:
            try:
                with conn.cursor() as cur:
                    cur.execute("LOCK TABLES " + ", ".join(f"{qualified(s, t)} READ"
                                                           for s, t in tables))
            except pymysql.err.MySQLError as exc:
                conn.close()
                raise errors.DUMP_SNAPSHOT(exc, target=self.source.target) from exc
        return conn

    def _dump(self, ctl: Connection, planner: Connection, conns: list[Connection]) -> None:
        """`ctl` takes the snapshot's locks; `planner` plans inside the snapshot."""
        max_packet = int(query_one(ctl, "SELECT @@max_allowed_packet")[0])  # type: ignore[index]
        for c in [ctl, planner, *conns]:
            with c.cursor() as cur:
                # Our SQL relies on backslash escapes in literals: neutralise the upstream's
                # sql_mode (NO_BACKSLASH_ESCAPES, ANSI_QUOTES, PAD_CHAR_TO_FULL_LENGTH...).
                cur.execute("SET SESSION sql_mode = ''")
                cur.execute(f"SET SESSION group_concat_max_len = {max_packet}")
        plan = DumpPlan.load(self.dir)
        snapshot, names = self._snapshot(ctl, planner, conns, plan)
        if plan is None:  # inside the snapshot, holding the tables' metadata locks
            target = min(self.settings.chunk_bytes, max_packet // 4, 16 << 20)
            plan = self._make_plan(planner, names, target)
            self._adopt(plan, tables_told=True)
        else:
            self._adopt(plan)
        planner.rollback()  # the definitions are written: DDL upstream may go on
        todo: queue.SimpleQueue[tuple[TablePlan, Chunk]] = queue.SimpleQueue()
        pending = self._pending(plan)
        record_snapshot(self.dir, snapshot, [c.file_name(t.schema, t.table) for t, c in pending])
        for item in pending:
            todo.put(item)
        failures: list[BaseException] = []
        threads = [threading.Thread(target=self._worker, args=(c, todo, failures), daemon=True)
                   for c in conns]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if failures:
            raise failures[0]
        if self.stop.is_set():
            return
        write_metadata(self.dir, used(self.dir))
        (self.dir / DONE_FILE).write_text("")

    def _snapshot(self, ctl: Connection, planner: Connection, conns: list[Connection],
                  plan: DumpPlan | None) -> tuple[SnapshotPosition, list[tuple[str, str]]]:
        """A snapshot for every connection and `planner`, and the tables to dump, whose
        definitions, from now until `planner`'s transaction ends, are the snapshot's
        (schemaguard.py), a new snapshot while a DDL slipped in between. Resuming `plan`:
        its unfinished tables, which must still have their planned definitions."""
        consistency = "auto" if self.settings.consistency == "lock" else \
            self.settings.consistency
        moved, prepared = "", tuple[str, ...]()
        for attempt in range(_SNAPSHOT_ATTEMPTS):
            snapshot, prepared = take_snapshot(ctl, [*conns, planner], consistency,
                                               self.source.target)
            log.info("snapshot at %s:%s gtid=%s (commits blocked %.1f ms)",
                     snapshot.binlog_name, snapshot.binlog_pos, snapshot.binlog_gtid,
                     snapshot.lock_seconds * 1000)
            if prepared:  # their rows would come at an XA COMMIT whose prepare sync never reads
                log.warning("dump: XA transactions prepared at the snapshot: %s; taking a "
                            "new snapshot", ", ".join(prepared))
                for conn in [*conns, planner]:
                    conn.rollback()
                time.sleep(0.2 * (attempt + 1))
                continue
            unfinished = [] if plan is None else self._without_dropped(
                planner, self._unfinished(plan))
            names = [(s, t) for s, t, _ in catalog.list_tables(planner, self.allows)] \
                if plan is None else [(t.schema, t.table) for t in unfinished]
            started = time.monotonic()
            moved = schemaguard.hold(planner, names, snapshot, self.allows) or ""
            if not moved and plan is not None:
                schemaguard.unchanged_since_planned(planner, unfinished, self.dir)
                return snapshot, []
            if not moved:
                log.info("the definitions of %d tables held for the plan in %.1f ms",
                         len(names), (time.monotonic() - started) * 1000)
                return snapshot, names
            log.warning("dump: %s; taking a new snapshot", moved)
            for conn in [*conns, planner]:
                conn.rollback()
        if prepared:
            raise errors.DUMP_XA_PREPARED(attempts=_SNAPSHOT_ATTEMPTS,
                                          target=self.source.target, xids=", ".join(prepared))
        raise errors.DUMP_SCHEMA_MOVING(attempts=_SNAPSHOT_ATTEMPTS, target=self.source.target,
                                        detail=moved)

    def _without_dropped(self, conn: Connection, tables: list[TablePlan]) -> list[TablePlan]:
        """`tables` without those dropped upstream while the dump was interrupted: their
        missing chunks are written empty (sync replays their rows from the first snapshot
        on, and their DROP TABLE). They are under no snapshot, so none of their row events
        is skipped."""
        existing = {(s, t) for s, t, _ in catalog.list_tables(conn, self.allows)}
        for table in tables:
            if (table.schema, table.table) in existing:
                continue
            log.warning("dump: %s was dropped while its dump was interrupted; its chunks "
                        "still to dump are left empty", qualified(table.schema, table.table))
            for chunk in table.chunks:
                path = self.dir / chunk.file_name(table.schema, table.table)
                if not path.exists() and not self.skip(path.name):
                    path.write_bytes(b"")
        return [t for t in tables if (t.schema, t.table) in existing]

    def _unfinished(self, plan: DumpPlan) -> list[TablePlan]:
        """The tables of a resumed plan with chunks neither on disk nor loaded."""
        return [t for t in plan.tables if any(
            not self.skip(name) and not (self.dir / name).exists()
            for name in (c.file_name(t.schema, t.table) for c in t.chunks))]

    def _pending(self, plan: DumpPlan) -> list[tuple[TablePlan, Chunk]]:
        """Hand chunk files already on disk to the loader; return the chunks still to dump."""
        missing = []
        for table in plan.tables:
            for chunk in table.chunks:
                path = self.dir / chunk.file_name(table.schema, table.table)
                if self.skip(path.name):
                    self._advance(0)
                elif path.exists():
                    self._advance(path.stat().st_size)
                    self._hand_over(table, path)
                else:
                    missing.append((table, chunk))
        return missing

    def _make_plan(self, conn: Connection, names: list[tuple[str, str]],
                   target_bytes: int) -> DumpPlan:
        """Plan every table of `names` and write its CREATE TABLE; the loader hears of
        tables in batches as they are planned, so it creates them while the rest are
        planned. A table's CREATE DATABASE is written before the loader hears of the
        table: it creates the database with the charset that file names."""
        tables: list[TablePlan] = []
        written: set[str] = set()
        told = 0
        for table in planning.plan_tables(conn, names, self.settings.rows, target_bytes):
            if table.schema not in written:
                self._write_database(conn, table.schema)
                written.add(table.schema)
            self._write_schema(conn, table.schema, table.table)
            tables.append(table)
            if len(tables) - told == _ANNOUNCED_TABLES or len(tables) == len(names):
                self.on_plan(DumpPlan(tables[told:]).dumped_tables(self.dir), [])
                told = len(tables)
        databases = sorted({*filter(self.takes_database, catalog.list_databases(
            conn, self.allows)), *(t.schema for t in tables)})
        for database in databases:
            if database not in written:
                self._write_database(conn, database)
        plan = DumpPlan(tables, databases)
        plan.save(self.dir)
        return plan

    def _write_database(self, conn: Connection, schema: str) -> None:
        row = query_one(conn, f"SHOW CREATE DATABASE {quote(schema)}")
        assert row is not None
        (self.dir / planning.database_file(schema)).write_text(f"{row[1]};\n")

    def _write_schema(self, conn: Connection, schema: str, table: str) -> None:
        row = query_one(conn, f"SHOW CREATE TABLE {qualified(schema, table)}")
        assert row is not None
        (self.dir / planning.schema_file(schema, table)).write_text(f"{row[1]};\n")

    def _adopt(self, plan: DumpPlan, tables_told: bool = False) -> None:
        """Tell the loader the plan (its databases only when its tables were told while
        planning), and count what there is to do."""
        tables = plan.dumped_tables(self.dir)
        self._dumped = {(t.schema, t.table): t for t in tables}
        self.on_plan([] if tables_told else tables, plan.databases)
        self.total_tables = len(plan.tables)
        self.total_chunks = sum(len(t.chunks) for t in plan.tables)

    def _advance(self, size: int) -> None:
        with self._lock:
            self.done_chunks += 1
            self.finished_bytes += size

    def _worker(self, conn: Connection, todo: queue.SimpleQueue[tuple[TablePlan, Chunk]],
                failures: list[BaseException]) -> None:
        while not self.stop.is_set() and not failures:
            try:
                table, chunk = todo.get_nowait()
            except queue.Empty:
                return
            try:
                path = self._dump_chunk(conn, table, chunk)
            except pymysql.err.MySQLError as exc:
                failures.append(errors.DUMP_RUNTIME(exc, table=qualified(table.schema,
                                                                           table.table)))
                return
            except BaseException as exc:  # noqa: BLE001 - handed to the unit's thread
                failures.append(exc)
                return
            self._advance(path.stat().st_size)
            self._hand_over(table, path)

    def _hand_over(self, table: TablePlan, path: Path) -> None:
        self.on_chunk(self._dumped[table.schema, table.table],
                      DataFile(path, table.column_names))

    def _dump_chunk(self, conn: Connection, table: TablePlan, chunk: Chunk) -> Path:
        final = self.dir / chunk.file_name(table.schema, table.table)
        tmp = final.with_suffix(".part")
        source = (f"FROM {qualified(table.schema, table.table)}"
                  f"{table.where(chunk, self.settings.where)}")
        line = row_expr(table.columns)
        with conn.cursor() as cur:
            if table.chunk_key is not None:
                cur.execute(f"SELECT COUNT(*), GROUP_CONCAT({line} SEPARATOR '\\n') {source}")
                count, data = cur.fetchone()
                if data is None or data.count(b"\n") + 1 == int(count):
                    tmp.write_bytes(b"" if data is None else data + b"\n")
                    os.replace(tmp, final)
                    return final
                log.info("chunk %s too large for one GROUP_CONCAT; streaming it", final.name)
        self._stream_chunk(conn, f"SELECT {line} {source}", tmp)
        os.replace(tmp, final)
        return final

    def _stream_chunk(self, conn: Connection, sql: str, tmp: Path) -> None:
        cur = pymysql.cursors.SSCursor(conn)
        try:
            cur.execute(sql)
            with open(tmp, "wb", buffering=1 << 20) as out:
                while rows := cur.fetchmany(5000):
                    out.write(b"".join(r[0] + b"\n" for r in rows))
        finally:
            cur.close()


"""The load unit: routed CREATEs, then data files loaded by `pool-size` connections.

A pydm TSV chunk is one transaction: LOAD DATA LOCAL INFILE plus its checkpoint row. A
SQL file (mydumper's, dumpling's) runs its INSERTs, routed, in transactions of about
TXN_BYTES, each with the checkpoint's offset. `on-duplicate` says what a row whose key
is already there does: replace it (the default: a replayed or merged row never fails or
doubles), keep the old one (ignore), or stop the load (error). Any other warning
(truncation, bad value) fails the file instead of silently changing data. Files are
accepted while the dump is still running, so dump and load overlap. Connections prefer
tables no other connection is loading (two loaders in one B-tree contend for its
latches), and a table's deferred secondary indexes are built once its last file is in.
Only tables of several files or of DEFER_INDEXES_BYTES are worth deferring: for a small
table, an ALTER TABLE and one more commit cost more than keeping its indexes while it
loads. A connection with no file to load creates the tables still to come, in the dump's
order, so that CREATE TABLEs overlap the dump instead of queueing behind one lock; and
small chunks of several tables share one transaction (one commit, one checkpoint
statement), up to SMALL_BATCH_FILES of them.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pymysql

from dm import errors
from dm.db import (
    Connection,
    Endpoint,
    connect,
    is_lock_conflict,
    lock_conflict_wait,
    qualified,
    query_all,
    quote,
)
from dm.dump.dumpdir import is_session_statement, schema_statements
from dm.dump.files import DataFile, DumpedTable
from dm.dump.plan import database_file, file_part
from dm.dump.sqlfile import statements
from dm.dump.tsv import LOAD_OPTIONS
from dm.load.checkpoint import LoaderCheckpoint
from dm.load.indexes import split_secondary_indexes
from dm.rules.column_mapping import ColumnMapping, ColumnRule, MappingError
from dm.rules.router import Extension, TableRouter

log = logging.getLogger(__name__)

# DM's loader sql_mode: no strictness (warnings are checked instead), zero ids kept.
LOAD_SQL_MODE = "IGNORE_SPACE,NO_AUTO_VALUE_ON_ZERO,ALLOW_INVALID_DATES"
_CREATE_TABLE = re.compile(r"^CREATE TABLE `(?:[^`]|``)+`", re.I)
_DATABASE_CHARSET = re.compile(r"DEFAULT CHARACTER SET (\w+)(?: COLLATE (\w+))?", re.I)
_INSERT = re.compile(rb"\s*(?:INSERT|REPLACE)(?:\s+IGNORE)?\s+INTO\s+"
                     rb"(?:`(?:[^`]|``)+`|\w+)(?:\s*\.\s*(?:`(?:[^`]|``)+`|\w+))?", re.I)
_DUP_KEY_NAME = 1061
_DUP_ENTRY = 1062
TXN_BYTES = 16 << 20
DEFER_INDEXES_BYTES = 16 << 20
_TABLE_EXISTS = 1050
_LOCK_RETRIES = 20  # of a chunk's transaction that lost a lock to another chunk's
_MAPPING_FAILED = "pydm: column mapping refused a value of rule"
_VERBS = {"replace": ("REPLACE", b"REPLACE INTO "), "ignore": ("IGNORE", b"INSERT IGNORE INTO "),
          "error": ("", b"INSERT INTO ")}

Target = tuple[str, str]
Job = tuple[DumpedTable, DataFile]
Batch = list[tuple[Target, Job]]
SMALL_CHUNK_BYTES = 1 << 20  # a TSV chunk this small may share its transaction
SMALL_BATCH_FILES = 32


@dataclass(frozen=True)
class LoadSettings:
    pool_size: int = 16
    clean_dump_file: bool = True
    on_duplicate: str = "replace"  # replace | ignore | error


def _indexes_marker(target: Target) -> str:
    return f"{file_part(target[0])}.{file_part(target[1])}.indexes"


class Loader:
    def __init__(self, target: Endpoint, settings: LoadSettings, directory: Path,
                 checkpoint: LoaderCheckpoint, router: TableRouter, stop: threading.Event,
                 loaded: frozenset[str] = frozenset(),
                 offsets: dict[str, int] | None = None,
                 mapping: ColumnMapping | None = None) -> None:
        self.target = target
        self.settings = settings
        self.dir = directory
        self.checkpoint = checkpoint
        self.route = router.route
        self.extension = router.extension  # extract-*: extra columns of merged tables
        self._columns: dict[Target, set[str]] = {}  # of merged tables with extract-*
        self.stop = stop
        self.loaded = loaded  # checkpoint rows of earlier runs
        self.offsets = offsets or {}  # SQL files an earlier run loaded in part
        self.mapping = mapping
        self.loaded_chunks = sum(not n.endswith(".indexes") for n in loaded) - ("*" in loaded)
        self.finished_bytes = 0
        self._cond = threading.Condition()
        self._pending: dict[Target, deque[Job]] = {}
        self._busy: Counter[Target] = Counter()
        self._closed = False
        self._remaining: dict[Target, int] = {}
        self._databases: list[str] = []  # upstream names
        self._deferred: dict[Target, list[str]] = {}
        self._files: Counter[Target] = Counter()  # data files of each target, loaded or not
        self._bytes: Counter[Target] = Counter()  # their size, known or estimated
        self._tables: dict[Target, DumpedTable] = {}  # the first table routed to each (its
        # CREATE TABLE makes the target)
        self._to_create: deque[Target] = deque()  # in the dump's order
        self._created: set[Target] = set()
        self._ddl_lock = threading.Lock()  # guards the three below
        self._creating: dict[Target, threading.Lock] = {}
        self._made_databases: set[str] = set()  # downstream names
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

    # --- feeding ----------------------------------------------------------------------
    def start(self) -> None:
        for i in range(max(1, self.settings.pool_size)):
            t = threading.Thread(target=self._worker, name=f"load-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def expect(self, tables: list[DumpedTable], databases: Sequence[str] = ()) -> None:
        """Every table to come: lets the loader know when a table's last file is in; and
        every database, created at `finish` even when no table of it comes."""
        with self._cond:
            self._databases.extend(databases)
            for table in tables:
                target = self.route(table.schema, table.table)
                todo = sum(f.path.name not in self.loaded for f in table.files)
                if target not in self._tables:
                    self._tables[target] = table
                    self._to_create.append(target)
                self._files[target] += len(table.files)
                self._bytes[target] += table.size
                self._remaining[target] = self._remaining.get(target, 0) + todo
            self._cond.notify_all()  # idle connections create the tables

    def submit(self, table: DumpedTable, data: DataFile) -> None:
        target = self.route(table.schema, table.table)
        with self._cond:
            self._pending.setdefault(target, deque()).append((table, data))
            self._cond.notify()

    def finish(self) -> None:
        """No more chunks will come: wait for the queued ones, build what indexes remain."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        for t in self._threads:
            t.join()
        if self._failures:
            raise self._failures[0]
        if self.stop.is_set():
            return
        conn = self.session()
        try:
            self._create_databases(conn)
            done = self.checkpoint.loaded(conn)
            for target in self._remaining:
                if _indexes_marker(target) not in done:
                    self._build_indexes(conn, target)
        finally:
            conn.close()

    # --- loading ------------------------------------------------------------------------
    def _next(self) -> tuple[Target | None, Batch] | None:
        """Chunks to load in one transaction: one of a table nobody is loading if there is
        one, else of any table, joined by small chunks of other tables nobody is loading;
        else a table to create (its target, no chunks)."""
        with self._cond:
            while True:
                if self._failures or self.stop.is_set():
                    return None
                ready = [t for t, q in self._pending.items() if q]
                if ready:
                    idle = [t for t in ready if not self._busy[t]]
                    target = (idle or ready)[0]
                    batch = [(target, self._take(target))]
                    if _small(batch[0][1]):
                        for other in idle[1:]:
                            if len(batch) == SMALL_BATCH_FILES:
                                break
                            if _small(self._pending[other][0]):
                                batch.append((other, self._take(other)))
                    return None, batch
                while self._to_create:
                    target = self._to_create.popleft()
                    if target not in self._created:
                        return target, []
                if self._closed:
                    return None
                self._cond.wait()

    def _take(self, target: Target) -> Job:
        self._busy[target] += 1
        return self._pending[target].popleft()

    def _worker(self) -> None:
        conn: Connection | None = None
        try:
            while (work := self._next()) is not None:
                create, batch = work
                conn = conn or self.session()
                if create is not None:
                    self._ensure_table(conn, self._tables[create], create)
                    continue
                try:
                    self._load_chunks(conn, batch)
                finally:
                    with self._cond:
                        for target, _ in batch:
                            self._busy[target] -= 1
                for target, _ in batch:
                    self._after_chunk(conn, target)
        except BaseException as exc:  # noqa: BLE001 - reported by finish()
            with self._cond:
                self._failures.append(exc)
                self._cond.notify_all()
        finally:
            if conn is not None:
                conn.close()

    def _ensure_table(self, conn: Connection, table: DumpedTable, target: Target) -> None:
        with self._ddl_lock:
            if target in self._created:
                return
            lock = self._creating.setdefault(target, threading.Lock())
        with lock:
            if target not in self._created:
                self._create_table(conn, table, target)

    def _create_table(self, conn: Connection, table: DumpedTable, target: Target) -> None:
        sets, create = schema_statements(table.schema_file)
        deferred: list[str] = []
        if self._files[target] > 1 or self._bytes[target] >= DEFER_INDEXES_BYTES:
            create, deferred = split_secondary_indexes(create)
        create = _CREATE_TABLE.sub(lambda _: "CREATE TABLE IF NOT EXISTS "
                                   + qualified(*target), create, count=1)
        with conn.cursor() as cur:
            if target[0] not in self._made_databases:  # a DDL round trip per table costs
                cur.execute(f"CREATE DATABASE IF NOT EXISTS {quote(target[0])}"
                            + self._database_charset(table.schema))
                self._made_databases.add(target[0])
            for statement in sets:  # mydumper's: NAMES binary, the time zone...
                cur.execute(statement)
            cur.execute(create)
            existed = any(w[1] == _TABLE_EXISTS for w in conn.show_warnings())
        with self._ddl_lock:
            if not existed:  # else an earlier run's choice is not known: _build_indexes
                self._deferred[target] = deferred  # adds whatever it may have deferred
            self._created.add(target)

    def _create_databases(self, conn: Connection) -> None:
        """The dump's databases that hold no table yet (as DM's load creates them)."""
        with conn.cursor() as cur:
            for schema in self._databases:
                target = self.route(schema, "")[0]
                try:
                    cur.execute(f"CREATE DATABASE IF NOT EXISTS {quote(target)}"
                                + self._database_charset(schema))
                except pymysql.err.MySQLError as exc:
                    raise errors.LOAD_EXEC(exc, file=database_file(schema),
                                           table=quote(target)) from exc

    def _database_charset(self, schema: str) -> str:
        """The dumped database's default charset and collation, as CREATE DATABASE options:
        tables created in it later without a charset must hold the same bytes downstream."""
        path = self.dir / database_file(schema)
        match = _DATABASE_CHARSET.search(path.read_text()) if path.exists() else None
        if match is None:
            return ""
        charset, collation = match.groups()
        return f" CHARACTER SET {charset}" + (f" COLLATE {collation}" if collation else "")

    def _load_chunks(self, conn: Connection, batch: Batch) -> None:
        """A SQL file (alone in its batch), or TSV chunks in one transaction."""
        for target, (table, _) in batch:
            self._ensure_table(conn, table, target)
        rules = [self._column_rule(table, data) for _, (table, data) in batch]
        extensions = [self._extension(conn, table, data, target)
                      for target, (table, data) in batch]
        sizes = [data.path.stat().st_size for _, (_, data) in batch]
        target, (table, data) = batch[0]
        if data.columns is None:
            try:
                self._load_sql(target, data.path, sizes[0])
            except pymysql.err.MySQLError as exc:
                raise errors.LOAD_EXEC(exc, file=data.path.name,
                                       table=qualified(*target)) from exc
        else:
            self._load_tsv(conn, batch, rules, extensions, sizes)
        for (target, (_, data)), size in zip(batch, sizes, strict=True):
            if self.settings.clean_dump_file:
                data.path.unlink(missing_ok=True)
            with self._cond:
                self.loaded_chunks += 1
                self.finished_bytes += size
                if target in self._remaining:
                    self._remaining[target] -= 1

    def _column_rule(self, table: DumpedTable, data: DataFile) -> ColumnRule | None:
        """The column mapping of the table's rows, if any (34004 when it cannot apply)."""
        if not self.mapping:
            return None
        what = {"table": qualified(table.schema, table.table), "file": data.path.name}
        try:
            rule = self.mapping.rule_for(table.schema, table.table)
        except MappingError as exc:
            raise errors.LOAD_COLUMN_MAPPING(detail=str(exc), **what) from None
        if rule is not None and data.columns is None:
            raise errors.LOAD_COLUMN_MAPPING(
                detail=f"rule {rule.name} rewrites pydm's own dumps only, not SQL files", **what)
        if rule is not None and rule.column.lower() not in {c.lower() for c in data.columns or ()}:
            raise errors.LOAD_COLUMN_MAPPING(
                detail=f"rule {rule.name}: the table has no column {rule.column!r}", **what)
        return rule

    def _extension(self, conn: Connection, table: DumpedTable, data: DataFile,
                   target: Target) -> Extension | None:
        """extract-*'s values for a chunk of `table` (34090 when they cannot be written)."""
        extension = self.extension(table.schema, table.table)
        if extension is None:
            return None
        what = {"table": qualified(*target), "file": data.path.name}
        if data.columns is None:
            raise errors.LOAD_EXTRACT(detail="extract-* fills pydm's own dumps only, not SQL "
                                             "files", **what)
        if target not in self._columns:
            self._columns[target] = {str(r[0]).lower() for r in query_all(
                conn, "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA "
                      "= %s AND TABLE_NAME = %s", target)}
        missing = [c for c in extension.columns if c.lower() not in self._columns[target]]
        if missing:
            raise errors.LOAD_EXTRACT(detail=f"the merged table has no column "
                                             f"{', '.join(missing)}", **what)
        return extension

    def _load_tsv(self, conn: Connection, batch: Batch, rules: list[ColumnRule | None],
                  extensions: list[Extension | None], sizes: list[int]) -> None:
        """TSV chunks in one transaction, with their checkpoint rows; a transaction that
        loses a lock to another chunk's (a deadlock between two LOAD DATA ... REPLACE on
        one table) is rolled back and runs again."""
        for attempt in range(_LOCK_RETRIES):
            try:
                self._load_tsv_once(conn, batch, rules, extensions, sizes)
                return
            except errors.DMError as exc:
                if attempt == _LOCK_RETRIES - 1 or not is_lock_conflict(exc.__cause__):
                    raise
                log.info("%s: %s; loading it again", batch[0][1][1].path.name, exc.raw_cause)
                time.sleep(lock_conflict_wait(attempt))

    def _load_tsv_once(self, conn: Connection, batch: Batch, rules: list[ColumnRule | None],
                       extensions: list[Extension | None], sizes: list[int]) -> None:
        target, (_, data) = batch[0]
        try:
            with conn.cursor() as cur:
                cur.execute("BEGIN")
                for (target, (_, data)), rule, extension in zip(batch, rules, extensions,
                                                                strict=True):
                    cur.execute(self._load_data(conn, target, data, rule, extension))
                    self._check_warnings(cur, data.path, target)
                self.checkpoint.record_files(conn, [
                    (data.path.name, *target, size)
                    for (target, (_, data)), size in zip(batch, sizes, strict=True)])
                cur.execute("COMMIT")
        except pymysql.err.MySQLError as exc:
            conn.rollback()
            raise errors.LOAD_EXEC(exc, file=data.path.name, table=qualified(*target)) from exc
        except errors.DMError:
            conn.rollback()
            raise

    def _load_data(self, conn: Connection, target: Target, data: DataFile,
                   rule: ColumnRule | None, extension: Extension | None) -> str:
        """The LOAD DATA of a chunk; a column mapping rewrites its column through a
        variable; extract-* sets the merged table's extra columns."""
        assert data.columns is not None
        verb = _VERBS[self.settings.on_duplicate][0]
        column = rule.column.lower() if rule else None
        fields = ", ".join("@mapped" if c.lower() == column else quote(c) for c in data.columns)
        sets = [] if rule is None else [f"{quote(rule.column)} = " + rule.sql(
            "@mapped", f"CAST({conn.escape(f'{_MAPPING_FAILED} {rule.name}')} AS SIGNED)")]
        if extension is not None:
            sets += [f"{quote(c)} = {conn.escape(v)}"
                     for c, v in zip(extension.columns, extension.values, strict=True)]
        return (f"LOAD DATA LOCAL INFILE {conn.escape(str(data.path))} {verb} INTO TABLE "
                f"{qualified(*target)} {LOAD_OPTIONS} ({fields})"
                + (f" SET {', '.join(sets)}" if sets else ""))

    def _load_sql(self, target: Target, path: Path, size: int) -> None:
        """A SQL file's INSERTs, in transactions of about TXN_BYTES, on a session of its
        own (the file's SET statements change it), from where an earlier run stopped."""
        done = self.offsets.get(path.name, 0)
        verb = _VERBS[self.settings.on_duplicate][1]
        conn = self.session()
        try:
            with conn.cursor() as cur:
                cur.execute("BEGIN")
                for statement, end in statements(path):
                    if is_session_statement(statement):
                        cur.execute(statement)  # before any INSERT, in every run
                        continue
                    if end <= done:
                        continue
                    if (m := _INSERT.match(statement)) is None:
                        raise errors.LOAD_INVALID_INSERT(
                            file=str(path), offset=end,
                            statement=statement[:80].decode("utf-8", "replace"))
                    cur.execute(verb + qualified(*target).encode()
                                + statement[m.end():])
                    self._check_warnings(cur, path, target)
                    if end - done >= TXN_BYTES:
                        self.checkpoint.record(conn, path.name, *target, size, offset=end)
                        cur.execute("COMMIT")
                        cur.execute("BEGIN")
                        done = end
                self.checkpoint.record(conn, path.name, *target, size)
                cur.execute("COMMIT")
        except (pymysql.err.MySQLError, errors.DMError):
            conn.rollback()
            raise
        finally:
            conn.close()

    def _check_warnings(self, cur: pymysql.cursors.Cursor, path: Path, target: Target
                        ) -> None:
        """Fail on any warning but notes, and duplicate keys the task said to ignore."""
        if not cur.warning_count:
            return
        cur.execute("SHOW WARNINGS")
        tolerated = {_DUP_ENTRY} if self.settings.on_duplicate == "ignore" else set()
        bad = [w for w in cur.fetchall() if w[0] != "Note" and w[1] not in tolerated]
        if bad and _MAPPING_FAILED in bad[0][2]:
            raise errors.LOAD_COLUMN_MAPPING(
                detail=f"a value the rule refuses (NULL, not a number or string, or an id "
                       f"outside [0, 2**44)): {bad[0][2]}", file=path.name,
                table=qualified(*target))
        if bad:
            raise errors.LOAD_EXEC(f"{bad[0][0]} {bad[0][1]}: {bad[0][2]}", file=path.name,
                                   table=qualified(*target))

    def _after_chunk(self, conn: Connection, target: Target) -> None:
        with self._cond:
            last = self._remaining.get(target) == 0 and not self._busy[target]
            if last:
                self._remaining[target] = -1  # built once, here
        if last:
            self._build_indexes(conn, target)

    def _build_indexes(self, conn: Connection, target: Target) -> None:
        clauses = self._deferred.get(target)
        if clauses is None:  # created by an earlier run: its schema file says what was left
            clauses = split_secondary_indexes(schema_statements(
                self._tables[target].schema_file)[1])[1]
        if not clauses:
            return
        try:
            with conn.cursor() as cur:
                for clause in clauses:
                    try:
                        cur.execute(f"ALTER TABLE {qualified(*target)} {clause}")
                    except pymysql.err.OperationalError as exc:
                        if exc.args[0] != _DUP_KEY_NAME:  # already built before a crash
                            raise
                cur.execute("BEGIN")
                self.checkpoint.record(conn, _indexes_marker(target), *target, 0)
                cur.execute("COMMIT")
        except pymysql.err.MySQLError as exc:
            raise errors.LOAD_EXEC(exc, file="(secondary indexes)",
                                   table=qualified(*target)) from exc
        log.info("secondary indexes of %s built", qualified(*target))


def _small(job: Job) -> bool:
    """A TSV chunk small enough to share a transaction with others."""
    data = job[1]
    return data.columns is not None and data.path.stat().st_size < SMALL_CHUNK_BYTES

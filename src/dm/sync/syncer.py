"""The sync unit: binlog events in, downstream changes out, checkpointed.

The loop stays thin: it reads an event, asks small collaborators what to do (the
block-allow list, the router, the schema tracker, the DDL splitter, causality), and
hands row changes to the appliers. A checkpoint is written only after a barrier has
committed every change before it, and only at a transaction boundary.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from operator import itemgetter
from pathlib import Path
from typing import Any

import pymysql
from pymysql.cursors import Cursor

from dm import errors
from dm.binlog.location import (
    DumpMetadata,
    Flavor,
    Location,
    gtid_text,
    parse_dump_metadata,
    parse_gtid_set,
    parse_location,
)
from dm.binlog.replica import ReplicaConfig
from dm.binlog.rows.schema import TableSchema
from dm.binlog.status import binlog_sizes, binlog_status
from dm.db import (
    CONNECTION_LOST,
    Connection,
    Endpoint,
    connect,
    qualified,
    query_all,
    query_one,
    ssl_params,
)
from dm.dump.dumpdir import DumpDirectory, schema_statements
from dm.dump.metadata import METADATA_FILE
from dm.dump.snapshots import resumed, table_starts
from dm.metrics import SyncRecorder
from dm.relay.layout import RelayDir
from dm.relay.stream import relay_end, relay_holds
from dm.rules.column_mapping import ColumnMapping, ColumnRule, MappingError
from dm.rules.event_filter import BinlogEventFilter
from dm.rules.expr import ExpressionFilters
from dm.rules.onlineddl import ShadowTables
from dm.rules.router import TableRouter
from dm.schema import ddl
from dm.schema.createtable import parse_create_table
from dm.schema.table import TableInfo
from dm.schema.tracker import SchemaTracker
from dm.sync import optimism
from dm.sync.applied import AppliedMarks, Mark
from dm.sync.applier import Applier
from dm.sync.catchup import CatchUp
from dm.sync.causality import CONFLICT, Causality
from dm.sync.change import RowChange, identity_key, per_table
from dm.sync.checkpoint import SyncerCheckpoint, SyncPoint
from dm.sync.dml import build_statements
from dm.sync.feed import BinlogFeed
from dm.sync.onlineddl import OnlineDDL, OnlineDDLRecords
from dm.sync.operators import SKIP, Operator
from dm.sync.optimism import Optimism, SoleOptimism
from dm.sync.position import BinlogPosition
from dm.sync.rate import RecentRate
from dm.sync.records import (
    HEARTBEAT,
    QUERY,
    ROTATE,
    ROWS,
    SKIP_ALL,
    XA_ENDED,
    XA_PREPARED,
    XID,
    Record,
    TableAnswer,
)
from dm.sync.replayed import rename_done
from dm.sync.safemode import SafeMode
from dm.sync.shardgroups import (
    EXECUTE,
    Held,
    Locks,
    Resolved,
    ShardGroups,
    SoleSource,
    Table,
    lock_id,
)
from dm.sync.sizing import applier_count, round_trip, transaction_changes
from dm.sync.sqlmode import ansi_quotes, compatible_sql_mode

log = logging.getLogger(__name__)
_SAVE_RETRIES, _SAVE_INTERVAL = 100, 1.0  # a downstream restart is waited out
_SAVE_RETRIES_STOPPING = 3  # not by a task being stopped: it resumes from the last one
_MASTER_REFRESH = 5.0  # seconds between SHOW MASTER STATUS for query-status
_STOP_WAIT = 10.0  # seconds pause/stop waits for the transaction being read to end (as DM)
_LOCK_POLL = 0.5  # seconds between asking the shard DDL locks a group waits on
_UTC = "+00:00"
_OFFSET = re.compile(r"[+-]\d{1,2}:\d{2}")


@dataclass(frozen=True)
class SyncConfig:
    task: str
    source_id: str
    source: Endpoint
    target: Endpoint
    meta_schema: str
    flavor: Flavor
    server_id: int
    enable_gtid: bool
    worker_count: int
    batch: int
    queue_size: int
    flush_interval: float
    safe_mode: bool
    safe_mode_duration: float
    meta: Location | None  # task-mode incremental without a checkpoint
    dump_dir: Path | None  # task-mode all, load&sync: where the dump's metadata is
    catch_up: bool = False  # task-mode full: only replay what reconciles a resumed dump
    shard_mode: str = ""  # "pessimistic": shard DDLs are coordinated (shardgroups.py)
    strict_optimistic: bool = False  # optimistic: a conflicting DDL pauses, never waits
    worker: str = ""  # the dm-worker's name, a label of the unit's metrics


class SyncUnit:
    def __init__(self, cfg: SyncConfig, allows: Callable[[str, str], bool],
                 router: TableRouter, event_filter: BinlogEventFilter,
                 expressions: ExpressionFilters, case_sensitive: bool,
                 mapping: ColumnMapping | None = None,
                 shadow_tables: ShadowTables | None = None) -> None:
        self.cfg = cfg
        # online-ddl: the tools' ghost and trash tables are never taken as tables (their
        # DDLs are the online DDL's to judge, by their real tables' names)
        self.allows = allows if shadow_tables is None else shadow_tables.real_only(allows)
        self.online = None if shadow_tables is None else OnlineDDL(
            shadow_tables, OnlineDDLRecords(cfg.meta_schema, cfg.task, cfg.source_id), allows,
            case_sensitive)
        self.route = router.route
        self.extension = router.extension  # extract-*: extra columns of merged tables
        self._extended = per_table(self._extend)
        self.mapping = mapping
        self.event_filter = event_filter
        self.expressions = expressions
        self.case_sensitive = case_sensitive
        # the relay directory to read instead of the upstream (the worker's, while its
        # relay of this source runs); asked at every start
        self.relay_dir: Callable[[], Path | None] = lambda: None
        self.on_started: Callable[[], None] = lambda: None
        self.binlog_type = "remote"
        self.tracker = SchemaTracker(case_sensitive=case_sensitive)
        self.checkpoint = SyncerCheckpoint(cfg.meta_schema, cfg.task, cfg.source_id, cfg.flavor)
        self.recorder = SyncRecorder(cfg.task, cfg.source_id, cfg.worker)
        self.binlog_sizes: dict[str, int] = {}  # the upstream's files, refreshed with
        # master_location
        self._catch_up = CatchUp(time.monotonic)
        self._flushed_at = time.monotonic()
        self.marks = AppliedMarks(cfg.meta_schema, cfg.task, cfg.source_id, cfg.flavor)
        self.position: BinlogPosition | None = None
        self.total_events = 0
        self.started = time.monotonic()
        self.recent = RecentRate(time.monotonic)
        self.master_location: Location | None = None
        self.last_event_time = 0
        self._causality: Causality | None = None
        self._in_transaction = False  # rows read since the last commit
        self._finished = 0  # transactions passed, not yet counted in the metric
        self._tracker_ahead = False  # the tracker holds a DDL not finished or not committed
        self._global_offset: str | None = None  # the upstream's global time zone, as offset
        self._stop_deadline: float | None = None
        self._decoder_schemas: dict[tuple[str, str], TableSchema] = {}
        self._table_starts: dict[tuple[str, str], Location] = {}
        self._marks: dict[tuple[str, str], Mark] = {}  # keyless tables applied beyond the
        # checkpoint (applied.py)
        self._until: Location | None = None  # catch-up: where the replay ends
        # binlog skip|replace (operators.py): by where their DDL event starts; the worker
        # swaps the whole dict in
        self.operators: dict[tuple[str, int], Operator] = {}
        self.failed_ddl: Location | None = None  # where the DDL that paused it starts
        self.saved: Location | None = None  # the last checkpoint this run saved
        self._idle_at: Location | None = None  # the last heartbeat's location
        # shard-mode pessimistic: the held shards of each group, and the locks they wait
        # on (the worker gives the cluster's; alone, a lock is resolved at once)
        self._router_route = router.route
        self.shards: ShardGroups | None = None
        self.locks: Locks = SoleSource()
        self.optimism: Optimism = SoleOptimism()  # shard-mode optimistic (optimism.py)
        self._resync = False  # a lock was resolved: start again from the checkpoint
        self._stopping = threading.Event()  # run's: set when the unit is asked to stop
        self._lock_polled = 0.0
        self._arrived: set[Table] = set()  # groups a shard's DDL just came to
        self._dropped: dict[Table, Location] = {}  # tables dropped while a shard is held
        # XA transactions prepared and not ended, by xid: where their group starts (the
        # reader holds their rows; a restart reads those groups again first)
        self._xa_starts: dict[str, Location] = {}
        # and those ended since the last checkpoint: (where their group starts, where
        # they ended); a restart from a frozen location meets their ends again
        self._xa_ended: dict[str, tuple[Location, Location]] = {}
        self._xa_done: frozenset[str] = frozenset()  # the checkpoint's ended ones
        # what query-status shows of the groups, made in the sync thread (status runs on
        # the worker's event loop): unresolvedGroups, blockingDDLs, the lock waited on
        self._shard_status: tuple[list[dict[str, Any]], list[str], str] = ([], [], "")
        self._safe_until: Location | None = None  # this run's safe-mode exit location
        self._flushed_commit: Location | None = None  # the commit the last save was at

    # --- status -----------------------------------------------------------------------
    def locations(self) -> tuple[Location | None, Location | None]:
        """(the upstream's, the syncer's committed) binlog locations, as far as known."""
        pos = self.position
        syncer = pos.committed if pos else None
        master = self.master_location
        if master is not None and syncer is not None and master < syncer:
            master = syncer  # refreshed every few seconds: the upstream is at least here
        return master, syncer

    def lag(self) -> int:
        """Seconds between the last event read and now; 0 once it caught up."""
        master, syncer = self.locations()
        if not self.last_event_time or (master and syncer and not syncer < master):
            return 0
        return max(0, int(time.time()) - self.last_event_time)

    def remaining_time(self) -> float | None:
        """Seconds to catch up with the upstream at the recent pace (DM's remaining_time;
        asked at each metrics scrape), None while unknown."""
        master, syncer = self.locations()
        if master is None or syncer is None:
            return None
        return self._catch_up.remaining(syncer, master, self.binlog_sizes)

    def status(self) -> dict[str, Any]:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        master, syncer = self.locations()
        synced = bool(master and syncer and not syncer < master)
        return {"sync": {
            "totalEvents": self.total_events,
            "totalTps": int(self.total_events / elapsed),
            "recentTps": self.recent.per_second(self.total_events),
            "masterBinlog": f"({master.file}, {master.pos})" if master else "",
            "masterBinlogGtid": gtid_text(master),
            "syncerBinlog": f"({syncer.file}, {syncer.pos})" if syncer else "",
            "syncerBinlogGtid": gtid_text(syncer),
            "blockingDDLs": self._shard_status[1],
            "unresolvedGroups": self._shard_status[0],
            "synced": synced,
            "binlogType": self.binlog_type,
            "secondsBehindMaster": str(self.lag()),
        }}

    def waiting_lock(self) -> str:
        """The DDL lock a group of this source waits on (DM's unresolvedDDLLockID)."""
        return self._shard_status[2]

    def _publish_shards(self) -> None:
        """query-status's view of the groups, made afresh after every change to them."""
        shards = self.shards
        if shards is None:
            return
        waiting = [t for t in sorted(shards.held) if shards.all_held(t, self._members(t))]
        self._shard_status = (
            shards.status(self._members),
            [sql for t in waiting
             for sql in min(shards.held[t].values(), key=lambda h: h.at).statements],
            shards.lock(waiting[0]) if waiting else "")

    # --- start ------------------------------------------------------------------------
    def _start_point(self, conn: Connection) -> tuple[SyncPoint, Location | None]:
        """Where to start and until where safe mode must last (DM §7.4)."""
        point = self.checkpoint.load(conn)
        if point is not None:
            if self.cfg.catch_up:  # it never reads past its end: nothing beyond is applied
                return point, point.exit_safe
            # after a crash, anything up to the upstream's current end may be applied
            return point, max(filter(None, [point.exit_safe, self._master_now()]), default=None)
        meta = self._dump_metadata()
        if meta is not None:
            assert self.cfg.dump_dir is not None
            self._load_dump_schemas(self.cfg.dump_dir)
            starts = {key: self._snapshot_location(s.binlog_name, s.binlog_pos, s.binlog_gtid)
                      for key, s in table_starts(self.cfg.dump_dir).items()}
            starts = {self.tracker.key(*key): at for key, at in starts.items()}  # as tables
            # downstream at once: the dump's metadata is on this worker's disk only, and a
            # worker that takes the source over must find where to start
            self.checkpoint.save(conn, SyncPoint(
                meta.location, _exit_safe(meta.location, meta.location_after),
                self._tracked_tables(), starts))
            return SyncPoint(meta.location, table_starts=starts), meta.location_after
        if self.cfg.meta is not None:
            return SyncPoint(self.cfg.meta), None
        raise errors.SYNC_NO_START(task=self.cfg.task, source=self.cfg.source_id)

    def _tracked_tables(self) -> dict[tuple[str, str], TableInfo]:
        return {key: info for key in self.tracker.tables()
                if (info := self.tracker.get(*key)) is not None}

    def _snapshot_location(self, name: str, pos: int, gtid: str) -> Location:
        return Location(name, pos, parse_gtid_set(gtid, self.cfg.flavor) if gtid else None)

    def _master_now(self) -> Location | None:
        """Where the upstream's binlog ends (and its files' sizes, for remaining_time)."""
        conn = connect(self.cfg.source, what=f"source {self.cfg.source_id}")
        try:
            with contextlib.suppress(pymysql.err.MySQLError):  # only for remaining_time
                self.binlog_sizes = binlog_sizes(conn)
            status = binlog_status(conn)
            return None if status is None else \
                self._snapshot_location(status.file, status.pos, status.gtid)
        finally:
            conn.close()

    def _downstream_session(self) -> dict[str, str]:
        """The task's session variables, plus DM's defaults where it sets none: the
        upstream's sql_mode made compatible, and no foreign key checks (a safe-mode REPLACE
        of a parent row must not cascade to its children; the upstream checked them)."""
        session = dict(self.cfg.target.session)
        names = {k.lower() for k in session}
        if "sql_mode" not in names:
            session["sql_mode"] = self._compatible_sql_mode()
        if "foreign_key_checks" not in names:
            session["foreign_key_checks"] = "OFF"
        return session

    def _offset(self, zone: str | None) -> str:
        """A time zone of the upstream as a UTC offset the downstream understands: named
        zones and SYSTEM (or no zone logged: the global one) are asked of the upstream."""
        if zone is not None and _OFFSET.fullmatch(zone):
            return zone
        if zone in (None, "SYSTEM") and self._global_offset is not None:
            return self._global_offset
        conn = connect(self.cfg.source, what=f"source {self.cfg.source_id}")
        try:
            with conn.cursor() as cur:
                if zone in (None, "SYSTEM"):
                    cur.execute("SET SESSION time_zone = @@GLOBAL.time_zone")
                else:
                    cur.execute("SET SESSION time_zone = %s", (zone,))
            row = query_one(conn, "SELECT TIMESTAMPDIFF(MINUTE, UTC_TIMESTAMP(), NOW())")
        finally:
            conn.close()
        minutes = int(row[0]) if row and row[0] is not None else 0
        sign = "-" if minutes < 0 else "+"
        offset = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
        if zone in (None, "SYSTEM"):
            self._global_offset = offset  # asked once per run
        return offset

    def _compatible_sql_mode(self) -> str:
        """The upstream's global sql_mode, made fit for replaying what it logged."""
        conn = connect(self.cfg.source, what=f"source {self.cfg.source_id}")
        try:
            row = query_one(conn, "SELECT @@GLOBAL.sql_mode")
        finally:
            conn.close()
        return compatible_sql_mode(str(row[0]) if row and row[0] else "")

    def _load_dump_schemas(self, dump_dir: Path) -> None:
        """Task-mode all or load&sync, first start: the tracker starts from the dump's
        CREATE TABLE files (pydm's, mydumper's or dumpling's). Never later: a table dropped
        during sync must not come back from them."""
        for table in DumpDirectory.read(dump_dir, self.allows).tables:
            if table.schema_file.exists() and self.tracker.get(table.schema,
                                                               table.table) is None:
                create = schema_statements(table.schema_file)[1]
                self.tracker.put(parse_create_table(create, current_db=table.schema))

    # --- run --------------------------------------------------------------------------
    def needed(self) -> bool:
        """A catch-up is needed only after a dump that took chunks under several snapshots
        (as the metadata's second block says)."""
        return not self.cfg.catch_up or (self.cfg.dump_dir is not None
                                         and resumed(self.cfg.dump_dir))

    def run(self, stop: threading.Event) -> None:
        """Sync until stopped; a catch-up (task-mode full) returns once it has replayed
        the binlog between a resumed dump's snapshots. When a shard DDL lock is resolved,
        it starts again from its checkpoint: the held shards go on from their DDL."""
        self._stopping = stop
        while self._run_once(stop) and not stop.is_set():
            log.info("%s/%s: a shard DDL lock is resolved; syncing its shards again from "
                     "where they stopped", self.cfg.task, self.cfg.source_id)

    def _run_once(self, stop: threading.Event) -> bool:
        # every run starts from the checkpoint's schemas alone: a failed run may have left
        # the tracker ahead of it (a DDL partly applied)
        self.tracker = SchemaTracker(case_sensitive=self.case_sensitive,
                                     flavor=self.cfg.flavor.value)
        self._decoder_schemas.clear()
        self._seed_databases()
        self._in_transaction = self._tracker_ahead = False
        self.failed_ddl = None
        self._stop_deadline = None
        self._idle_at = None
        self._global_offset = None
        self._resync = False
        self._arrived, self._dropped, self._xa_starts, self._xa_ended = set(), {}, {}, {}
        if self._pessimistic or self._holds_conflicts:
            self.shards = ShardGroups(self.cfg.task, self.cfg.source_id, self._router_route)
            if self._pessimistic:
                self.shards.resolved = self.locks.resolved()
            self._publish_shards()
        self.cfg = replace(self.cfg, target=replace(self.cfg.target,
                                                    session=self._downstream_session()))
        self._flushed_at = time.monotonic()  # checkpoint intervals count from this run
        conn = connect(self.cfg.target, what="downstream")
        try:
            self.checkpoint.create(conn)
            self.marks.create(conn)
            if self.online is not None:
                self.online.start(conn)
            point, safe_until = self._start_point(conn)
            self._marks = self.marks.load(conn, point.location)
            self._xa_starts = dict(point.xa_prepared)
            self._xa_done = point.xa_ended
        finally:
            conn.close()
        self.on_started()  # the start point is downstream now: the dump files are done
        for info in point.tables.values():
            self.tracker.put(info)
        self._table_starts = {self.tracker.key(*k): at for k, at in point.table_starts.items()}
        self._dropped = {self.tracker.key(*k): at for k, at in point.gone.items()}
        self._until = safe_until if self.cfg.catch_up else None
        self._safe_until = safe_until
        self._flushed_commit = point.location
        self.position = BinlogPosition(point.location)
        if self.cfg.catch_up and self._until is None:
            return False  # an earlier run replayed it all
        if self.cfg.shard_mode:
            if not point.tables:  # a first start: every shard joins its group now
                self._seed_shards()
            if self._pessimistic:
                self._declare_shards()
        safe = SafeMode(permanent=self.cfg.safe_mode, exit_at=safe_until,
                        duration=self.cfg.safe_mode_duration, clock=time.monotonic)
        with ExitStack() as cleanup:  # undone in reverse: reader, last checkpoint, appliers
            ddl_conn = connect(self.cfg.target, what="downstream")
            cleanup.callback(ddl_conn.close)
            if self.cfg.shard_mode == "optimistic":
                self._run_pending(ddl_conn)  # then every shard's schema joins its lock,
                # as the checkpoint has it (what this run reads again is decided again);
                # a table the task no longer takes leaves its lock
                self.optimism.register({k: (self._lock_of(k), info)
                                        for k, info in self._tracked_tables().items()
                                        if self.allows(*k)},
                                       lambda t: self.allows(*t))
                if self.shards is not None:  # settled up to now: a release after this
                    # finds these shards no longer held, and settles with them again
                    self.shards.resolved = self._settled_conflicts()
            rtt = round_trip(ddl_conn)
            appliers = applier_count(self.cfg.worker_count, rtt, os.cpu_count() or 1)
            log.info("%s/%s applies with %d of worker-count %d appliers (downstream round "
                     "trip %.2f ms, %d cores), up to %d changes a transaction", self.cfg.task,
                     self.cfg.source_id, appliers, self.cfg.worker_count, rtt * 1000,
                     os.cpu_count() or 1, transaction_changes(self.cfg.batch))
            applier = Applier(self.cfg.target, appliers, self.cfg.batch,
                              self.cfg.queue_size, build_statements, self.marks,
                              self.recorder.applied)
            applier.start()
            cleanup.callback(applier.close)
            cleanup.callback(self._flush, applier, safe_until)
            causality = self._causality = Causality(applier.worker_count)
            src = self.cfg.source
            replica = ReplicaConfig(src.host, src.port, src.user, src.password,
                                    self.cfg.server_id, heartbeat_period=1.0,
                                    ssl=ssl_params(src), allowed_cn=src.allowed_cn)
            by_gtid = self.cfg.enable_gtid and point.location.gtid_set is not None
            # the groups of prepared XA transactions: read again first, for their rows
            xa_groups = sorted(((at, xid) for xid, at in self._xa_starts.items()),
                               key=itemgetter(0))
            relay = self._relay_for(min([point.location, *(at for at, _ in xa_groups)]))
            feed = BinlogFeed(replica, point.location, by_gtid, self._table_answer, relay,
                              self.cfg.source_id, tuple(xa_groups))
            cleanup.callback(feed.close)
            log.info("sync of %s/%s starts at %s (safe mode until %s)", self.cfg.task,
                     self.cfg.source_id, point.location.short(),
                     safe_until.short() if safe_until else "its duration ends")
            self._stream(feed, stop, applier, causality, safe, ddl_conn, safe_until)
        return self._resync

    def _stream(self, feed: BinlogFeed, stop: threading.Event, applier: Applier,
                causality: Causality, safe: SafeMode[Location], ddl_conn: Connection,
                safe_until: Location | None) -> None:
        last_flush = last_master = time.monotonic()
        catching_up = self._until is not None
        for events, records in feed.batches():
            if stop.is_set() and self._stop_now():
                break
            self.total_events += events
            self.recent.note(self.total_events)
            for record in records:
                self._handle(record, applier, causality, safe, ddl_conn)
                if (stop.is_set() or self._resync or (catching_up and self._caught_up())) \
                        and not self._in_transaction:
                    break  # the rest of the batch is read again after the checkpoint
            applier.send()
            if self._finished:
                self.recorder.transactions.inc(self._finished)
                self._finished = 0
            applier.check()  # a failed batch pauses the task now, not at the next flush
            now = time.monotonic()
            if self.shards is not None and self.shards.held and \
                    now - self._lock_polled >= _LOCK_POLL:
                self._lock_polled = now
                for target in list(self.shards.held):
                    self._attend(target, applier, ddl_conn)
            if (stop.is_set() or self._resync or (catching_up and self._caught_up())) and \
                    not self._in_transaction:
                break
            if now - last_flush >= self.cfg.flush_interval:
                self._flush(applier, safe_until)
                last_flush = now
            if now - last_master >= _MASTER_REFRESH:
                self.master_location = self._master_now()
                last_master = now

    def _relay_for(self, start: Location) -> Path | None:
        """The relay directory to read from `start` on, when the relay runs and holds (or
        is about to write) it; else None: the upstream is read, as DM falls back to it. A
        relay that ends past the upstream's binlog is not the upstream's any more (a reset
        or restore upstream) and is never read."""
        directory = self.relay_dir()
        why = ""
        if directory is not None:
            end, master = relay_end(RelayDir(directory)), self._master_now()
            if not relay_holds(RelayDir(directory), start):
                why = f"the relay log does not hold {start.short()}"
            elif end is not None and master is not None and master < end:
                why = f"the relay log ends at {end.short()}, past the upstream's binlog " \
                      f"({master.short()})"
            if why:
                log.warning("%s/%s: %s; reading the upstream", self.cfg.task,
                            self.cfg.source_id, why)
        self.binlog_type = "local" if directory is not None and not why else "remote"
        return directory if self.binlog_type == "local" else None

    def needed_from(self) -> Location | None:
        """The earliest binlog location this sync still needs: its checkpoint, else its
        dump's, else the task's meta; None before its dump has one (the relay's start)."""
        try:
            conn = connect(self.cfg.target, what="downstream")
            try:
                point = self.checkpoint.load(conn)
            finally:
                conn.close()
        except (errors.DMError, pymysql.err.MySQLError):
            point = None
        if point is not None:  # and the XA transactions it holds read again at a restart
            return min([point.location, *point.xa_prepared.values()])
        meta = self._dump_metadata()
        return meta.location if meta is not None else self.cfg.meta

    def _dump_metadata(self) -> DumpMetadata | None:
        """The dump's metadata (task-mode all, load&sync), once its dump has written it."""
        path = self.cfg.dump_dir / METADATA_FILE if self.cfg.dump_dir is not None else None
        if path is None or not path.exists():
            return None
        return parse_dump_metadata(path.read_text(), str(path), self.cfg.flavor)

    def _caught_up(self) -> bool:
        """A catch-up has passed its end (its last transaction, or a heartbeat says so)."""
        if self._until is None or self.position is None:
            return False
        seen = max(self.position.committed, self._idle_at or self.position.committed)
        return not seen < self._until

    def _stop_now(self) -> bool:
        """Asked to stop: at once between transactions; inside one, once it has ended or,
        as DM, after waiting for its end for `_STOP_WAIT` seconds."""
        if not self._in_transaction:
            return True
        now = time.monotonic()
        if self._stop_deadline is None:
            self._stop_deadline = now + _STOP_WAIT
        if now < self._stop_deadline:
            return False
        log.warning("sync of %s/%s stops inside a transaction: it did not end within %.0f s;"
                    " it is applied again, in safe mode, on resume", self.cfg.task,
                    self.cfg.source_id, _STOP_WAIT)
        return True

    def _table_answer(self, schema: str, table: str) -> TableAnswer:
        """What the reader process needs to know about a table before its rows."""
        if not self.allows(schema, table) or (
                self.shards is not None and self.shards.is_held(self.tracker.key(schema, table))):
            return TableAnswer(None, SKIP_ALL)  # a held shard: read again once resolved
        skip = frozenset(kind for kind in ("insert", "update", "delete")
                         if self.event_filter.skip_dml(schema, table, kind))
        if skip == SKIP_ALL:
            return TableAnswer(None, skip)
        start = self._table_starts.get(self.tracker.key(schema, table)) \
            if self._table_starts else None
        return TableAnswer(self._decoder_schema(schema, table), skip,
                           (start.file, start.pos) if start is not None else None,
                           start.gtid_set if start is not None else None)

    def _decoder_schema(self, schema: str, table: str) -> TableSchema | None:
        """Asked at every TABLE_MAP: cached until the table's tracked version changes."""
        version = self.tracker.version(schema, table)
        cached = self._decoder_schemas.get((schema, table))
        if cached is not None and cached.version == version:
            return cached
        info = self.tracker.get(schema, table)
        if info is None and self.allows(schema, table):
            info = self._fetch_downstream_schema(schema, table)
            version = self.tracker.version(schema, table)
        if info is None:
            return None
        decoded = info.decoder_schema(version)
        self._decoder_schemas[(schema, table)] = decoded
        return decoded

    def _fetch_downstream_schema(self, schema: str, table: str) -> TableInfo | None:
        """Unknown table: start from the routed downstream table's schema, as DM does."""
        conn = connect(self.cfg.target, what="downstream")
        try:
            row = query_one(conn, f"SHOW CREATE TABLE {qualified(*self.route(schema, table))}")
        except pymysql.err.MySQLError:
            return None
        finally:
            conn.close()
        if row is None:
            return None
        info = replace(parse_create_table(str(row[1]), current_db=schema), schema=schema,
                       table=table)
        extension = self.extension(schema, table)
        self.tracker.put(info if extension is None else info.without(extension.columns))
        return self.tracker.get(schema, table)

    def _handle(self, record: Record, applier: Applier, causality: Causality,
                safe: SafeMode[Location], ddl_conn: Connection) -> None:
        pos = self.position
        assert pos is not None
        tag = record[0]
        if tag == ROWS:
            _, start, timestamp, schema, table, kind, rows, size, gtid = record
            self.last_event_time = timestamp
            self._in_transaction = True
            self._rows(schema, table, kind, rows, pos, start, gtid, applier, causality, safe,
                       size // max(len(rows), 1))
        elif tag == XID:
            _, end, timestamp, gtid = record
            self.last_event_time = timestamp
            self._commit(pos, end, gtid)
        elif tag == XA_PREPARED:
            _, end, start, timestamp, gtid, xid = record
            self.last_event_time = timestamp
            self._xa_starts.setdefault(xid, pos.at(start))
            self._commit(pos, end, gtid, counted=False)
        elif tag == XA_ENDED:
            _, end, start, timestamp, gtid, xid, committed, known = record
            self.last_event_time = timestamp
            # its rows were never read (those of one ended past a frozen checkpoint were
            # applied in the run that saved it)
            unread = committed and not known and xid not in self._xa_done
            operated = unread and self._operated(pos.at(start), applier, causality, ddl_conn)
            if unread and not operated:
                self.failed_ddl = pos.at(start)  # binlog skip without -b acts here
                raise errors.SYNC_XA_PREPARED_BEFORE_START(xid=xid,
                                                           where=pos.at(start).short())
            if xid in self._xa_starts:
                self._xa_ended[xid] = (self._xa_starts.pop(xid), pos.at(start))
            self._commit(pos, end, gtid, counted=committed)
            if operated:  # the checkpoint goes past it at once, and the operator is forgotten
                self._flush(applier, self._safe_until)
        elif tag == QUERY:
            (_, end, start, timestamp, gtid, schema, statement, sql_mode, ends, zone,
             server_charset) = record
            self.last_event_time = timestamp
            where = pos.at(start)
            try:
                ran = self._query(statement, schema, _Session(ansi_quotes(sql_mode), zone,
                                                              server_charset),
                                  applier, causality, ddl_conn, where)
            except errors.DMError as exc:
                if exc.code in _DDL_OWN_ERRORS:  # not a row batch failing at its barrier
                    self.failed_ddl = where  # binlog skip|replace without -b act here
                raise
            if ends:
                pos.commit(end, gtid)
                self._in_transaction = self._tracker_ahead = False
                if ran:
                    self._flush(applier, self._safe_until)
            else:  # inside a transaction (MySQL 8's CREATE TABLE ... SELECT): not its end
                self._in_transaction = True
                self._tracker_ahead = self._tracker_ahead or ran
            if self._arrived:  # shards that hold a DDL now, their hold checkpointed
                arrived, self._arrived = sorted(self._arrived), set()
                for target in arrived:
                    self._attend(target, applier, ddl_conn, where)
        elif tag == ROTATE:
            pos.rotate(record[1])
        elif tag == HEARTBEAT:  # idle: the upstream says where it is, all read up to there
            self.master_location = self._idle_at = Location(
                record[1], record[2], self.master_location.gtid_set
                if self.master_location else None)

    def _commit(self, pos: BinlogPosition, end: int, gtid: str | None,
                counted: bool = True) -> None:
        """A transaction's group ends at `end`: a resume point (dm.sync.position)."""
        pos.commit(end, gtid)
        self._in_transaction = self._tracker_ahead = False
        self._finished += counted  # the metric moves once a batch (_stream)

    def _rows(self, schema: str, table: str, kind: str, rows: list[Any], pos: BinlogPosition,
              start: int, gtid: str | None, applier: Applier, causality: Causality,
              safe_mode: SafeMode[Location], row_bytes: int) -> None:
        """Apply the `rows` of a rows event read at `start` in `pos`'s file, in the
        transaction `gtid`."""
        where = pos.at(start)
        key = self.tracker.key(schema, table) if self._table_starts or self._marks or (
            self.shards is not None and self.shards.held) else (schema, table)
        if self._table_starts:
            begins = self._table_starts.get(key)
            if begins is not None and where < begins:
                return  # already there (a dump under a later snapshot, a shard's freeze)
        if self.shards is not None and self.shards.is_held(key):
            return  # a held shard: read again once its lock is resolved
        info = self.tracker.get(schema, table)
        if info is None:
            raise errors.SYNC_UNKNOWN_TABLE(table=qualified(schema, table), where=where.short())
        extension = self.extension(schema, table)
        if extension is not None:  # the merged table's extra columns, at the end
            info = self._extended(info)
        keyless = identity_key(info) is None  # its changes carry exactly-once marks
        # the first row's ordinal among the table's rows in the transaction, for the marks
        first = pos.number_rows((schema, table), len(rows)) if keyless else 0
        applied = -1  # the index of this event's last row already applied downstream
        mark = self._marks.get(key) if self._marks else None
        if mark is not None:
            place = mark.place(where, gtid)
            if place < 0:
                return
            if place == 0:  # its transaction, read again
                applied = mark.row - first
        if extension is not None:
            rows = [_with_values(row, kind, extension.values) for row in rows]
        safe = safe_mode.active(where)
        target = self.route(schema, table)
        filtered = bool(self.expressions) and self.expressions.applies_to(schema, table)
        mapped = self._column_rule(info, where) if self.mapping else None
        for i, row in enumerate(rows):
            if i <= applied:
                continue
            change = RowChange.from_binlog(kind, info, target, row,
                                           Mark(where, first + i, gtid) if keyless else None)
            if filtered and self.expressions.skip(change):  # on the upstream's values, as DM
                continue
            if mapped is not None:
                change = self._map(change, *mapped, where)
            worker = causality.assign(change)
            if worker is CONFLICT:
                applier.flush()
                causality.reset()
                worker = causality.assign(change)
            assert isinstance(worker, int)
            applier.submit(worker, change, safe, where, row_bytes)

    def _extend(self, info: TableInfo) -> TableInfo:
        extension = self.extension(info.schema, info.table)
        assert extension is not None
        return info.extended(extension.columns)

    def _column_rule(self, info: TableInfo, where: Location) -> tuple[int, ColumnRule] | None:
        """The column mapping of a table's rows and the position of its column."""
        assert self.mapping is not None
        try:
            rule = self.mapping.rule_for(info.schema, info.table)
            if rule is None:
                return None
            if not info.has_column(rule.column):
                raise MappingError(f"rule {rule.name}: the table has no column {rule.column!r}")
        except MappingError as exc:
            raise errors.SYNC_COLUMN_MAPPING(table=qualified(info.schema, info.table),
                                             where=where.short(), detail=str(exc)) from None
        return info.position(rule.column), rule

    @staticmethod
    def _map(change: RowChange, position: int, rule: ColumnRule, where: Location
             ) -> RowChange:
        def mapped(row: tuple[Any, ...] | None) -> tuple[Any, ...] | None:
            if row is None:
                return None
            return (*row[:position], rule.apply(row[position]), *row[position + 1:])
        try:
            return change._replace(before=mapped(change.before), after=mapped(change.after))
        except MappingError as exc:
            raise errors.SYNC_COLUMN_MAPPING(
                table=qualified(change.table.schema, change.table.table), where=where.short(),
                detail=str(exc)) from None

    def _query(self, statement: str, current_db: str, session: _Session, applier: Applier,
               causality: Causality, conn: Connection, where: Location) -> bool:
        """A query event: its DDL, or what a binlog operator says to do instead (then
        True: the checkpoint goes past it at once, and the worker forgets the operator)."""
        return self._operated(where, applier, causality, conn, statement, current_db,
                              session) or self._ddl(statement, current_db, session, applier,
                                                    causality, conn, where)

    def _operated(self, where: Location, applier: Applier, causality: Causality,
                  conn: Connection, statement: str = "", current_db: str = "",
                  session: _Session | None = None) -> bool:
        """Whether a binlog operator at `where` took the event there (skipped it, or ran
        its statements in its place)."""
        operator = self.operators.get((where.file, where.pos)) if self.operators else None
        if operator is None:
            return False
        log.info("%s/%s: binlog %s at %s of %r%s", self.cfg.task, self.cfg.source_id,
                 operator.op, operator.at, statement,
                 f" with {list(operator.sqls)}" if operator.sqls else "")
        session = session or _Session(False, None, None)
        for sql in operator.sqls:  # replace: as if the upstream had run these
            self._ddl(sql, current_db, session, applier, causality, conn, where)
        if operator.op == SKIP and self.cfg.shard_mode and statement:
            # a shard renamed upstream: nothing runs, but the new name takes its place in
            # its group, and the old name leaves its lock
            self._ddl(statement, current_db, session, applier, causality, conn, where,
                      renames_only=True)
        return True

    def _ddl(self, statement: str, current_db: str, session: _Session, applier: Applier,
             causality: Causality, conn: Connection, at: Location,
             renames_only: bool = False) -> bool:
        """Split, filter, route; barrier; execute downstream; then advance the tracker.
        Whether it was a DDL of a wanted table (the tracker or downstream may have moved).
        In pessimistic shard mode a shard's DDL is held instead (shardgroups.py).
        `renames_only`: its table renames are tracked and nothing else is done (a skipped
        shard rename)."""
        where = at.short()
        try:
            parsed = ddl.parse(statement, current_db, ansi_quotes=session.ansi_quotes)
        except errors.DMError as exc:
            if renames_only:
                return False
            if self.event_filter.skip_sql(statement):  # DM's global sql-pattern escape hatch
                log.warning("%s/%s: skipped by a filter's sql-pattern at %s, unparsed: %s; "
                            "if it changed a replicated table, its tracked schema is not "
                            "changed: `dmctl binlog-schema update` it", self.cfg.task,
                            self.cfg.source_id, where, statement)
                return False
            raise errors.SYNC_PARSE_DDL(exc.message, sql=f"{statement} (at {where})") from exc
        if parsed.kind is not ddl.Kind.DDL:
            return False
        pieces, cut_over = ddl.split(parsed), False
        if self.online is not None:  # a ghost table's DDL recorded, a cut-over's replayed
            pieces, cut_over = self.online.rewrite(
                parsed, pieces, conn, at, self._held,
                lambda schema, table: self._table_passed(schema, table, at))
        wanted = [one for one in pieces if self._wanted(one, at) and not self._passed(one, at)
                  and (not renames_only or "rename table" in (one.events or (one.event,)))]
        if not wanted:
            return cut_over  # a cut-over with nothing to run is checkpointed all the same
        applier.flush()  # barrier: every change before the DDL is committed
        causality.reset()
        if self.position is not None and self._flushed_commit != self.position.committed \
                and any(one.event not in _ADDITIVE_DDLS for one in wanted):
            # checkpointed before it runs: a crash after it never applies the rows before
            # it again under its schema (a dropped column)
            self._flush(applier, self._safe_until)
        tracked = set(self.tracker.tables()) if self.cfg.shard_mode else set()
        ahead, self._tracker_ahead = self._tracker_ahead, True  # no checkpoint until every
        # piece ran: the tracker would be saved ahead of the location of the DDL's start
        if session.server_charset:
            self.tracker.set_server_default(session.server_charset)
        holds: dict[Table, list[tuple[str, ddl.DDL]]] = {}  # shard → its DDL's pieces
        changes: dict[Table, list[_Change]] = {}  # optimistic: shard → its changes
        with conn.cursor() as cur, _quoting_as_upstream(cur, session.ansi_quotes), \
                _time_zone(cur, self._offset(session.time_zone)):
            for one in wanted:
                before = one.tables[0::2] if "rename table" in one.events else one.tables
                for t in before:  # a table never seen yet: its schema before the DDL (a
                    # RENAME's new names have none)
                    if t.table and self.tracker.get(t.schema, t.table) is None:
                        self._fetch_downstream_schema(t.schema, t.table)
                main = one.tables[0] if one.tables else None
                skipped = renames_only or (main is not None and self.event_filter.skip_ddl(
                    main.schema, main.table, one.events or (one.event,), one.sql))
                downstream_sql = self._with_database_charset(one, ddl.route(one, self.route))
                run: bool | None = not skipped  # a filtered DDL is not run, but tracked
                if skipped and self.shards is not None and any(
                        self._held(t.schema, t.table) or self.tracker.key(
                            t.schema, t.table) in holds for t in one.tables if t.table):
                    continue  # a held shard's: tracked in turn when read again
                if run and self._pessimistic:
                    run = self._shard_piece(one, downstream_sql, at, holds)
                elif run and self.cfg.shard_mode == "optimistic":
                    run = self._optimistic_piece(one, downstream_sql, at, changes)
                if run is None:
                    continue  # held, decided below, or never touching a merged table
                try:
                    if run:
                        began = time.monotonic()
                        cur.execute(downstream_sql)
                        self.recorder.query_duration.observe(time.monotonic() - began)
                except pymysql.err.MySQLError as exc:
                    if not ddl.is_tolerated(exc.args[0], one.event) and \
                            not rename_done(cur, one, exc.args[0], self.route):
                        raise self._ddl_failed(exc, downstream_sql, where) from exc
                self.tracker.apply_ddl(one)
        if self.shards is not None:
            for gone in tracked - set(self.tracker.tables()):
                self._dropped[gone] = at  # its events before the drop are not read again
        if self._pessimistic:
            self._shards_after_ddl(wanted, holds, at, session)
        elif self.cfg.shard_mode == "optimistic":  # a failure here saves no checkpoint
            self._optimistic_after_ddl(changes, tracked, session, conn, at)
        self._tracker_ahead = ahead
        return True

    def _wanted(self, one: ddl.DDL, at: Location) -> bool:
        """A DDL piece the task replicates: one on its tables only; or a RENAME of one of
        them to a name it does not take (run: its rows stay downstream under the new
        name, so a `CREATE TABLE ... LIKE` it finds it there); or a CREATE TABLE of one
        LIKE a table it does not take but knows. A table it takes that would come from
        one it never replicated is 36105."""
        taken = [self.allows(t.schema, t.table) for t in one.tables]
        if all(taken) or not any(taken) or len(taken) != 2:
            return all(taken)
        if one.events == ("rename table",):
            old, new = one.tables
            if taken[0]:
                return True
        elif one.event == "create table":
            new, old = one.tables
            if not taken[0] or self.tracker.get(old.schema, old.table) is not None or \
                    self._fetch_downstream_schema(old.schema, old.table) is not None:
                return taken[0]
        else:
            return False
        raise errors.SYNC_TABLE_FROM_UNTAKEN(table=qualified(new.schema, new.table),
                                             origin=qualified(old.schema, old.table),
                                             sql=one.sql, where=at.short())

    def _held(self, schema: str, table: str) -> bool:
        return self.shards is not None and self.shards.is_held(self.tracker.key(schema, table))

    def _passed(self, one: ddl.DDL, at: Location) -> bool:
        """Every table the DDL names is already past it (its checkpoint row is ahead of
        `at`, DM's table checkpoint): the DDL ran downstream and its schema is tracked."""
        names = [t for t in one.tables if t.table]
        return bool(names) and all(self._table_passed(t.schema, t.table, at) for t in names)

    def _table_passed(self, schema: str, table: str, at: Location) -> bool:
        start = self._table_starts.get(self.tracker.key(schema, table)) \
            if self._table_starts else None
        return start is not None and at < start

    # --- pessimistic shard mode (DM §9.1) -----------------------------------------------
    def _shard_piece(self, one: ddl.DDL, sql: str, at: Location,
                     holds: dict[Table, list[tuple[str, ddl.DDL]]]) -> bool | None:
        """What of a DDL piece runs downstream: True, False (only tracked) or None (held,
        or ignored: TRUNCATE of one shard never touches the merged table)."""
        assert self.shards is not None
        tables = {self.tracker.key(t.schema, t.table) for t in one.tables if t.table}
        if not tables:  # CREATE/ALTER DATABASE run; DROP DATABASE keeps the merged tables
            if one.event != "drop database":
                return True
            schema = self.tracker.key(one.tables[0].schema)[0] if one.tables else ""
            held = any(t[0] == schema for t in self.shards.held_tables())
            return None if held else False  # a held shard's rows are read again first
        if len(tables) == 1 and one.event not in _NOT_GROUP_DDLS and \
                self.shards.held_at(next(iter(tables)), at):
            holds.setdefault(next(iter(tables)), []).append((sql, one))  # binlog replace
            return None  # with several statements: all of them are the shard's DDL
        if any(self.shards.is_held(t) for t in tables):
            return None  # read again once its lock is resolved
        if "rename table" in (one.events or (one.event,)):
            if not self._renamed_within_group(one):
                raise errors.SYNC_SHARD_UNSUPPORTED(statement="RENAME TABLE",
                                                    mode="pessimistic", where=at.short())
            return False  # the shard stays in its group under its new name
        if one.event == "create table":  # a new shard joins its group (with the group's
            return not self._like_its_merged_table(one)  # current schema)
        if len(tables) > 1:
            raise errors.SYNC_SHARD_MULTIPLE_TABLES(sql=one.sql, where=at.short())
        (table,) = tables
        if one.event == "truncate table":
            return None
        if one.event == "drop table":
            return False  # the shard leaves its group; the merged table stays
        if self.shards.resolved_at(table, at):
            return False  # its lock ran it downstream: only tracked now
        holds.setdefault(table, []).append((sql, one))
        return None

    def _like_its_merged_table(self, one: ddl.DDL) -> bool:
        """A CREATE TABLE ... LIKE another shard of the same merged table: routed, it would
        create the merged table like itself (1066); it is there already."""
        return len(one.tables) == 2 and \
            self._router_route(*self.tracker.key(one.tables[0].schema, one.tables[0].table)) \
            == self._router_route(*self.tracker.key(one.tables[1].schema, one.tables[1].table))

    def _renamed_within_group(self, one: ddl.DDL) -> bool:
        """A RENAME of one shard to a name its route still merges into the same table (as
        DM's pessimistic mode takes it): the merged table does not change."""
        if one.events != ("rename table",) or len(one.tables) != 2:
            return False
        old, new = (self.tracker.key(t.schema, t.table) for t in one.tables)
        return self.tracker.get(*old) is not None and self.tracker.get(*new) is None and \
            self._router_route(*old) == self._router_route(*new)

    def _shards_after_ddl(self, wanted: list[ddl.DDL],
                          holds: dict[Table, list[tuple[str, ddl.DDL]]], at: Location,
                          session: _Session) -> None:
        """Hold the shards whose DDL arrived; a shard created or dropped changes its group
        (which may then be complete). Their locks are asked once the event is over and
        its hold checkpointed (`_arrived`)."""
        assert self.shards is not None and self.position is not None
        for table, pieces in holds.items():
            statements = tuple(sql for sql, _ in pieces)
            parsed = tuple(one for _, one in pieces)
            before = self.position.committed
            earlier = self.shards.held_of(table)  # binlog replace's earlier statements
            if earlier is not None:
                statements, parsed = earlier.statements + statements, \
                    earlier.context.pieces + parsed
                before = earlier.before
            held = Held(statements, at, before, _HeldContext(session, parsed))
            self._arrived.add(self.shards.hold(table, held))
            log.info("%s/%s: shard %s holds its DDL %s at %s", self.cfg.task,
                     self.cfg.source_id, qualified(*table), list(held.statements), at.short())
        if any(one.event in _MEMBERSHIP or "rename table" in one.events for one in wanted):
            for gone in [t for t in self.shards.held_tables() if self.tracker.get(*t) is None]:
                self.shards.leave(gone)
            self._declare_shards()
            self._arrived |= set(self.shards.held)
        self._publish_shards()

    # --- optimistic shard mode (DM §9.2) ------------------------------------------------
    @property
    def _pessimistic(self) -> bool:
        return self.cfg.shard_mode == "pessimistic"

    @property
    def _holds_conflicts(self) -> bool:
        """Optimistic and not strict (DM's default): a conflicting DDL holds its shard
        until the others agree (`self.shards` holds it, as a pessimistic group's)."""
        return self.cfg.shard_mode == "optimistic" and not self.cfg.strict_optimistic

    def _lock_of(self, table: Table) -> str:
        return lock_id(self.cfg.task, self._router_route(*table))

    def _optimistic_piece(self, one: ddl.DDL, sql: str, at: Location,
                          changes: dict[Table, list[_Change]]) -> bool | None:
        """What of a DDL piece runs downstream at once (True), is only tracked (False), or
        is decided with the other shards' schemas once the statement is read (None). A
        held shard's DDLs wait (read again once its conflict is settled); its settled
        DDL is only tracked."""
        tables = {self.tracker.key(t.schema, t.table) for t in one.tables if t.table}
        held = self.shards.held_tables() if self.shards is not None else []
        if not tables:  # CREATE/ALTER DATABASE run; DROP DATABASE keeps the merged tables
            if one.event != "drop database":
                return True
            schema = self.tracker.key(one.tables[0].schema)[0] if one.tables else ""
            if not any(t[0] == schema for t in held):
                return False
            for gone in [t for t in self.tracker.tables() if t[0] == schema and t[1]
                         and t not in held]:  # they leave their locks now (which may
                self.tracker.remove(*gone)  # settle the held shards' change); the
            return None  # statement is read again once the held shards are released
        if one.event == "create table" and len(one.tables) == 2 and \
                self.shards is not None:  # CREATE TABLE ... LIKE
            new, origin = (self.tracker.key(t.schema, t.table) for t in one.tables)
            if origin in held and new not in held:
                changes[new] = self._made_like_held(new, origin)
                return None
            if self.shards.resolved_at(new, at):
                changes[new] = []  # released: its schema into its lock (below)
        if "rename table" in (one.events or (one.event,)):  # (a held shard's too: its
            # new name's rows would come before the rename is read again)
            raise errors.SYNC_SHARD_UNSUPPORTED(statement="RENAME TABLE", mode="optimistic",
                                                where=at.short())
        if tables.intersection(held):
            return None
        if one.event == "create table":  # joins its lock, with its schema (below)
            return not self._like_its_merged_table(one)
        if len(tables) > 1:
            raise errors.SYNC_SHARD_MULTIPLE_TABLES(sql=one.sql, where=at.short())
        (table,) = tables
        if one.event in ("truncate table", "drop table"):
            return None if one.event == "truncate table" else False  # a drop leaves its lock
        before = self.tracker.get(*table)
        if before is None:
            return True
        self.tracker.apply_ddl(one)
        after = self.tracker.get(*table)
        assert after is not None
        settled = self.shards is not None and self.shards.settled_piece(table, at, sql)
        changes.setdefault(table, []).append(_Change(sql, one, before, after, settled))
        return None

    def _made_like_held(self, new: Table, origin: Table) -> list[_Change]:
        """A table created LIKE a held shard has, upstream, the schema after the shard's
        held DDL: it joins the lock as if it had made that change itself (and waits with
        the shard, or settles it)."""
        assert self.shards is not None
        held, before = self.shards.held_of(origin), self.tracker.get(*origin)
        assert held is not None and before is not None
        scratch = SchemaTracker(case_sensitive=self.case_sensitive,
                                flavor=self.cfg.flavor.value)
        scratch.put(before)
        made = []
        for sql, piece in zip(held.statements, held.context.pieces, strict=True):
            was = scratch.get(*origin)
            scratch.apply_ddl(piece)
            now = scratch.get(*origin)
            assert was is not None and now is not None
            made.append(_Change(sql, piece, replace(was, schema=new[0], table=new[1]),
                                replace(now, schema=new[0], table=new[1])))
        self.tracker.put(made[-1].after)
        return made

    def _optimistic_after_ddl(self, changes: dict[Table, list[_Change]], tracked: set[Table],
                              session: _Session, conn: Connection, at: Location) -> None:
        """Each changed shard's schema into its lock, with what the merged table needs;
        a created table joins its lock, a dropped one leaves it."""
        now = set(self.tracker.tables())
        turns: list[tuple[Table, list[_Change], TableInfo | None]] = [
            *((t, [], self.tracker.get(*t)) for t in sorted(now - tracked - changes.keys())),
            *((t, [], None) for t in sorted(tracked - now)),
            *((t, pieces, pieces[-1].after if pieces else self.tracker.get(*t))
              for t, pieces in changes.items())]
        for table, pieces, after in turns:  # (a shard joining or leaving may settle
            # the held ones' change: then it runs here)
            decided = self._into_lock(table, pieces, after, at, session)
            if decided is None:
                self._hold_conflict(table, pieces, at, session)
                continue
            runs, release = decided
            for ran_as, statements in runs:
                self._execute(statements, ran_as, conn, at)
            self._release(self._lock_of(table), release)  # once the change ran downstream
            if runs:
                self.optimism.ran()

    def _into_lock(self, table: Table, pieces: list[_Change], after: TableInfo | None,
                   at: Location, session: _Session) -> tuple[_Runs, list[str]] | None:
        """Decide against the other shards' schemas and put this shard's, in one turn of
        the lock (decided again if another source took the turn meanwhile): the
        statements to run downstream and the held shards to release once they ran, or
        None: the shard holds at its DDL (a conflict the others have not reached yet,
        non-strict mode). A turn that brings every shard to agree with the held changes
        runs the change once: this shard's, decided against the schemas the shards come
        to, or a held shard's."""
        lock = self._lock_of(table)
        while True:
            version, others, was_dropped = self.optimism.others(lock, table)
            turn = self._decided(table, pieces, [s.info for s in others], was_dropped, at)
            held = [s for s in others if s.held is not None]
            release, runs = list[str](), _Runs()
            if held or turn.conflicts:
                finals = [optimism.with_change(s.info, s.held.final, s.held.touched)
                          if s.held else s.info for s in others]
                touched = optimism.Touched().union(
                    *(optimism.touched(c.before, c.after) for c in turn.conflicts))
                mine = [(touched, after)] if turn.conflicts and after else []
                agreed = optimism.settled(
                    [(s.held.touched, s.held.final) for s in held if s.held] + mine,
                    finals + ([after] if after else []))
                if agreed is None and turn.conflicts:
                    raise self._conflict(table, [c.sql for c in turn.conflicts], (
                        "it differs from the conflicting change held by " + ", ".join(
                            s.label for s in held) + " (type-2 DDLs must run in the same "
                        "order and form on every shard)"), at)
                if agreed:
                    release = [s.name for s in held]
                    turn = self._decided(table, pieces, finals, was_dropped, at)
                    if not turn.conflicts and held and held[0].held:  # the change is theirs,
                        runs.append(_held_run(held[0].held, session))  # run as they ran
                elif turn.conflicts:
                    hold = optimism.HeldChange(at.short(), after or pieces[-1].after,
                                               tuple(c.sql for c in pieces), touched,
                                               tuple(session.logged()),
                                               tuple(c.sql for c in pieces if touched &
                                                     optimism.touched(c.before, c.after)))
                    if self.optimism.commit(lock, version, table, pieces[0].before, None,
                                            was_dropped, hold=hold):
                        return None
                    continue
            own = [(c.sql, c.piece) for c in pieces if c in turn.runs or c in turn.conflicts]
            if own:
                runs.append((session, own))
            pending = None if not runs else {"runs": _logged(runs), "at": at.short(),
                                             "release": release}
            if self.optimism.commit(lock, version, table, after, pending,
                                    turn.dropped - turn.gone, turn.gone):
                return runs, release

    def _decided(self, table: Table, pieces: list[_Change], others: list[TableInfo],
                 dropped: frozenset[str], at: Location) -> _Turn:
        """A shard's changes decided one by one against the other shards' schemas; a
        conflict that cannot wait (strict mode, or one that never settles) is raised."""
        turn = _Turn(dropped=dropped)
        for change in pieces:
            decision = optimism.decide(change.before, change.after, others, turn.dropped,
                                       change.piece.events)
            if change.settled:  # ran downstream with the turn that settled its conflict
                # (or let go by an unlock): only tracked, whatever the others are now
                decision = optimism.Decision(optimism.TRACKED)
            turn.dropped = optimism.still_dropped(change.before, change.after, decision,
                                                  turn.dropped)
            turn.gone |= optimism.dropped_downstream(change.before, change.after, decision)
            if decision.verdict == optimism.RUN:
                turn.runs.append(change)
            elif decision.verdict not in (optimism.SKIP, optimism.TRACKED):
                if self.shards is None or not decision.settles:
                    raise self._conflict(table, [change.sql], decision.why, at)
                turn.conflicts.append(change)
        return turn

    def _release(self, lock: str, names: list[str]) -> None:
        if names:
            self.optimism.release(lock, names)
            self._attend_settled()  # held shards of this source among them

    def _conflict(self, table: Table, ddls: list[str], why: str,
                  at: Location) -> errors.DMError:
        return errors.SYNC_SHARD_CONFLICT(ddls=ddls, detail=why, table=qualified(*table),
                                          where=at.short())

    def _hold_conflict(self, table: Table, pieces: list[_Change], at: Location,
                       session: _Session) -> None:
        """The shard holds at its conflicting DDL: not run, not tracked (read again once
        every shard agrees), its checkpoint stays before it."""
        assert self.shards is not None and self.position is not None
        self.tracker.put(pieces[0].before)
        self.shards.hold(table, Held(tuple(c.sql for c in pieces), at,
                                     self.position.committed,
                                     _HeldContext(session, tuple(c.piece for c in pieces))))
        log.info("%s/%s: shard %s holds its conflicting DDL %s at %s until every shard "
                 "agrees", self.cfg.task, self.cfg.source_id, qualified(*table),
                 [c.sql for c in pieces], at.short())
        self._publish_shards()

    def _settled_conflicts(self) -> list[Resolved]:
        """This source's held DDLs that the other shards have settled, as resolved locks
        (their DDL is only tracked when read again)."""
        return [Resolved(self._lock_of(table), sqls, {table: parse_location(at)})
                for table, ats in self.optimism.settled_at().items()
                for at, sqls in sorted(ats.items())]

    def _attend_settled(self) -> None:
        """A held shard of this source whose conflict is settled: sync again from the
        checkpoint, before the held DDLs."""
        assert self.shards is not None
        settled = self.optimism.settled_at()
        if any(held.at.short() in settled.get(table, ()) for table in
               self.shards.held_tables() if (held := self.shards.held_of(table))):
            log.info("%s/%s: a held shard's conflicting DDL is settled: syncing again from "
                     "the checkpoint", self.cfg.task, self.cfg.source_id)
            self._resync = True

    def _unlock_held(self, conn: Connection) -> None:
        """Held shards of this source that `shard-ddl-lock unlock` lets go: DM's exec runs
        the DDL downstream first (as a pending one: again after a crash), skip does not;
        then each is released as if settled, and read again from its checkpoint."""
        assert self.shards is not None and self.position is not None
        if self._safe_until is not None and self.position.committed < self._safe_until:
            return  # still reading again what an earlier run may have applied: a DDL run
            # now would meet those rows (a worker restarted with an unlock waiting)
        for table, (name, action, hold) in sorted(self.optimism.unlocked().items()):
            held = self.shards.held_of(table)
            if held is None or held.at.short() != hold.at:
                continue
            lock = self._lock_of(table)
            log.info("%s/%s: shard-ddl-lock unlock -a %s lets shard %s go on past its held "
                     "DDL %s", self.cfg.task, self.cfg.source_id, action, qualified(*table),
                     list(held.statements))
            if action == "exec":
                ran_as, statements = _held_run(hold, held.context.session)
                self.optimism.pend(lock, {"runs": _logged([(ran_as, statements)]),
                                          "at": hold.at, "release": [name]})
                try:
                    self._execute(statements, ran_as, conn, held.at)
                except errors.DMError:
                    self.failed_ddl = held.at  # binlog skip|replace without -b act here
                    raise
            self._release(lock, [name])
            if action == "exec":
                self.optimism.ran()

    def _operated_held(self) -> None:
        """A held shard's DDL that a `binlog skip|replace` set meanwhile names: sync again
        from the checkpoint, where the operator acts on it (the shard is held no more)."""
        assert self.shards is not None
        operated = [table for table in self.shards.held_tables()
                    if (held := self.shards.held_of(table)) is not None
                    and (held.at.file, held.at.pos) in self.operators]
        if operated:
            log.info("%s/%s: a binlog operator names the held DDL of %s: syncing again from "
                     "the checkpoint", self.cfg.task, self.cfg.source_id,
                     ", ".join(qualified(*t) for t in operated))
            self._resync = True

    def _run_pending(self, conn: Connection) -> None:
        """Statements an earlier run decided to run downstream and may not have run: run
        again if the lock has not moved since (else what this run reads again is decided
        again), unless a binlog skip|replace is set at their DDL."""
        doc = self.optimism.pending()
        if doc is None:
            return
        at = parse_location(str(doc["at"]))
        if (at.file, at.pos) in self.operators or \
                self.optimism.version(doc["lock"]) != {"version": doc["version"]}:
            self.optimism.ran()
            return
        log.info("%s/%s: running the optimistic shard DDLs decided before a restart: %s",
                 self.cfg.task, self.cfg.source_id, [sqls for _, sqls in doc["runs"]])
        try:
            for logged, sqls in doc["runs"]:
                ran_as = _Session(*logged)
                self._execute([(sql, ddl.parse(sql, "", ansi_quotes=ran_as.ansi_quotes))
                               for sql in sqls], ran_as, conn, at)
        except errors.DMError:
            self.failed_ddl = at  # binlog skip|replace without -b act here
            raise
        self._release(str(doc["lock"]), list(doc.get("release", ())))
        self.optimism.ran()

    def _members(self, target: Table) -> list[Table]:
        """The shards of a group: every tracked table of this source routed to `target`."""
        return [k for k in self.tracker.tables() if k[1] and self._router_route(*k) == target]

    def _declare_shards(self) -> None:
        self.locks.declare(sorted({qualified(*self._router_route(*k))
                                   for k in self.tracker.tables() if k[1]}))

    def _seed_shards(self) -> None:
        """A first start without a dump: every upstream table is a shard of its group
        before its first event (DM lists them too), its schema as the downstream's."""
        conn = connect(self.cfg.source, what=f"source {self.cfg.source_id}")
        try:
            rows = query_all(conn, "SELECT TABLE_SCHEMA, TABLE_NAME FROM "
                                   "information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE'")
            for schema, table in rows:
                if self.allows(str(schema), str(table)) and \
                        self.tracker.get(str(schema), str(table)) is None and \
                        self._fetch_downstream_schema(str(schema), str(table)) is None:
                    row = query_one(conn, f"SHOW CREATE TABLE {qualified(schema, table)}")
                    if row is not None:
                        self.tracker.put(parse_create_table(str(row[1]), current_db=schema))
        finally:
            conn.close()

    def _attend(self, target: Table, applier: Applier, conn: Connection,
                arriving: Location | None = None) -> None:
        """A group whose shards all hold the same DDL asks its lock; the owner runs the
        DDL once every source is there; once it ran, this source syncs again, unless its
        only held DDL is the one `arriving` now (a table of its own in its group): then
        nothing was skipped and it goes straight on."""
        assert self.shards is not None
        if self._resync or target not in self.shards.held:
            return
        if not self._pessimistic:
            self._unlock_held(conn)
            self._operated_held()
            self._attend_settled()
            return
        try:
            self._attend_lock(target, applier, conn, arriving)
        except errors.DMError as exc:
            if exc.code in _DDL_OWN_ERRORS:  # binlog skip|replace without -b act here
                wrong = self.shards.mismatched(target)
                self.failed_ddl = wrong[1].at if wrong is not None else min(
                    self.shards.held[target].values(), key=lambda h: h.at).at
            raise

    def _attend_lock(self, target: Table, applier: Applier, conn: Connection,
                     arriving: Location | None) -> None:
        assert self.shards is not None
        held = self.shards.held[target]
        lock = self.shards.lock(target)
        if self.shards.ready(target, self._members(target)):
            verdict: str | Resolved | None = self.locks.attend(lock, held)
        else:  # a shard joined after the group put its info: the lock may have resolved
            verdict = self.locks.settled(lock, held)
        if verdict == EXECUTE:
            self._run_lock(held, applier, conn)
            verdict = self.locks.executed(lock, held)
            if arriving is not None and all(h.at.short() == arriving.short()
                                            for h in held.values()):
                for h in held.values():
                    for one in h.context.pieces:
                        self.tracker.apply_ddl(one)
                assert isinstance(verdict, Resolved)
                self.shards.release(target, verdict)
                self._publish_shards()
                return
        if isinstance(verdict, Resolved):
            log.info("%s/%s: DDL lock %s resolved", self.cfg.task, self.cfg.source_id, lock)
            self._resync = True

    def _run_lock(self, held: dict[Table, Held], applier: Applier, conn: Connection) -> None:
        """The owner runs the group's DDL downstream once, after everything before it."""
        first = min(held.values(), key=lambda h: h.at)
        applier.flush()
        self._execute(list(zip(first.statements, first.context.pieces, strict=True)),
                      first.context.session, conn, first.at)

    def _execute(self, pieces: list[tuple[str, ddl.DDL]], session: _Session,
                 conn: Connection, at: Location) -> None:
        """DDLs decided for a merged table (routed), run downstream as their event would
        run; one that ran before a crash is tolerated (a rename too, if the downstream
        shows it done)."""
        with conn.cursor() as cur, _quoting_as_upstream(cur, session.ansi_quotes), \
                _time_zone(cur, self._offset(session.time_zone)):
            for sql, one in pieces:
                try:
                    cur.execute(sql)
                except pymysql.err.MySQLError as exc:
                    if not ddl.is_tolerated(exc.args[0], one.event) and not rename_done(
                            cur, ddl.parse(sql, "", ansi_quotes=session.ansi_quotes),
                            exc.args[0], lambda schema, table: (schema, table)):
                        raise self._ddl_failed(exc, sql, at.short()) from exc

    def _ddl_failed(self, exc: pymysql.err.MySQLError, sql: str, where: str) -> errors.DMError:
        """A DDL's failure downstream. A lost connection is retried by auto-resume, which
        runs the DDL again from its checkpoint (found there already: tolerated), as a lost
        connection is everywhere else; anything else waits for the user."""
        if exc.args and exc.args[0] in CONNECTION_LOST:
            return errors.DB_BAD_CONN(exc, target=self.cfg.target.target)
        return errors.SYNC_DDL_EXEC(exc, sql=sql, where=where)

    def _with_database_charset(self, one: ddl.DDL, sql: str) -> str:
        """A CREATE DATABASE without a charset gets the one it got upstream (the session's
        server default), so tables created in it later hold the same bytes downstream."""
        st = one.statement
        if not isinstance(st, ddl.CreateDatabase) or st.charset or st.collation:
            return sql
        default = self.tracker.server_default
        return f"{sql} CHARACTER SET {default.charset} COLLATE {default.collation}"

    def _seed_databases(self) -> None:
        """The tracker learns every upstream database's default charset (tables created
        during sync without one take it) and the server's."""
        conn = connect(self.cfg.source, what=f"source {self.cfg.source_id}")
        try:
            server = query_one(conn, "SELECT @@character_set_server, @@collation_server")
            rows = query_all(conn, "SELECT SCHEMA_NAME, DEFAULT_CHARACTER_SET_NAME, "
                                   "DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA")
        finally:
            conn.close()
        if server is not None:
            self.tracker.set_server_default(str(server[0]), str(server[1]))
        for name, charset, collation in rows:
            self.tracker.set_database(str(name), str(charset), str(collation))

    def _point(self, committed: Location, safe_until: Location | None) -> SyncPoint:
        """The checkpoint at `committed`, with the XA transactions prepared and not ended.
        With held shards the global location stays at the earliest one's boundary, and
        every other table's row says how far it is (DM's table checkpoints): a restart
        reads only the held shards' events again."""
        frozen = self.shards.frozen_at() if self.shards is not None else None
        prepared = dict(self._xa_starts)
        if frozen is None or not frozen < committed:
            self._dropped.clear()
            return SyncPoint(committed, _exit_safe(committed, safe_until),
                             self._tracked_tables(), self._table_starts, xa_prepared=prepared)
        assert self.shards is not None
        starts = {}
        for key in self.tracker.tables():
            held = self.shards.held_point(key)
            at = held if held is not None else max(committed,
                                                  self._table_starts.get(key, committed))
            if frozen < at:
                starts[key] = at
        tracked = self._tracked_tables()
        # a table dropped since: its events before the drop are not read again (its rows
        # would meet the merged table's later schema)
        gone = {k: at for k, at in self._dropped.items() if k not in tracked and frozen < at}
        # a restart from `frozen` meets again the ends of those prepared before it
        ended = frozenset(xid for xid, (at, end) in self._xa_ended.items()
                          if at < frozen and not end < frozen and xid not in prepared)
        return SyncPoint(frozen, _exit_safe(frozen, safe_until), tracked, starts, gone,
                         prepared, ended)

    def _forget_passed_locks(self, point: SyncPoint) -> None:
        """Resolved locks whose DDLs every shard's saved checkpoint has passed."""
        if self.shards is None or not self.shards.resolved:
            return
        done = [r for r in self.shards.resolved
                if r.passed(lambda t: point.table_starts.get(t, point.location))]
        if not done:
            return
        try:
            if self._pessimistic:
                self.locks.forget(done)
            else:  # settled conflicts, one shard each
                for r in done:
                    for table, at in r.shards.items():
                        self.optimism.forget(table, at.short())
        except (errors.DMError, TimeoutError) as exc:  # forgotten at a later checkpoint
            log.warning("%s/%s: resolved DDL locks not forgotten yet: %s", self.cfg.task,
                        self.cfg.source_id, exc)
            return
        self.shards.resolved = [r for r in self.shards.resolved if r not in done]

    def _flush(self, applier: Applier, safe_until: Location | None) -> None:
        """Barrier, then the checkpoint: never ahead of what is committed downstream."""
        if self.position is None:
            return
        applier.flush()
        if self._causality is not None:  # nothing in flight: the key groups start afresh
            self._causality.reset()
        if self._tracker_ahead:  # the tracker holds a DDL of the transaction being read
            return
        committed = self.position.committed
        self._table_starts = {k: at for k, at in self._table_starts.items() if committed < at}
        self._marks = {k: m for k, m in self._marks.items() if not m.passed(committed)}
        point = self._point(committed, safe_until)
        for attempt in range(_SAVE_RETRIES):
            try:
                conn = connect(self.cfg.target, what="downstream")
                try:
                    self.checkpoint.save(conn, point)
                    if self.online is not None:
                        self.online.forget_passed(conn, point.location)
                finally:
                    conn.close()
                self.saved = point.location
                self._xa_ended = {xid: ended for xid, ended in self._xa_ended.items()
                                  if not ended[1] < point.location}
                self._flushed_commit = committed
                now = time.monotonic()
                self.recorder.flush_interval.observe(now - self._flushed_at)
                self.recorder.lag.observe(self.lag())
                self._flushed_at = now
                self._forget_passed_locks(point)
                return
            except (errors.DMError, pymysql.err.OperationalError) as exc:
                if attempt == (_SAVE_RETRIES_STOPPING if self._stopping.is_set() else
                               _SAVE_RETRIES) - 1 or (isinstance(exc, errors.DMError)
                                                      and not exc.spec.retryable):
                    raise
                log.warning("checkpoint not saved (%s); retrying", exc)
                time.sleep(_SAVE_INTERVAL)


_MEMBERSHIP = frozenset({"create table", "drop table", "drop database"})
# statements a shard runs that are never its group's DDL (shard mode)
_NOT_GROUP_DDLS = frozenset({"create table", "drop table", "truncate table", "rename table"})
# DDLs after which the rows before them still apply (no checkpoint needed before them)
_ADDITIVE_DDLS = frozenset({"create table", "create database"})

# the failures of a DDL itself, which binlog skip|replace get past (DM: DDL errors only)
_DDL_OWN_ERRORS = frozenset(e.code for e in (
    errors.SYNC_PARSE_DDL, errors.SYNC_DDL_EXEC, errors.SCHEMA_CANNOT_TRACK_DDL,
    errors.SCHEMA_TABLE_NOT_FOUND, errors.SYNC_SHARD_DDL_SEQUENCE,
    errors.SYNC_SHARD_MULTIPLE_TABLES, errors.SYNC_SHARD_UNSUPPORTED,
    errors.MASTER_SHARD_DDL_DIFF, errors.SYNC_SHARD_CONFLICT, errors.SYNC_GHOST_NOT_RECORDED,
    errors.SYNC_GHOST_RENAME_TO_GHOST, errors.SYNC_GHOST_RENAME_TO_OTHER,
    errors.CONFIG_ONLINE_DDL_MISTAKE_REGEX, errors.SYNC_TABLE_FROM_UNTAKEN))


def _with_values(row: Any, kind: str, values: tuple[str, ...]) -> Any:
    """A decoded row (a (before, after) pair for an update) with `values` appended."""
    if kind == "update":
        before, after = row
        return (*before, *values), (*after, *values)
    return (*row, *values)


def _exit_safe(at: Location, safe_until: Location | None) -> Location | None:
    """The exit-safe location a checkpoint at `at` keeps: only one still ahead of it."""
    return safe_until if safe_until is not None and at < safe_until else None


@dataclass(frozen=True)
class _Session:
    """What of the upstream session a DDL was run in matters to running it downstream."""

    ansi_quotes: bool
    time_zone: str | None  # as logged; None: the upstream's global time zone
    server_charset: str | None  # character_set_server as logged; None: not logged

    def logged(self) -> list[object]:
        """As a pending document keeps it (`_run_pending` reads it back)."""
        return [self.ansi_quotes, self.time_zone, self.server_charset]


_Runs = list[tuple[_Session, list[tuple[str, ddl.DDL]]]]  # statements, by the session
# they run in


def _logged(runs: _Runs) -> list[list[object]]:
    """`runs` as a pending document keeps them."""
    return [[ran_as.logged(), [sql for sql, _ in statements]] for ran_as, statements in runs]


def _held_run(held: optimism.HeldChange, settling: _Session
              ) -> tuple[_Session, list[tuple[str, ddl.DDL]]]:
    """What of a held shard's DDL runs once it settles (its clauses that touch what its
    conflict touches), in the session that DDL ran in upstream."""
    ran_as = _Session(*held.session) if held.session else settling
    return ran_as, [(sql, ddl.parse(sql, "", ansi_quotes=ran_as.ansi_quotes))
                    for sql in held.settling]


@dataclass(frozen=True)
class _Change:
    """One piece of an optimistic shard's DDL: its routed SQL and the shard's schema
    before and after it."""

    sql: str
    piece: ddl.DDL
    before: TableInfo
    after: TableInfo
    settled: bool = False  # a held DDL the other shards settled: only tracked


@dataclass
class _Turn:
    """A shard's changes as one turn of its optimistic lock decides them."""

    dropped: frozenset[str]  # the columns it dropped that the merged table keeps
    gone: frozenset[str] = frozenset()  # the columns dropped downstream by it
    runs: list[_Change] = field(default_factory=list)
    conflicts: list[_Change] = field(default_factory=list)


@dataclass(frozen=True)
class _HeldContext:
    """How a held shard DDL runs when its lock is resolved: its session and its pieces."""

    session: _Session
    pieces: tuple[ddl.DDL, ...]


@contextmanager
def _time_zone(cur: Cursor, offset: str) -> Iterator[None]:
    """Run a DDL under the upstream session's time zone: its TIMESTAMP literals (defaults,
    partition bounds) must mean the same instants downstream."""
    if offset == _UTC:
        yield
        return
    cur.execute("SET SESSION time_zone = %s", (offset,))
    try:
        yield
    finally:
        cur.execute("SET SESSION time_zone = %s", (_UTC,))


@contextmanager
def _quoting_as_upstream(cur: Cursor, ansi: bool) -> Iterator[None]:
    """Run a DDL written with "double-quoted" identifiers under ANSI_QUOTES downstream."""
    if not ansi:
        yield
        return
    cur.execute("SELECT @@SESSION.sql_mode")
    (mode,) = cur.fetchone()
    cur.execute("SET SESSION sql_mode = CONCAT(@@SESSION.sql_mode, ',ANSI_QUOTES')")
    try:
        yield
    finally:
        cur.execute("SET SESSION sql_mode = %s", (mode,))


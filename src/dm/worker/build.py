"""Turn a subtask config and its source config into a runnable SubTask."""

from __future__ import annotations

import zlib
from dataclasses import replace
from pathlib import Path

from dm.binlog.location import FILE_HEADER_END, Flavor, Location, parse_gtid_set
from dm.config.extraargs import parse_extra_args
from dm.config.source import SourceConfig
from dm.config.stored import endpoint
from dm.config.subtask import SubTaskConfig
from dm.core.schemas import Selection
from dm.db import Endpoint
from dm.dump.dumper import DumpSettings
from dm.fence import Fence
from dm.load.loader import LoadSettings
from dm.rules.event_filter import BinlogEventFilter
from dm.rules.expr import ExpressionFilters
from dm.sync.syncer import SyncConfig, SyncUnit
from dm.worker.autoresume import AutoResume
from dm.worker.fullphase import FullPhase, FullPhaseConfig
from dm.worker.subtask import SubTask, dump_dir

DUMPS = ("full", "all", "dump")
LOADS = ("full", "all", "load", "load&sync")
SYNCS = ("incremental", "all", "load&sync")


def _full_phase(sub: SubTaskConfig, source: SourceConfig, directory: Path,
                target: Endpoint) -> FullPhase:
    args = parse_extra_args(sub.mydumper.extra_args)  # refused at load when unsupported
    dump = DumpSettings(threads=args.threads or sub.mydumper.threads,
                        rows=args.rows or sub.mydumper.rows or 200_000,
                        chunk_bytes=sub.mydumper.chunk_filesize_bytes(),
                        consistency=args.consistency,
                        where=sub.mydumper.where if args.where is None else args.where,
                        ) if sub.mode in DUMPS else None
    load = LoadSettings(pool_size=sub.loader.pool_size, clean_dump_file=sub.clean_dump_file,
                        on_duplicate=sub.loader.on_duplicate) if sub.mode in LOADS else None
    cfg = FullPhaseConfig(task=sub.name, source_id=sub.source_id, source=endpoint(source.from_),
                          target=target, meta_schema=sub.meta_schema,
                          directory=directory, dump=dump, load=load,
                          keep_metadata=sub.mode in SYNCS)
    ba_list, tables = sub.ba_list(), sub.migrated_tables()  # a load alone: the list as
    # it is (with online-ddl, the tools' tables left out), not narrowed by dump arguments
    selection = Selection(args.dump_filter(tables), args.database_filter(
        ba_list.takes_database)) if dump else Selection(tables, ba_list.takes_database)
    return FullPhase(cfg, selection, sub.router(), sub.column_mapping())


def _meta_location(sub: SubTaskConfig, flavor: Flavor) -> Location | None:
    meta = sub.meta
    if meta is None or not (meta.binlog_name or meta.binlog_gtid):
        return None
    gtid = parse_gtid_set(meta.binlog_gtid, flavor) if meta.binlog_gtid else None
    return Location(meta.binlog_name, meta.binlog_pos or FILE_HEADER_END, gtid)


def replica_server_id(source_server_id: int, reader: str) -> int:
    """The server id a binlog reader gives the upstream (the sync unit of task `reader`,
    or `relay <worker>`): its own per reader, since MariaDB ends the older of two Binlog
    Dumps that give the same id (DM gives each syncer and relay an id of its own too).
    Derived, not random: stable across restarts."""
    return (source_server_id + zlib.crc32(reader.encode())) % 0xFFFFFFFF or 1


def _sync_unit(sub: SubTaskConfig, source: SourceConfig, directory: Path,
               target: Endpoint, worker: str) -> SyncUnit:
    """The sync unit; in task-mode full, the catch-up that reconciles a resumed dump."""
    syncer = sub.syncer.effective()
    flavor = Flavor(source.flavor or "mysql")
    duration = syncer.safe_mode_duration
    cfg = SyncConfig(
        task=sub.name, source_id=sub.source_id, source=endpoint(source.from_),
        target=target, meta_schema=sub.meta_schema, flavor=flavor,
        server_id=replica_server_id(source.server_id, sub.name), enable_gtid=source.enable_gtid,
        worker_count=syncer.worker_count or 16, batch=syncer.batch or 100,
        queue_size=syncer.queue_size, flush_interval=float(syncer.checkpoint_flush_interval),
        safe_mode=syncer.safe_mode,
        safe_mode_duration=duration.total_seconds() if duration is not None else 60.0,
        meta=_meta_location(sub, flavor), dump_dir=directory if sub.mode in LOADS else None,
        catch_up=sub.mode == "full",
        # a full task's catch-up replays between its dump's snapshots: nothing to hold
        shard_mode=sub.shard_mode if sub.mode != "full" else "",
        strict_optimistic=sub.strict_optimistic_shard_mode, worker=worker)
    return SyncUnit(cfg, sub.ba_list().allows, sub.router(),
                    BinlogEventFilter(sub.filters, case_sensitive=sub.case_sensitive),
                    ExpressionFilters(sub.expression_filters, case_sensitive=sub.case_sensitive),
                    sub.case_sensitive, sub.column_mapping(), sub.shadow_tables())


def build_subtask(sub: SubTaskConfig, source: SourceConfig, base_dir: Path,
                  fence: Fence | None = None, worker: str = "") -> SubTask:
    """The subtask on dm-worker `worker`; with a fence, every downstream write checks it
    first (dm.fence)."""
    sub = sub.with_source(source)  # source-level filters and case sensitivity join in
    directory = dump_dir(base_dir, sub.loader.dir)
    target = replace(endpoint(sub.to), fence=fence)
    full = _full_phase(sub, source, directory, target) if sub.mode != "incremental" else None
    sync = _sync_unit(sub, source, directory, target, worker) if sub.mode in (*SYNCS, "full") \
        else None
    return SubTask(sub.name, sub.source_id, full, sync,
                   AutoResume.from_checker(source.checker))

"""What workers report (DM's query-status shapes) in the OpenAPI's shapes."""

from __future__ import annotations

from typing import Any

import aiohttp

from dm import errors
from dm.master import relay, tasks
from dm.master.openapi import models
from dm.master.state import ClusterState


async def source_statuses(state: ClusterState, source: str) -> list[models.SourceStatus]:
    """One entry per worker of the source (the bound one, and the ones relaying it), each
    with its relay status; a source bound to no worker gets one entry without a worker."""
    bound = [w for w, s in (await state.bounds()).items() if s == source]
    names = list(dict.fromkeys([*bound, *await relay.relaying(state, source)]))
    if not names:
        return [models.SourceStatus(source_name=source, worker_name="")]
    workers = await state.workers()
    out = []
    for name in names:
        entry = models.SourceStatus(source_name=source, worker_name=name)
        if name not in workers:
            entry.error_msg = f"worker {name} is not registered"
        else:
            try:
                shown = (await tasks.worker_status(workers[name].address, None)).get(
                    "relayStatus")
            except (aiohttp.ClientError, TimeoutError) as exc:
                entry.error_msg = f"worker {name} unreachable: {exc}"
            else:
                entry.relay_status = _relay(shown) if shown else None
        out.append(entry)
    return out


def _relay(shown: dict[str, Any]) -> models.RelayStatus:
    return models.RelayStatus(
        master_binlog=shown.get("masterBinlog", ""),
        master_binlog_gtid=shown.get("masterBinlogGtid", ""),
        relay_dir=shown.get("relaySubDir", ""), relay_binlog_gtid=shown.get("relayBinlogGtid", ""),
        relay_catch_up_master=bool(shown.get("relayCatchUpMaster")),
        stage=shown.get("stage", ""))


async def subtask_statuses(state: ClusterState, task: str, only: list[str]
                           ) -> list[models.SubTaskStatus]:
    answer = await tasks.query_status(state, task, only)
    out = []
    for entry in answer["sources"]:
        source = entry["sourceStatus"]["source"]
        worker = entry["sourceStatus"]["worker"]
        mine = [st for st in entry["subTaskStatus"] if st.get("name") == task]
        if not mine:  # unbound, unreachable, or not started on the worker yet
            out.append(models.SubTaskStatus(name=task, source_name=source, worker_name=worker,
                                            stage="", unit="",
                                            error_msg=entry["msg"] or None))
            continue
        out.append(subtask_status(task, source, worker, mine[0]))
    return out


def subtask_status(task: str, source: str, worker: str, st: dict[str, Any]
                   ) -> models.SubTaskStatus:
    failures = [errors.DMError.from_process_error(e)
                for e in (st.get("result") or {}).get("errors", [])]
    out = models.SubTaskStatus(
        name=task, source_name=source, worker_name=worker, stage=st["stage"], unit=st["unit"],
        unresolved_ddl_lock_id=st.get("unresolvedDDLLockID") or None,
        error_msg="\n".join(str(f) for f in failures) or None,
        errors=[models.SubTaskError(error_code=f.code, error_msg=f.message,
                                    raw_cause=f.raw_cause, workaround=f.workaround)
                for f in failures])
    if (dump := st.get("dump")) is not None:
        out.dump_status = models.DumpStatus(
            total_tables=dump.get("totalTables", 0), total_chunks=dump.get("totalChunks", 0),
            finished_chunks=dump.get("finishedChunks", 0),
            finished_bytes=dump.get("finishedBytes", 0), progress=dump.get("progress", ""))
    if (load := st.get("load")) is not None:
        out.load_status = models.LoadStatus(
            finished_bytes=load.get("finishedBytes", 0), total_bytes=load.get("totalBytes", 0),
            progress=load.get("progress", ""), meta_binlog=load.get("metaBinlog", ""),
            meta_binlog_gtid=load.get("metaBinlogGTID", ""))
    if (sync := st.get("sync")) is not None:
        out.sync_status = models.SyncStatus(
            total_events=sync["totalEvents"], total_tps=sync["totalTps"],
            recent_tps=sync["recentTps"], master_binlog=sync["masterBinlog"],
            master_binlog_gtid=sync["masterBinlogGtid"], syncer_binlog=sync["syncerBinlog"],
            syncer_binlog_gtid=sync["syncerBinlogGtid"], blocking_ddls=sync["blockingDDLs"],
            unresolved_groups=[models.ShardingGroup(
                target=g["target"], ddl_list=g["DDLs"], first_location=g["firstLocation"],
                synced=g["synced"], unsynced=g["unsynced"])
                for g in sync["unresolvedGroups"]],
            synced=sync["synced"], binlog_type=sync["binlogType"],
            seconds_behind_master=int(sync["secondsBehindMaster"]))
    return out

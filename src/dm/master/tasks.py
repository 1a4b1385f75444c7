"""start-task, check-task, stop/pause/resume-task and query-status on the leader."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import aiohttp

from dm import clustertls, errors
from dm.binlog.location import Flavor
from dm.checker.run import run_precheck
from dm.config.source import SourceConfig
from dm.config.stored import endpoint, from_doc, to_doc
from dm.config.task import TaskConfig, parse_task_config
from dm.db import connect
from dm.load.checkpoint import LoaderCheckpoint
from dm.master import ddllocks, optlocks
from dm.master.state import ClusterState
from dm.rules.event_filter import BinlogEventFilter
from dm.rules.expr import ExpressionFilters
from dm.sync.applied import AppliedMarks
from dm.sync.checkpoint import SyncerCheckpoint
from dm.sync.onlineddl import OnlineDDLRecords

log = logging.getLogger(__name__)

async def _sources_of(state: ClusterState, task: TaskConfig) -> dict[str, SourceConfig]:
    existing = await state.sources()
    out: dict[str, SourceConfig] = {}
    for sid in (inst.source_id for inst in task.mysql_instances):
        if sid not in existing:
            raise errors.MASTER_SOURCE_NOT_FOUND(source=sid)
        out[sid] = from_doc(SourceConfig, existing[sid])
    return out


async def check_task(state: ClusterState, file: dict[str, str], max_errors: int = 10,
                     max_warnings: int = 10) -> dict[str, Any]:
    task = parse_task_config(file["text"], file["name"])
    sources = await _sources_of(state, task)
    report = await asyncio.to_thread(run_precheck, task, sources, max_errors, max_warnings)
    if not report.passed:
        raise errors.PRECHECK_FAILED(task=task.name, detail=report.summary_text())
    return {"result": True, "msg": with_warnings(report.pass_message(), task.warnings),
            "checkResult": report.to_json()}


async def start_task(state: ClusterState, file: dict[str, str], remove_meta: bool,
                     only_sources: list[str], shown: dict[str, Any] | None = None
                     ) -> dict[str, Any]:
    """`shown`: the task as the OpenAPI posted it, which `GET /api/v1/tasks` shows back."""
    task = parse_task_config(file["text"], file["name"])
    if task.name in await state.tasks():
        raise errors.MASTER_TASK_EXISTS(task=task.name)
    sources = {sid: cfg for sid, cfg in (await _sources_of(state, task)).items()
               if not only_sources or sid in only_sources}  # as DM: the chosen ones only
    report = await asyncio.to_thread(run_precheck, task, sources, 10, 10)
    if not report.passed:
        raise errors.PRECHECK_FAILED(task=task.name, detail=report.summary_text())
    subtasks = {s.source_id: s for s in task.subtask_configs()
                if not only_sources or s.source_id in only_sources}
    for sub in subtasks.values():  # rules that only compile at run time are refused now
        BinlogEventFilter(sub.with_source(sources[sub.source_id]).filters,
                          case_sensitive=sub.case_sensitive)
        ExpressionFilters(sub.expression_filters, case_sensitive=sub.case_sensitive)
    if remove_meta:  # DM: the checkpoints and the shard DDL infos in etcd
        await asyncio.to_thread(_remove_meta, task)
        await ddllocks.drop_task(state, task.name, list(subtasks), operations=True)
        await optlocks.drop_task(state, task.name, list(subtasks))
    doc: dict[str, Any] = {"name": task.name, "yaml": task.to_yaml(secrets="mask"),
           "export": task.to_yaml(secrets="encrypt")}
    if shown is not None:
        doc["openapi"] = shown
    await state.put_task(task.name, doc,
                         {sid: to_doc(sub) for sid, sub in subtasks.items()})
    return {"result": True, "msg": with_warnings("", task.warnings),
            "checkResult": report.pass_message(),
            "sources": await applied_by_workers(state, task.name, list(subtasks), "Running")}


def with_warnings(msg: str, warnings: list[str]) -> str:
    """An answer's `msg` with the config's warnings (deprecated or ignored keys, as DM warns),
    which go to the master's log too."""
    for warning in warnings:
        log.warning("config: %s", warning)
    return "\n".join([msg, *warnings] if msg else warnings)


def _remove_meta(task: TaskConfig) -> None:
    conn = connect(endpoint(task.target_database), what="downstream", file="target-database")
    try:
        # the tables hold every source's rows: dropped whole, as DM does
        LoaderCheckpoint(task.meta_schema, task.name, "").drop(conn)
        SyncerCheckpoint(task.meta_schema, task.name, "", Flavor.MARIADB).drop(conn)
        AppliedMarks(task.meta_schema, task.name, "", Flavor.MARIADB).drop(conn)
        OnlineDDLRecords(task.meta_schema, task.name, "").drop(conn)
    finally:
        conn.close()


async def task_sources(state: ClusterState, task: str, only: list[str]) -> list[str]:
    sources = sorted(s for s, t in await state.subtasks() if t == task)
    if not sources:
        raise errors.MASTER_TASK_NOT_FOUND(task=task)
    for s in only:
        if s not in sources:
            raise errors.MASTER_SOURCE_NOT_FOUND(source=f"{s} (in task {task})")
    return only or sources


async def operate_task(state: ClusterState, op: str, task: str, only: list[str]
                       ) -> dict[str, Any]:
    sources = await task_sources(state, task, only)
    if op == "stop":
        remaining = await task_sources(state, task, [])
        whole = set(sources) == set(remaining)
        await state.delete_subtasks(task, sources, whole_task=whole)
        await ddllocks.drop_task(state, task, sources, operations=False)
    else:
        await state.set_stages(task, sources, "Paused" if op == "pause" else "Running")
    expect = {"stop": "Stopped", "pause": "Paused"}.get(op, "Running")
    return {"op": op.capitalize(), "result": True, "msg": "",
            "sources": await applied_by_workers(state, task, sources, expect)}


APPLY_WAIT_S = 10.0
_REACHED = {"Running": {"Running", "Finished"}, "Paused": {"Paused", "Finished", "Stopped"}}


async def applied_by_workers(state: ClusterState, task: str, sources: list[str], expect: str
                              ) -> list[dict[str, Any]]:
    """One answer per source once its worker runs the task's new stage, as DM's master
    waits before answering, so a query-status right after shows it. A subtask that paused
    on an error counts as applied (its error is in query-status); a source whose worker
    does not get there in APPLY_WAIT_S says so in its `msg`."""
    await poke_sources(state, sources)
    deadline = time.monotonic() + APPLY_WAIT_S
    pending = set(sources)
    while pending:
        workers = await state.workers()
        bounds = {s: w for w, s in (await state.bounds()).items()}
        for sid in sorted(pending):
            worker = workers.get(bounds.get(sid, ""))
            if worker is None:
                pending.discard(sid)  # nothing to wait for: query-status says it is unbound
                continue
            try:
                subs = (await worker_status(worker.address, task))["subTaskStatus"]
            except (aiohttp.ClientError, TimeoutError):
                continue
            if _stage_reached(subs, expect):
                pending.discard(sid)
        if not pending or time.monotonic() >= deadline:
            break
        await asyncio.sleep(0.2)
    bounds = {s: w for w, s in (await state.bounds()).items()}
    return [{"result": True, "source": sid, "worker": bounds.get(sid, ""),
             "msg": (f"the worker has not reached stage {expect} after {APPLY_WAIT_S:.0f}s; "
                     f"query-status {task} shows when it does") if sid in pending else ""}
            for sid in sources]


def _stage_reached(subs: list[dict[str, Any]], expect: str) -> bool:
    if expect == "Stopped":
        return not subs
    return bool(subs) and all(st["stage"] in _REACHED[expect] or bool(st.get("result"))
                              for st in subs)


async def worker_status(address: str, task: str | None) -> dict[str, Any]:
    url = clustertls.url(address, "/api/v1/subtasks" + (f"?task={task}" if task else ""))
    async with clustertls.session(10) as http, http.get(url) as resp:
        return dict(await resp.json())


async def post_worker(worker: str, address: str, path: str, body: dict[str, Any],
                      timeout: float = 60) -> dict[str, Any]:
    """A worker's JSON answer to a POST (38052 naming it when it does not answer)."""
    return await _ask_worker(worker, address, path, body, timeout)


async def worker_get(worker: str, address: str, path: str,
                     timeout: float = 10) -> dict[str, Any]:
    """A worker's JSON answer to a GET (38052 naming it when it does not answer)."""
    return await _ask_worker(worker, address, path, None, timeout)


async def _ask_worker(worker: str, address: str, path: str, body: dict[str, Any] | None,
                      timeout: float) -> dict[str, Any]:
    url = clustertls.url(address, path)
    try:
        async with clustertls.session(timeout) as http, \
                (http.get(url) if body is None else http.post(url, json=body)) as resp:
            return dict(await resp.json())
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise errors.MASTER_WORKER_UNREACHABLE(exc, worker=worker, address=address,
                                               detail=str(exc) or type(exc).__name__) from exc


async def poke(address: str) -> None:
    """Tell a worker that etcd changed for it, so that it follows now; best effort (it
    follows on its next pass anyway)."""
    with contextlib.suppress(aiohttp.ClientError, TimeoutError):
        async with clustertls.session(2) as http, \
                http.post(clustertls.url(address, "/api/v1/poke")) as resp:
            await resp.read()


async def poke_sources(state: ClusterState, sources: list[str],
                       also: tuple[str, ...] | list[str] = ()) -> None:
    """Poke the workers bound to `sources` or relaying them, and the workers `also`."""
    workers = await state.workers()
    wanted = {w for w, s in (await state.bounds()).items() if s in sources}
    wanted |= {w for w, s in (await state.relay_workers()).items() if s in sources}
    await asyncio.gather(*(poke(workers[w].address) for w in wanted | set(also)
                           if w in workers))


async def query_status(state: ClusterState, task: str | None, only: list[str],
                       more: bool = False) -> dict[str, Any]:
    """One task's status per source; without a task, DM's short list of tasks, or (with
    sources named, or `more`) every subtask's status per source, as DM gives them."""
    subtasks = await state.subtasks()
    if task is None and not (only or more):
        return await _task_list(state, subtasks)
    if task is None:
        sources = only or sorted({s for s, _ in subtasks})
    else:
        sources = await task_sources(state, task, only)
    workers = await state.workers()
    bounds = {s: w for w, s in (await state.bounds()).items()}
    out = []
    for sid in sources:
        worker = bounds.get(sid, "")
        entry: dict[str, Any] = {"result": True, "msg": "",
                                 "sourceStatus": {"source": sid, "worker": worker,
                                                  "result": None, "relayStatus": None},
                                 "subTaskStatus": []}
        if not worker or worker not in workers:
            entry.update(result=False, msg=f"source {sid} is not bound to any alive worker")
        else:
            try:
                status = await worker_status(workers[worker].address, task)
                entry["subTaskStatus"] = status["subTaskStatus"]
                entry["sourceStatus"]["relayStatus"] = status.get("relayStatus")
            except (aiohttp.ClientError, TimeoutError) as exc:
                entry.update(result=False, msg=f"worker {worker} unreachable: {exc}")
        out.append(entry)
    return {"result": all(e["result"] for e in out), "msg": "", "sources": out}


async def _task_list(state: ClusterState, subtasks: dict[tuple[str, str], Any]
                     ) -> dict[str, Any]:
    workers = await state.workers()
    bounds = {s: w for w, s in (await state.bounds()).items()}
    by_task: dict[str, list[str]] = {}
    for s, t in subtasks:
        by_task.setdefault(t, []).append(s)
    stages_by_task: dict[str, list[str]] = {t: [] for t in by_task}
    for task, sources in by_task.items():
        for sid in sources:
            worker = bounds.get(sid)
            if worker is None or worker not in workers:
                stages_by_task[task].append("Error")
                continue
            try:
                status = await worker_status(workers[worker].address, task)
            except (aiohttp.ClientError, TimeoutError):
                stages_by_task[task].append("Error")
                continue
            stages_by_task[task] += source_stages(status)
    return {"result": True, "msg": "",
            "tasks": [{"taskName": t, "taskStatus": _overall(stages_by_task[t]),
                       "sources": sorted(by_task[t])} for t in sorted(by_task)]}


def source_stages(status: dict[str, Any]) -> list[str]:
    """The stage of each subtask a worker reports, for the task list: Error when it paused
    on an error, or, as DM shows it, when it syncs and its source's relay stopped on one."""
    relay = status.get("relayStatus") or {}
    relay_failed = bool(relay.get("result")) and relay.get("stage") != "Running"
    return ["Error" if st.get("result") or (relay_failed and st.get("unit") == "Sync")
            else st["stage"] for st in status["subTaskStatus"]]


def _overall(stages: list[str]) -> str:
    """DM's per-task summary: Error wins, then Paused, New, Finished, Stopped, Running."""
    for stage in ("Error", "Paused", "New"):
        if stage in stages:
            return stage
    if stages and all(s == "Finished" for s in stages):
        return "Finished"
    if stages and all(s == "Stopped" for s in stages):
        return "Stopped"
    return "Running"

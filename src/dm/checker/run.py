"""Run the precheck items a task needs and build DM's result document."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from dm.checker import items, shards, task_items
from dm.checker.items import FAIL, WARN, CheckResult
from dm.checker.shards import ShardTables
from dm.config.source import SourceConfig
from dm.config.stored import endpoint
from dm.config.subtask import SubTaskConfig
from dm.config.task import TaskConfig
from dm.db import Connection, connect, query_one
from dm.schema import catalog


@dataclass
class PrecheckReport:
    results: list[CheckResult]
    max_errors: int
    max_warnings: int

    @property
    def passed(self) -> bool:
        return all(r.state != FAIL for r in self.results)

    def to_json(self) -> dict[str, Any]:
        failed = [r for r in self.results if r.state == FAIL][: self.max_errors]
        warned = [r for r in self.results if r.state == WARN][: self.max_warnings]
        shown = failed + warned
        return {"results": [r.to_json() for r in shown],
                "summary": {"passed": self.passed, "total": len(self.results),
                            "successful": len(self.results) - len(failed) - len(warned),
                            "failed": len(failed), "warning": len(warned)}}

    def summary_text(self) -> str:
        return json.dumps(self.to_json(), indent=2)

    def pass_message(self) -> str:
        warnings = sum(r.state == WARN for r in self.results)
        if warnings:
            return f"pre-check is passed with {warnings} warning(s):\n{self.summary_text()}"
        return "pre-check is passed. "


_SHARD_ITEMS = {"schema_of_shard_tables", "auto_increment_ID"}  # in a shard mode only


def _wanted(task: TaskConfig) -> set[str]:
    names = set(items.SOURCE_ITEMS) | {"table_schema", "conn_number", "target_privilege",
                                        "binlog_db", "meta_position"}
    if task.shard_mode:
        names |= _SHARD_ITEMS
    if task.online_ddl:
        names.add("online_ddl")
    mode = task.task_mode
    if mode in ("full", "dump", "load"):  # no binlog replication
        names -= items.INCREMENTAL_ONLY | {"binlog_db", "meta_position"}
    if mode != "incremental":  # a dump's or load's metadata decides where sync starts
        names.discard("meta_position")
    if mode in ("incremental", "load", "load&sync"):  # no dump of the upstream
        names -= items.FULL_ONLY | {"table_schema"}
    ignored = set(task.ignore_checking_items)
    return set() if "all" in ignored else names - ignored


def _fresh(target: Connection, task: TaskConfig) -> bool:
    """No checkpoint of the task downstream yet (DM's IsFreshTask)."""
    row = query_one(target, "SELECT COUNT(*) FROM information_schema.TABLES WHERE "
                            "TABLE_SCHEMA = %s AND TABLE_NAME IN (%s, %s)",
                    (task.meta_schema, f"{task.name}_loader_checkpoint",
                     f"{task.name}_syncer_checkpoint"))
    return row is None or not row[0]


def _target_items(target: Connection, task: TaskConfig, wanted: set[str],
                  sources: dict[str, SourceConfig]) -> list[CheckResult]:
    out: list[CheckResult] = []
    loads = [s for s in task.subtask_configs() if s.source_id in sources
             and s.mode in ("all", "full", "load", "load&sync")]
    if "conn_number" in wanted and loads:  # DM's: a connection per loader thread and one
        out.append(task_items.conn_number(target, "the target's load", sum(
            s.loader.pool_size + 1 for s in loads), len(out)))
    return out


def _source_items(conn: Connection, sub: SubTaskConfig, source: SourceConfig,
                  wanted: set[str], rid: int) -> list[CheckResult]:
    out: list[CheckResult] = []
    if "conn_number" in wanted and sub.mode in ("all", "full", "dump"):  # threads, the
        # snapshot's and the planner's connections
        out.append(task_items.conn_number(conn, f"source {sub.source_id}'s dump",
                                          sub.mydumper.threads + 2, rid + len(out)))
    if "binlog_db" in wanted:
        allows = sub.ba_list().allows
        out.append(task_items.binlog_db(conn, sub.source_id, rid + len(out), set(
            catalog.list_databases(conn, allows)), sub.case_sensitive))
    if "meta_position" in wanted and sub.meta is not None and not source.enable_relay:
        out.append(task_items.meta_position(conn, sub.source_id, rid + len(out), sub.meta))
    return out


def run_precheck(task: TaskConfig, sources: dict[str, SourceConfig], max_errors: int,
                 max_warnings: int) -> PrecheckReport:
    wanted = _wanted(task)
    results: list[CheckResult] = []
    target = connect(endpoint(task.target_database), what="downstream (target-database)",
                     file="the task's target-database")
    try:
        results += _target_items(target, task, wanted, sources)
        if wanted & _SHARD_ITEMS and not (task.task_mode in ("all", "full", "dump")
                                          and _fresh(target, task)):
            wanted -= _SHARD_ITEMS  # as DM: the shards' schemas now are not those at
            # the binlog position sync starts from (incremental, or started before)
    finally:
        target.close()
    shard_tables = ShardTables()
    written: set[str] = set()  # the target databases the task writes
    for sub in task.subtask_configs():
        if not wanted:
            break
        source = sources.get(sub.source_id)
        if source is None:  # `start-task -s`: only the chosen sources are checked
            continue
        conn = connect(endpoint(source.from_), what=f"source {sub.source_id}")
        try:
            for name in sorted(wanted & set(items.SOURCE_ITEMS)):
                results.append(items.SOURCE_ITEMS[name](conn, sub.source_id, len(results)))
            results += _source_items(conn, sub, source, wanted, len(results))
            if "table_schema" in wanted:
                results.append(items.table_schema(conn, sub.source_id, len(results),
                                                  sub.migrated_tables()))
            shadow = sub.shadow_tables()
            if "online_ddl" in wanted and shadow is not None:
                results.append(items.online_ddl(conn, sub.source_id, len(results), shadow,
                                                sub.ba_list().allows))
            if wanted & _SHARD_ITEMS:
                shard_tables.gather(conn, sub.source_id, sub.migrated_tables(),
                                    sub.router().route)
            if "target_privilege" in wanted:
                route = sub.router().route
                written |= {sub.meta_schema, *(route(s, t)[0] for s, t, _ in
                                               catalog.list_tables(conn, sub.migrated_tables()))}
        finally:
            conn.close()
    if "target_privilege" in wanted:
        target = connect(endpoint(task.target_database), what="downstream (target-database)",
                         file="the task's target-database")
        try:
            results.append(task_items.target_privilege(target, len(results), written))
        finally:
            target.close()
    if "schema_of_shard_tables" in wanted:
        results.append(shards.schema_of_shard_tables(shard_tables, len(results)))
    if "auto_increment_ID" in wanted:
        results.append(shards.auto_increment_id(shard_tables, len(results)))
    return PrecheckReport(results, max_errors, max_warnings)

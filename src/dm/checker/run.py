"""Run the precheck items a task needs and build DM's result document."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from dm.checker import items, shards
from dm.checker.items import FAIL, WARN, CheckResult
from dm.checker.shards import ShardTables
from dm.config.source import SourceConfig
from dm.config.stored import endpoint
from dm.config.task import TaskConfig
from dm.db import connect


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
    names = set(items.SOURCE_ITEMS) | {"table_schema"}
    if task.shard_mode:
        names |= _SHARD_ITEMS
    if task.online_ddl:
        names.add("online_ddl")
    mode = task.task_mode
    if mode in ("full", "dump", "load"):  # no binlog replication
        names -= items.INCREMENTAL_ONLY
    if mode in ("incremental", "load", "load&sync"):  # no dump of the upstream
        names -= items.FULL_ONLY | {"table_schema"}
    ignored = set(task.ignore_checking_items)
    return set() if "all" in ignored else names - ignored


def run_precheck(task: TaskConfig, sources: dict[str, SourceConfig], max_errors: int,
                 max_warnings: int) -> PrecheckReport:
    wanted = _wanted(task)
    results: list[CheckResult] = []
    target = connect(endpoint(task.target_database), what="downstream (target-database)",
                     file="the task's target-database")
    target.close()
    shard_tables = ShardTables()
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
        finally:
            conn.close()
    if "schema_of_shard_tables" in wanted:
        results.append(shards.schema_of_shard_tables(shard_tables, len(results)))
    if "auto_increment_ID" in wanted:
        results.append(shards.auto_increment_id(shard_tables, len(results)))
    return PrecheckReport(results, max_errors, max_warnings)

"""Write pydm's Grafana dashboards (grafana/dm-standard.json, grafana/dm-professional.json)
from the panel lists below: DM's standard rows (overview; dump and load) and its
professional ones (task state, binlog replication, relay log, high availability), on the
series pydm exports (docs/monitoring.md). Run `python monitoring/dashboards.py` after
changing a panel; tests/unit/test_monitoring.py checks the files are what this writes."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SEL = 'task=~"$task", source_id=~"$source"'  # the dashboards' task and source filters

Panel = tuple[str, str, list[tuple[str, str]]]  # title, unit, [(expr, legend)]


def _quantiles(series: str, by: str = "task, source_id") -> list[tuple[str, str]]:
    return [(f"histogram_quantile({q}, sum(rate({series}_bucket{{{SEL}}}[1m])) by (le, {by}))",
             f"{{{{task}}}} {{{{source_id}}}} {int(q * 100)}%") for q in (0.90, 0.95, 0.99)]


OVERVIEW: list[Panel] = [
    ("Running tasks", "short", [("count(dm_worker_task_state == 2) or vector(0)",
                                 "running")]),
    ("Tasks not running", "short", [("dm_worker_task_state != 2",
                                     "{{task}} {{source_id}} on {{worker}}")]),
    ("Remaining time to sync", "s", [(f"dm_syncer_remaining_time{{{SEL}}}",
                                      "{{task}} {{source_id}}")]),
    ("Replication lag", "s", [*_quantiles("dm_syncer_replication_lag"),
                              (f"dm_syncer_replication_lag_gauge{{{SEL}}}",
                               "{{task}} {{source_id}} now")]),
    ("Replication TPS (upstream transactions)", "ops", [(
        f"sum(rate(dm_syncer_finished_transaction_total{{{SEL}}}[1m])) by (task, source_id)",
        "{{task}} {{source_id}}")]),
    ("Replication QPS (row changes)", "ops", [(
        f"sum(rate(dm_syncer_finished_jobs_total{{{SEL}}}[1m])) by (task, source_id)",
        "{{task}} {{source_id}}")]),
    ("Transaction / DDL execution latency", "s", [
        *_quantiles("dm_syncer_txn_duration_time"),
        *_quantiles("dm_syncer_query_duration_time")]),
]
DUMP_LOAD: list[Panel] = [
    ("Load progress", "percentunit", [(f"dm_loader_progress{{{SEL}}}",
                                       "{{task}} {{source_id}}")]),
    ("Data size to load", "bytes", [(f"dm_loader_data_size_gauge{{{SEL}}}",
                                     "{{task}} {{source_id}}")]),
    ("Tables and files to load", "short", [
        (f"dm_loader_table_gauge{{{SEL}}}", "{{task}} {{source_id}} tables"),
        (f"dm_loader_data_file_gauge{{{SEL}}}", "{{task}} {{source_id}} files")]),
    ("Dump and load exits with error", "short", [
        (f"dm_mydumper_exit_with_error_count{{{SEL}}}",
         "dump {{task}} {{source_id}} resumable={{resumable_err}}"),
        (f"dm_loader_exit_with_error_count{{{SEL}}}",
         "load {{task}} {{source_id}} resumable={{resumable_err}}")]),
]
TASK_STATE: list[Panel] = [
    ("Task state (1 New, 2 Running, 3 Paused, 4 Stopped, 5 Finished)", "short", [
        (f"dm_worker_task_state{{{SEL}}}", "{{task}} {{source_id}} on {{worker}}")]),
]
REPLICATION: list[Panel] = [
    ("Binlog file gap between master and syncer", "short", [(
        f'dm_syncer_binlog_file{{node="master", {SEL}}} - on(instance, task, source_id) '
        f'dm_syncer_binlog_file{{node="syncer", {SEL}}}', "{{task}} {{source_id}}")]),
    ("Binlog file gap between relay and syncer", "short", [(
        'dm_relay_binlog_file{node="relay"} - on(instance, job) group_right '
        f'dm_syncer_binlog_file{{node="syncer", {SEL}}}', "{{task}} {{source_id}}")]),
    ("Binlog position (master, syncer)", "bytes", [(
        f"dm_syncer_binlog_pos{{{SEL}}}", "{{task}} {{source_id}} {{node}}")]),
    ("Binlog file (master, syncer)", "short", [(
        f"dm_syncer_binlog_file{{{SEL}}}", "{{task}} {{source_id}} {{node}}")]),
    ("Finished row changes by kind", "ops", [(
        f"sum(rate(dm_syncer_finished_jobs_total{{{SEL}}}[1m])) by (task, source_id, type)",
        "{{task}} {{source_id}} {{type}}")]),
    ("Finished row changes by table", "ops", [(
        f"sum(rate(dm_syncer_finished_jobs_total{{{SEL}}}[1m])) by (target_schema, "
        "target_table)", "{{target_schema}}.{{target_table}}")]),
    ("Checkpoint flush interval", "s", _quantiles("dm_syncer_flush_checkpoints_time_interval")),
    ("Shard lock resolving", "short", [(f"dm_syncer_shard_lock_resolving{{{SEL}}}",
                                        "{{task}} {{source_id}}")]),
    ("Unsynced shard tables", "short", [(f"dm_syncer_unsynced_table_number{{{SEL}}}",
                                         "{{task}} {{source_id}} {{table}}")]),
    ("Sync exits with error", "short", [(f"dm_syncer_exit_with_error_count{{{SEL}}}",
                                         "{{task}} {{source_id}} resumable={{resumable_err}}")]),
]
RELAY: list[Panel] = [
    ("Relay log storage", "bytes", [("dm_relay_space", "{{instance}} {{type}}")]),
    ("Binlog file gap between master and relay", "short", [(
        'dm_relay_binlog_file{node="master"} - on(instance, job) '
        'dm_relay_binlog_file{node="relay"}', "{{instance}}")]),
    ("Relay binlog position (master, relay)", "bytes", [("dm_relay_binlog_pos",
                                                        "{{instance}} {{node}}")]),
    ("Relay exits with error", "short", [("dm_relay_exit_with_error_count",
                                          "{{instance}} resumable={{resumable_err}}")]),
    ("Relay read and write failures", "short", [
        ("dm_relay_read_error_count", "{{instance}} read"),
        ("dm_relay_write_error_count", "{{instance}} write")]),
    ("Relay log data corruption (torn tails cut)", "short", [("dm_relay_data_corruption",
                                                             "{{instance}}")]),
]
HA: list[Panel] = [
    ("Leader starts", "short", [("dm_master_start_leader_counter", "{{instance}}")]),
    ("Worker state (0 offline, 1 free, 1.5 relay, 2 bound)", "short", [("dm_master_worker_state",
                                                              "{{worker}}")]),
    ("Shard DDL errors", "short", [("dm_master_shard_ddl_error", "{{task}} {{type}}")]),
    ("Pending shard DDL locks", "short", [("dm_master_ddl_state_number",
                                           "{{task}} {{type}}")]),
]

STANDARD = [("Overview", OVERVIEW), ("Dump and load", DUMP_LOAD)]
PROFESSIONAL = [*STANDARD, ("Task state", TASK_STATE), ("Binlog replication", REPLICATION),
                ("Relay log", RELAY), ("High availability", HA)]


def _panel(pid: int, title: str, unit: str, targets: list[tuple[str, str]], x: int, y: int
           ) -> dict[str, Any]:
    return {"id": pid, "type": "timeseries", "title": title,
            "datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"},
            "gridPos": {"h": 7, "w": 12, "x": x, "y": y},
            "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
            "targets": [{"expr": expr, "legendFormat": legend, "refId": chr(ord("A") + i)}
                        for i, (expr, legend) in enumerate(targets)]}


def _variable(name: str, label: str) -> dict[str, Any]:
    return {"name": name, "label": label, "type": "query", "includeAll": True, "multi": True,
            "allValue": ".*", "current": {"text": "All", "value": "$__all"},
            "datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"},
            "query": {"query": f"label_values(dm_worker_task_state, {label})",
                      "refId": "A"}, "refresh": 2}


def dashboard(title: str, uid: str, rows: list[tuple[str, list[Panel]]]) -> dict[str, Any]:
    panels: list[dict[str, Any]] = []
    y = 0
    for row, row_panels in rows:
        panels.append({"id": len(panels) + 1, "type": "row", "title": row, "collapsed": False,
                       "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
        y += 1
        for i, (name, unit, targets) in enumerate(row_panels):
            panels.append(_panel(len(panels) + 1, name, unit, targets, 12 * (i % 2),
                                 y + 7 * (i // 2)))
        y += 7 * ((len(row_panels) + 1) // 2)
    return {
        "__inputs": [{"name": "DS_PROMETHEUS", "label": "Prometheus", "type": "datasource",
                      "pluginId": "prometheus", "pluginName": "Prometheus"}],
        "title": title, "uid": uid, "editable": True, "schemaVersion": 36, "version": 1,
        "refresh": "30s", "time": {"from": "now-1h", "to": "now"}, "tags": ["pydm", "dm"],
        "templating": {"list": [_variable("task", "task"), _variable("source", "source_id")]},
        "panels": panels,
    }


DASHBOARDS = {
    "dm-standard.json": dashboard("pydm (DM) standard", "pydm-standard", STANDARD),
    "dm-professional.json": dashboard("pydm (DM) professional", "pydm-professional",
                                      PROFESSIONAL),
}


def main() -> int:
    for name, board in DASHBOARDS.items():
        (HERE / "grafana" / name).write_text(json.dumps(board, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The shipped dashboards and alert rules query only series pydm exports, under DM's
names; the dashboards are what monitoring/dashboards.py writes."""

from __future__ import annotations

import json
import re
import runpy
from collections import Counter
from pathlib import Path

import yaml
from prometheus_client import generate_latest

from dm import metrics

MONITORING = Path(__file__).resolve().parents[2] / "monitoring"
_SERIES = re.compile(r"(?<![\"\w])(dm_[a-z_]+)")  # a name, not a label value


def _exported() -> set[str]:
    """Every series name the processes can export: the recorded ones (a child of each
    made here) and the ones read at scrape time."""
    recorder = metrics.SyncRecorder("t", "s", "w")
    recorder.applied(0, {("db", "t"): Counter(insert=1)}, 0.1)
    recorder.transactions.inc()
    for histogram in (recorder.lag, recorder.query_duration, recorder.flush_interval):
        histogram.observe(1)
    metrics.exited("Sync", "t", "s", True)
    metrics.exited("Load", "t", "s", False)
    metrics.exited("Dump", "t", "s", False)
    metrics.RELAY_EXITS.labels("true").inc()
    metrics.SHARD_DDL_ERRORS.labels("t", "unlock").inc()
    try:
        text = generate_latest().decode()
    finally:
        recorder.forget()
        metrics.forget_task("t", "s")
    names = {line.split("{")[0].split(" ")[0] for line in text.splitlines()
             if line.startswith("dm_")}
    return names | set(metrics.STATE)


def _queried(text: str) -> set[str]:
    return set(_SERIES.findall(text))


def test_dm_counters_keep_dms_names_without_a_total_suffix() -> None:
    names = _exported()
    assert {"dm_syncer_exit_with_error_count", "dm_relay_exit_with_error_count",
            "dm_syncer_finished_jobs_total", "dm_syncer_finished_transaction_total",
            "dm_syncer_replication_lag_bucket", "dm_master_start_leader_counter"} <= names
    assert not {n for n in names if n.endswith("_created") or n.endswith("_count_total")}


def test_the_dashboards_and_alert_rules_query_only_exported_series() -> None:
    exported = _exported()
    rules = yaml.safe_load((MONITORING / "alert.rules.yml").read_text())
    names = {r["alert"] for g in rules["groups"] for r in g["rules"]}
    assert names == {  # DM's alert rules (DM §14.3)
        "DM_master_all_down", "DM_remain_storage_of_relay_log",
        "DM_relay_process_exits_with_error", "DM_relay_log_data_corruption",
        "DM_fail_to_read_binlog_from_master", "DM_fail_to_write_relay_log",
        "DM_dump_process_exists_with_error", "DM_load_process_exists_with_error",
        "DM_sync_process_exists_with_error", "DM_task_state",
        "DM_binlog_file_gap_between_master_relay", "DM_binlog_file_gap_between_master_syncer",
        "DM_binlog_file_gap_between_relay_syncer", "DM_worker_offline", "DM_pending_DDL",
        "DM_DDL_error"}
    queried = _queried(" ".join(r["expr"] for g in rules["groups"] for r in g["rules"]))
    for board in (MONITORING / "grafana").glob("*.json"):
        exprs = [t["expr"] for p in json.loads(board.read_text())["panels"]
                 for t in p.get("targets", [])]
        assert exprs, board
        queried |= _queried(" ".join(exprs))
    assert queried and queried <= exported, sorted(queried - exported)


def test_the_dashboards_are_what_the_generator_writes(tmp_path: Path) -> None:
    boards = runpy.run_path(str(MONITORING / "dashboards.py"))["DASHBOARDS"]
    assert set(boards) == {p.name for p in (MONITORING / "grafana").glob("*.json")}
    for name, board in boards.items():
        assert json.loads((MONITORING / "grafana" / name).read_text()) == board, name


def test_a_sync_unit_never_run_exports_nothing_and_a_stopped_one_nothing_more() -> None:
    """A relay worker's standby subtasks are built, never run: no series of theirs."""
    def series() -> set[str]:
        return {line for line in generate_latest().decode().splitlines()
                if 'task="idle"' in line}
    idle = metrics.SyncRecorder("idle", "s", "")
    assert series() == set()
    idle.transactions.inc()
    idle.applied(1, {("db", "t"): Counter(update=2)}, 0.1)
    shown = series()
    assert any(line.startswith("dm_syncer_finished_transaction_total") for line in shown)
    assert any('queueNo="q_1"' in line and 'type="update"' in line for line in shown)
    idle.forget()
    assert series() == set()

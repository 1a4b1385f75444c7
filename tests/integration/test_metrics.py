"""Metrics (DM §14): a real Prometheus scrapes dm-master and dm-worker with the shipped
alert rules loaded; the series a replicating task, its relay log and the cluster export
arrive with DM's names and labels; a sync unit stopped by an error counts in
`dm_syncer_exit_with_error_count` and fires DM_sync_process_exists_with_error; a stopped
task's series are gone."""

from __future__ import annotations

import json
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dm.sandbox import DMProcesses, MariaDB, free_port, stop_pid, wait_for
from tests.integration.conftest import (
    binlog_end,
    removed_afterwards,
    source_yaml,
    wait_equal,
    wait_stage,
    wait_until,
)

pytestmark = pytest.mark.integration

RULES = Path(__file__).resolve().parents[2] / "monitoring" / "alert.rules.yml"
DB = "met"
TASK = """\
name: met
task-mode: incremental
target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
mysql-instances:
  - source-id: met-src
    block-allow-list: only
    meta: {{binlog-name: "{name}", binlog-pos: {pos}}}
    syncer: {{checkpoint-flush-interval: 1}}
block-allow-list:
  only: {{do-dbs: [met]}}
"""


class Prometheus:
    def __init__(self, base: Path, cluster: DMProcesses) -> None:
        self.port = free_port()
        workers = [f"127.0.0.1:{p}" for p in cluster.worker_ports.values()]
        config = base / "prometheus.yml"
        config.write_text(json.dumps({  # YAML is a superset of JSON
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(RULES)],
            "scrape_configs": [
                {"job_name": "dm_master", "static_configs": [{"targets": [
                    cluster.master_addr]}]},
                {"job_name": "dm_worker", "static_configs": [{"targets": workers}]}]}))
        self.proc = subprocess.Popen(
            ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={base / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=subprocess.DEVNULL, stderr=open(base / "prometheus.log", "wb"))  # noqa: SIM115
        wait_for(lambda: self._get("/-/ready") is not None, 60, "prometheus ready")

    def _get(self, path: str) -> Any:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}",
                                        timeout=5) as resp:
                body = resp.read()
        except OSError:
            return None
        return json.loads(body) if body.startswith(b"{") else body

    def query(self, expr: str) -> list[dict[str, Any]]:
        answer = self._get("/api/v1/query?query=" + urllib.parse.quote(expr))
        assert answer is not None and answer["status"] == "success", answer
        return list(answer["data"]["result"])

    def value(self, expr: str) -> float | None:
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None

    def alerts(self) -> dict[str, str]:
        answer = self._get("/api/v1/alerts")
        return {a["labels"]["alertname"]: a["state"] for a in answer["data"]["alerts"]}

    def rule_health(self) -> set[str]:
        answer = self._get("/api/v1/rules")
        return {r["health"] for g in answer["data"]["groups"] for r in g["rules"]}


def test_promtool_checks_the_shipped_alert_rules() -> None:
    checked = subprocess.run(["promtool", "check", "rules", str(RULES)], capture_output=True,
                             text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 16 rules found" in checked.stdout


@pytest.fixture
def prometheus(cluster: DMProcesses, tmp_path: Path) -> Iterator[Prometheus]:
    server = Prometheus(tmp_path, cluster)
    try:
        yield server
    finally:
        stop_pid(server.proc)


def test_prometheus_scrapes_dms_series_and_the_alert_rules_fire(
        cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB, tmp_path: Path,
        prometheus: Prometheus) -> None:
    for server in (upstream, downstream):
        server.execute(f"DROP DATABASE IF EXISTS {DB}", f"CREATE DATABASE {DB}",
                       f"CREATE TABLE {DB}.t (id INT PRIMARY KEY, v VARCHAR(10))")
    name, pos = binlog_end(upstream)
    assert cluster.dmctl("operate-source", "create", str(source_yaml(
        tmp_path / "source.yaml", "met-src", upstream, **{"enable-relay": "true"})))["result"]
    task = tmp_path / "task.yaml"
    task.write_text(TASK.format(port=downstream.port, name=name, pos=pos))
    with removed_afterwards(cluster, DB, "met-src"):
        assert cluster.dmctl("start-task", str(task))["result"]
        wait_stage(cluster, DB, "Running", unit="Sync")
        upstream.execute(*(f"INSERT INTO {DB}.t VALUES ({i}, 'v{i}')" for i in range(1, 51)),
                         f"UPDATE {DB}.t SET v = CONCAT('u', id) WHERE id <= 10",
                         f"DELETE FROM {DB}.t WHERE id > 45")
        wait_equal(upstream, downstream, DB, ("t",))
        task_labels = 'task="met", source_id="met-src"'
        checks = {
            f'dm_worker_task_state{{{task_labels}, worker="worker1"}}': 2,
            f'sum(dm_syncer_finished_transaction_total{{{task_labels}}})': 52,
            f'sum(dm_syncer_finished_jobs_total{{{task_labels}, target_schema="met", '
            f'target_table="t", type="insert"}})': 50,
            f'sum(dm_syncer_finished_jobs_total{{{task_labels}, type="update"}})': 10,
            f'sum(dm_syncer_finished_jobs_total{{{task_labels}, type="delete"}})': 5,
            f'dm_syncer_binlog_file{{node="syncer", {task_labels}}} - on(task) '
            f'dm_syncer_binlog_file{{node="master", {task_labels}}}': 0,
            f'dm_syncer_replication_lag_gauge{{{task_labels}}}': 0,
            f'dm_syncer_remaining_time{{{task_labels}}}': 0,
            f'dm_syncer_shard_lock_resolving{{{task_labels}}}': 0,
            'dm_master_worker_state{worker="worker1"}': 2,
            'dm_relay_binlog_file{node="relay"} - on(instance) '
            'dm_relay_binlog_file{node="master"}': 0,
        }
        wait_until("Prometheus has the task's series", lambda: all(
            prometheus.value(q) == v for q, v in checks.items()),
            shown=lambda: {q: prometheus.value(q) for q in checks})
        assert (prometheus.value(f'dm_syncer_binlog_pos{{node="syncer", {task_labels}}}')
                or 0) > pos
        assert (prometheus.value('dm_relay_space{type="available"}') or 0) > 0
        assert (prometheus.value("max(dm_master_start_leader_counter)") or 0) >= 1
        assert (prometheus.value(f'sum(dm_syncer_replication_lag_count{{{task_labels}}})')
                or 0) >= 1
        assert (prometheus.value(f'sum(dm_syncer_txn_duration_time_count{{{task_labels}}})')
                or 0) >= 1
        assert prometheus.rule_health() == {"ok"}

        # a DDL the downstream rejects (a row only it has duplicates a value): the sync
        # unit exits with an error that does not resume by itself
        downstream.execute(f"INSERT INTO {DB}.t VALUES (1000, 'v20')")
        upstream.execute(f"ALTER TABLE {DB}.t ADD UNIQUE KEY (v)")
        wait_stage(cluster, DB, "Paused")
        wait_until("the exit counted and alerted", lambda: prometheus.value(
            f'dm_syncer_exit_with_error_count{{{task_labels}, resumable_err="false"}}') == 1
            and prometheus.alerts().get("DM_sync_process_exists_with_error") == "firing",
            shown=prometheus.alerts)
        assert prometheus.value(f"dm_worker_task_state{{{task_labels}}}") == 3

        assert cluster.dmctl("stop-task", DB)["result"]
        wait_until("the stopped task's series gone", lambda: not prometheus.query(
            f'{{__name__=~"dm_.*", {task_labels}}}'),
            shown=lambda: prometheus.query(f'{{__name__=~"dm_.*", {task_labels}}}'))

"""A task started again under its name, anew (checkpoints gone), when the loader's
checkpoint table is already there because another source's subtask of the same task made
it first: this source's full phase must still start afresh. It used to find the earlier
run's dump directory (kept for sync: `metadata`, the plan, the done mark) "complete",
miss its chunk files and pause with 34014 (seen in tests/integration/test_dm_shardddl1.py,
where two sources' subtasks race to make the table)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dm.sandbox import DMProcesses, MariaDB
from tests.integration.conftest import (
    removed_afterwards,
    source_yaml,
    wait_equal,
    wait_stage,
)

pytestmark = pytest.mark.integration

DB = "rerun"
TASK = """\
name: rerun
task-mode: all
target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
mysql-instances:
  - source-id: rerun-src
    block-allow-list: only
block-allow-list:
  only: {{do-dbs: [rerun]}}
"""
# what another source's subtask of the task creates before this one starts
LOADER_TABLE = """CREATE TABLE dm_meta.rerun_loader_checkpoint (
    `id` CHAR(32) NOT NULL, `filename` VARCHAR(255) NOT NULL,
    `cp_schema` VARCHAR(128) NOT NULL, `cp_table` VARCHAR(128) NOT NULL,
    `offset` BIGINT NOT NULL, `end_pos` BIGINT NOT NULL,
    `create_time` TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    `update_time` TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    UNIQUE KEY `uk_id_f` (`id`, `filename`))"""


def test_a_task_started_anew_dumps_afresh_when_another_source_made_the_table(
        cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB, tmp_path: Path) -> None:
    upstream.execute(f"DROP DATABASE IF EXISTS {DB}", f"CREATE DATABASE {DB}",
                     f"CREATE TABLE {DB}.t (id INT PRIMARY KEY, v VARCHAR(10))",
                     f"INSERT INTO {DB}.t SELECT seq, 'first' FROM {DB}.seq_1_to_3000")
    downstream.execute(f"DROP DATABASE IF EXISTS {DB}", "DROP DATABASE IF EXISTS dm_meta")
    task = tmp_path / "task.yaml"
    task.write_text(TASK.format(port=downstream.port))
    with removed_afterwards(cluster, DB, f"{DB}-src"):
        assert cluster.dmctl("operate-source", "create", str(
            source_yaml(tmp_path / "s.yaml", f"{DB}-src", upstream)))["result"]
        assert cluster.dmctl("start-task", str(task))["result"]
        wait_stage(cluster, DB, "Running", unit="Sync")
        wait_equal(upstream, downstream, DB, ("t",))
        assert cluster.dmctl("stop-task", DB)["result"]

        upstream.execute(f"INSERT INTO {DB}.t SELECT seq, 'second' FROM {DB}.seq_3001_to_4000")
        downstream.execute(f"DROP DATABASE {DB}", "DROP DATABASE dm_meta",
                           "CREATE DATABASE dm_meta", LOADER_TABLE)
        assert cluster.dmctl("start-task", str(task))["result"]
        wait_stage(cluster, DB, "Running", unit="Sync")
        wait_equal(upstream, downstream, DB, ("t",))

"""RENAME and CREATE TABLE ... LIKE across the block-allow list's boundary (review finding
15): a replicated table archived under a name the task does not take, and a new one made
like it, as `RENAME TABLE t TO t_2024; CREATE TABLE t LIKE t_2024` rotates a log table.
DM skips both (either names a table it does not take), so the downstream `t` kept its old
rows and the new rows collided with them (1062, or silently replaced in safe mode)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dm.sandbox import DMProcesses, MariaDB, table_rows
from tests.integration.conftest import (
    removed_afterwards,
    source_yaml,
    wait_equal,
    wait_stage,
    wait_until,
)
from tests.integration.test_sync_incremental import _master

pytestmark = pytest.mark.integration

TASK = """\
name: rotate
task-mode: incremental
target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
mysql-instances:
  - source-id: rotate-src
    block-allow-list: only
    meta: {{binlog-name: "{name}", binlog-pos: {pos}}}
block-allow-list:
  only: {{do-tables: [{{db-name: rdb, tbl-name: t}}, {{db-name: rdb, tbl-name: live}}]}}
"""
T = "CREATE TABLE rdb.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(10))"


def _error(cluster: DMProcesses) -> dict[str, object]:
    subs = cluster.dmctl("query-status", "rotate", check=False)["sources"][0]["subTaskStatus"]
    return subs[0]["result"]["errors"][0] if subs and subs[0].get("result") else {}


def test_a_table_rotated_out_and_made_again_like_it(
        cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB, tmp_path: Path) -> None:
    for server in (upstream, downstream):
        server.execute("DROP DATABASE IF EXISTS rdb", "CREATE DATABASE rdb", T,
                       "CREATE TABLE rdb.live (id INT PRIMARY KEY)")
    downstream.execute("DROP DATABASE IF EXISTS dm_meta")
    name, pos, _ = _master(upstream)
    assert cluster.dmctl("operate-source", "create", str(
        source_yaml(tmp_path / "s.yaml", "rotate-src", upstream)))["result"]
    (tmp_path / "t.yaml").write_text(TASK.format(port=downstream.port, name=name, pos=pos))
    with removed_afterwards(cluster, "rotate", "rotate-src"):
        assert cluster.dmctl("start-task", str(tmp_path / "t.yaml"))["result"]
        wait_stage(cluster, "rotate", "Running", unit="Sync")
        upstream.execute("INSERT INTO rdb.t (v) VALUES ('old1'), ('old2'), ('old3'), ('old4')",
                         "RENAME TABLE rdb.t TO rdb.t_2024",
                         "CREATE TABLE rdb.t LIKE rdb.t_2024",
                         "INSERT INTO rdb.t (v) VALUES ('new1'), ('new2')",
                         "INSERT INTO rdb.t_2024 (v) VALUES ('not taken')",
                         "ALTER TABLE rdb.t ADD COLUMN w INT",
                         "INSERT INTO rdb.t (v, w) VALUES ('new3', 3)",
                         "INSERT INTO rdb.live VALUES (1)")
        wait_equal(upstream, downstream, "rdb", ("t", "live"))
        down = downstream.connect()
        try:  # the archive keeps the rows it had when it left the task's tables
            assert [r[1] for r in table_rows(down, "rdb", "t_2024")] == [
                "old1", "old2", "old3", "old4"]
        finally:
            down.close()
        # a table the task takes made from one it never replicated: its rows are unknown
        upstream.execute("CREATE TABLE rdb.staging (id INT PRIMARY KEY)",
                         "INSERT INTO rdb.staging VALUES (7)",
                         "DROP TABLE rdb.live", "RENAME TABLE rdb.staging TO rdb.live")
        wait_until("36105", lambda: _error(cluster).get("ErrCode") == 36105,
                   shown=lambda: _error(cluster))
        error = _error(cluster)
        assert "`rdb`.`live`" in str(error["Message"]) and "`rdb`.`staging`" in str(
            error["Message"])
        assert cluster.dmctl("binlog", "skip", "rotate")["result"]
        downstream.execute("CREATE TABLE rdb.live (id INT PRIMARY KEY)",
                           "INSERT INTO rdb.live VALUES (7)")
        assert cluster.dmctl("resume-task", "rotate")["result"]
        upstream.execute("INSERT INTO rdb.live VALUES (8)", "INSERT INTO rdb.t (v) VALUES ('x')")
        wait_equal(upstream, downstream, "rdb", ("t", "live"))

"""A DDL split into pieces that fails after its first piece resumes cleanly once the
cause is fixed (review finding 8): the tracked schema is saved only after every piece ran,
so the replay neither trips over the piece already applied nor stays stuck for good."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from dm.sandbox import DMProcesses, MariaDB
from tests.integration.conftest import (
    binlog_end,
    removed_afterwards,
    source_yaml,
    wait_equal,
    wait_stage,
)

pytestmark = pytest.mark.integration

TASK = """\
name: ddlpieces
task-mode: incremental
target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
mysql-instances:
  - source-id: ddlpieces-src
    block-allow-list: only
    meta: {{binlog-name: "{name}", binlog-pos: {pos}}}
    syncer: {{checkpoint-flush-interval: 1}}
block-allow-list:
  only: {{do-dbs: [ddlpieces]}}
"""


def test_a_failed_second_piece_resumes_after_the_fix(cluster: DMProcesses, upstream: MariaDB,
                                                     downstream: MariaDB,
                                                     tmp_path: Path) -> None:
    for server in (upstream, downstream):
        server.execute("DROP DATABASE IF EXISTS ddlpieces", "CREATE DATABASE ddlpieces")
    downstream.execute("DROP DATABASE IF EXISTS dm_meta")
    name, pos = binlog_end(upstream)
    upstream.execute("CREATE TABLE ddlpieces.t (id INT PRIMARY KEY, v INT)",
                     "INSERT INTO ddlpieces.t VALUES (1, 1), (2, 2)")
    assert cluster.dmctl("operate-source", "create", str(
        source_yaml(tmp_path / "s.yaml", "ddlpieces-src", upstream)))["result"]
    with removed_afterwards(cluster, "ddlpieces", "ddlpieces-src"):
        (tmp_path / "t.yaml").write_text(TASK.format(port=downstream.port, name=name, pos=pos))
        assert cluster.dmctl("start-task", str(tmp_path / "t.yaml"))["result"]
        wait_equal(upstream, downstream, "ddlpieces", ("t",))
        time.sleep(1.5)  # a checkpoint with the table tracked
        downstream.execute("INSERT INTO ddlpieces.t VALUES (100, 5), (101, 5)")  # only here
        upstream.execute("ALTER TABLE ddlpieces.t ADD COLUMN c2 INT, ADD UNIQUE KEY uk_v (v)")
        answer = wait_stage(cluster, "ddlpieces", "Paused", timeout=60)
        error = answer["sources"][0]["subTaskStatus"][0]["result"]["errors"][0]
        assert "1062" in error["RawCause"], error
        downstream.execute("DELETE FROM ddlpieces.t WHERE id IN (100, 101)")
        assert cluster.dmctl("resume-task", "ddlpieces")["result"]
        upstream.execute("INSERT INTO ddlpieces.t VALUES (3, 3, 33)",
                         "UPDATE ddlpieces.t SET c2 = id")
        wait_equal(upstream, downstream, "ddlpieces", ("t",))
        status = cluster.dmctl("query-status", "ddlpieces")["sources"][0]["subTaskStatus"][0]
        assert status["stage"] == "Running" and not status["result"], status


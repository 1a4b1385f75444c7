"""A DDL split into pieces that fails after its first piece resumes cleanly once the
cause is fixed (review finding 8): the tracked schema is saved only after every piece ran,
so the replay neither trips over the piece already applied nor stays stuck for good."""

from __future__ import annotations

import time
from pathlib import Path

import pymysql
import pytest

from dm.sandbox import DMProcesses, MariaDB, table_rows
from tests.integration.conftest import source_yaml, wait_stage

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
    conn = upstream.connect()
    with conn.cursor() as cur:
        cur.execute("SHOW MASTER STATUS")
        name, pos = cur.fetchone()[:2]
    conn.close()
    upstream.execute("CREATE TABLE ddlpieces.t (id INT PRIMARY KEY, v INT)",
                     "INSERT INTO ddlpieces.t VALUES (1, 1), (2, 2)")
    assert cluster.dmctl("operate-source", "create", str(
        source_yaml(tmp_path / "s.yaml", "ddlpieces-src", upstream)))["result"]
    try:
        (tmp_path / "t.yaml").write_text(TASK.format(port=downstream.port, name=name, pos=pos))
        assert cluster.dmctl("start-task", str(tmp_path / "t.yaml"))["result"]
        _wait_equal(upstream, downstream)
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
        _wait_equal(upstream, downstream)
        status = cluster.dmctl("query-status", "ddlpieces")["sources"][0]["subTaskStatus"][0]
        assert status["stage"] == "Running" and not status["result"], status
    finally:
        cluster.dmctl("stop-task", "ddlpieces", check=False)
        cluster.dmctl("operate-source", "stop", "ddlpieces-src", check=False)


def _wait_equal(upstream: MariaDB, downstream: MariaDB) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if table_rows(upstream.connect(), "ddlpieces", "t") == table_rows(
                    downstream.connect(), "ddlpieces", "t"):
                return
        except pymysql.err.MySQLError:
            pass
        assert time.monotonic() < deadline, "ddlpieces.t differs"
        time.sleep(0.3)

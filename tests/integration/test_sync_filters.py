"""Binlog event filters in sync: task-level and source-level rules, DML and DDL, sql-pattern."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from dm.sandbox import DMProcesses, MariaDB, table_rows
from tests.integration.conftest import wait_stage
from tests.integration.test_sync_incremental import _master

pytestmark = pytest.mark.integration

TASK = """\
name: filtered
task-mode: incremental
target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
mysql-instances:
  - source-id: filter-src
    block-allow-list: only
    filter-rules: [keep-deleted, no-truncate]
    meta: {{binlog-name: "{name}", binlog-pos: {pos}}}
    syncer: {{checkpoint-flush-interval: 1}}
block-allow-list:
  only: {{do-dbs: [fdb]}}
filters:
  keep-deleted:
    schema-pattern: fdb
    table-pattern: "archive*"
    events: [delete]
    action: Ignore
  no-truncate:
    schema-pattern: fdb
    sql-pattern: ["^TRUNCATE"]
    action: Ignore
"""

SOURCE = """\
source-id: filter-src
from: {{host: 127.0.0.1, port: {port}, user: root}}
filters:
  - schema-pattern: fdb
    table-pattern: noisy
    events: [all dml]
    action: Ignore
"""


def test_event_filters(cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB,
                       tmp_path: Path) -> None:
    ddl = ["CREATE TABLE fdb.archive_1 (id INT PRIMARY KEY, v INT)",
           "CREATE TABLE fdb.live (id INT PRIMARY KEY, v INT)",
           "CREATE TABLE fdb.noisy (id INT PRIMARY KEY)"]
    upstream.execute("DROP DATABASE IF EXISTS fdb", "CREATE DATABASE fdb", *ddl)
    downstream.execute("DROP DATABASE IF EXISTS fdb", "CREATE DATABASE fdb", *ddl,
                       "DROP DATABASE IF EXISTS dm_meta")
    name, pos, _ = _master(upstream)
    src = tmp_path / "source.yaml"
    src.write_text(SOURCE.format(port=upstream.port))
    assert cluster.dmctl("operate-source", "create", str(src))["result"]
    task = tmp_path / "task.yaml"
    task.write_text(TASK.format(port=downstream.port, name=name, pos=pos))
    assert cluster.dmctl("start-task", str(task))["result"]
    wait_stage(cluster, "filtered", "Running")
    upstream.execute(
        "INSERT INTO fdb.archive_1 VALUES (1, 1), (2, 2)", "INSERT INTO fdb.live VALUES (1, 1)",
        "INSERT INTO fdb.noisy VALUES (1)",
        "DELETE FROM fdb.archive_1 WHERE id = 1",  # ignored: archives keep what was deleted
        "UPDATE fdb.archive_1 SET v = 20 WHERE id = 2",  # replicated: only deletes are ignored
        "TRUNCATE TABLE fdb.live",  # ignored by its sql-pattern
        "INSERT INTO fdb.live VALUES (2, 2)")
    expected = {"archive_1": [(1, 1), (2, 20)], "live": [(1, 1), (2, 2)], "noisy": []}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        down = downstream.connect()
        got = {t: [tuple(r) for r in table_rows(down, "fdb", t)] for t in expected}
        if got == expected:
            break
        time.sleep(0.3)
    assert got == expected
    assert cluster.dmctl("stop-task", "filtered")["result"]
    assert cluster.dmctl("operate-source", "stop", "filter-src")["result"]

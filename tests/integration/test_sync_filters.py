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


EXPR_TASK = """\
name: exprfiltered
task-mode: incremental
target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
mysql-instances:
  - source-id: expr-src
    block-allow-list: only
    expression-filters: [big-inserts, flip-updates, old-deletes]
    meta: {{binlog-name: "{name}", binlog-pos: {pos}}}
block-allow-list:
  only: {{do-dbs: [edb]}}
expression-filter:
  big-inserts:
    schema: edb
    table: t
    insert-value-expr: "v > 100 AND name LIKE 'big%'"
  flip-updates:
    schema: edb
    table: t
    update-old-value-expr: "v = 1"
    update-new-value-expr: "v = 2"
  old-deletes:
    schema: edb
    table: t
    delete-value-expr: "name IS NULL"
"""


def test_expression_filters(cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB,
                            tmp_path: Path) -> None:
    ddl = "CREATE TABLE edb.t (id INT PRIMARY KEY, v INT, name VARCHAR(20))"
    upstream.execute("DROP DATABASE IF EXISTS edb", "CREATE DATABASE edb", ddl)
    downstream.execute("DROP DATABASE IF EXISTS edb", "CREATE DATABASE edb", ddl,
                       "DROP DATABASE IF EXISTS dm_meta")
    name, pos, _ = _master(upstream)
    src = tmp_path / "source.yaml"
    src.write_text(f"source-id: expr-src\nfrom: {{host: 127.0.0.1, port: {upstream.port}, "
                   "user: root}\n")
    assert cluster.dmctl("operate-source", "create", str(src))["result"]
    task = tmp_path / "task.yaml"
    task.write_text(EXPR_TASK.format(port=downstream.port, name=name, pos=pos))
    assert cluster.dmctl("start-task", str(task))["result"]
    wait_stage(cluster, "exprfiltered", "Running")
    upstream.execute(
        "INSERT INTO edb.t VALUES (1, 500, 'big one')",  # skipped: v > 100 and big%
        "INSERT INTO edb.t VALUES (2, 500, 'small'), (3, 1, 'flip'), (4, 1, NULL), "
        "(5, 1, 'keep')",
        "UPDATE edb.t SET v = 2 WHERE id = 3",  # skipped: old v = 1 and new v = 2
        "UPDATE edb.t SET v = 3 WHERE id = 5",  # replicated: new v is not 2
        "DELETE FROM edb.t WHERE id = 4",  # skipped: name IS NULL
        "DELETE FROM edb.t WHERE id = 2")  # replicated
    expected = [(3, 1, "flip"), (4, 1, None), (5, 3, "keep")]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        got = [tuple(r) for r in table_rows(downstream.connect(), "edb", "t")]
        if got == expected:
            break
        time.sleep(0.3)
    assert got == expected
    assert cluster.dmctl("stop-task", "exprfiltered")["result"]
    assert cluster.dmctl("operate-source", "stop", "expr-src")["result"]

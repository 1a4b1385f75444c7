"""binlog-schema list|update|delete (DM's operate-schema) on a paused task: a table created
upstream during sync lands on a downstream table whose column has another name, so the
task pauses (1054); the tracked schema is shown, replaced by the downstream's
(--from-target), and the task goes on writing into the renamed column. DM's refusals:
a running task (40051), no source named, a statement that is not a CREATE TABLE (44009),
a table not tracked (44005)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dm.sandbox import DMProcesses, MariaDB
from tests.integration.conftest import (
    binlog_end,
    refused,
    removed_afterwards,
    rows_of,
    source_yaml,
    wait_stage,
    wait_until,
)

pytestmark = pytest.mark.integration

DB = "bschema"
SOURCE = f"{DB}-src"
TASK = """\
name: bschema
task-mode: incremental
target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
mysql-instances:
  - source-id: bschema-src
    block-allow-list: only
    meta: {{binlog-name: "{name}", binlog-pos: {pos}}}
block-allow-list:
  only: {{do-dbs: [bschema]}}
"""


def _rows(server: MariaDB) -> list[tuple[Any, ...]]:
    return rows_of(server, DB, "t")


def test_a_paused_task_gets_a_fixed_tracked_schema_and_goes_on(
        cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB, tmp_path: Path) -> None:
    upstream.execute(f"DROP DATABASE IF EXISTS {DB}", f"CREATE DATABASE {DB}")
    downstream.execute(f"DROP DATABASE IF EXISTS {DB}", f"CREATE DATABASE {DB}",
                       f"CREATE TABLE {DB}.t (a INT PRIMARY KEY, renamed VARCHAR(10))")
    name, pos = binlog_end(upstream)
    task = tmp_path / "task.yaml"
    task.write_text(TASK.format(port=downstream.port, name=name, pos=pos))
    schema = ("list", DB, DB, "t", "-s", SOURCE)
    with removed_afterwards(cluster, DB, SOURCE):
        assert cluster.dmctl("operate-source", "create",
                             str(source_yaml(tmp_path / "s.yaml", SOURCE, upstream)))["result"]
        assert cluster.dmctl("start-task", str(task))["result"]
        wait_stage(cluster, DB, "Running", unit="Sync")
        refused(cluster, "40051", "binlog-schema", *schema)
        # the upstream creates the table during sync: the tracker follows the upstream's
        # columns, the downstream's table already exists with another name for one
        upstream.execute(f"CREATE TABLE {DB}.t (a INT PRIMARY KEY, b VARCHAR(10))",
                         f"INSERT INTO {DB}.t VALUES (1, 'one')")
        paused = wait_stage(cluster, DB, "Paused")
        error = paused["sources"][0]["subTaskStatus"][0]["result"]["errors"][0]
        assert "Unknown column" in error["RawCause"], error

        shown = cluster.dmctl("binlog-schema", *schema)
        assert shown["result"] is True and "`b` varchar(10)" in shown["sources"][0]["msg"]
        unnamed = cluster.dmctl("binlog-schema", "list", DB, DB, "t", check=False)
        assert unnamed["_exit"] == 1 and unnamed["msg"] == "must specify at least one source"
        bad = tmp_path / "bad.sql"
        bad.write_text("ALTER TABLE t ADD COLUMN c INT")
        answer = cluster.dmctl("binlog-schema", "update", DB, DB, "t", str(bad), "-s", SOURCE,
                               check=False)
        assert answer["_exit"] == 1 and "code=44009" in answer["sources"][0]["msg"], answer
        answer = cluster.dmctl("binlog-schema", "delete", DB, DB, "nosuch", "-s", SOURCE,
                               check=False)
        assert answer["_exit"] == 1 and "code=44005" in answer["sources"][0]["msg"], answer

        updated = cluster.dmctl("binlog-schema", "update", DB, DB, "t", "-s", SOURCE,
                                "--from-target")
        assert "`renamed` varchar(10)" in updated["sources"][0]["msg"], updated
        got = cluster.dmctl("operate-schema", "get", "-s", SOURCE, DB, "-d", DB, "-t", "t")
        assert got["sources"][0]["msg"] == updated["sources"][0]["msg"]

        assert cluster.dmctl("resume-task", DB)["result"]
        upstream.execute(f"INSERT INTO {DB}.t VALUES (2, 'two')",
                         f"UPDATE {DB}.t SET b = 'uno' WHERE a = 1")
        wait_until("the rows arrive in the renamed column",
                   lambda: _rows(downstream) == [(1, "uno"), (2, "two")],
                   shown=lambda: _rows(downstream))
        status = wait_stage(cluster, DB, "Running", unit="Sync")
        assert status["sources"][0]["subTaskStatus"][0]["result"] is None

"""binlog skip|replace|revert|list (DM 2.0's handle-error): DDLs the downstream rejects (a
unique key over rows only the downstream has duplicated, a DDL the task's user may not run)
pause the task; `binlog replace`
runs another statement instead and `binlog skip -b <pos>` skips one at a position, set
while the worker is down (operators live in etcd); revert and list; used operators go."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dm.sandbox import DMProcesses, MariaDB
from tests.integration.conftest import (
    binlog_end,
    fetch,
    refused,
    removed_afterwards,
    rows_of,
    source_yaml,
    wait_stage,
    wait_until,
)

pytestmark = pytest.mark.integration

DB = "binlogops"
SOURCE = f"{DB}-src"
TASK = """\
name: binlogops
task-mode: incremental
target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
mysql-instances:
  - source-id: binlogops-src
    block-allow-list: only
    meta: {{binlog-name: "{name}", binlog-pos: {pos}}}
    syncer: {{checkpoint-flush-interval: 1}}
block-allow-list:
  only: {{do-dbs: [binlogops]}}
"""


def _rows(server: MariaDB) -> list[tuple[Any, ...]]:
    return rows_of(server, DB, "t")


def _keys(server: MariaDB) -> set[str]:
    conn = server.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(f"SHOW INDEX FROM {DB}.t")
            return {str(r[2]) for r in cur.fetchall()}
    finally:
        conn.close()


def _running(dm: DMProcesses) -> bool:
    """Running again with no error (the resume after an operator takes a moment)."""
    sub = dm.dmctl("query-status", DB)["sources"][0]["subTaskStatus"][0]
    return bool(sub["stage"] == "Running" and sub["result"] is None)


def _operators(dm: DMProcesses) -> list[Any]:
    answer = dm.dmctl("binlog", "list", DB)
    return list(json.loads(answer["sources"][0]["msg"]))


def _position_of(upstream: MariaDB, text: str) -> str:
    """Where the query event holding `text` starts, as `file:pos`."""
    name, _ = binlog_end(upstream)
    conn = upstream.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(f"SHOW BINLOG EVENTS IN '{name}'")
            hits = [(r[0], r[1]) for r in cur.fetchall() if r[2] == "Query" and text in r[5]]
    finally:
        conn.close()
    assert hits, text
    return f"{hits[-1][0]}:{hits[-1][1]}"


def test_rejected_ddls_are_replaced_or_skipped(cluster: DMProcesses, upstream: MariaDB,
                                               downstream: MariaDB, tmp_path: Path) -> None:
    create = f"CREATE TABLE {DB}.t (id INT PRIMARY KEY, v VARCHAR(10))"
    upstream.execute(f"DROP DATABASE IF EXISTS {DB}", f"CREATE DATABASE {DB}", create)
    downstream.execute(f"DROP DATABASE IF EXISTS {DB}", f"CREATE DATABASE {DB}", create,
                       f"INSERT INTO {DB}.t VALUES (100, 'dup')")  # only downstream
    name, pos = binlog_end(upstream)
    task = tmp_path / "task.yaml"
    task.write_text(TASK.format(port=downstream.port, name=name, pos=pos))
    with removed_afterwards(cluster, DB, SOURCE):
        assert cluster.dmctl("operate-source", "create",
                             str(source_yaml(tmp_path / "s.yaml", SOURCE, upstream)))["result"]
        assert cluster.dmctl("start-task", str(task))["result"]
        wait_stage(cluster, DB, "Running", unit="Sync")
        no_error = cluster.dmctl("binlog", "skip", DB, check=False)
        assert no_error["_exit"] == 1 and "has no error" in no_error["sources"][0]["msg"]

        # a unique key the downstream's rows break: paused; another key instead
        upstream.execute(f"INSERT INTO {DB}.t VALUES (1, 'dup')",
                         f"ALTER TABLE {DB}.t ADD UNIQUE KEY uv (v)")
        paused = wait_stage(cluster, DB, "Paused")
        error = paused["sources"][0]["subTaskStatus"][0]["result"]["errors"][0]
        assert error["ErrCode"] == 36013 and "binlog replace" in error["Workaround"], error
        replaced = cluster.dmctl("binlog", "replace", DB, f"ALTER TABLE {DB}.t ADD KEY kv (v)")
        assert replaced["result"] is True, replaced
        wait_until("the task resumed", lambda: _running(cluster))
        upstream.execute(f"INSERT INTO {DB}.t VALUES (2, 'two')")
        wait_until("the row after the replaced DDL", lambda: (2, "two") in _rows(downstream))
        assert "kv" in _keys(downstream) and "uv" not in _keys(downstream)

        # a second one, skipped by its position, set while the worker is down
        assert cluster.dmctl("pause-task", DB)["result"]
        upstream.execute(f"ALTER TABLE {DB}.t ADD UNIQUE KEY uv2 (v)",
                         f"INSERT INTO {DB}.t VALUES (3, 'three')")
        at = _position_of(upstream, "uv2")
        cluster.kill_worker("worker1")
        assert cluster.dmctl("binlog", "skip", DB, "-b", at)["result"]
        assert [o["binlog_pos"] for o in _operators(cluster)] == [at]
        cluster.start_worker("worker1")
        wait_until("the row after the skipped DDL", lambda: (3, "three") in _rows(downstream))
        status = wait_stage(cluster, DB, "Running", unit="Sync")
        assert status["sources"][0]["subTaskStatus"][0]["result"] is None
        assert "uv2" not in _keys(downstream)
        wait_until("the used operator is forgotten", lambda: _operators(cluster) == [])

        # revert drops an operator not used yet; DM 2.0's handle-error says the same
        assert cluster.dmctl("binlog", "skip", DB, "-b", "binlog.000999:4")["result"]
        at = cluster.dmctl("binlog", "list", DB, "-b", "binlog.000999:4")["sources"][0]["msg"]
        assert [o["binlog_pos"] for o in json.loads(at)] == ["binlog.000999:4"]
        elsewhere = cluster.dmctl("binlog", "list", DB, "-b", "binlog.000999:5")
        assert json.loads(elsewhere["sources"][0]["msg"]) == []
        assert cluster.dmctl("binlog", "revert", DB, "-b", "binlog.000999:4")["result"]
        assert _operators(cluster) == []
        gone = cluster.dmctl("handle-error", DB, "revert", "-b", "binlog.000999:4", check=False)
        assert gone["_exit"] == 1 and "not exist" in gone["sources"][0]["msg"], gone
        refused(cluster, "11118", "binlog", "skip", DB, "-b", "nonsense")
        refused(cluster, "11118", "binlog", "replace", DB, "NOT SQL AT ALL (")
    assert _rows(downstream) == sorted([*_rows(upstream), (100, "dup")])


LIMITED = "binlogops_limited"


def test_ddls_the_task_user_may_not_run_are_skipped_or_replaced(
        cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB, tmp_path: Path) -> None:
    """The task's downstream user may write rows and create indexes but not ALTER: a
    table comment change is rejected (1142) and skipped, an ADD INDEX rejected and
    replaced by a CREATE INDEX it may run; the rows stay equal."""
    db = "binlogops_priv"
    create = f"CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(10))"
    upstream.execute(f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}", create)
    downstream.execute(
        f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}", create,
        f"DROP USER IF EXISTS '{LIMITED}'@'%'", f"CREATE USER '{LIMITED}'@'%'",
        f"GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, INDEX ON {db}.* TO "
        f"'{LIMITED}'@'%'", f"GRANT ALL ON dm_meta.* TO '{LIMITED}'@'%'")
    name, pos = binlog_end(upstream)
    task = tmp_path / "task.yaml"
    task.write_text(TASK.replace("binlogops", db).replace("user: root", f"user: {LIMITED}")
                    .format(port=downstream.port, name=name, pos=pos))
    source = f"{db}-src"
    with removed_afterwards(cluster, db, source):
        assert cluster.dmctl("operate-source", "create",
                             str(source_yaml(tmp_path / "s.yaml", source, upstream)))["result"]
        assert cluster.dmctl("start-task", "--remove-meta", str(task))["result"]
        wait_stage(cluster, db, "Running", unit="Sync")
        upstream.execute(f"INSERT INTO {db}.t VALUES (1, 'one')",
                         f"ALTER TABLE {db}.t COMMENT 'not for the downstream'",
                         f"INSERT INTO {db}.t VALUES (2, 'two')")
        error = wait_stage(cluster, db, "Paused")["sources"][0]["subTaskStatus"][0][
            "result"]["errors"][0]
        assert error["ErrCode"] == 36013 and "1142" in error["RawCause"], error
        assert "binlog skip" in error["Workaround"], error
        assert cluster.dmctl("binlog", "skip", db)["result"]
        wait_until("the row after the skipped DDL", lambda: (2, "two") in rows_of(
            downstream, db, "t"))

        upstream.execute(f"ALTER TABLE {db}.t ADD INDEX iv (v)",
                         f"INSERT INTO {db}.t VALUES (3, 'three')")
        error = wait_stage(cluster, db, "Paused")["sources"][0]["subTaskStatus"][0][
            "result"]["errors"][0]
        assert error["ErrCode"] == 36013 and "ADD INDEX" in error["Message"], error
        assert cluster.dmctl("binlog", "replace", db, f"CREATE INDEX iv ON {db}.t (v)")[
            "result"]
        wait_until("the row after the replaced DDL", lambda: (3, "three") in rows_of(
            downstream, db, "t"))
        assert rows_of(downstream, db, "t") == rows_of(upstream, db, "t")
        indexes = fetch(downstream, f"SHOW INDEX FROM {db}.t")
        assert {str(r[2]) for r in indexes} == {"PRIMARY", "iv"}
        comment = fetch(downstream, "SELECT TABLE_COMMENT FROM information_schema.TABLES "
                                    f"WHERE TABLE_SCHEMA = '{db}' AND TABLE_NAME = 't'")
        assert comment == [("",)]
    downstream.execute(f"DROP USER '{LIMITED}'@'%'")

"""A DDL between the dump's snapshot and its reading of the table definitions.

SHOW CREATE TABLE reads a definition as it is now, not as of the snapshot, and MariaDB's
instant ALTERs (ADD COLUMN ...) do not make the snapshot's reads fail. Here the dump is
held right after its snapshot (another session write-locks the first table), a second
table gets rows, an instant ADD COLUMN and more rows meanwhile, and the lock goes: the
copy and the replication after it must still agree with the upstream row for row.
(`--consistency none`: the snapshot's BACKUP STAGE would wait for that lock itself; the
window after the snapshot is the same in every consistency.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from dm.sandbox import DMProcesses, MariaDB
from tests.integration.conftest import (
    fetch,
    removed_afterwards,
    source_yaml,
    wait_equal,
    wait_stage,
    wait_until,
)

pytestmark = pytest.mark.integration

DB = "ddlwin"
TASK = """\
name: ddlwin
task-mode: all
target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
mysql-instances:
  - source-id: ddlwin-src
    block-allow-list: only
    syncer: {{checkpoint-flush-interval: 1}}
    mydumper: {{extra-args: "--consistency none"}}
block-allow-list:
  only: {{do-dbs: [ddlwin]}}
"""


def _dump_waiting_on_the_lock(upstream: MariaDB) -> bool:
    return any("metadata lock" in str(state) and "`a`" in str(info)
               for state, info in fetch(upstream, "SELECT STATE, INFO FROM "
                                                  "information_schema.PROCESSLIST"))


def test_an_instant_alter_after_the_snapshot_is_not_replayed_over_its_own_columns(
        cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB, tmp_path: Path) -> None:
    upstream.execute(f"DROP DATABASE IF EXISTS {DB}", f"CREATE DATABASE {DB}",
                     f"CREATE TABLE {DB}.a (id INT PRIMARY KEY, v VARCHAR(10))",
                     f"CREATE TABLE {DB}.b (id INT PRIMARY KEY, v VARCHAR(10))",
                     *(f"INSERT INTO {DB}.{t} VALUES ({i}, '{t}{i}')"
                       for t in "ab" for i in range(1, 21)))
    downstream.execute(f"DROP DATABASE IF EXISTS {DB}")
    task = tmp_path / "task.yaml"
    task.write_text(TASK.format(port=downstream.port))
    holder = upstream.connect()
    with removed_afterwards(cluster, DB, f"{DB}-src"):
        try:
            with holder.cursor() as cur:
                cur.execute(f"LOCK TABLES {DB}.a WRITE")
            assert cluster.dmctl("operate-source", "create", str(
                source_yaml(tmp_path / "s.yaml", f"{DB}-src", upstream)))["result"]
            assert cluster.dmctl("start-task", "--remove-meta", str(task))["result"]
            wait_until("the dump waits on table a, after its snapshot",
                       lambda: _dump_waiting_on_the_lock(upstream))
            upstream.execute(f"INSERT INTO {DB}.b VALUES (100, 'before')",
                             f"ALTER TABLE {DB}.b ADD COLUMN c INT NOT NULL DEFAULT 5, "
                             "ALGORITHM=INSTANT",
                             f"INSERT INTO {DB}.b VALUES (101, 'after', 6)",
                             f"UPDATE {DB}.b SET c = 7 WHERE id = 1")
            with holder.cursor() as cur:
                cur.execute("UNLOCK TABLES")
        finally:
            holder.close()
        wait_stage(cluster, DB, "Running", unit="Sync")
        upstream.execute(f"INSERT INTO {DB}.b VALUES (102, 'later', 8)",
                         f"INSERT INTO {DB}.a VALUES (102, 'later')")
        wait_equal(upstream, downstream, DB, ("a", "b"))
        status = cluster.dmctl("query-status", DB)["sources"][0]["subTaskStatus"][0]
        assert status["stage"] == "Running" and status["result"] is None, status

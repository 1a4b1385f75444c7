"""An XA transaction prepared upstream when the dump takes its snapshot: its rows are in
no snapshot, and its XA PREPARE (which logged them) lies before the snapshot's binlog
position, so sync would never read them. The dump takes new snapshots while one is
prepared, then pauses with 32008 naming it; once it is committed the task goes on, and
its rows arrive with the rest."""

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

DB = "dumpxa"
TASK = """\
name: dumpxa
task-mode: all
target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
mysql-instances:
  - source-id: dumpxa-src
    block-allow-list: only
    syncer: {{checkpoint-flush-interval: 1}}
block-allow-list:
  only: {{do-dbs: [dumpxa]}}
"""


def test_a_prepared_xa_transaction_holds_the_dump_until_it_ends(
        cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB, tmp_path: Path) -> None:
    upstream.execute(f"DROP DATABASE IF EXISTS {DB}", f"CREATE DATABASE {DB}",
                     f"CREATE TABLE {DB}.t (id INT PRIMARY KEY, v INT)",
                     *(f"INSERT INTO {DB}.t VALUES ({i}, {i})" for i in range(1, 11)),
                     "XA START 'pending'", f"INSERT INTO {DB}.t VALUES (11, 11)",
                     f"UPDATE {DB}.t SET v = 100 WHERE id = 1", "XA END 'pending'",
                     "XA PREPARE 'pending'")
    downstream.execute(f"DROP DATABASE IF EXISTS {DB}")
    task = tmp_path / "task.yaml"
    task.write_text(TASK.format(port=downstream.port))
    with removed_afterwards(cluster, DB, f"{DB}-src"):
        try:
            assert cluster.dmctl("operate-source", "create", str(
                source_yaml(tmp_path / "s.yaml", f"{DB}-src", upstream)))["result"]
            assert cluster.dmctl("start-task", "--remove-meta", str(task))["result"]
            paused = wait_stage(cluster, DB, "Paused", timeout=60)
            error = paused["sources"][0]["subTaskStatus"][0]["result"]["errors"][0]
            assert error["ErrCode"] == 32008 and "X'70656e64696e67'" in error["Message"], error
        finally:
            upstream.execute("XA COMMIT 'pending'")
        cluster.dmctl("resume-task", DB, check=False)  # or auto-resume got there first
        wait_stage(cluster, DB, "Running", unit="Sync")
        upstream.execute(f"INSERT INTO {DB}.t VALUES (12, 12)")
        wait_equal(upstream, downstream, DB, ("t",))

"""A chunk whose transaction loses a lock downstream (lock wait timeout, or a deadlock
between two LOAD DATA ... REPLACE of one table, which CI met) is rolled back and loaded
again; the task does not pause (issue 10: lock conflicts are retried at once)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from dm.sandbox import DMProcesses, MariaDB, table_rows
from tests.integration.conftest import removed_afterwards, source_yaml, wait_stage

pytestmark = pytest.mark.integration

TASK = """\
name: lockload
task-mode: full
target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
mysql-instances:
  - source-id: lockload-src
    block-allow-list: only
block-allow-list:
  only: {{do-dbs: [lockload]}}
"""


def test_a_chunk_that_loses_a_lock_is_loaded_again(cluster: DMProcesses, upstream: MariaDB,
                                                  downstream: MariaDB, tmp_path: Path) -> None:
    for server in (upstream, downstream):
        server.execute("DROP DATABASE IF EXISTS lockload", "CREATE DATABASE lockload",
                       "CREATE TABLE lockload.t (id INT PRIMARY KEY, v VARCHAR(20))")
    upstream.execute("INSERT INTO lockload.t SELECT seq, CONCAT('v', seq) "
                     "FROM lockload.seq_1_to_500")
    downstream.execute("INSERT INTO lockload.t VALUES (250, 'held')")
    holder = downstream.connect()
    released = threading.Event()
    with holder.cursor() as cur:  # the row the chunk replaces is locked for 3 s
        cur.execute("BEGIN")
        cur.execute("SELECT * FROM lockload.t WHERE id = 250 FOR UPDATE")
    downstream.execute("SET GLOBAL innodb_lock_wait_timeout = 1")
    try:
        def release() -> None:
            holder.commit()
            released.set()
        threading.Timer(3, release).start()
        assert cluster.dmctl("operate-source", "create", str(
            source_yaml(tmp_path / "s.yaml", "lockload-src", upstream)))["result"]
        with removed_afterwards(cluster, "lockload", "lockload-src"):
            (tmp_path / "t.yaml").write_text(TASK.format(port=downstream.port))
            assert cluster.dmctl("start-task", "--remove-meta", str(tmp_path / "t.yaml"))[
                "result"]
            status = wait_stage(cluster, "lockload", "Finished", timeout=60)
            assert released.is_set()  # it finished only after the lock went away
            sub = status["sources"][0]["subTaskStatus"][0]
            assert sub["result"] is None, sub
            up, down = upstream.connect(), downstream.connect()
            assert table_rows(up, "lockload", "t") == table_rows(down, "lockload", "t")
    finally:
        released.wait(10)
        holder.close()
        downstream.execute("SET GLOBAL innodb_lock_wait_timeout = 50")

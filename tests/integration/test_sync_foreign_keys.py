"""Foreign keys downstream (review finding 2): safe mode writes REPLACE, which on a parent
row is a DELETE + INSERT; with foreign key checks on, ON DELETE CASCADE / SET NULL would
fire downstream. Sync sessions run with foreign_key_checks=0, as DM's do."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import pytest

from dm.sandbox import DMProcesses, MariaDB, table_rows
from tests.integration.conftest import replicating_under_writes, wait_stage

pytestmark = pytest.mark.integration

TASK = """\
name: fkeys
task-mode: incremental
target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
mysql-instances:
  - source-id: fkeys-src
    block-allow-list: only
    meta: {{binlog-name: "{name}", binlog-pos: {pos}}}
    syncer: {{worker-count: 4, batch: 20, checkpoint-flush-interval: 1}}
block-allow-list:
  only: {{do-dbs: [fkeys]}}
"""
TABLES = (
    "CREATE TABLE fkeys.users (id INT PRIMARY KEY, name VARCHAR(20))",
    "CREATE TABLE fkeys.orders (id INT PRIMARY KEY, user_id INT,"
    " FOREIGN KEY (user_id) REFERENCES fkeys.users (id) ON DELETE CASCADE)",
    "CREATE TABLE fkeys.notes (id INT PRIMARY KEY, user_id INT,"
    " FOREIGN KEY (user_id) REFERENCES fkeys.users (id) ON DELETE SET NULL)",
    "INSERT INTO fkeys.users SELECT seq, 'a' FROM fkeys.seq_1_to_100",
    "INSERT INTO fkeys.orders SELECT seq, 1 + seq % 100 FROM fkeys.seq_1_to_1000",
    "INSERT INTO fkeys.notes SELECT seq, 1 + seq % 100 FROM fkeys.seq_1_to_500",
)


def _writer(server: MariaDB, stop: threading.Event) -> None:
    """Parents renamed (safe mode makes each a REPLACE) while children come and go."""
    conn = server.connect(database="fkeys")
    rnd = random.Random(5)
    next_order = 1001
    with conn.cursor() as cur:
        while not stop.is_set():
            cur.execute("UPDATE users SET name = %s WHERE id = %s",
                        (f"n{rnd.randint(0, 999)}", rnd.randint(1, 100)))
            cur.execute("INSERT INTO orders VALUES (%s, %s)", (next_order, rnd.randint(1, 100)))
            next_order += 1
            time.sleep(0.005)
    conn.close()


def test_parent_updates_never_cascade_downstream(cluster: DMProcesses, upstream: MariaDB,
                                                 downstream: MariaDB, tmp_path: Path) -> None:
    downstream.execute("DROP DATABASE IF EXISTS dm_meta")
    with replicating_under_writes(cluster, upstream, downstream, tmp_path, "fkeys", TABLES,
                                  TASK, _writer):
        time.sleep(2)  # within the first 60 s: safe mode
        assert cluster.dmctl("pause-task", "fkeys")["result"]
        wait_stage(cluster, "fkeys", "Paused")
        assert cluster.dmctl("resume-task", "fkeys")["result"]
        wait_stage(cluster, "fkeys", "Running")
        time.sleep(1.5)
        cluster.kill_worker("worker1")
        cluster.start_worker("worker1")
        wait_stage(cluster, "fkeys", "Running")
        time.sleep(1.5)
    deadline = time.monotonic() + 120
    tables = ("users", "orders", "notes")
    while any(table_rows(upstream.connect(), "fkeys", t) != table_rows(downstream.connect(),
                                                                       "fkeys", t)
              for t in tables):
        assert time.monotonic() < deadline, "upstream and downstream differ"
        time.sleep(0.5)
    assert cluster.dmctl("stop-task", "fkeys")["result"]
    assert cluster.dmctl("operate-source", "stop", "fkeys-src")["result"]

"""task-mode all: dump, load and sync with writers running throughout, DDL mid-stream."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pymysql
import pytest

from dm.sandbox import DMProcesses, MariaDB, table_rows
from tests.integration.conftest import source_yaml, wait_stage

pytestmark = pytest.mark.integration

TASK = """\
name: allmode
task-mode: all
target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
mysql-instances:
  - source-id: all-src
    block-allow-list: only
    route-rules: [merge]
    mydumper: {{threads: 2, rows: 2000}}
    loader-thread: 2
    syncer: {{worker-count: 4, batch: 50, checkpoint-flush-interval: 2}}
block-allow-list:
  only: {{do-dbs: [alldb, alldb_new]}}
routes:
  merge: {{schema-pattern: alldb, table-pattern: "shard_*", target-schema: alldb,
           target-table: merged}}
"""

SETUP = [
    "DROP DATABASE IF EXISTS alldb", "DROP DATABASE IF EXISTS alldb_new",
    "CREATE DATABASE alldb", "USE alldb",
    "CREATE TABLE pk (id INT PRIMARY KEY, v VARCHAR(40), n DECIMAL(10,2), t DATETIME(3))",
    "INSERT INTO pk SELECT seq, MD5(seq), seq / 7, NOW(3) FROM seq_1_to_20000",
    "CREATE TABLE uk (u VARCHAR(20) NOT NULL, v INT, UNIQUE KEY (u))",
    "INSERT INTO uk SELECT CONCAT('u', seq), seq FROM seq_1_to_2000",
    "CREATE TABLE nokey (a INT, b VARCHAR(10))",
    "INSERT INTO nokey SELECT seq % 50, 'x' FROM seq_1_to_500",
    "CREATE TABLE shard_1 (id INT PRIMARY KEY, v INT)",
    "CREATE TABLE shard_2 (id INT PRIMARY KEY, v INT)",
    "INSERT INTO shard_1 SELECT seq, seq FROM seq_1_to_1000",
    "INSERT INTO shard_2 SELECT seq, seq FROM seq_1001_to_2000",
]


def _transaction(cur: pymysql.cursors.Cursor, rnd: random.Random, ids: list[int]) -> None:
    """1-4 random statements, including key-changing updates."""
    for _ in range(rnd.randint(1, 4)):
        op, k = rnd.random(), rnd.randint(1, 20000)
        if op < 0.3:
            ids[0] += 1
            cur.execute("INSERT INTO pk VALUES (%s, %s, %s, NOW(3))",
                        (ids[0], f"new {ids[0]}", ids[0] / 3))
        elif op < 0.55:
            cur.execute("UPDATE pk SET v = LEFT(CONCAT(v, '+'), 40), n = n + 1 WHERE id = %s",
                        (k,))
        elif op < 0.65:
            cur.execute("UPDATE pk SET id = id + 5000000 WHERE id = %s", (k,))
        elif op < 0.75:
            cur.execute("DELETE FROM pk WHERE id = %s", (k,))
        elif op < 0.85:
            cur.execute("UPDATE uk SET v = v + 1 WHERE u = %s", (f"u{rnd.randint(1, 2000)}",))
        elif op < 0.92:
            cur.execute("INSERT INTO nokey VALUES (%s, 'w')", (k % 50,))
        else:
            cur.execute("UPDATE shard_1 SET v = v + 1 WHERE id = %s", (k % 1000 + 1,))


def _writer(server: MariaDB, stop: threading.Event, seed: int) -> Callable[[], None]:
    def run() -> None:
        rnd = random.Random(seed)
        ids = [100_000 + seed * 1_000_000]
        conn = server.connect(database="alldb")
        conn.autocommit(False)
        with conn.cursor() as cur:
            while not stop.is_set():
                try:
                    _transaction(cur, rnd, ids)
                    conn.commit()
                except pymysql.err.OperationalError:  # a deadlock between the writers
                    conn.rollback()
        conn.close()
    return run


DDL_STEPS = [
    "ALTER TABLE alldb.pk ADD COLUMN extra VARCHAR(10) DEFAULT 'd'",
    "ALTER TABLE alldb.pk ADD INDEX by_v (v), MODIFY COLUMN n DECIMAL(12,3)",
    "ALTER TABLE alldb.pk CHANGE COLUMN extra extra2 VARCHAR(20)",
    "ALTER TABLE alldb.pk DROP COLUMN extra2, DROP INDEX by_v",
    "CREATE TABLE alldb.created (id INT PRIMARY KEY, s TEXT)",
    "INSERT INTO alldb.created VALUES (1, 'a'), (2, 'b')",
    "RENAME TABLE alldb.created TO alldb.renamed",
    "UPDATE alldb.renamed SET s = 'bb' WHERE id = 2",
    "TRUNCATE TABLE alldb.nokey",
    "INSERT INTO alldb.nokey VALUES (1, 'after')",
    "CREATE DATABASE alldb_new",
    "CREATE TABLE alldb_new.t (id INT PRIMARY KEY)",
    "INSERT INTO alldb_new.t VALUES (1), (2), (3)",
    "CREATE TABLE alldb.doomed (id INT PRIMARY KEY)",
    "DROP TABLE alldb.doomed",
]


def _equal(up: MariaDB, down: MariaDB) -> list[str]:
    """Names of the tables that differ (empty when everything matches)."""
    u, d = up.connect(), down.connect()
    diffs = [t for t in ("pk", "uk", "nokey", "renamed")
             if table_rows(u, "alldb", t) != table_rows(d, "alldb", t)]
    merged = sorted(table_rows(u, "alldb", "shard_1") + table_rows(u, "alldb", "shard_2"))
    if merged != table_rows(d, "alldb", "merged"):
        diffs.append("merged")
    if table_rows(u, "alldb_new", "t") != table_rows(d, "alldb_new", "t"):
        diffs.append("alldb_new.t")
    return diffs


def wait_equal(up: MariaDB, down: MariaDB, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    diffs: list[str] = []
    while time.monotonic() < deadline:
        try:
            diffs = _equal(up, down)
        except pymysql.err.ProgrammingError as exc:  # a table not created downstream yet
            diffs = [str(exc)]
        if not diffs:
            return
        time.sleep(0.5)
    raise AssertionError(f"not equal after {timeout}s: {diffs}")


def test_all_mode_with_live_writes_and_ddl(cluster: DMProcesses, upstream: MariaDB,
                                           downstream: MariaDB, tmp_path: Path) -> None:
    upstream.execute(*SETUP)
    downstream.execute("DROP DATABASE IF EXISTS alldb", "DROP DATABASE IF EXISTS alldb_new",
                       "DROP DATABASE IF EXISTS dm_meta")
    assert cluster.dmctl("operate-source", "create",
                         str(source_yaml(tmp_path / "s.yaml", "all-src", upstream)))["result"]
    task = tmp_path / "task.yaml"
    task.write_text(TASK.format(port=downstream.port))
    stop = threading.Event()
    writers = [threading.Thread(target=_writer(upstream, stop, i)) for i in range(2)]
    for w in writers:
        w.start()
    try:
        assert cluster.dmctl("start-task", str(task))["result"]
        wait_stage(cluster, "allmode", "Running")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # let writes run while sync catches up
            st = cluster.api("query-status", {"task": "allmode"})["sources"][0]
            subs = st["subTaskStatus"]
            assert not (subs and subs[0].get("result")), subs
            if subs and subs[0]["unit"] == "Sync":
                break
            time.sleep(0.3)
        time.sleep(2)
        for sql in DDL_STEPS:
            upstream.execute(sql)
            time.sleep(0.1)
        time.sleep(1)
    finally:
        stop.set()
        for w in writers:
            w.join()
    wait_equal(upstream, downstream)
    status = cluster.dmctl("query-status", "allmode")["sources"][0]["subTaskStatus"][0]
    assert status["stage"] == "Running" and status["unit"] == "Sync"
    assert status["sync"]["syncerBinlog"]
    assert cluster.dmctl("stop-task", "allmode")["result"]
    assert cluster.dmctl("operate-source", "stop", "all-src")["result"]

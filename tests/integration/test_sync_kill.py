"""kill -9 of the worker (DM spec §2.7 R1) and of its binlog reader, and a binlog stream
broken by the upstream, at random moments during sync with writers running,
and a downstream restart mid-stream (R5): after each kill the checkpoint is never ahead of
the data, and at the end upstream and downstream are equal."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pymysql
import pytest

from dm.sandbox import DMProcesses, MariaDB, table_rows
from tests.integration.conftest import replicating_under_writes

pytestmark = pytest.mark.integration

TASK = """\
name: killsync
task-mode: incremental
target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
mysql-instances:
  - source-id: killsync-src
    block-allow-list: only
    meta: {{binlog-name: "{name}", binlog-pos: {pos}}}
    syncer: {{worker-count: 4, batch: 20, checkpoint-flush-interval: 1}}
block-allow-list:
  only: {{do-dbs: [killsync]}}
"""


def _ticker(server: MariaDB, stop: threading.Event, db: str = "killsync") -> None:
    """One tick per transaction, plus churn on a keyed table, until stopped."""
    conn = server.connect(database=db)
    rnd = random.Random(7)
    with conn.cursor() as cur:
        while not stop.is_set():
            k = rnd.randint(1, 300)
            cur.execute("BEGIN")
            cur.execute("INSERT INTO ticks () VALUES ()")
            cur.execute("INSERT INTO kv VALUES (%s, 1) ON DUPLICATE KEY UPDATE v = v + 1", (k,))
            if rnd.random() < 0.2:
                cur.execute("DELETE FROM kv WHERE k = %s", (rnd.randint(1, 300),))
            cur.execute("COMMIT")
            time.sleep(0.002)
    conn.close()


def _tables(db: str) -> tuple[str, ...]:
    return (f"CREATE TABLE {db}.ticks (id INT AUTO_INCREMENT PRIMARY KEY)",
            f"CREATE TABLE {db}.kv (k INT PRIMARY KEY, v INT)")


def _wait_equal(upstream: MariaDB, downstream: MariaDB, db: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        up, down = upstream.connect(), downstream.connect()
        if all(table_rows(up, db, t) == table_rows(down, db, t) for t in ("ticks", "kv")):
            return
        time.sleep(0.5)
    raise AssertionError(f"upstream and downstream differ after the faults ({db})")


def _checkpoint(down: MariaDB) -> tuple[str, int] | None:
    conn = down.connect()
    with conn.cursor() as cur:
        try:
            cur.execute("SELECT binlog_name, binlog_pos FROM dm_meta.killsync_syncer_checkpoint "
                        "WHERE is_global")
        except pymysql.err.ProgrammingError:
            return None
        row = cur.fetchone()
    return (str(row[0]), int(row[1])) if row else None


def _ticks_before(up: MariaDB, start: tuple[str, int], end: tuple[str, int]) -> set[int]:
    """Tick ids committed upstream between two binlog positions, read by mariadb-binlog."""
    files = sorted(p.name for p in up.base.glob("binlog.[0-9]*"))
    wanted = [f for f in files if start[0] <= f <= end[0]]
    ids: set[int] = set()
    for name in wanted:
        args = ["mariadb-binlog", "-v", "--base64-output=DECODE-ROWS", str(up.base / name)]
        if name == start[0]:
            args.append(f"--start-position={start[1]}")
        if name == end[0]:
            args.append(f"--stop-position={end[1]}")
        out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
        for block in out.split("### INSERT INTO `killsync`.`ticks`")[1:]:
            m = re.search(r"@1=(\d+)", block)
            assert m is not None
            ids.add(int(m.group(1)))
    return ids


def test_kill_worker_during_sync(cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB,
                                 tmp_path: Path) -> None:
    downstream.execute("DROP DATABASE IF EXISTS dm_meta")
    rnd = random.Random(11)
    with replicating_under_writes(cluster, upstream, downstream, tmp_path, "killsync",
                                  _tables("killsync"), TASK, _ticker) as start:
        for kill in range(10):
            time.sleep(rnd.uniform(0.5, 2.5))
            if kill == 5:  # R5: the downstream restarts under a running sync: no pause
                downstream.stop()
                time.sleep(1)
                downstream.start()
                for _ in range(20):
                    st = cluster.api("query-status", {"task": "killsync"})
                    sub = st["sources"][0]["subTaskStatus"][0]
                    assert sub["stage"] == "Running" and not sub["result"], sub
                    time.sleep(0.25)
            cluster.kill_worker("worker1")
            point = _checkpoint(downstream)
            if point is not None:  # every tick the checkpoint covers is downstream
                covered = _ticks_before(upstream, start, point)
                present = {r[0] for r in table_rows(downstream.connect(), "killsync", "ticks")}
                assert covered <= present, f"kill {kill}: checkpoint {point} ahead of data"
            cluster.start_worker("worker1")
        time.sleep(1)
    _wait_equal(upstream, downstream, "killsync")
    status = cluster.dmctl("query-status", "killsync")["sources"][0]["subTaskStatus"][0]
    assert status["stage"] == "Running" and not status["result"]
    assert cluster.dmctl("stop-task", "killsync")["result"]
    assert cluster.dmctl("operate-source", "stop", "killsync-src")["result"]


def _faults_under_writers(cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB,
                          tmp_path: Path, db: str, strike: Callable[[], None],
                          times: int, seed: int) -> None:
    """A task on `db` with the ticker writing; `strike()` `times` times at random moments;
    then upstream and downstream must be equal and the task Running without an error."""
    rnd = random.Random(seed)
    with replicating_under_writes(cluster, upstream, downstream, tmp_path, db, _tables(db),
                                  TASK.replace("killsync", db),
                                  lambda server, stop: _ticker(server, stop, db)):
        for _ in range(times):
            time.sleep(rnd.uniform(0.3, 1.5))
            strike()
    deadline = time.monotonic() + 60  # the last fault's retryable error is auto-resumed
    while (sub := cluster.api("query-status", {"task": db})["sources"][0]["subTaskStatus"][0]
           )["stage"] != "Running" or sub["result"]:
        assert time.monotonic() < deadline, f"{db} not resumed: {sub}"
        time.sleep(0.3)
    _wait_equal(upstream, downstream, db)
    assert cluster.dmctl("stop-task", db)["result"]
    assert cluster.dmctl("operate-source", "stop", f"{db}-src")["result"]


def test_a_killed_reader_process_is_replaced_and_nothing_is_lost(
        cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB, tmp_path: Path) -> None:
    def kill_reader() -> None:
        readers = cluster.child_pids("worker1")
        assert len(readers) == 1, readers  # this task's sync unit, and nothing else
        os.kill(readers[0], signal.SIGKILL)
        deadline = time.monotonic() + 60  # retryable (36070): auto-resume starts anew
        while cluster.child_pids("worker1") in ([], readers):
            assert time.monotonic() < deadline, "no new reader after the kill"
            time.sleep(0.1)

    _faults_under_writers(cluster, upstream, downstream, tmp_path, "killreader", kill_reader,
                          times=3, seed=5)


def _binlog_dump_threads(server: MariaDB) -> list[int]:
    conn = server.connect()
    with conn.cursor() as cur:
        cur.execute("SELECT id FROM information_schema.processlist WHERE command = 'Binlog Dump'")
        ids = [int(r[0]) for r in cur.fetchall()]
    conn.close()
    return ids


def test_a_binlog_stream_broken_mid_transaction_loses_and_repeats_nothing(
        cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB, tmp_path: Path) -> None:
    """DM's duplicate_event scenario, re-expressed: the upstream ends the replica's stream
    (KILL of its Binlog Dump thread) while multi-statement transactions flow."""
    def break_stream() -> None:
        deadline = time.monotonic() + 60
        while not (threads := _binlog_dump_threads(upstream)):
            assert time.monotonic() < deadline, "the replica never reconnected"
            time.sleep(0.1)
        upstream.execute(*(f"KILL {t}" for t in threads))

    _faults_under_writers(cluster, upstream, downstream, tmp_path, "brokenstream",
                          break_stream, times=3, seed=3)

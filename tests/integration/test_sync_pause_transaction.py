"""Pause in the middle of big upstream transactions (DM's checkpoint_transaction scenario):
the downstream never holds part of a transaction once the task is paused, and nothing is
lost or invented after resume."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import pytest

from dm.sandbox import DMProcesses, MariaDB, table_rows
from tests.integration.conftest import source_yaml, wait_stage
from tests.integration.test_sync_incremental import _master

pytestmark = pytest.mark.integration

ROWS_PER_TRANSACTION = 10_000  # more than a reader batch holds (4,000 rows)
TASK = """\
name: wholetrx
task-mode: incremental
target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
mysql-instances:
  - source-id: wholetrx-src
    block-allow-list: only
    meta: {{binlog-name: "{name}", binlog-pos: {pos}}}
    syncer: {{worker-count: 4, batch: 50}}
block-allow-list:
  only: {{do-dbs: [wholetrx]}}
"""


def _writer(server: MariaDB, stop: threading.Event) -> None:
    conn = server.connect(database="wholetrx")
    batch = 0
    with conn.cursor() as cur:
        while not stop.is_set():
            batch += 1
            cur.execute(f"INSERT INTO t SELECT {batch}, seq FROM seq_1_to_{ROWS_PER_TRANSACTION}")
            time.sleep(0.3)
    conn.close()


def _partial_transactions(down: MariaDB) -> dict[int, int]:
    conn = down.connect()
    with conn.cursor() as cur:
        cur.execute("SELECT batch, COUNT(*) FROM wholetrx.t GROUP BY batch")
        counts = {int(b): int(n) for b, n in cur.fetchall()}
    conn.close()
    return {b: n for b, n in counts.items() if n != ROWS_PER_TRANSACTION}


def test_pause_waits_for_the_transaction_to_end(cluster: DMProcesses, upstream: MariaDB,
                                                downstream: MariaDB, tmp_path: Path) -> None:
    table = "CREATE TABLE wholetrx.t (batch INT, n INT, PRIMARY KEY (batch, n))"
    for server in (upstream, downstream):
        server.execute("DROP DATABASE IF EXISTS wholetrx", "CREATE DATABASE wholetrx", table)
    name, pos, _ = _master(upstream)
    assert cluster.dmctl("operate-source", "create", str(
        source_yaml(tmp_path / "s.yaml", "wholetrx-src", upstream)))["result"]
    task = tmp_path / "task.yaml"
    task.write_text(TASK.format(port=downstream.port, name=name, pos=pos))
    stop = threading.Event()
    writer = threading.Thread(target=_writer, args=(upstream, stop))
    writer.start()
    rnd = random.Random(17)
    try:
        assert cluster.dmctl("start-task", str(task))["result"]
        wait_stage(cluster, "wholetrx", "Running")
        for pause in range(4):
            time.sleep(rnd.uniform(0.3, 1.0))
            assert cluster.dmctl("pause-task", "wholetrx")["result"]
            wait_stage(cluster, "wholetrx", "Paused")
            assert not _partial_transactions(downstream), f"pause {pause}: part of a trx"
            assert cluster.dmctl("resume-task", "wholetrx")["result"]
            wait_stage(cluster, "wholetrx", "Running")
    finally:
        stop.set()
        writer.join()
    deadline = time.monotonic() + 120
    while table_rows(upstream.connect(), "wholetrx", "t") != table_rows(
            downstream.connect(), "wholetrx", "t"):
        assert time.monotonic() < deadline, "upstream and downstream differ"
        time.sleep(0.5)
    assert cluster.dmctl("stop-task", "wholetrx")["result"]
    assert cluster.dmctl("operate-source", "stop", "wholetrx-src")["result"]

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
from tests.integration.conftest import replicating_under_writes, wait_stage

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
    rnd = random.Random(17)
    with replicating_under_writes(
            cluster, upstream, downstream, tmp_path, "wholetrx",
            ("CREATE TABLE wholetrx.t (batch INT, n INT, PRIMARY KEY (batch, n))",), TASK,
            _writer):
        for pause in range(4):
            time.sleep(rnd.uniform(0.3, 1.0))
            assert cluster.dmctl("pause-task", "wholetrx")["result"]
            wait_stage(cluster, "wholetrx", "Paused")
            assert not _partial_transactions(downstream), f"pause {pause}: part of a trx"
            assert cluster.dmctl("resume-task", "wholetrx")["result"]
            wait_stage(cluster, "wholetrx", "Running")
    deadline = time.monotonic() + 120
    while table_rows(upstream.connect(), "wholetrx", "t") != table_rows(
            downstream.connect(), "wholetrx", "t"):
        assert time.monotonic() < deadline, "upstream and downstream differ"
        time.sleep(0.5)
    assert cluster.dmctl("stop-task", "wholetrx")["result"]
    assert cluster.dmctl("operate-source", "stop", "wholetrx-src")["result"]

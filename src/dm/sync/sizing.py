"""DM's `worker-count` and `batch`, fitted to the machine and the downstream (issue 10).

DM's defaults (16 workers, 100 changes a transaction) suit Go's goroutines in front of a
TiDB a network hop away. In a Python worker every applier is a thread taking the GIL,
and a small transaction costs a round trip and a commit per 100 changes: measured on two
cores against a local MariaDB, 16 x 100 took 1.4 times as long as 2 x 1000. So:

- appliers: `worker-count`, but no more than the cores (at least 2) when the downstream
  answers within NEAR_RTT_S (same host or a fast LAN: the appliers are CPU-bound, and
  more threads only contend). A farther downstream keeps every applier, whose
  concurrency hides its latency;
- transactions: a worker whose queue holds more than `batch` changes takes up to
  MERGE_CHANGES of them (never more than applier.BATCH_BYTES of rows) into one
  transaction, so small batches cost no more commits than needed while backlogged. With
  nothing more queued it commits what it has at once, as DM does.
"""

from __future__ import annotations

import statistics
import time

from dm.db import Connection

MERGE_CHANGES = 1000
NEAR_RTT_S = 0.001


def applier_count(worker_count: int, round_trip_s: float, cpus: int) -> int:
    if round_trip_s >= NEAR_RTT_S:
        return max(1, worker_count)
    return max(1, min(worker_count, max(2, cpus)))


def transaction_changes(batch: int) -> int:
    """The most changes a worker takes into one transaction when its queue holds more."""
    return max(batch, MERGE_CHANGES)


def round_trip(conn: Connection, samples: int = 5) -> float:
    """The median time, in seconds, of a `SELECT 1` on `conn`."""
    times = []
    with conn.cursor() as cur:
        for _ in range(samples):
            start = time.perf_counter()
            cur.execute("SELECT 1")
            cur.fetchall()
            times.append(time.perf_counter() - start)
    return statistics.median(times)

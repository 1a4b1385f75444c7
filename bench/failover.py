"""Failover times of a pydm cluster, over several trials (issue 11).

- Leader election: three dm-masters; kill -9 of the leader, then the time until
  `list-member --leader` (asked of the survivors) names another master. The killed
  master is restarted before the next trial.
- Worker failover: one master, two workers with `--keepalive-ttl` TTL, one incremental
  task under a steady writer (a row every 10 ms); kill -9 of the bound worker, then the
  time until the first row written by the other worker appears downstream. The killed
  worker is restarted (free) before the next trial.

Prints every trial and the median and max of each. The keepalive TTL bounds the worker
failover from below: DM's default is 60 s; the bench uses a short one to show what the
mechanism adds to it.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import threading
import time
from pathlib import Path

from dm.sandbox import DMProcesses, MariaDB, wait_for

ROOT = Path(__file__).resolve().parent.parent
TASK = """\
name: failover
task-mode: incremental
target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
mysql-instances:
  - source-id: failover-src
    block-allow-list: only
    meta: {{binlog-name: "{name}", binlog-pos: {pos}}}
    syncer: {{checkpoint-flush-interval: 1}}
block-allow-list:
  only: {{do-dbs: [failover]}}
"""


def leader_elections(work: Path, trials: int) -> list[float]:
    dm = DMProcesses(work / "masters", ROOT / ".venv" / "bin").start_masters(3)
    times = []
    try:
        for trial in range(trials):
            leader = dm.leader()
            killed_at = time.monotonic()
            dm.kill_master(leader)
            wait_for(lambda old=leader: dm.leader() not in ("", old), 60, "a new leader")
            times.append(time.monotonic() - killed_at)
            print(f"leader election {trial + 1}: {times[-1]:.2f} s ({leader} killed)",
                  flush=True)
            dm.restart_master(leader)
    finally:
        dm.stop()
    return times


def worker_failovers(work: Path, trials: int, ttl: int) -> list[float]:
    cache = ROOT / "sandbox" / ".cache"
    up, down = MariaDB(work / "up", 1), MariaDB(work / "down", 2, log_bin=False)
    dm = DMProcesses(work / "dm", ROOT / ".venv" / "bin")
    stop = threading.Event()
    times = []
    try:
        up.start(cache)
        down.start(cache)
        dm.start_master()
        for name in ("worker1", "worker2"):
            dm.start_worker(name, keepalive_ttl=ttl)
        up.execute("CREATE DATABASE failover",
                   "CREATE TABLE failover.ticks (id INT AUTO_INCREMENT PRIMARY KEY)")
        down.execute("CREATE DATABASE failover",
                     "CREATE TABLE failover.ticks (id INT AUTO_INCREMENT PRIMARY KEY)")
        conn = up.connect()
        with conn.cursor() as cur:
            cur.execute("SHOW MASTER STATUS")
            name, pos = cur.fetchone()[:2]
        conn.close()
        dm.create_source(up, "failover-src")
        dm.start_task(TASK.format(port=down.port, name=name, pos=pos))
        writer = threading.Thread(target=_tick, args=(up, stop))
        writer.start()
        for trial in range(trials):
            time.sleep(2)
            bound = dm.bound()["failover-src"]
            seen = _downstream_max(down)
            killed_at = time.monotonic()
            dm.kill_worker(bound)
            wait_for(lambda before=seen: _downstream_max(down) > before + 5, 300,
                     "rows written by the other worker")
            times.append(time.monotonic() - killed_at)
            print(f"worker failover {trial + 1}: {times[-1]:.2f} s ({bound} killed, "
                  f"keepalive-ttl {ttl} s)", flush=True)
            dm.start_worker(bound, keepalive_ttl=ttl)
    finally:
        stop.set()
        dm.stop()
        up.stop()
        down.stop()
    return times


def _tick(server: MariaDB, stop: threading.Event) -> None:
    conn = server.connect(database="failover")
    with conn.cursor() as cur:
        while not stop.is_set():
            cur.execute("INSERT INTO ticks () VALUES ()")
            time.sleep(0.01)
    conn.close()


def _downstream_max(server: MariaDB) -> int:
    conn = server.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT COALESCE(MAX(id), 0) FROM failover.ticks")
            return int(cur.fetchone()[0])
    finally:
        conn.close()


def _summary(what: str, times: list[float]) -> str:
    return f"{what}: median {statistics.median(times):.2f} s, max {max(times):.2f} s " \
           f"over {len(times)} trials"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--ttl", type=int, default=4, help="the workers' keepalive-ttl")
    parser.add_argument("--work", default=str(ROOT / "sandbox" / "bench-failover"))
    args = parser.parse_args()
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    elections = leader_elections(work, args.trials)
    failovers = worker_failovers(work, args.trials, args.ttl)
    print(_summary("leader election (kill -9 to a new leader)", elections))
    print(_summary(f"worker failover (kill -9 to the first row applied by the other "
                   f"worker, keepalive-ttl {args.ttl} s)", failovers))


if __name__ == "__main__":
    main()

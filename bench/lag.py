"""Replication lag of pydm under a steady sysbench load (default 3,000 transactions/s).

sysbench `oltp_write_only --rate` writes upstream while pydm (`task-mode: incremental`,
real dm-master/dm-worker/dmctl) replicates into a downstream. A beat is inserted
upstream every 20 ms; a poller sees each beat appear downstream, and the time between
the two is one lag sample. Prints p50/p99/max lag and the rate sysbench reached.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import threading
import time
from pathlib import Path

from dm.sandbox import DMProcesses, MariaDB

ROOT = Path(__file__).resolve().parent.parent
TASK = """\
name: lag
task-mode: incremental
target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
mysql-instances:
  - source-id: lag-src
    block-allow-list: sb
    meta: {{binlog-name: "{name}", binlog-pos: {pos}}}
    syncer: {{worker-count: 2, batch: 1000}}
block-allow-list:
  sb: {{do-dbs: [sbtest]}}
"""


def beats(up: MariaDB, sent: dict[int, float], stop: threading.Event) -> None:
    conn = up.connect(database="sbtest")
    with conn.cursor() as cur:
        n = 0
        while not stop.is_set():
            n += 1
            sent[n] = time.monotonic()
            cur.execute("INSERT INTO beats VALUES (%s)", (n,))
            time.sleep(0.02)


def watch(down: MariaDB, sent: dict[int, float], lags: list[float],
          stop: threading.Event) -> None:
    conn = down.connect(database="sbtest")
    seen = 0
    with conn.cursor() as cur:
        while not stop.is_set():
            cur.execute("SELECT COALESCE(MAX(id), 0) FROM beats")
            top = int(cur.fetchone()[0])
            now = time.monotonic()
            lags.extend(now - sent[i] for i in range(seen + 1, top + 1) if i in sent)
            seen = max(seen, top)
            time.sleep(0.005)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=int, default=3000)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--work", default=str(ROOT / "sandbox" / "bench-lag"))
    args = parser.parse_args()
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    cache = ROOT / "sandbox" / ".cache"
    up = MariaDB(work / "up", 1)
    down = MariaDB(work / "down", 2, log_bin=False)
    dm = DMProcesses(work / "dm", ROOT / ".venv" / "bin")
    stop = threading.Event()
    try:
        up.start(cache)
        down.start(cache)
        sb = ["--db-driver=mysql", "--mysql-host=127.0.0.1", f"--mysql-port={up.port}",
              "--mysql-user=root", "--mysql-db=sbtest", "--tables=8", "--table-size=100000"]
        up.execute("CREATE DATABASE sbtest", "CREATE TABLE sbtest.beats (id INT PRIMARY KEY)")
        subprocess.run(["sysbench", "oltp_read_write", *sb, "prepare"], check=True,
                       stdout=subprocess.DEVNULL)
        dump = subprocess.run(["mariadb-dump", "-h", "127.0.0.1", "-P", str(up.port), "-u",
                               "root", "--single-transaction", "--master-data=1",
                               "--databases", "sbtest"], check=True, capture_output=True).stdout
        subprocess.run(["mariadb", "-h", "127.0.0.1", "-P", str(down.port), "-u", "root"],
                       input=dump.replace(b"CHANGE MASTER TO", b"-- CHANGE MASTER TO"),
                       check=True)
        conn = up.connect()
        with conn.cursor() as cur:
            cur.execute("SHOW MASTER STATUS")
            name, pos = cur.fetchone()[:2]
        dm.start_master()
        dm.start_worker("worker1", keepalive_ttl=30)
        dm.create_source(up, "lag-src")
        dm.start_task(TASK.format(port=down.port, name=name, pos=pos))
        time.sleep(3)
        sent: dict[int, float] = {}
        lags: list[float] = []
        threads = [threading.Thread(target=beats, args=(up, sent, stop)),
                   threading.Thread(target=watch, args=(down, sent, lags, stop))]
        for t in threads:
            t.start()
        load = subprocess.run(["sysbench", "oltp_write_only", *sb, "--threads=4",
                               f"--rate={args.rate}", f"--time={args.seconds}", "run"],
                              check=True, capture_output=True, text=True).stdout
        time.sleep(5)
        stop.set()
        for t in threads:
            t.join()
        tps = next(line.split("(")[1].split()[0] for line in load.splitlines()
                   if "transactions:" in line)
        q = statistics.quantiles(lags, n=100)
        print(json.dumps({"target_rate": args.rate, "sysbench_tps": float(tps),
                          "samples": len(lags), "lag_p50_s": round(q[49], 3),
                          "lag_p99_s": round(q[98], 3), "lag_max_s": round(max(lags), 3),
                          "worker_peak_rss_mb": round(dm.peak_rss_mb("worker1"), 1)},
                         indent=2))
    finally:
        stop.set()
        dm.stop()
        up.stop()
        down.stop()


if __name__ == "__main__":
    main()

"""Incremental catch-up benchmark: MariaDB's own replica vs pydm `task-mode: incremental`.

sysbench `oltp_read_write prepare` (8 tables × 100,000 rows), the snapshot copied into
two downstreams, then a backlog of `oltp_write_only` transactions written upstream.
From the same start position, downstream A replicates with MariaDB's own replica
(`slave_parallel_threads=4`) and downstream B with pydm (real dm-master, dm-worker,
dmctl). Both are timed until they hold the whole backlog, checked equal to the
upstream with CHECKSUM TABLE, and the ratio pydm/anchor is printed with the worker's
peak RSS.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import time
from pathlib import Path

import pymysql.cursors

from dm.sandbox import DMProcesses, MariaDB

ROOT = Path(__file__).resolve().parent.parent
SERVER_ARGS = ["--innodb-buffer-pool-size=2G", "--innodb-log-file-size=512M",
               "--innodb-flush-log-at-trx-commit=1"]
TASK = """\
name: inc
task-mode: incremental
target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
mysql-instances:
  - source-id: inc-src
    block-allow-list: sb
    meta: {{binlog-name: "{name}", binlog-pos: {pos}}}
    syncer: {{worker-count: {workers}, batch: {batch}, checkpoint-flush-interval: 1}}
block-allow-list:
  sb: {{do-dbs: [sbtest]}}
"""


def sysbench(server: MariaDB, *args: str) -> None:
    subprocess.run(["sysbench", *args, "--db-driver=mysql", "--mysql-host=127.0.0.1",
                    f"--mysql-port={server.port}", "--mysql-user=root", "--mysql-db=sbtest"],
                   check=True, stdout=subprocess.DEVNULL)


def master_position(server: MariaDB) -> tuple[str, int]:
    conn = server.connect()
    with conn.cursor() as cur:
        cur.execute("SHOW MASTER STATUS")
        name, pos = cur.fetchone()[:2]
    return str(name), int(pos)


def copy_snapshot(up: MariaDB, *downs: MariaDB) -> None:
    dump = subprocess.run(["mariadb-dump", "-h", "127.0.0.1", "-P", str(up.port), "-u", "root",
                           "--single-transaction", "--databases", "sbtest"],
                          check=True, capture_output=True).stdout
    for down in downs:
        subprocess.run(["mariadb", "-h", "127.0.0.1", "-P", str(down.port), "-u", "root"],
                       input=dump, check=True)


def checksums(server: MariaDB, tables: int) -> list[tuple[str, int]]:
    conn = server.connect()
    with conn.cursor() as cur:
        cur.execute("CHECKSUM TABLE " + ", ".join(f"sbtest.sbtest{i}"
                                                  for i in range(1, tables + 1)))
        return [(str(r[0]), int(r[1])) for r in cur.fetchall()]


def native_replica(up: MariaDB, down: MariaDB, start: tuple[str, int],
                   end: tuple[str, int]) -> float:
    down.execute("SET GLOBAL slave_parallel_threads = 4",
                 f"CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={up.port}, "
                 f"MASTER_USER='root', MASTER_PASSWORD='', MASTER_LOG_FILE='{start[0]}', "
                 f"MASTER_LOG_POS={start[1]}, MASTER_USE_GTID=no")
    started = time.monotonic()
    down.execute("START SLAVE")
    conn = down.connect()
    while True:
        with conn.cursor(pymysql.cursors.DictCursor) as cur:
            cur.execute("SHOW SLAVE STATUS")
            st = cur.fetchone()
        if st["Last_SQL_Error"] or st["Last_IO_Error"]:
            raise SystemExit(f"native replica failed: {st['Last_SQL_Error']}"
                             f"{st['Last_IO_Error']}")
        if (st["Relay_Master_Log_File"], int(st["Exec_Master_Log_Pos"])) >= end:
            elapsed = time.monotonic() - started
            down.execute("STOP SLAVE")
            return elapsed
        time.sleep(0.05)


def pydm(up: MariaDB, down: MariaDB, work: Path, start: tuple[str, int], end: tuple[str, int],
         workers: int, batch: int) -> tuple[float, float]:
    dm = DMProcesses(work / "dm", ROOT / ".venv" / "bin")
    try:
        dm.start_master()
        dm.start_worker("worker1", keepalive_ttl=30)
        started = time.monotonic()
        dm.start_task(up, "inc-src", TASK.format(port=down.port, name=start[0], pos=start[1],
                                                 workers=workers, batch=batch))
        conn = down.connect()
        while True:  # the checkpoint is only written once everything before it is applied
            with conn.cursor() as cur:
                try:
                    cur.execute("SELECT binlog_name, binlog_pos FROM dm_meta.inc_syncer_checkpoint"
                                " WHERE is_global")
                    row = cur.fetchone()
                except pymysql.err.ProgrammingError:  # not created yet
                    row = None
            if row and (str(row[0]), int(row[1])) >= end:
                elapsed = time.monotonic() - started
                break
            status = dm.api("query-status", {"task": "inc"})["sources"][0]["subTaskStatus"]
            if status and status[0].get("result"):
                raise SystemExit(f"pydm task failed: {status[0]['result']}")
            time.sleep(0.1)
        return elapsed, dm.peak_rss_mb("worker1")
    finally:
        dm.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tables", type=int, default=8)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--transactions", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--work", default=str(ROOT / "sandbox" / "bench-incremental"))
    args = parser.parse_args()
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    cache = ROOT / "sandbox" / ".cache"
    up = MariaDB(work / "up", 1, extra_args=SERVER_ARGS)
    native = MariaDB(work / "down-native", 2, log_bin=False, extra_args=SERVER_ARGS)
    ours = MariaDB(work / "down-pydm", 3, log_bin=False, extra_args=SERVER_ARGS)
    try:
        for server in (up, native, ours):
            server.start(cache)
        up.execute("CREATE DATABASE sbtest")
        sysbench(up, "oltp_read_write", f"--tables={args.tables}",
                 f"--table-size={args.rows}", "prepare")
        copy_snapshot(up, native, ours)
        start = master_position(up)
        backlog_started = time.monotonic()
        sysbench(up, "oltp_write_only", f"--tables={args.tables}", f"--table-size={args.rows}",
                 "--threads=4", f"--events={args.transactions}", "--time=0", "run")
        backlog_s = time.monotonic() - backlog_started
        end = master_position(up)
        native_s = native_replica(up, native, start, end)
        pydm_s, rss_mb = pydm(up, ours, work, start, end, args.workers, args.batch)
        expected = checksums(up, args.tables)
        result = {
            "transactions": args.transactions, "backlog_written_s": round(backlog_s, 1),
            "native_replica_s": round(native_s, 2), "pydm_s": round(pydm_s, 2),
            "ratio_pydm_over_native": round(pydm_s / native_s, 3),
            "native_trx_per_s": round(args.transactions / native_s),
            "pydm_trx_per_s": round(args.transactions / pydm_s),
            "worker_peak_rss_mb": round(rss_mb, 1),
            "native_equal": checksums(native, args.tables) == expected,
            "pydm_equal": checksums(ours, args.tables) == expected,
        }
        print(json.dumps(result, indent=2))
        if not (result["native_equal"] and result["pydm_equal"]):
            raise SystemExit("a downstream differs from the upstream")
    finally:
        for server in (up, native, ours):
            server.stop()


if __name__ == "__main__":
    main()

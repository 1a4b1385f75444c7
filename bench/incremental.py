"""Incremental catch-up benchmark: MariaDB's own replica vs pydm `task-mode: incremental`,
over the shapes of work users bring, in one run.

sysbench `oltp_read_write prepare` fills the upstream. For each key distribution
(`uniform`, and sysbench's default `special`: hot rows), the upstream's state is dumped,
then a backlog of `oltp_write_only` transactions is written. For each downstream
`innodb_flush_log_at_trx_commit` (1 and 2), three downstreams get that dump and replay
the same backlog from the same position: MariaDB's own replica
(`slave_parallel_threads=4`), pydm with DM's default task settings (no `syncers` block:
worker-count 16, batch 100) and pydm tuned (`--workers`, `--batch`). pydm is timed from
`start-task` until the downstream equals the upstream (CHECKSUM TABLE, run once the
backlog's last transaction, a marker row, is downstream: DM's default checkpoint interval
is 30 s, so the checkpoint would not tell; the marker is polled like the replica's
status, 20 times a second, and query-status only once a second, since each one costs the
master and etcd about 8 ms of CPU that the replica's SHOW SLAVE STATUS does not), the
replica until it has executed the backlog. Every
downstream is checked equal to the upstream, and one table of times and ratios
pydm/replica is printed, with the CPU seconds each side used meanwhile: the downstream
mariadbd's, and pydm's worker and binlog reader processes'.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pymysql.cursors

from dm.sandbox import DMProcesses, MariaDB

ROOT = Path(__file__).resolve().parent.parent
SERVER_ARGS = ["--innodb-buffer-pool-size=2G", "--innodb-log-file-size=512M"]
TASK = """\
name: inc
task-mode: incremental
target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
mysql-instances:
  - source-id: inc-src
    block-allow-list: sb
    meta: {{binlog-name: "{name}", binlog-pos: {pos}}}
{syncer}block-allow-list:
  sb: {{do-dbs: [sbtest]}}
"""
TUNED_SYNCER = ("    syncer: {{worker-count: {workers}, batch: {batch}, "
                "checkpoint-flush-interval: 1}}\n")


@dataclass(frozen=True)
class Settings:
    name: str
    syncer: str  # the subtask's syncer block, or "" for DM's defaults


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


def snapshot(up: MariaDB) -> bytes:
    return subprocess.run(["mariadb-dump", "-h", "127.0.0.1", "-P", str(up.port), "-u", "root",
                           "--single-transaction", "--databases", "sbtest"],
                          check=True, capture_output=True).stdout


def restore(dump: bytes, down: MariaDB) -> None:
    """The downstream made the snapshot again, replication state and pydm's meta gone."""
    down.execute("STOP SLAVE", "RESET SLAVE ALL", "DROP DATABASE IF EXISTS sbtest",
                 "DROP DATABASE IF EXISTS dm_meta")
    subprocess.run(["mariadb", "-h", "127.0.0.1", "-P", str(down.port), "-u", "root"],
                   input=dump, check=True)


def checksums(server: MariaDB, tables: int) -> list[tuple[str, int]]:
    conn = server.connect()
    with conn.cursor() as cur:
        cur.execute("CHECKSUM TABLE " + ", ".join(f"sbtest.sbtest{i}"
                                                  for i in range(1, tables + 1)))
        return [(str(r[0]), int(r[1])) for r in cur.fetchall()]


def end_marker(server: MariaDB) -> int | None:
    """The backlog number in `sbtest.bench_end`, written by each backlog's last
    transaction (None: not there yet)."""
    conn = server.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT backlog FROM sbtest.bench_end")
            row = cur.fetchone()
        return None if row is None else int(row[0])
    finally:
        conn.close()


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU seconds the live processes `pids` have used so far."""
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Run:
    seconds: float
    down_cpu_s: float  # the downstream mariadbd's CPU seconds meanwhile
    worker_cpu_s: float = 0.0  # the worker's (syncer and appliers)
    reader_cpu_s: float = 0.0  # its binlog reader process's
    rss_mb: float = 0.0  # the worker's and its binlog reader's peak


def native_replica(up: MariaDB, down: MariaDB, start: tuple[str, int],
                   end: tuple[str, int]) -> Run:
    down.execute("SET GLOBAL slave_parallel_threads = 4",
                 f"CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={up.port}, "
                 f"MASTER_USER='root', MASTER_PASSWORD='', MASTER_LOG_FILE='{start[0]}', "
                 f"MASTER_LOG_POS={start[1]}, MASTER_USE_GTID=no")
    started, down_cpu = time.monotonic(), cpu_seconds([down.pid])
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
            down_cpu = cpu_seconds([down.pid]) - down_cpu
            down.execute("STOP SLAVE")
            return Run(elapsed, down_cpu)
        time.sleep(0.05)


def pydm(up: MariaDB, down: MariaDB, work: Path, start: tuple[str, int], marker: int,
         settings: Settings, expected: list[tuple[str, int]]) -> Run:
    """Seconds from start-task until the downstream equals the upstream (CHECKSUM TABLE,
    once the backlog's end marker is there)."""
    shutil.rmtree(work / "dm", ignore_errors=True)
    dm = DMProcesses(work / "dm", ROOT / ".venv" / "bin")
    tables = len(expected)
    try:
        dm.start_master()
        dm.start_worker("worker1", keepalive_ttl=30)
        dm.create_source(up, "inc-src")  # the cluster's set-up: not part of the task's time
        worker = dm.workers["worker1"].pid
        started, down_cpu, worker_cpu = time.monotonic(), cpu_seconds([down.pid]), \
            cpu_seconds([worker])
        dm.start_task(TASK.format(port=down.port, name=start[0], pos=start[1],
                                  syncer=settings.syncer))
        polled = 0.0
        while True:
            if time.monotonic() - polled >= 1:
                polled = time.monotonic()
                status = dm.api("query-status", {"task": "inc"})["sources"][0]["subTaskStatus"]
                if status and status[0].get("result"):
                    raise SystemExit(f"pydm task failed: {status[0]['result']}")
            if end_marker(down) == marker and checksums(down, tables) == expected:
                return Run(time.monotonic() - started, cpu_seconds([down.pid]) - down_cpu,
                           cpu_seconds([worker]) - worker_cpu,
                           cpu_seconds(dm.child_pids("worker1")), dm.peak_rss_mb("worker1"))
            time.sleep(0.05)
    finally:
        dm.stop()


def backlog_arguments(parser: argparse.ArgumentParser, transactions: int, work: str) -> None:
    """The sysbench shape of a backlog bench, and its work directory."""
    parser.add_argument("--tables", type=int, default=8)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--transactions", type=int, default=transactions)
    parser.add_argument("--work", default=str(ROOT / "sandbox" / work))


def fresh(work: str) -> Path:
    """The work directory, emptied."""
    path = Path(work)
    shutil.rmtree(path, ignore_errors=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    backlog_arguments(parser, 50_000, "bench-incremental")
    parser.add_argument("--rand-type", nargs="+", default=["uniform", "special"])
    parser.add_argument("--flush", nargs="+", type=int, default=[1, 2],
                        help="downstream innodb_flush_log_at_trx_commit values")
    parser.add_argument("--workers", type=int, default=2, help="tuned worker-count")
    parser.add_argument("--batch", type=int, default=1000, help="tuned batch")
    args = parser.parse_args()
    work = fresh(args.work)
    cache = ROOT / "sandbox" / ".cache"
    runs = [Settings("DM defaults (16 x 100)", ""),
            Settings(f"tuned ({args.workers} x {args.batch})",
                     TUNED_SYNCER.format(workers=args.workers, batch=args.batch))]
    up = MariaDB(work / "up", 1, extra_args=SERVER_ARGS)
    native = MariaDB(work / "down-native", 2, log_bin=False, extra_args=SERVER_ARGS)
    ours = [MariaDB(work / f"down-pydm{i}", 3 + i, log_bin=False, extra_args=SERVER_ARGS)
            for i in range(len(runs))]
    servers = [up, native, *ours]
    rows: list[dict[str, object]] = []
    try:
        for server in servers:
            server.start(cache)
        up.execute("CREATE DATABASE sbtest")
        sysbench(up, "oltp_read_write", f"--tables={args.tables}",
                 f"--table-size={args.rows}", "prepare")
        up.execute("CREATE TABLE sbtest.bench_end (id INT PRIMARY KEY, backlog INT)")
        for marker, rand_type in enumerate(args.rand_type, 1):
            dump = snapshot(up)
            start = master_position(up)
            sysbench(up, "oltp_write_only", f"--tables={args.tables}",
                     f"--table-size={args.rows}", f"--rand-type={rand_type}", "--threads=4",
                     f"--events={args.transactions}", "--time=0", "run")
            up.execute(f"REPLACE INTO sbtest.bench_end VALUES (1, {marker})")
            end = master_position(up)
            expected = checksums(up, args.tables)
            for flush in args.flush:
                for down in (native, *ours):
                    restore(dump, down)
                    down.execute(f"SET GLOBAL innodb_flush_log_at_trx_commit = {flush}")
                replica = native_replica(up, native, start, end)
                native_equal = checksums(native, args.tables) == expected
                for settings, down in zip(runs, ours, strict=True):
                    run = pydm(up, down, work, start, marker, settings, expected)
                    rows.append({
                        "keys": rand_type, "flush": flush, "pydm settings": settings.name,
                        "replica_s": round(replica.seconds, 2), "pydm_s": round(run.seconds, 2),
                        "ratio": round(run.seconds / replica.seconds, 3),
                        "replica_down_cpu_s": round(replica.down_cpu_s, 2),
                        "pydm_down_cpu_s": round(run.down_cpu_s, 2),
                        "worker_cpu_s": round(run.worker_cpu_s, 2),
                        "reader_cpu_s": round(run.reader_cpu_s, 2),
                        "worker_rss_mb": round(run.rss_mb, 1),
                        "equal": native_equal and checksums(down, args.tables) == expected})
                    print(json.dumps(rows[-1]), flush=True)
    finally:
        for server in servers:
            server.stop()
    print(f"\n{args.tables} x {args.rows} rows, {args.transactions} oltp_write_only "
          "transactions per key distribution, replica with 4 parallel threads")
    print("CPU: seconds of CPU used during the catch-up by the downstream mariadbd (replica's"
          " / pydm's) and by pydm's worker and its binlog reader process")
    print("| keys | flush | pydm settings | replica | pydm | ratio | downstream CPU | "
          "pydm worker / reader CPU | worker RSS | equal |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['keys']} | {r['flush']} | {r['pydm settings']} | {r['replica_s']} s | "
              f"{r['pydm_s']} s | {r['ratio']} | {r['replica_down_cpu_s']} / "
              f"{r['pydm_down_cpu_s']} s | {r['worker_cpu_s']} / {r['reader_cpu_s']} s | "
              f"{r['worker_rss_mb']} MB | "
              f"{r['equal']} |")
    if not all(r["equal"] for r in rows):
        raise SystemExit("a downstream differs from the upstream")


if __name__ == "__main__":
    main()

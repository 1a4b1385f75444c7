"""Full-phase benchmark: mydumper + myloader vs pydm `task-mode: full`, same data, same run,
over the shapes users bring.

For each shape (`--shapes`, default 8 tables x 1,000,000 rows and 2,000 tables x 1,000
rows) sysbench `oltp_read_write prepare` fills the upstream; for each downstream
`innodb_flush_log_at_trx_commit` (`--flush`, default 1 and 2) the anchor (mydumper -t N
then myloader -t N) loads downstream A and pydm loads downstream B through real
dm-master, dm-worker and dmctl, both emptied first. Both are checked equal to the
upstream with CHECKSUM TABLE; one table of times, ratios pydm/anchor and the dm-worker's
peak RSS is printed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import time
from pathlib import Path

from dm.sandbox import DMProcesses, MariaDB

ROOT = Path(__file__).resolve().parent.parent
SERVER_ARGS = ["--innodb-buffer-pool-size=4G", "--innodb-log-file-size=1G",
               "--innodb-io-capacity=2000", "--innodb-io-capacity-max=4000"]

TASK = """\
name: bench
task-mode: full
target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
mysql-instances:
  - source-id: bench-src
    block-allow-list: sb
    mydumper-thread: {threads}
    loader-thread: {threads}
block-allow-list:
  sb: {{do-dbs: [sbtest]}}
"""


def run(cmd: list[str]) -> float:
    started = time.monotonic()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - started


def checksums(server: MariaDB, tables: int) -> list[tuple[str, int]]:
    conn = server.connect()
    with conn.cursor() as cur:
        names = ", ".join(f"sbtest.sbtest{i}" for i in range(1, tables + 1))
        cur.execute(f"CHECKSUM TABLE {names}")
        return [(str(r[0]), int(r[1])) for r in cur.fetchall()]


def flush_dirty_pages(server: MariaDB) -> None:
    server.execute("SET GLOBAL innodb_max_dirty_pages_pct = 0")
    time.sleep(2)
    server.execute("SET GLOBAL innodb_max_dirty_pages_pct = 90")


def anchor(up: MariaDB, down: MariaDB, work: Path, threads: int) -> tuple[float, float]:
    out = work / "mydumper-out"
    shutil.rmtree(out, ignore_errors=True)
    dump = run(["mydumper", "-h", "127.0.0.1", "-P", str(up.port), "-u", "root",
                "-B", "sbtest", "-t", str(threads), "-r", "100000", "-o", str(out)])
    load = run(["myloader", "-h", "127.0.0.1", "-P", str(down.port), "-u", "root",
                "-t", str(threads), "-d", str(out)])
    shutil.rmtree(out, ignore_errors=True)
    return dump, load


def pydm(up: MariaDB, down: MariaDB, work: Path, threads: int) -> tuple[float, float]:
    shutil.rmtree(work / "dm", ignore_errors=True)  # a fresh cluster for every run
    dm = DMProcesses(work / "dm", ROOT / ".venv" / "bin")
    try:
        dm.start_master()
        dm.start_worker("worker1", keepalive_ttl=30)
        dm.create_source(up, "bench-src")  # the cluster's set-up: not part of the task's time
        started = time.monotonic()
        dm.start_task(TASK.format(port=down.port, threads=threads))
        while True:
            answer = dm.api("query-status", {"task": "bench"})
            subs = [st for s in answer["sources"] for st in s["subTaskStatus"]]
            if subs and subs[0].get("result"):
                raise SystemExit(f"pydm task failed: {subs[0]['result']}")
            if subs and subs[0]["stage"] == "Finished":
                break
            time.sleep(0.2)
        return time.monotonic() - started, dm.peak_rss_mb("worker1")
    finally:
        dm.stop()


def shape(text: str) -> tuple[int, int]:
    tables, _, rows = text.partition("x")
    return int(tables), int(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shapes", nargs="+", type=shape, default=[(8, 1_000_000), (2000, 1000)],
                        help="TABLESxROWS, e.g. 2000x50")
    parser.add_argument("--flush", nargs="+", type=int, default=[1, 2],
                        help="downstream innodb_flush_log_at_trx_commit values")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--work", default=str(ROOT / "sandbox" / "bench-full"))
    args = parser.parse_args()
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    cache = ROOT / "sandbox" / ".cache"
    up = MariaDB(work / "up", 1, extra_args=SERVER_ARGS)
    down_a = MariaDB(work / "down-anchor", 2, log_bin=False, extra_args=SERVER_ARGS)
    down_b = MariaDB(work / "down-pydm", 3, log_bin=False, extra_args=SERVER_ARGS)
    results: list[dict[str, object]] = []
    try:
        for server in (up, down_a, down_b):
            server.start(cache)
        for tables, rows in args.shapes:
            up.execute("DROP DATABASE IF EXISTS sbtest", "CREATE DATABASE sbtest")
            run(["sysbench", "oltp_read_write", "--db-driver=mysql", "--mysql-host=127.0.0.1",
                 f"--mysql-port={up.port}", "--mysql-user=root", "--mysql-db=sbtest",
                 f"--tables={tables}", f"--table-size={rows}", "--threads=2", "prepare"])
            flush_dirty_pages(up)
            expected = checksums(up, tables)
            for flush in args.flush:
                for down in (down_a, down_b):
                    down.execute("DROP DATABASE IF EXISTS sbtest",
                                 "DROP DATABASE IF EXISTS dm_meta",
                                 f"SET GLOBAL innodb_flush_log_at_trx_commit = {flush}")
                dump_s, load_s = anchor(up, down_a, work, args.threads)
                flush_dirty_pages(down_a)
                pydm_s, rss_mb = pydm(up, down_b, work, args.threads)
                anchor_s = dump_s + load_s
                results.append({
                    "shape": f"{tables} x {rows:,}", "flush": flush,
                    "anchor_dump_s": round(dump_s, 2), "anchor_load_s": round(load_s, 2),
                    "anchor_s": round(anchor_s, 2), "pydm_s": round(pydm_s, 2),
                    "ratio": round(pydm_s / anchor_s, 3), "worker_rss_mb": round(rss_mb, 1),
                    "equal": (checksums(down_a, tables) == expected
                              and checksums(down_b, tables) == expected)})
                print(json.dumps(results[-1]), flush=True)
    finally:
        for server in (up, down_a, down_b):
            server.stop()
    print(f"\n{args.threads} threads each side; pydm from start-task to Finished")
    print("| shape | flush | anchor (dump + load) | pydm | ratio | worker RSS | equal |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['shape']} | {r['flush']} | {r['anchor_s']} s ({r['anchor_dump_s']} + "
              f"{r['anchor_load_s']}) | {r['pydm_s']} s | {r['ratio']} | "
              f"{r['worker_rss_mb']} MB | {r['equal']} |")
    if not all(r["equal"] for r in results):
        raise SystemExit("a downstream differs from the upstream")


if __name__ == "__main__":
    main()

"""Full-phase benchmark: mydumper + myloader vs pydm `task-mode: full`, same data, same run.

sysbench `oltp_read_write prepare` fills the upstream; the anchor (mydumper -t 2 then
myloader -t 2) loads downstream A, pydm loads downstream B through real dm-master,
dm-worker and dmctl. Both downstreams are checked equal to the upstream with
CHECKSUM TABLE; the script prints both times, the ratio pydm/anchor and the peak
RSS of the dm-worker.
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
               "--innodb-flush-log-at-trx-commit=1", "--innodb-io-capacity=2000",
               "--innodb-io-capacity-max=4000"]

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
    dm = DMProcesses(work / "dm", ROOT / ".venv" / "bin")
    try:
        dm.start_master()
        dm.start_worker("worker1", keepalive_ttl=30)
        started = time.monotonic()
        dm.start_task(up, "bench-src", TASK.format(port=down.port, threads=threads))
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tables", type=int, default=8)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--work", default=str(ROOT / "sandbox" / "bench-full"))
    args = parser.parse_args()
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    cache = ROOT / "sandbox" / ".cache"
    up = MariaDB(work / "up", 1, extra_args=SERVER_ARGS)
    down_a = MariaDB(work / "down-anchor", 2, log_bin=False, extra_args=SERVER_ARGS)
    down_b = MariaDB(work / "down-pydm", 3, log_bin=False, extra_args=SERVER_ARGS)
    try:
        for server in (up, down_a, down_b):
            server.start(cache)
        up.execute("CREATE DATABASE sbtest")
        prepare = run(["sysbench", "oltp_read_write", "--db-driver=mysql",
                       "--mysql-host=127.0.0.1", f"--mysql-port={up.port}", "--mysql-user=root",
                       "--mysql-db=sbtest", f"--tables={args.tables}",
                       f"--table-size={args.rows}", "--threads=2", "prepare"])
        flush_dirty_pages(up)
        dump_s, load_s = anchor(up, down_a, work, args.threads)
        flush_dirty_pages(down_a)
        pydm_s, rss_mb = pydm(up, down_b, work, args.threads)
        expected = checksums(up, args.tables)
        equal_a = checksums(down_a, args.tables) == expected
        equal_b = checksums(down_b, args.tables) == expected
        rows = args.tables * args.rows
        anchor_s = dump_s + load_s
        result = {
            "rows": rows, "prepare_s": round(prepare, 1),
            "anchor_dump_s": round(dump_s, 2), "anchor_load_s": round(load_s, 2),
            "anchor_total_s": round(anchor_s, 2), "pydm_s": round(pydm_s, 2),
            "ratio_pydm_over_anchor": round(pydm_s / anchor_s, 3),
            "anchor_rows_per_s": round(rows / anchor_s), "pydm_rows_per_s": round(rows / pydm_s),
            "worker_peak_rss_mb": round(rss_mb, 1),
            "anchor_equal": equal_a, "pydm_equal": equal_b,
        }
        print(json.dumps(result, indent=2))
        if not (equal_a and equal_b):
            raise SystemExit("a downstream differs from the upstream")
    finally:
        for server in (up, down_a, down_b):
            server.stop()


if __name__ == "__main__":
    main()

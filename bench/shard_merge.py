"""Shard merge benchmark (issue 12), in one run, real dm-master/dm-worker/dmctl:

1. Full phase: sysbench's 8 tables x 100,000 rows merged into one table (`extract-table`
   keeps their ids apart) against the same 8 tables migrated as they are; pydm
   `task-mode: all` in `shard-mode: pessimistic`, timed from start-task until the sync
   unit runs.
2. Backlog: the task paused, a backlog of `oltp_write_only` transactions (default
   100,000) written over the 8 tables, the task resumed; timed until the downstream
   equals the upstream (row count and a sum of every column's CRC32, per shard).
3. Lock hold: 4 shards of another database merged in the same task; while they are
   written, each runs `ALTER TABLE ... ADD COLUMN` 0.5 s after the previous one. Timed
   from the first shard's DDL, and from the last one's, until the merged table has the
   column (the lock resolved and the DDL ran once).

Both downstreams at `innodb_flush_log_at_trx_commit=2`; DM's default syncer settings.
Prints the times and the ratios merged / unsharded.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from pathlib import Path
from typing import Any

from incremental import SERVER_ARGS, fresh, sysbench

from dm.sandbox import DMProcesses, MariaDB

ROOT = Path(__file__).resolve().parent.parent
LOCK_SHARDS = 4
TASK = """\
name: {name}
task-mode: all
shard-mode: pessimistic
target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
mysql-instances:
  - source-id: sm-src
    block-allow-list: sb
    route-rules: [{routes}]
block-allow-list:
  sb: {{do-dbs: [sbtest, lockdb]}}
routes:
  lock: {{schema-pattern: lockdb, table-pattern: "t_*", target-schema: lockdb, target-table: t}}
{merged}"""
MERGED_ROUTES = """\
  merged:
    schema-pattern: sbtest
    table-pattern: "sbtest*"
    target-schema: merged
    target-table: sbtest
    extract-table: {table-regexp: "sbtest(.*)", target-column: c_table}
  merged_db: {schema-pattern: sbtest, target-schema: merged}
"""
MERGED = """CREATE TABLE merged.sbtest (id INT NOT NULL, k INT NOT NULL DEFAULT 0,
  c CHAR(120) NOT NULL DEFAULT '', pad CHAR(60) NOT NULL DEFAULT '', c_table VARCHAR(10)
  NOT NULL, PRIMARY KEY (id, c_table), KEY k_1 (k))"""
SHARD_SUM = "COUNT(*), SUM(CRC32(CONCAT_WS('|', id, k, c, pad)))"


def upstream_sums(up: MariaDB, tables: int) -> list[tuple[str, int, int]]:
    out = []
    for i in range(1, tables + 1):
        count, total = _one(up, f"SELECT {SHARD_SUM} FROM sbtest.sbtest{i}")
        out.append((str(i), int(count), int(total or 0)))
    return out


def downstream_sums(down: MariaDB, merged: bool, tables: int) -> list[tuple[str, int, int]]:
    if merged:
        conn = down.connect()
        with conn.cursor() as cur:
            cur.execute(f"SELECT c_table, {SHARD_SUM} FROM merged.sbtest GROUP BY c_table "
                        "ORDER BY CAST(c_table AS UNSIGNED)")
            rows = cur.fetchall()
        conn.close()
        return [(str(t), int(n), int(s or 0)) for t, n, s in rows]
    out = []
    for i in range(1, tables + 1):
        try:
            count, total = _one(down, f"SELECT {SHARD_SUM} FROM sbtest.sbtest{i}")
        except Exception:  # noqa: BLE001 - not loaded yet
            return []
        out.append((str(i), int(count), int(total or 0)))
    return out


def _one(server: MariaDB, sql: str) -> Any:
    conn = server.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchone()
    finally:
        conn.close()


def status(dm: DMProcesses, task: str) -> dict[str, Any]:
    subs = dm.api("query-status", {"task": task})["sources"][0]["subTaskStatus"]
    if subs and subs[0].get("result"):
        raise SystemExit(f"pydm task failed: {subs[0]['result']}")
    return dict(subs[0]) if subs else {}


def wait(what: str, check: Any, timeout: float = 3600) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out: {what}")
        time.sleep(0.05)


def lockdb(up: MariaDB, down: MariaDB) -> None:
    up.execute("DROP DATABASE IF EXISTS lockdb", "CREATE DATABASE lockdb")
    down.execute("DROP DATABASE IF EXISTS lockdb")
    for n in range(LOCK_SHARDS):
        up.execute(f"CREATE TABLE lockdb.t_{n} (id INT PRIMARY KEY, v INT)",
                   f"INSERT INTO lockdb.t_{n} SELECT {n} * 1000000 + seq, 0 "
                   "FROM lockdb.seq_1_to_1000")


def lock_hold(up: MariaDB, down: MariaDB) -> tuple[float, float]:
    """Seconds from the first shard's DDL, and from the last one's, to the merged table's
    column, while every shard is written."""
    stop = threading.Event()

    def write() -> None:
        conn = up.connect()
        k = 0
        while not stop.is_set():
            with conn.cursor() as cur:
                for n in range(LOCK_SHARDS):
                    cur.execute(f"UPDATE lockdb.t_{n} SET v = v + 1 WHERE id = "
                                f"{n * 1000000 + 1 + k % 1000}")
            conn.commit()
            k += 1
        conn.close()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        time.sleep(1)
        first = time.monotonic()
        for n in range(LOCK_SHARDS):
            if n:
                time.sleep(0.5)
            up.execute(f"ALTER TABLE lockdb.t_{n} ADD COLUMN added INT DEFAULT 1")
        last = time.monotonic()
        wait("the merged table's column", lambda: _one(
            down, "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = "
                  "'lockdb' AND TABLE_NAME = 't' AND COLUMN_NAME = 'added'")[0] == 1, 120)
        done = time.monotonic()
    finally:
        stop.set()
        writer.join()
    return done - first, done - last


def variant(up: MariaDB, down: MariaDB, work: Path, merged: bool, args: argparse.Namespace
            ) -> dict[str, float]:
    name = "merged" if merged else "unsharded"
    for db in ("sbtest", "merged", "dm_meta"):
        down.execute(f"DROP DATABASE IF EXISTS {db}")
    if merged:
        down.execute("CREATE DATABASE merged", MERGED)
    up.execute("DROP DATABASE IF EXISTS sbtest", "CREATE DATABASE sbtest")
    sysbench(up, "oltp_read_write", f"--tables={args.tables}", f"--table-size={args.rows}",
             "prepare")
    lockdb(up, down)
    dm = DMProcesses(work / name, ROOT / ".venv" / "bin")
    out: dict[str, float] = {}
    try:
        dm.start_master()
        dm.start_worker("worker1", keepalive_ttl=30)
        dm.create_source(up, "sm-src")
        routes = "merged, merged_db, lock" if merged else "lock"
        expected = upstream_sums(up, args.tables)
        started = time.monotonic()
        dm.start_task(TASK.format(name=name, port=down.port, routes=routes,
                                  merged=MERGED_ROUTES if merged else ""))
        wait("the sync unit", lambda: status(dm, name).get("unit") == "Sync")
        out["full_s"] = time.monotonic() - started
        if downstream_sums(down, merged, args.tables) != expected:
            raise SystemExit(f"{name}: the full phase left other rows")
        dm.dmctl("pause-task", name)
        sysbench(up, "oltp_write_only", f"--tables={args.tables}", f"--table-size={args.rows}",
                 "--threads=4", f"--events={args.transactions}", "--time=0", "run")
        expected = upstream_sums(up, args.tables)
        started = time.monotonic()
        dm.dmctl("resume-task", name)
        wait("the backlog", lambda: downstream_sums(down, merged, args.tables) == expected)
        out["backlog_s"] = time.monotonic() - started
        if merged:
            out["lock_from_first_ddl_s"], out["lock_from_last_ddl_s"] = lock_hold(up, down)
    finally:
        dm.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tables", type=int, default=8)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--transactions", type=int, default=100_000)
    parser.add_argument("--work", default=str(ROOT / "sandbox" / "bench-shard-merge"))
    args = parser.parse_args()
    work = fresh(args.work)
    up = MariaDB(work / "up", 1, extra_args=SERVER_ARGS)
    down = MariaDB(work / "down", 2, log_bin=False, extra_args=SERVER_ARGS)
    results: dict[str, dict[str, float]] = {}
    try:
        for server in (up, down):
            server.start(ROOT / "sandbox" / ".cache")
        down.execute("SET GLOBAL innodb_flush_log_at_trx_commit = 2")
        for merge in (False, True):
            name = "merged" if merge else "unsharded"
            results[name] = variant(up, down, work, merge, args)
            print(json.dumps({name: results[name]}), flush=True)
    finally:
        for server in (up, down):
            server.stop()
    plain, merged = results["unsharded"], results["merged"]
    print(f"\n{args.tables} x {args.rows} rows, {args.transactions} oltp_write_only "
          "transactions, DM's default syncer settings, downstream flush 2")
    print("| phase | unsharded (8 tables) | merged (1 table) | merged / unsharded |")
    print("|---|---|---|---|")
    for key, label in (("full_s", "full phase"), ("backlog_s", "backlog catch-up")):
        print(f"| {label} | {plain[key]:.2f} s | {merged[key]:.2f} s | "
              f"{merged[key] / plain[key]:.3f} |")
    print(f"\npessimistic lock, {LOCK_SHARDS} shards written all along, DDLs 0.5 s apart: "
          f"{merged['lock_from_first_ddl_s']:.2f} s from the first shard's DDL, "
          f"{merged['lock_from_last_ddl_s']:.2f} s from the last one's, to the merged "
          "table's column")


if __name__ == "__main__":
    main()

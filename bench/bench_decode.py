"""Decode rate of pydm's binlog codec vs mysql-replication on the same sysbench backlog.

A throwaway mariadbd gets a sysbench `oltp_write_only` backlog; then each reader decodes
every row of it (touching every value) and the rows/s of each are printed with the ratio.
Rates are rows per CPU second of this process ("on one core"), so a busy machine does not
blur them; the wire readers ask for no ANNOTATE_ROWS events, as the sync unit's reader.

    .venv/bin/python bench/bench_decode.py [--events 20000] [--metadata FULL]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from dm.binlog.events import RowsEvent, read_binlog_file
from dm.binlog.location import Location
from dm.binlog.replica import ReplicaConfig, ReplicaConnection
from dm.binlog.rows import ColumnInfo, TableSchema
from dm.gctune import tune_gc
from dm.sandbox import MariaDB

SYSBENCH = shutil.which("sysbench") or "/usr/bin/sysbench"
SB_COLUMNS = (ColumnInfo("id", "int"), ColumnInfo("k", "int"),
              ColumnInfo("c", "char", charset="utf8mb4"),
              ColumnInfo("pad", "char", charset="utf8mb4"))


def _provider(db: str, table: str) -> TableSchema | None:
    return TableSchema(db, table, SB_COLUMNS) if table.startswith("sbtest") else None


def _sysbench(server: MariaDB, command: str, events: int) -> None:
    subprocess.run([SYSBENCH, "oltp_write_only", "--db-driver=mysql", "--mysql-host=127.0.0.1",
                    f"--mysql-port={server.port}", "--mysql-user=root", "--mysql-db=sbtest",
                    "--tables=4", "--table-size=20000", "--threads=1", f"--events={events}",
                    "--time=0", "--rand-seed=1", command],
                   check=True, stdout=subprocess.DEVNULL)


def _status(server: MariaDB) -> Location:
    conn = server.connect()
    with conn.cursor() as cur:
        cur.execute("SHOW MASTER STATUS")
        file, pos = cur.fetchone()[:2]
    conn.close()
    return Location(file, int(pos))


def _touch(rows: list[object]) -> int:
    n = 0
    for row in rows:
        for value in row:  # type: ignore[attr-defined]
            n += value is not None
    return n


def ours_file(files: list[Path], start: Location) -> int:
    rows = 0
    for path in files:
        begin = start.pos if path.name == start.file else 4
        for ev in read_binlog_file(path, _provider, start=begin):
            if isinstance(ev, RowsEvent):
                _touch(ev.rows)
                rows += len(ev.rows)
    return rows


def ours_wire(server: MariaDB, start: Location) -> int:
    rows = 0
    cfg = ReplicaConfig("127.0.0.1", server.port, "root", "", server_id=4242)
    with ReplicaConnection(cfg, _provider, annotate_rows=False) as rep:
        rep.start_at(start, non_blocking=True)
        for ev in rep.events():
            if isinstance(ev, RowsEvent):
                _touch(ev.rows)
                rows += len(ev.rows)
    return rows


def theirs_wire(server: MariaDB, start: Location) -> int:
    from pymysqlreplication import BinLogStreamReader
    from pymysqlreplication.row_event import DeleteRowsEvent, UpdateRowsEvent, WriteRowsEvent

    stream = BinLogStreamReader(
        connection_settings={"host": "127.0.0.1", "port": server.port, "user": "root",
                             "passwd": ""},
        server_id=4243, blocking=False, resume_stream=True, log_file=start.file,
        log_pos=start.pos, only_events=[WriteRowsEvent, UpdateRowsEvent, DeleteRowsEvent])
    rows = 0
    for ev in stream:
        for row in ev.rows:
            values = row.get("values") or row.get("after_values")
            _touch([list(values.values())])
            rows += 1
    stream.close()
    return rows


def _timed(name: str, fn: Callable[[], int], repeat: int) -> float:
    best = 0.0
    for _ in range(repeat):
        t0 = time.process_time()
        rows = fn()
        rate = rows / (time.process_time() - t0)
        best = max(best, rate)
    print(f"{name:<34} {rows:>8} rows  {best:>10,.0f} rows/s (best of {repeat})")
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=20000, help="sysbench transactions")
    ap.add_argument("--metadata", default="FULL", choices=["NO_LOG", "MINIMAL", "FULL"])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    tune_gc()  # as in the sync unit's reader process
    with tempfile.TemporaryDirectory(prefix="pydm-bench-") as tmp:
        server = MariaDB(Path(tmp) / "db", server_id=77,
                         extra_args=[f"--binlog-row-metadata={args.metadata}"])
        server.start(Path(tmp) / "cache")
        try:
            server.execute("CREATE DATABASE sbtest")
            _sysbench(server, "prepare", args.events)
            start = _status(server)
            _sysbench(server, "run", args.events)
            server.execute("FLUSH BINARY LOGS")
            files = sorted(server.base.glob("binlog.[0-9]*"))
            files = [f for f in files if f.name >= start.file][:-1]
            print(f"backlog: {args.events} oltp_write_only transactions, "
                  f"binlog_row_metadata={args.metadata}, "
                  f"{sum(f.stat().st_size for f in files) / 1e6:.1f} MB")
            file_rate = _timed("pydm codec, binlog files", lambda: ours_file(files, start),
                               args.repeat)
            wire_rate = _timed("pydm codec, replica connection",
                               lambda: ours_wire(server, start), args.repeat)
            lib_rate = _timed("mysql-replication 1.0.17, wire",
                              lambda: theirs_wire(server, start), args.repeat)
            print(f"ratio (pydm wire / mysql-replication): {wire_rate / lib_rate:.1f}x; "
                  f"files: {file_rate / lib_rate:.1f}x")
        finally:
            server.stop()


if __name__ == "__main__":
    main()

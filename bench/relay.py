"""Relay log benchmark (issue 11), in one run on the same backlog:

1. Relay write throughput: pydm's relay unit pulls the upstream's whole binlog into a
   relay directory, against `mariadb-binlog --read-from-remote-server --raw` copying the
   same files; both timed until every byte is on disk. Ratio pydm / mariadb-binlog.
2. Catch-up of a `task-mode: incremental` task over the backlog (DM's default task
   settings, real dm-master/dm-worker): reading the upstream (no relay), with the relay on
   from the task's start (the relay pulls while the task reads behind it: "cold"), and
   with the backlog already in the relay ("warm": the directory of step 1 put in place).
   Each timed from start-task until the downstream equals the upstream (CHECKSUM TABLE).

sysbench `oltp_read_write prepare` fills the upstream, `oltp_write_only` writes the
backlog (default 100,000 transactions).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import time
from pathlib import Path

from incremental import (
    SERVER_ARGS,
    TASK,
    backlog_arguments,
    checksums,
    fresh,
    master_position,
    restore,
    snapshot,
    sysbench,
)

from dm.config.source import parse_source_config
from dm.relay.layout import RelayDir
from dm.relay.unit import RelayUnit
from dm.sandbox import DMProcesses, MariaDB

ROOT = Path(__file__).resolve().parent.parent
SOURCE = """\
source-id: inc-src
server-id: 4242
enable-relay: {relay}
from: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
"""


def binlog_files(up: MariaDB) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in sorted(up.base.glob("binlog.[0-9]*"))}


def mariadb_binlog(up: MariaDB, out: Path, first: str) -> float:
    """Seconds for mariadb-binlog to copy every binlog file from `first` on, raw."""
    out.mkdir(parents=True)
    started = time.monotonic()
    subprocess.run(["mariadb-binlog", "--read-from-remote-server", "--raw", "--host=127.0.0.1",
                    f"--port={up.port}", "--user=root", "--to-last-log",
                    f"--result-file={out}/", first], check=True)
    return time.monotonic() - started


def relay_unit(up: MariaDB, directory: Path, first: str) -> float:
    """Seconds for pydm's relay unit to hold every binlog file from `first` on."""
    cfg = parse_source_config(SOURCE.format(relay="true", port=up.port)
                              + f"relay-binlog-name: {first}\n", "source.yaml")
    want = {n: s for n, s in binlog_files(up).items() if n >= first}
    unit = RelayUnit(cfg, directory, lambda: None, server_id=cfg.server_id)
    started = time.monotonic()
    unit.start()
    try:
        while True:
            sub = RelayDir(directory).current()
            have = {n: (sub.path / n).stat().st_size for n in sub.binlog_files()} if sub else {}
            if have == want:
                return time.monotonic() - started
            if unit.error is not None and unit.stage != "Running":
                raise SystemExit(f"relay failed: {unit.error}")
            time.sleep(0.02)
    finally:
        unit.stop()


def catch_up(up: MariaDB, down: MariaDB, work: Path, start: tuple[str, int], relay: bool,
             warm: Path | None, expected: list[tuple[str, int]]) -> float:
    """Seconds from start-task until the downstream equals the upstream."""
    shutil.rmtree(work, ignore_errors=True)
    dm = DMProcesses(work, ROOT / ".venv" / "bin")
    if warm is not None:  # where the worker's relay of inc-src lives
        shutil.copytree(warm, work / "worker1" / "relay-dir" / "inc-src")
    try:
        dm.start_master()
        dm.start_worker("worker1", keepalive_ttl=30)
        (work / "source.yaml").write_text(SOURCE.format(relay=str(relay).lower(), port=up.port))
        (work / "task.yaml").write_text(TASK.format(port=down.port, name=start[0],
                                                    pos=start[1], syncer=""))
        dm.dmctl("operate-source", "create", str(work / "source.yaml"))
        started = time.monotonic()
        dm.dmctl("start-task", str(work / "task.yaml"))
        while True:
            status = dm.api("query-status", {"task": "inc"})["sources"][0]["subTaskStatus"]
            if status and status[0].get("result"):
                raise SystemExit(f"pydm task failed: {status[0]['result']}")
            if checksums(down, len(expected)) == expected:
                elapsed = time.monotonic() - started
                kind = status[0]["sync"]["binlogType"]
                if kind != ("local" if relay else "remote"):
                    raise SystemExit(f"the task read {kind} binlog")
                return elapsed
            time.sleep(0.2)
    finally:
        dm.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    backlog_arguments(parser, 100_000, "bench-relay")
    args = parser.parse_args()
    work = fresh(args.work)
    cache = ROOT / "sandbox" / ".cache"
    up = MariaDB(work / "up", 1, extra_args=SERVER_ARGS)
    down = MariaDB(work / "down", 2, log_bin=False, extra_args=SERVER_ARGS)
    results: dict[str, object] = {}
    try:
        for server in (up, down):
            server.start(cache)
        up.execute("CREATE DATABASE sbtest")
        sysbench(up, "oltp_read_write", f"--tables={args.tables}", f"--table-size={args.rows}",
                 "prepare")
        dump = snapshot(up)
        up.execute("FLUSH BINARY LOGS")
        start = master_position(up)
        sysbench(up, "oltp_write_only", f"--tables={args.tables}", f"--table-size={args.rows}",
                 "--threads=4", f"--events={args.transactions}", "--time=0", "run")
        expected = checksums(up, args.tables)
        size = sum(s for n, s in binlog_files(up).items() if n >= start[0])
        native_s = mariadb_binlog(up, work / "mariadb-binlog", start[0])
        relay_s = relay_unit(up, work / "relay" / "inc-src", start[0])
        results["relay write"] = {
            "MB": round(size / 1e6, 1), "mariadb_binlog_s": round(native_s, 2),
            "pydm_relay_s": round(relay_s, 2), "ratio": round(relay_s / native_s, 3),
            "pydm_MB_per_s": round(size / 1e6 / relay_s, 1)}
        print(json.dumps(results["relay write"]), flush=True)
        for name, relay, warm in (("from the upstream", False, None),
                                  ("relay on, cold", True, None),
                                  ("relay on, warm", True, work / "relay" / "inc-src")):
            restore(dump, down)
            down.execute("SET GLOBAL innodb_flush_log_at_trx_commit = 2")
            seconds = catch_up(up, down, work / "dm", start, relay, warm, expected)
            results[name] = round(seconds, 2)
            print(json.dumps({name: results[name]}), flush=True)
    finally:
        for server in (up, down):
            server.stop()
    w = results["relay write"]
    assert isinstance(w, dict)
    print(f"\n{args.tables} x {args.rows} rows, {args.transactions} oltp_write_only "
          f"transactions: {w['MB']} MB of binlog")
    print("| relay write | mariadb-binlog --raw | pydm relay | ratio | pydm MB/s |")
    print("|---|---|---|---|---|")
    print(f"| | {w['mariadb_binlog_s']} s | {w['pydm_relay_s']} s | {w['ratio']} | "
          f"{w['pydm_MB_per_s']} |")
    base = results["from the upstream"]
    assert isinstance(base, float)
    print("\n| catch-up (DM defaults, flush 2) | seconds | vs. from the upstream |")
    print("|---|---|---|")
    for name in ("from the upstream", "relay on, cold", "relay on, warm"):
        took = results[name]
        assert isinstance(took, float)
        print(f"| {name} | {took} s | {took / base:.3f} |")


if __name__ == "__main__":
    main()

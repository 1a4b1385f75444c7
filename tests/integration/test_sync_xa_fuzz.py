"""Randomized fault test of XA replication (two-phase commit) in pydm.

A seeded workload on one upstream database (keyed `t`, keyless `k`, keyed `u` with a
text column, plus a filtered-out database) interleaves several XA "sessions" (each on its
own connection: XA START, rows, XA END, then XA PREPARE and disconnect, PREPARE + COMMIT
on the same session, ONE PHASE, or a rollback of the unprepared branch), later
XA COMMIT / XA ROLLBACK of detached prepared ones in any order from other connections,
xids reused after they ended, ordinary transactions and autocommit DML (keyless table
included), FLUSH BINARY LOGS, DDL only on tables no open or prepared XA touches, and
rarely a big XA (> 16 MiB held: spilled to a temporary file). Meanwhile a fault thread
pauses/resumes, kill -9s and restarts the worker, kills the binlog dump connection
upstream or the worker's downstream connections (auto-resume / retry), or lets
checkpoints pass. At the end every prepared XA is ended, and every table must hold the
same rows on both sides, the task must be Running with no error, and the checkpoint must
list no prepared XA.

CI runs the short form (one seed, 250 steps); `PYDM_LONG=1` runs the long form (seeds 1-6,
1,200 steps each, about 2 minutes a seed). Seed parity picks enable-gtid (odd: true),
seed % 3 == 0 turns the relay on. To replay one: `XAFUZZ_SEEDS=5 XAFUZZ_STEPS=1200` (and
XAFUZZ_GTID / XAFUZZ_RELAY = 0|1 to override the variant). The workload (statements) is a
pure function of the seed; the fault timing is seeded but depends on wall-clock timing.
Everything executed is logged to `log-seed-<seed>.txt` in the test's tmp_path, printed
with a failure. Written by a helper agent of stop 25; its eight seeds found the lost
downstream connection during a DDL that paused for good (now retried).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymysql
import pytest

from dm.sandbox import DMProcesses, MariaDB, table_rows
from tests.integration.conftest import (
    LONG_FORM,
    binlog_end,
    fetch,
    source_yaml,
)

pytestmark = pytest.mark.integration

DB = "xafuzz"
OTHER = "xafuzz_other"
TABLES = ("t", "k", "u")

TASK = """\
name: {db}
task-mode: incremental
target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
mysql-instances:
  - source-id: {db}-src
    block-allow-list: only
    meta: {{binlog-name: "{name}", binlog-pos: {pos}{gtid}}}
    syncer: {{worker-count: 4, batch: 20, checkpoint-flush-interval: 1}}
block-allow-list:
  only: {{do-dbs: [{db}]}}
"""

_CHOSEN = [int(s) for s in os.environ.get("XAFUZZ_SEEDS", "").split(",") if s.strip()]


class Log:
    def __init__(self, directory: Path, seed: int) -> None:
        self.path = directory / f"log-seed-{seed}.txt"
        self.f = self.path.open("w")
        self.t0 = time.monotonic()
        self.lock = threading.Lock()

    def __call__(self, *parts: object) -> None:
        with self.lock:
            self.f.write(f"{time.monotonic() - self.t0:8.3f} " + " ".join(map(str, parts))
                         + "\n")
            self.f.flush()


@dataclass
class XaSession:
    conn: pymysql.Connection
    xid: str
    n: int
    tables: set[str] = field(default_factory=set)
    keys: dict[str, set[int]] = field(default_factory=dict)
    statements: int = 0
    home: tuple[str, ...] = ("t", "k", "u", "other")


@dataclass
class Prepared:
    xid: str
    tables: set[str]
    keys: dict[str, set[int]]


def _status(cluster: DMProcesses) -> dict[str, Any]:
    answer = cluster.dmctl("query-status", DB, check=False)
    subs = [st for s in answer.get("sources", []) for st in s.get("subTaskStatus", [])]
    return subs[0] if subs else {}


class Faults(threading.Thread):
    """pause/resume, kill -9 + restart, broken upstream/downstream connections, idling."""

    def __init__(self, cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB,
                 seed: int, log: Log) -> None:
        super().__init__(daemon=True)
        self.cluster, self.up, self.down = cluster, upstream, downstream
        self.rnd = random.Random(seed * 7919 + 1)
        self.log = log
        self.stop = threading.Event()
        self.errors: list[Any] = []  # every paused-with-error status seen
        self.fatal: str | None = None
        self.counts: Counter[str] = Counter()
        self.dump_kills = 0
        self.requests: list[str] = []  # faults the workload asks for right now

    def sleep(self, seconds: float) -> None:
        """Sleep, but serve a request of the workload at once."""
        deadline = time.monotonic() + seconds
        while not self.stop.is_set() and time.monotonic() < deadline:
            if self.requests:
                what = self.requests.pop(0)
                self.one(what)
            time.sleep(0.02)

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                self.sleep(self.rnd.uniform(0.5, 3.5))
                if self.stop.is_set():
                    break
                self.one()
        except Exception as exc:  # noqa: BLE001
            self.fatal = f"fault thread: {exc!r}"
            self.log("FAULT THREAD FAILED", repr(exc))

    def one(self, choice: str | None = None) -> None:
        choice = choice or self.rnd.choices(
            ["pause", "kill", "kill_dump", "kill_down", "idle"], [3, 3, 1, 1, 2])[0]
        if choice == "kill_dump" and self.dump_kills >= 3:
            choice = "idle"
        self.counts[choice] += 1
        self.log("FAULT", choice)
        if choice == "pause":
            self.cluster.dmctl("pause-task", DB, check=False)
            self.wait_stage("Paused")
            self.stop.wait(self.rnd.uniform(0, 2))
            self.cluster.dmctl("resume-task", DB, check=False)
            self.wait_stage("Running")
        elif choice == "kill":
            self.cluster.kill_worker("worker1")
            time.sleep(self.rnd.uniform(0, 2))
            self.cluster.start_worker("worker1")
            self.wait_stage("Running")
        elif choice == "kill_dump":
            self.dump_kills += 1
            for (pid,) in fetch(self.up, "SELECT ID FROM information_schema.PROCESSLIST "
                                         "WHERE COMMAND LIKE 'Binlog Dump%'"):
                with contextlib.suppress(pymysql.err.MySQLError):
                    self.up.execute(f"KILL {pid}")
            self.wait_stage("Running")
        elif choice == "kill_down":
            for (pid,) in fetch(self.down, "SELECT ID FROM information_schema.PROCESSLIST "
                                           "WHERE ID <> CONNECTION_ID() AND USER = 'root' "
                                           "AND COMMAND <> 'Daemon'"):
                with contextlib.suppress(pymysql.err.MySQLError):
                    self.down.execute(f"KILL {pid}")
            self.wait_stage("Running")
        else:
            self.stop.wait(1.5)
        self.log("FAULT done", choice, json.dumps(_status(self.cluster).get("stage")))

    def wait_stage(self, stage: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            st = _status(self.cluster)
            if st.get("result") and st.get("result", {}).get("errors"):
                err = st["result"]["errors"]
                if not self.errors or self.errors[-1] != err:
                    self.errors.append(err)
                    self.log("STATUS ERROR", json.dumps(err)[:2000])
            if st.get("stage") == stage and not (stage == "Running" and st.get("result")):
                return
            time.sleep(0.3)
        self.log("WAIT TIMEOUT", stage, json.dumps(_status(self.cluster))[:3000])
        raise AssertionError(f"not {stage} after {timeout}s: {_status(self.cluster)}")


class Workload:
    def __init__(self, upstream: MariaDB, seed: int, log: Log,
                 faults: Faults | None = None) -> None:
        self.faults = faults
        self.up = upstream
        self.rnd = random.Random(seed)
        self.log = log
        self.admin = self._connect()
        self.sessions: list[XaSession] = []
        self.prepared: list[Prepared] = []
        self.ended: list[str] = []  # xids free for reuse
        self.n = 0
        self.extra: dict[str, list[str]] = {t: [] for t in TABLES}  # added columns
        self.ddl_n = 0
        self.big = 0
        self.counts: Counter[str] = Counter()

    def _connect(self) -> pymysql.Connection:
        conn = self.up.connect()
        with conn.cursor() as cur:
            cur.execute("SET SESSION innodb_lock_wait_timeout = 1")
            cur.execute("SET SESSION lock_wait_timeout = 2")
            cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
        return conn

    def run_sql(self, conn: pymysql.Connection, sql: str, who: str) -> bool:
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
            self.log(who, "ok ", sql[:200])
            return True
        except pymysql.err.MySQLError as exc:
            self.log(who, "ERR", sql[:200], "->", exc.args[:2])
            return False

    # ---- state helpers
    def locked(self, table: str) -> set[int]:
        keys: set[int] = set()
        for s in self.sessions:
            keys |= s.keys.get(table, set())
        for p in self.prepared:
            keys |= p.keys.get(table, set())
        return keys

    def touched(self) -> set[str]:
        tables: set[str] = set()
        for s in self.sessions:
            tables |= s.tables
        for p in self.prepared:
            tables |= p.tables
        return tables

    def new_xid(self) -> str:
        if self.ended and self.rnd.random() < 0.25:
            xid = self.rnd.choice(self.ended)
            self.ended.remove(xid)
            return xid
        self.n += 1
        n = self.n
        form = self.rnd.randrange(6)
        if form == 0:
            return f"'fz{n}'"
        if form == 1:
            return f"'fz{n}','b{n % 3}',{n % 5}"
        if form == 2:
            gtrid = bytes([0, 0x27, 0x5c, n % 256, 0xff, 0x2c])
            return f"X'{gtrid.hex()}',X'01',7"
        if form == 3:
            return f"'q''uo\\\\te, {n}'"
        if form == 4:
            return "'" + (f"L{n}-" * 20)[:64] + "'"
        return f"0x{n:06x}"

    # ---- DML generators: (sql, table, keys it touches)
    def free_key(self, table: str, lo: int = 1, hi: int = 60) -> int:
        locked = self.locked(table)
        for _ in range(20):
            key = self.rnd.randint(lo, hi)
            if key not in locked:
                return key
        return self.rnd.randint(lo, hi)

    def dml(self, in_xa: bool, home: tuple[str, ...] = ("t", "k", "u", "other")
            ) -> tuple[str, str, set[int]]:
        r = self.rnd
        weights = {"t": 5, "k": 4, "u": 3, "other": 1}
        table = r.choices(list(home), [weights[h] for h in home])[0]
        if table == "other":
            key = r.randint(1, 30)
            return (r.choice([f"INSERT INTO {OTHER}.o VALUES ({key}, 1) ON DUPLICATE KEY "
                              "UPDATE v = v + 1", f"DELETE FROM {OTHER}.o WHERE id = {key}"]),
                    "other", {key})
        if table == "k":
            v = r.randint(1, 12)
            w = r.choice(["a", "b", "c", "dd", None])
            wq = "NULL" if w is None else f"'{w}'"
            k_busy = "k" in self.touched()
            op = r.choices(["ins", "upd", "del"], [5, 3, 2])[0]
            if k_busy and not in_xa:
                op = "ins"
            if op == "ins":
                rows = ", ".join(f"({r.randint(1, 12)}, {wq})" for _ in range(r.randint(1, 3)))
                return f"INSERT INTO {DB}.k (v, w) VALUES {rows}", "k", set()
            if op == "upd":
                return (f"UPDATE {DB}.k SET w = {wq} WHERE v = {v}"
                        + r.choice(["", " LIMIT 1", " LIMIT 2"]), "k", set())
            return f"DELETE FROM {DB}.k WHERE v = {v}" + r.choice(["", " LIMIT 1"]), "k", set()
        key = self.free_key(table)
        op = r.choices(["ins", "upsert", "upd", "range", "del", "rekey"], [4, 3, 3, 1, 2, 1])[0]
        if table == "t":
            s = r.choice(["x", "y", "zz", "é", ""])
            if op == "ins":
                return f"INSERT INTO {DB}.t (id, v, s) VALUES ({key}, {r.randint(0, 99)}, " \
                       f"'{s}')", "t", {key}
            if op == "upsert":
                return f"INSERT INTO {DB}.t (id, v, s) VALUES ({key}, 1, '{s}') ON DUPLICATE " \
                       "KEY UPDATE v = v + 1", "t", {key}
            if op == "upd":
                return f"UPDATE {DB}.t SET v = v + {r.randint(1, 9)}, s = '{s}' WHERE id = " \
                       f"{key}", "t", {key}
            if op == "range":
                return f"UPDATE {DB}.t SET v = v * 2 WHERE id BETWEEN {key} AND {key + 2}", \
                    "t", {key, key + 1, key + 2}
            if op == "del":
                return f"DELETE FROM {DB}.t WHERE id = {key}", "t", {key}
            new = self.free_key("t")
            return f"UPDATE {DB}.t SET id = {new} WHERE id = {key}", "t", {key, new}
        # u
        text = r.choice(["", "short", "ü" * r.randint(1, 50), "L" * r.randint(100, 3000)])
        if op in ("ins", "upsert"):
            return f"INSERT INTO {DB}.u (id, a, b) VALUES ({key}, {r.randint(0, 9)}, " \
                   f"'{text}') ON DUPLICATE KEY UPDATE a = a + 1, b = VALUES(b)", "u", {key}
        if op in ("upd", "range"):
            return f"UPDATE {DB}.u SET a = a + 1, b = CONCAT(b, 'z') WHERE id = {key}", \
                "u", {key}
        if op == "del":
            return f"DELETE FROM {DB}.u WHERE id = {key}", "u", {key}
        new = self.free_key("u")
        return f"UPDATE {DB}.u SET id = {new} WHERE id = {key}", "u", {key, new}

    # ---- actions
    def step(self) -> None:
        r = self.rnd
        actions = ["xa_start", "xa_rows", "xa_finish", "xa_end_prepared", "trx", "auto",
                   "flush", "ddl", "big_xa"]
        weights = [4 if len(self.sessions) < 4 else 0, 8 if self.sessions else 0,
                   4 if self.sessions else 0, 2 if self.prepared else 0, 4, 6, 0.4, 0.8,
                   0.08 if self.big < 2 else 0]
        if len(self.prepared) > 10:
            weights[3] = 10
        action = r.choices(actions, weights)[0]
        self.counts[action] += 1
        getattr(self, action)()

    def xa_start(self) -> None:
        xid = self.new_xid()
        conn = self._connect()
        s = XaSession(conn, xid, self.n)
        if self.rnd.random() < 0.6:
            s.home = tuple(self.rnd.sample(["t", "k", "u", "other"], self.rnd.randint(1, 2)))
        if not self.run_sql(conn, f"XA START {xid}", f"S{id(conn) % 1000}"):
            conn.close()
            self.ended.append(xid) if xid not in self.ended else None
            return
        self.sessions.append(s)
        self.xa_rows(s)

    def xa_rows(self, s: XaSession | None = None) -> None:
        s = s or self.rnd.choice(self.sessions)
        for _ in range(self.rnd.randint(1, 3)):
            sql, table, keys = self.dml(in_xa=True, home=s.home)
            s.tables.add(table)  # its metadata lock, even when the statement fails
            s.keys.setdefault(table, set()).update(keys)
            if self.run_sql(s.conn, sql, f"S{id(s.conn) % 1000} {s.xid}"):
                s.statements += 1

    def xa_finish(self) -> None:
        s = self.rnd.choice(self.sessions)
        self.sessions.remove(s)
        who = f"S{id(s.conn) % 1000} {s.xid}"
        how = self.rnd.choices(["prepare_detach", "prepare_commit", "prepare_rollback_same",
                                "one_phase", "rollback_idle", "disconnect_active"],
                               [10, 2, 1, 3, 1, 1])[0]
        self.log(who, "finish:", how)
        ok = True
        if how == "disconnect_active":
            s.conn.close()  # an active branch is rolled back by the server
            self.ended.append(s.xid)
            return
        ok = self.run_sql(s.conn, f"XA END {s.xid}", who)
        if how == "one_phase":
            ok = ok and self.run_sql(s.conn, f"XA COMMIT {s.xid} ONE PHASE", who)
        elif how == "rollback_idle":
            ok = ok and self.run_sql(s.conn, f"XA ROLLBACK {s.xid}", who)
        else:
            ok = ok and self.run_sql(s.conn, f"XA PREPARE {s.xid}", who)
            if ok and how == "prepare_commit":
                ok = self.run_sql(s.conn, f"XA COMMIT {s.xid}", who)
            elif ok and how == "prepare_rollback_same":
                ok = self.run_sql(s.conn, f"XA ROLLBACK {s.xid}", who)
            elif ok:
                s.conn.close()
                # a read-only branch is rolled back at the disconnect (nothing logged)
                if self.xa_recovered(s.xid):
                    self.prepared.append(Prepared(s.xid, s.tables, s.keys))
                    self.maybe_kill("after prepare")
                else:
                    self.log(who, "prepared read-only: gone at disconnect")
                    self.ended.append(s.xid)
                return
        if not ok:
            self.run_sql(s.conn, f"XA ROLLBACK {s.xid}", who)
        s.conn.close()
        self.ended.append(s.xid)

    def xa_recovered(self, xid: str) -> bool:
        """Whether the branch just prepared and detached is still there (a read-only one
        is rolled back at its disconnect): XA RECOVER lists one more than we hold."""
        with self.admin.cursor() as cur:
            cur.execute("XA RECOVER")
            rows = cur.fetchall()
        return len(rows) == len(self.prepared) + 1

    def xa_end_prepared(self) -> None:
        p = self.rnd.choice(self.prepared)
        self.prepared.remove(p)
        verb = self.rnd.choices(["COMMIT", "ROLLBACK"], [3, 1])[0]
        conn = self._connect() if self.rnd.random() < 0.5 else self.admin
        if not self.run_sql(conn, f"XA {verb} {p.xid}", "E"):
            self.log("!! could not end a prepared xa", p.xid)
        self.maybe_kill(f"after XA {verb}")
        if conn is not self.admin:
            conn.close()
        self.ended.append(p.xid)

    def maybe_kill(self, why: str) -> None:
        if self.faults is not None and self.rnd.random() < 0.04:
            what = self.rnd.choice(["kill", "kill", "pause"])
            self.log("REQUEST", what, why)
            self.faults.requests.append(what)

    def trx(self) -> None:
        conn = self.admin
        self.run_sql(conn, "BEGIN", "T")
        for _ in range(self.rnd.randint(1, 4)):
            sql, _, _ = self.dml(in_xa=False)
            self.run_sql(conn, sql, "T")
        self.run_sql(conn, "COMMIT" if self.rnd.random() < 0.85 else "ROLLBACK", "T")

    def auto(self) -> None:
        sql, _, _ = self.dml(in_xa=False)
        self.run_sql(self.admin, sql, "A")

    def flush(self) -> None:
        self.run_sql(self.admin, "FLUSH BINARY LOGS", "F")

    def ddl(self) -> None:
        free = [t for t in TABLES if t not in self.touched()]
        if not free:
            return
        table = self.rnd.choice(free)
        cols = self.extra[table]
        if cols and self.rnd.random() < 0.5:
            col = self.rnd.choice(cols)
            if self.run_sql(self.admin, f"ALTER TABLE {DB}.{table} DROP COLUMN {col}", "D"):
                cols.remove(col)
        elif self.rnd.random() < 0.2:
            self.ddl_n += 1
            self.run_sql(self.admin, f"CREATE TABLE {DB}.tmp{self.ddl_n} (id INT)", "D")
            self.run_sql(self.admin, f"DROP TABLE {DB}.tmp{self.ddl_n}", "D")
        else:
            self.ddl_n += 1
            col = f"c{self.ddl_n}"
            if self.run_sql(self.admin, f"ALTER TABLE {DB}.{table} ADD COLUMN {col} INT "
                                        f"DEFAULT {self.ddl_n}", "D"):
                cols.append(col)

    def big_xa(self) -> None:
        """Over 16 MiB of rows held by the reader: spilled to a temporary file."""
        self.big += 1
        xid = f"'big{self.big}'"
        conn = self._connect()
        who = f"B {xid}"
        self.run_sql(conn, f"XA START {xid}", who)
        base = 1000 + self.big * 100
        blob = "B" * 400_000
        for i in range(45):
            self.run_sql(conn, f"INSERT INTO {DB}.u (id, a, b) VALUES ({base + i}, {i}, "
                               f"'{blob}{i}')", who)
        self.run_sql(conn, f"INSERT INTO {DB}.k (v, w) VALUES (99, 'big'), (99, 'big')", who)
        self.run_sql(conn, f"XA END {xid}", who)
        self.run_sql(conn, f"XA PREPARE {xid}", who)
        conn.close()
        self.prepared.append(Prepared(xid, {"u", "k"},
                                      {"u": set(range(base, base + 45))}))

    def finish_all(self) -> None:
        """End every open and prepared XA upstream (commit or roll back)."""
        for s in list(self.sessions):
            self.sessions.remove(s)
            who = f"S{id(s.conn) % 1000} {s.xid}"
            self.run_sql(s.conn, f"XA END {s.xid}", who)
            if self.rnd.random() < 0.6 and self.run_sql(s.conn, f"XA PREPARE {s.xid}", who):
                self.run_sql(s.conn, f"XA COMMIT {s.xid}", who)
            else:
                self.run_sql(s.conn, f"XA ROLLBACK {s.xid}", who)
            s.conn.close()
        self.rnd.shuffle(self.prepared)
        for p in list(self.prepared):
            self.prepared.remove(p)
            verb = "COMMIT" if self.rnd.random() < 0.7 else "ROLLBACK"
            self.run_sql(self.admin, f"XA {verb} {p.xid}", "E")
        with self.admin.cursor() as cur:
            cur.execute("XA RECOVER FORMAT='SQL'")
            left = cur.fetchall()
        for row in left:
            self.log("!! left prepared", row)
            self.run_sql(self.admin, f"XA ROLLBACK {row[3]}", "E")


def _diff(upstream: MariaDB, downstream: MariaDB) -> str:
    out = []
    up, down = upstream.connect(), downstream.connect()
    try:
        for t in TABLES:
            try:
                a = Counter(table_rows(up, DB, t))
                b = Counter(table_rows(down, DB, t))
            except pymysql.err.MySQLError as exc:
                out.append(f"{t}: {exc}")
                continue
            missing = a - b
            extra = b - a
            if missing or extra:
                def short(c: Counter[tuple[Any, ...]]) -> list[str]:
                    return [f"{n}x {tuple(str(x)[:40] for x in row)}" for row, n in
                            sorted(c.items(), key=str)[:40]]
                out.append(f"table {t}: upstream {sum(a.values())} rows, downstream "
                           f"{sum(b.values())}; missing downstream {sum(missing.values())}: "
                           f"{short(missing)}; extra downstream {sum(extra.values())}: "
                           f"{short(extra)}")
    finally:
        up.close()
        down.close()
    return "\n".join(out)


def _equal(upstream: MariaDB, downstream: MariaDB) -> bool:
    up, down = upstream.connect(), downstream.connect()
    try:
        return all(table_rows(up, DB, t) == table_rows(down, DB, t) for t in TABLES)
    except pymysql.err.MySQLError:
        return False
    finally:
        up.close()
        down.close()


def _wait_equal(upstream: MariaDB, downstream: MariaDB, timeout: float, log: Log) -> None:
    deadline = time.monotonic() + timeout
    while not _equal(upstream, downstream):
        if time.monotonic() > deadline:
            diff = _diff(upstream, downstream)
            log("DIFF", diff)
            raise AssertionError(f"upstream and downstream differ:\n{diff}")
        time.sleep(0.5)


def _variant(seed: int) -> tuple[bool, bool]:
    gtid = os.environ.get("XAFUZZ_GTID")
    relay = os.environ.get("XAFUZZ_RELAY")
    return (seed % 2 == 1 if gtid is None else gtid == "1",
            seed % 3 == 0 if relay is None else relay == "1")


def test_xa_fuzz_short(cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB,
                       tmp_path: Path) -> None:
    for seed in _CHOSEN or [1]:
        _fuzz(cluster, upstream, downstream, tmp_path / str(seed), seed,
              int(os.environ.get("XAFUZZ_STEPS", "250")))


@LONG_FORM
@pytest.mark.parametrize("seed", range(1, 7))
def test_xa_fuzz(cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB,
                 tmp_path: Path, seed: int) -> None:
    _fuzz(cluster, upstream, downstream, tmp_path, seed, 1200)


def _fuzz(cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB, tmp_path: Path,
          seed: int, steps: int) -> None:
    tmp_path.mkdir(parents=True, exist_ok=True)
    gtid, relay = _variant(seed)
    log = Log(tmp_path, seed)
    print(f"\nXAFUZZ seed={seed} enable-gtid={gtid} enable-relay={relay} steps={steps} "
          f"log={log.path} dm={cluster.base}")
    log("seed", seed, "gtid", gtid, "relay", relay, "dm", cluster.base)
    # clean slate: nothing prepared upstream from an earlier seed
    with upstream.connect() as conn, conn.cursor() as cur:
        cur.execute("XA RECOVER FORMAT='SQL'")
        for row in cur.fetchall():
            cur.execute(f"XA ROLLBACK {row[3]}")
    tables = (f"CREATE TABLE {DB}.t (id INT PRIMARY KEY, v INT, s VARCHAR(32))",
              f"CREATE TABLE {DB}.k (v INT, w VARCHAR(16))",
              f"CREATE TABLE {DB}.u (id INT PRIMARY KEY, a INT, b MEDIUMTEXT)")
    for server in (upstream, downstream):
        server.execute(f"DROP DATABASE IF EXISTS {DB}", f"CREATE DATABASE {DB}", *tables)
    upstream.execute(f"DROP DATABASE IF EXISTS {OTHER}", f"CREATE DATABASE {OTHER}",
                     f"CREATE TABLE {OTHER}.o (id INT PRIMARY KEY, v INT)")
    # some rows before the start (not replicated: the same on both sides)
    seed_rows = [f"INSERT INTO {DB}.t (id, v, s) VALUES " + ", ".join(
                     f"({i}, {i}, 's{i}')" for i in range(1, 41)),
                 f"INSERT INTO {DB}.k (v, w) VALUES " + ", ".join(
                     f"({i % 12 + 1}, 'a')" for i in range(30)),
                 f"INSERT INTO {DB}.u (id, a, b) VALUES " + ", ".join(
                     f"({i}, {i}, 'u{i}')" for i in range(1, 31))]
    upstream.execute(*seed_rows)
    downstream.execute(*seed_rows)
    downstream.execute("DROP DATABASE IF EXISTS dm_meta")
    name, pos = binlog_end(upstream)
    gtid_pos = fetch(upstream, "SELECT @@gtid_binlog_pos")[0][0]
    source = {"enable-gtid": "true" if gtid else "false"}
    if relay:
        source["enable-relay"] = "true"
    assert cluster.dmctl("operate-source", "create", str(source_yaml(
        tmp_path / "s.yaml", f"{DB}-src", upstream, **source)))["result"]
    task = tmp_path / "task.yaml"
    task.write_text(TASK.format(db=DB, port=downstream.port, name=name, pos=pos,
                                gtid=f', binlog-gtid: "{gtid_pos}"' if gtid else ""))
    faults = Faults(cluster, upstream, downstream, seed, log)
    work = Workload(upstream, seed, log, faults)
    try:
        assert cluster.dmctl("start-task", str(task))["result"]
        faults.wait_stage("Running")
        faults.start()
        t0 = time.monotonic()
        for i in range(steps):
            work.step()
            time.sleep(work.rnd.uniform(0, 0.04))
            if i % 100 == 0:
                log("STEP", i, "sessions", len(work.sessions), "prepared", len(work.prepared))
            if i % 400 == 399:
                # with XA transactions prepared (and others open): downstream holds what
                # upstream has committed, no prepared row and no rolled-back one
                log("MIDCHECK", i, "prepared", [p.xid for p in work.prepared])
                _wait_equal(upstream, downstream, 90, log)
                log("MIDCHECK ok", i)
        log("workload done in", round(time.monotonic() - t0, 1), "s", dict(work.counts))
        # while some are still prepared: they must not be downstream yet (the rows of the
        # committed ones must)... checked only through the final equality
        faults.stop.set()
        faults.join(timeout=240)
        assert faults.fatal is None, faults.fatal
        faults.wait_stage("Running")
        work.finish_all()
        upstream.execute(f"INSERT INTO {DB}.t (id, v, s) VALUES (9999, 1, 'end1')")
        _wait_equal(upstream, downstream, 120, log)
        # once more through a kill -9 and a pause after everything ended
        time.sleep(1.5)
        cluster.kill_worker("worker1")
        upstream.execute(f"INSERT INTO {DB}.k (v, w) VALUES (77, 'end2'), (77, 'end2')")
        cluster.start_worker("worker1")
        faults.wait_stage("Running")
        cluster.dmctl("pause-task", DB)
        faults.wait_stage("Paused")
        upstream.execute(f"INSERT INTO {DB}.t (id, v, s) VALUES (9998, 1, 'end3')")
        cluster.dmctl("resume-task", DB)
        faults.wait_stage("Running")
        _wait_equal(upstream, downstream, 120, log)
        status = _status(cluster)
        assert status.get("stage") == "Running" and not status.get("result"), status
        time.sleep(2)  # a checkpoint after the last ends: it lists no prepared XA

        def _listed() -> Any:
            return fetch(downstream, f"SELECT table_info FROM dm_meta.`{DB}_syncer_checkpoint`"
                                     " WHERE is_global")
        deadline = time.monotonic() + 30
        while True:
            info = _listed()
            doc = json.loads(info[0][0]) if info and info[0][0] else None
            if not (isinstance(doc, dict) and doc.get("xa_prepared")):
                break
            assert time.monotonic() < deadline, f"checkpoint still lists {doc}"
            time.sleep(0.5)
        print(f"XAFUZZ seed={seed} PASSED: workload {dict(work.counts)}; faults "
              f"{dict(faults.counts)}; transient errors seen {len(faults.errors)}")
        log("PASSED", dict(faults.counts), "errors seen", faults.errors)
    except BaseException:
        print(f"XAFUZZ seed={seed} FAILED (gtid={gtid}, relay={relay}); log {log.path}; "
              f"status errors seen: {json.dumps(faults.errors)[:3000]}")
        raise
    finally:
        faults.stop.set()
        if faults.is_alive():
            faults.join(timeout=60)
        for s in work.sessions:
            with contextlib.suppress(pymysql.err.Error):
                s.conn.close()
        cluster.dmctl("stop-task", DB, check=False)
        cluster.dmctl("operate-source", "stop", f"{DB}-src", check=False)

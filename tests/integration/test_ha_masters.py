"""Three dm-masters as one etcd cluster (DM §10.1, issue 11): kill -9 of the leader and
then of the master the worker joined through, while two tasks replicate under writes. A new
leader is elected, dmctl answers through any survivor, the worker stays up and the task
goes on, no killed master leaves its etcd member behind, and the killed masters rejoin."""

from __future__ import annotations

import json
import random
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dm.sandbox import DMProcesses, MariaDB, wait_for
from tests.integration.conftest import (
    BIN_DIR,
    binlog_end,
    replicating_under_writes,
    source_yaml,
    wait_equal,
)

pytestmark = pytest.mark.integration

DB = "hamasters"
TASK = """\
name: hamasters
task-mode: incremental
target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
mysql-instances:
  - source-id: hamasters-src
    block-allow-list: only
    meta: {{binlog-name: "{name}", binlog-pos: {pos}}}
    syncer: {{worker-count: 4, batch: 50, checkpoint-flush-interval: 1}}
block-allow-list:
  only: {{do-dbs: [hamasters]}}
"""
TABLES = (f"CREATE TABLE {DB}.kv (k INT PRIMARY KEY, v INT)",
          f"CREATE TABLE {DB}.log (id INT AUTO_INCREMENT PRIMARY KEY, at INT)")
DB2 = "hamasters2"  # a second task on the same source replicates this one
TASK2 = TASK.replace(f"name: {DB}", f"name: {DB2}").replace(f"do-dbs: [{DB}]",
                                                            f"do-dbs: [{DB2}]")


def _writer(server: MariaDB, stop: threading.Event) -> None:
    conn = server.connect(database=DB)
    rnd = random.Random(11)
    with conn.cursor() as cur:
        while not stop.is_set():
            cur.execute("BEGIN")
            cur.execute("INSERT INTO kv VALUES (%s, 1) ON DUPLICATE KEY UPDATE v = v + 1",
                        (rnd.randint(1, 200),))
            cur.execute("INSERT INTO log (at) VALUES (%s)", (int(time.time()),))
            cur.execute(f"INSERT INTO {DB2}.t VALUES (%s, 1) ON DUPLICATE KEY UPDATE v = v + 1",
                        (rnd.randint(1, 50),))
            cur.execute("COMMIT")
            time.sleep(0.005)
    conn.close()


@pytest.fixture()
def three_masters(tmp_path: Path) -> Iterator[DMProcesses]:
    dm = DMProcesses(tmp_path / "dm", BIN_DIR).start_masters(3)
    try:
        dm.start_worker("worker1")  # joins through master1 only
        yield dm
    finally:
        dm.stop()


def _new_leader(dm: DMProcesses, killed: str) -> str:
    wait_for(lambda: dm.leader() not in ("", killed), 15,
             f"a leader other than the killed {killed}")
    return dm.leader()


def _alive_masters(dm: DMProcesses, count: int) -> None:
    def alive() -> bool:
        answer = dm.dmctl("list-member", "--master", check=False)
        if not answer.get("result"):
            return False
        masters = answer["members"][0]["master"]["masters"]
        return sum(bool(m["alive"]) for m in masters) == count

    wait_for(alive, 60, f"{count} masters alive in list-member")


def _replicates(dm: DMProcesses, upstream: MariaDB, downstream: MariaDB, key: int) -> None:
    """A new row written now arrives downstream: the task is going on (if not, the
    failure shows what query-status says)."""
    upstream.execute(f"INSERT INTO {DB}.kv VALUES ({key}, 7)")
    down = downstream.connect()

    def arrived() -> bool:
        down.commit()  # a fresh snapshot each time
        with down.cursor() as cur:
            cur.execute(f"SELECT v FROM {DB}.kv WHERE k = {key}")
            row: object = cur.fetchone()
            return row == (7,)

    try:
        wait_for(arrived, 60, "a row written after the kills to arrive downstream")
    except TimeoutError as exc:
        raise AssertionError(f"{exc}: {dm.dmctl('query-status', DB, check=False)}") from exc
    finally:
        down.close()


def test_killed_leader_and_joined_master(three_masters: DMProcesses, upstream: MariaDB,
                                         downstream: MariaDB, tmp_path: Path) -> None:
    dm = three_masters
    for server in (upstream, downstream):
        server.execute(f"DROP DATABASE IF EXISTS {DB2}", f"CREATE DATABASE {DB2}",
                       f"CREATE TABLE {DB2}.t (k INT PRIMARY KEY, v INT)")
    with replicating_under_writes(dm, upstream, downstream, tmp_path, DB, TABLES, TASK,
                                  _writer) as (name, pos):
        (tmp_path / "task2.yaml").write_text(TASK2.format(port=downstream.port, name=name,
                                                          pos=pos))
        assert dm.dmctl("start-task", "--remove-meta", str(tmp_path / "task2.yaml"))["result"]
        time.sleep(2)
        first = _new_leader(dm, "")
        dm.kill_master(first)  # its etcd member dies with it (kill_master checks)
        meanwhile = dm.dmctl("query-status", DB, check=False)  # the dead leader's key lives on
        assert meanwhile["result"] is True or "code=38041" in meanwhile["msg"], meanwhile
        second = _new_leader(dm, first)
        assert second in dm.masters
        answer = dm.dmctl("query-status", DB)  # through whichever master answers
        assert answer["result"] is True
        dm.restart_master(first)  # rejoins: two of three members keep the quorum below
        _alive_masters(dm, 3)
        dm.kill_master("master1")  # the master the worker joined through
        _replicates(dm, upstream, downstream, 100000)
        assert dm.workers["worker1"].poll() is None, "the worker died with a master"
        dm.restart_master("master1")
        _alive_masters(dm, 3)
        _replicates(dm, upstream, downstream, 100001)
    wait_equal(upstream, downstream, DB, ("kv", "log"))
    wait_equal(upstream, downstream, DB2, ("t",))
    masters = dm.dmctl("list-member", "--master")["members"][0]["master"]["masters"]
    assert sorted(m["name"] for m in masters) == ["master1", "master2", "master3"]
    workers = dm.dmctl("list-member", "--worker")["members"][0]["worker"]["workers"]
    assert [(w["name"], w["stage"]) for w in workers] == [("worker1", "bound")]
    for task in (DB, DB2):
        status = dm.dmctl("query-status", task)["sources"][0]["subTaskStatus"][0]
        assert status["stage"] == "Running" and status["result"] is None, status
        dm.dmctl("stop-task", task)
    dm.dmctl("operate-source", "stop", f"{DB}-src")


def test_evicted_leader_and_offline_master(tmp_path: Path) -> None:
    dm = DMProcesses(tmp_path / "dm", BIN_DIR).start_masters(3)
    try:
        first = _new_leader(dm, "")
        port = dm.master_ports[first]
        evict = subprocess.run([str(BIN_DIR / "dmctl"), "--master-addr", f"127.0.0.1:{port}",
                                "operate-leader", "evict"], capture_output=True, text=True)
        assert json.loads(evict.stdout)["result"] is True
        second = _new_leader(dm, first)
        time.sleep(3)  # the evicted master does not campaign while others do
        assert dm.leader() == second
        dm.kill_master(second)
        third = _new_leader(dm, second)
        assert third not in (first, second), "an evicted master took the leadership back"
        offline = dm.dmctl("offline-member", "--master", "-n", second)
        assert offline["result"] is True
        masters = dm.dmctl("list-member", "--master")["members"][0]["master"]["masters"]
        assert sorted(m["name"] for m in masters) == sorted({first, third})
        assert all(m["alive"] for m in masters)
        unknown = dm.dmctl("offline-member", "--master", "-n", "nobody", check=False)
        assert unknown["_exit"] == 1 and "code=38048" in unknown["msg"]
        cancel = subprocess.run([str(BIN_DIR / "dmctl"), "--master-addr", f"127.0.0.1:{port}",
                                 "operate-leader", "cancel-evict"], capture_output=True,
                                text=True)
        assert json.loads(cancel.stdout)["result"] is True
        dm.kill_master(third)  # a quorum of the two left needs both: none leads now
        dm.restart_master(third)
        assert _new_leader(dm, "") in (first, third)
    finally:
        dm.stop()


SHARD_TASK = """\
name: hashard
task-mode: incremental
shard-mode: pessimistic
target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
mysql-instances:
  - source-id: hashard-a
    block-allow-list: a
    route-rules: [shards]
    meta: {{binlog-name: "{name}", binlog-pos: {pos}}}
  - source-id: hashard-b
    block-allow-list: b
    route-rules: [shards]
    meta: {{binlog-name: "{name}", binlog-pos: {pos}}}
block-allow-list:
  a: {{do-dbs: [hashard_a]}}
  b: {{do-dbs: [hashard_b]}}
routes:
  shards: {{schema-pattern: "hashard_?", table-pattern: "t_*", target-schema: hashard,
           target-table: t}}
"""


def test_a_pending_shard_lock_outlives_the_leaders_kill(
        three_masters: DMProcesses, upstream: MariaDB, downstream: MariaDB,
        tmp_path: Path) -> None:
    """Two sources (on one server) merge two shards each; source a's shards hold a DDL,
    the lock waits for source b; the leader is killed with kill -9; the new leader shows
    the same lock, and source b's DDLs resolve it: the DDL runs once, rows equal."""
    dm = three_masters
    dm.start_worker("worker2")
    shards = [(db, t) for db in ("hashard_a", "hashard_b") for t in ("t_1", "t_2")]
    downstream.execute("DROP DATABASE IF EXISTS hashard", "CREATE DATABASE hashard",
                       "CREATE TABLE hashard.t (id INT PRIMARY KEY, v INT)")
    for db in ("hashard_a", "hashard_b"):
        upstream.execute(f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}")
    for db, t in shards:
        upstream.execute(f"CREATE TABLE {db}.{t} (id INT PRIMARY KEY, v INT)")
    name, pos = binlog_end(upstream)
    for sid in ("hashard-a", "hashard-b"):
        assert dm.dmctl("operate-source", "create",
                        str(source_yaml(tmp_path / f"{sid}.yaml", sid, upstream)))["result"]
    task = tmp_path / "task.yaml"
    task.write_text(SHARD_TASK.format(port=downstream.port, name=name, pos=pos))
    assert dm.dmctl("start-task", str(task))["result"]
    for n, (db, t) in enumerate(shards):
        upstream.execute(f"INSERT INTO {db}.{t} VALUES ({n * 100 + 1}, 1)")
    for db, t in shards[:2]:
        upstream.execute(f"ALTER TABLE {db}.{t} ADD COLUMN c INT DEFAULT 5")
    lock = "hashard-`hashard`.`t`"

    def pending() -> list[dict[str, object]]:
        answer = dm.dmctl("shard-ddl-lock", "hashard", check=False)
        return [lk for lk in answer.get("locks", []) if lk["ID"] == lock]

    wait_for(lambda: pending() and pending()[0]["synced"] == ["hashard-a"], 60,
             "source a's lock")
    first = _new_leader(dm, "")
    dm.kill_master(first)
    _new_leader(dm, first)
    wait_for(lambda: pending() and pending()[0]["unsynced"] == ["hashard-b"], 60,
             "the same lock, shown by the new leader")
    for n, (db, t) in enumerate(shards):
        upstream.execute(f"INSERT INTO {db}.{t} (id, v) VALUES ({n * 100 + 2}, 2)")
    for db, t in shards[2:]:
        upstream.execute(f"ALTER TABLE {db}.{t} ADD COLUMN c INT DEFAULT 5")

    def merged() -> list[tuple[object, ...]]:
        down = downstream.connect()
        try:
            with down.cursor() as cur:
                cur.execute("SELECT * FROM hashard.t ORDER BY id")
                return list(cur.fetchall())
        finally:
            down.close()

    up = upstream.connect()
    with up.cursor() as cur:
        cur.execute(" UNION ALL ".join(f"SELECT * FROM {db}.{t}" for db, t in shards)
                    + " ORDER BY id")
        expected = list(cur.fetchall())
    up.close()
    wait_for(lambda: merged() == expected, 60, "the merged table equal to its shards")
    assert len(expected) == 8 and all(len(row) == 3 for row in expected)
    assert pending() == []
    dm.dmctl("stop-task", "hashard")
    for sid in ("hashard-a", "hashard-b"):
        dm.dmctl("operate-source", "stop", sid)

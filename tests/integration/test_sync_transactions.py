"""Transaction boundaries (review finding 1): statements that sit *inside* an upstream
transaction (SAVEPOINT, ROLLBACK TO, RELEASE SAVEPOINT, XA END) never end it. A checkpoint
never lands inside a transaction, its GTID counts as executed only at its end, and a
paused task never leaves part of it downstream."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import pytest

from dm.sandbox import DMProcesses, MariaDB
from tests.integration.conftest import (
    binlog_end,
    fetch,
    removed_afterwards,
    source_yaml,
    wait_equal,
    wait_stage,
)

pytestmark = pytest.mark.integration

TASK = """\
name: {db}
task-mode: incremental
target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
mysql-instances:
  - source-id: {db}-src
    block-allow-list: only
    meta: {{binlog-name: "{name}", binlog-pos: {pos}, binlog-gtid: "{gtid}"}}
    syncer: {{worker-count: 2, batch: 50, checkpoint-flush-interval: 1}}
block-allow-list:
  only: {{do-dbs: [{db}]}}
"""


def _start(cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB, tmp_path: Path,
           db: str, *tables: str, before: tuple[str, ...] = ()) -> None:
    """`db` with `tables` on both servers, then `before` upstream, and a GTID-mode
    incremental task from there."""
    for server in (upstream, downstream):
        server.execute(f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}", *tables)
    upstream.execute(*before)
    downstream.execute("DROP DATABASE IF EXISTS dm_meta")
    name, pos = binlog_end(upstream)
    conn = upstream.connect()
    with conn.cursor() as cur:
        cur.execute("SELECT @@gtid_binlog_pos")
        gtid = cur.fetchone()[0]
    conn.close()
    assert cluster.dmctl("operate-source", "create", str(source_yaml(
        tmp_path / "s.yaml", f"{db}-src", upstream, **{"enable-gtid": "true"})))["result"]
    task = tmp_path / "task.yaml"
    task.write_text(TASK.format(db=db, port=downstream.port, name=name, pos=pos, gtid=gtid))
    assert cluster.dmctl("start-task", str(task))["result"]
    wait_stage(cluster, db, "Running")


def test_a_failure_after_a_savepoint_resumes_the_whole_transaction(
        cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB, tmp_path: Path) -> None:
    db = "trx_savepoint"
    _start(cluster, upstream, downstream, tmp_path, db)
    with removed_afterwards(cluster, db, f"{db}-src"):
        _savepoint_then_failure(cluster, upstream, downstream, db)


def _savepoint_then_failure(cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB,
                            db: str) -> None:
    upstream.execute(f"CREATE TABLE {db}.t1 (id INT PRIMARY KEY, s VARCHAR(20))",
                     f"CREATE TABLE {db}.t2 (id INT PRIMARY KEY, v INT)")  # tracked from here
    wait_equal(upstream, downstream, db, ("t1", "t2"), timeout=60)
    downstream.execute(f"ALTER TABLE {db}.t2 DROP COLUMN v")  # the part after SAVEPOINT fails
    conn = upstream.connect()
    with conn.cursor() as cur:
        for sql in ("BEGIN", f"INSERT INTO {db}.t1 VALUES (1, 'before sp')", "SAVEPOINT sp1",
                    f"INSERT INTO {db}.t2 VALUES (1, 7)", "COMMIT"):
            cur.execute(sql)
    conn.close()
    answer = wait_stage(cluster, db, "Paused", timeout=60)
    assert answer["sources"][0]["subTaskStatus"][0]["result"]["errors"], answer
    downstream.execute(f"ALTER TABLE {db}.t2 ADD COLUMN v INT")
    assert cluster.dmctl("resume-task", db)["result"]
    wait_equal(upstream, downstream, db, ("t1", "t2"), timeout=60)


ORDERS = 40  # item rows per order: an ORM's nested transaction


def _orm_writer(server: MariaDB, stop: threading.Event) -> None:
    """Django/Spring-shaped transactions: a row, SAVEPOINT, many rows, SAVEPOINT, a final
    update, sometimes a ROLLBACK TO in between."""
    conn = server.connect(database="trx_orm")
    rnd = random.Random(3)
    order = 0
    with conn.cursor() as cur:
        while not stop.is_set():
            order += 1
            cur.execute("BEGIN")
            cur.execute("INSERT INTO orders VALUES (%s, 'new', 0)", (order,))
            cur.execute("SAVEPOINT items")
            cur.executemany("INSERT INTO items VALUES (%s, %s, %s)",
                            [(order, i, rnd.randint(1, 99)) for i in range(ORDERS)])
            if rnd.random() < 0.3:
                cur.execute("SAVEPOINT extra")
                cur.execute("INSERT INTO items VALUES (%s, %s, 0)", (order, ORDERS))
                cur.execute("ROLLBACK TO SAVEPOINT extra")
            cur.execute("RELEASE SAVEPOINT items")
            cur.execute("SAVEPOINT done")
            cur.execute("UPDATE orders SET status = 'done', items = %s WHERE id = %s",
                        (ORDERS, order))
            cur.execute("COMMIT")
            time.sleep(0.01)
    conn.close()


def _unfinished_orders(down: MariaDB) -> int:
    conn = down.connect()
    with conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM trx_orm.orders WHERE status <> 'done'")
        (count,) = cur.fetchone()
    conn.close()
    return int(count)


def test_orm_transactions_survive_pauses_and_a_kill(cluster: DMProcesses, upstream: MariaDB,
                                                    downstream: MariaDB,
                                                    tmp_path: Path) -> None:
    db = "trx_orm"
    tables = (f"CREATE TABLE {db}.orders (id INT PRIMARY KEY, status VARCHAR(8), items INT)",
              f"CREATE TABLE {db}.items (o INT, n INT, v INT, PRIMARY KEY (o, n))")
    _start(cluster, upstream, downstream, tmp_path, db, *tables)
    with removed_afterwards(cluster, db, f"{db}-src"):
        _pause_and_kill_under_orm_writes(cluster, upstream, downstream)


def _pause_and_kill_under_orm_writes(cluster: DMProcesses, upstream: MariaDB,
                                     downstream: MariaDB) -> None:
    db = "trx_orm"
    rnd = random.Random(11)
    stop = threading.Event()
    writer = threading.Thread(target=_orm_writer, args=(upstream, stop))
    writer.start()
    try:
        for pause in range(6):
            time.sleep(rnd.uniform(0.2, 0.8))
            assert cluster.dmctl("pause-task", db)["result"]
            wait_stage(cluster, db, "Paused")
            assert _unfinished_orders(downstream) == 0, f"pause {pause}: half a transaction"
            assert cluster.dmctl("resume-task", db)["result"]
            wait_stage(cluster, db, "Running")
        time.sleep(rnd.uniform(0.5, 1.5))
        cluster.kill_worker("worker1")
        cluster.start_worker("worker1")
        wait_stage(cluster, db, "Running")
        time.sleep(1)
    finally:
        stop.set()
        writer.join()
    wait_equal(upstream, downstream, db, ("orders", "items"))


def test_xa_transactions_in_two_phases_and_in_one(cluster: DMProcesses, upstream: MariaDB,
                                                  downstream: MariaDB,
                                                  tmp_path: Path) -> None:
    """MariaDB logs an XA transaction's rows up to XA END and an XA_PREPARE event, then
    XA COMMIT as a group of its own (the rows are applied there); ONE PHASE commits like
    any transaction; a pause in between."""
    db = "trx_xa"
    _start(cluster, upstream, downstream, tmp_path, db,
           f"CREATE TABLE {db}.t (id INT PRIMARY KEY, v INT)")
    with removed_afterwards(cluster, db, f"{db}-src"):
        conn = upstream.connect()
        with conn.cursor() as cur:
            for i in range(1, 21):
                cur.execute(f"XA START 'x{i}'")
                cur.execute(f"INSERT INTO {db}.t VALUES ({i}, {i})")
                cur.execute("SAVEPOINT s")
                cur.execute(f"UPDATE {db}.t SET v = v * 10 WHERE id = {i}")
                cur.execute(f"XA END 'x{i}'")
                if i % 2:
                    cur.execute(f"XA PREPARE 'x{i}'")
                    cur.execute(f"XA COMMIT 'x{i}'")
                else:
                    cur.execute(f"XA COMMIT 'x{i}' ONE PHASE")
                if i == 10:
                    assert cluster.dmctl("pause-task", db)["result"]
                    wait_stage(cluster, db, "Paused")
                    assert cluster.dmctl("resume-task", db)["result"]
        conn.close()
        wait_equal(upstream, downstream, db, ("t",), timeout=60)
        status = cluster.dmctl("query-status", db)["sources"][0]["subTaskStatus"][0]
        assert status["stage"] == "Running" and not status["result"], status


def _xa_prepare(server: MariaDB, xid: str, *statements: str) -> None:
    """An XA transaction of `statements` prepared on a session that then goes away (MariaDB
    keeps it prepared, for any session to commit or roll back)."""
    server.execute(f"XA START {xid}", *statements, f"XA END {xid}", f"XA PREPARE {xid}")


def test_xa_rows_wait_for_their_commit(cluster: DMProcesses, upstream: MariaDB,
                                       downstream: MariaDB, tmp_path: Path) -> None:
    """The rows of a prepared XA transaction reach the downstream at its XA COMMIT and
    never after an XA ROLLBACK, through a pause and a kill -9 while it is prepared; keyless
    tables included (their exactly-once marks follow the commit's place)."""
    db = "trx_xa_hold"
    _start(cluster, upstream, downstream, tmp_path, db,
           f"CREATE TABLE {db}.t (id INT PRIMARY KEY, v INT)", f"CREATE TABLE {db}.k (v INT)")
    with removed_afterwards(cluster, db, f"{db}-src"):
        _xa_prepare(upstream, "'undone'", f"INSERT INTO {db}.t VALUES (1, 1), (2, 2)",
                    f"INSERT INTO {db}.k VALUES (1), (1)", f"UPDATE {db}.t SET v = 5")
        _xa_prepare(upstream, "'done', 'b', 7", f"INSERT INTO {db}.t VALUES (10, 10)",
                    f"INSERT INTO {db}.k VALUES (10)", f"INSERT INTO {db}.k VALUES (10)")
        upstream.execute(f"INSERT INTO {db}.t VALUES (20, 20)", f"INSERT INTO {db}.k VALUES (20)")
        wait_equal(upstream, downstream, db, ("t", "k"))  # the prepared rows are not there
        assert cluster.dmctl("pause-task", db)["result"]
        wait_stage(cluster, db, "Paused")
        assert cluster.dmctl("resume-task", db)["result"]
        upstream.execute(f"INSERT INTO {db}.k VALUES (30)", f"DELETE FROM {db}.t WHERE id = 20")
        wait_equal(upstream, downstream, db, ("t", "k"))
        cluster.kill_worker("worker1")
        upstream.execute(f"INSERT INTO {db}.k VALUES (40)")
        cluster.start_worker("worker1")
        wait_stage(cluster, db, "Running")
        wait_equal(upstream, downstream, db, ("t", "k"))
        upstream.execute("XA ROLLBACK 'undone'", "XA COMMIT 'done', 'b', 7",
                         f"INSERT INTO {db}.k VALUES (50)")
        wait_equal(upstream, downstream, db, ("t", "k"))
        cluster.kill_worker("worker1")  # after the commit: its rows are applied once
        cluster.start_worker("worker1")
        wait_stage(cluster, db, "Running")
        upstream.execute(f"INSERT INTO {db}.t VALUES (60, 60)")
        wait_equal(upstream, downstream, db, ("t", "k"))
        assert sorted(r[0] for r in fetch(downstream, f"SELECT id FROM {db}.t")) == [10, 60]


def test_an_xa_commit_whose_prepare_was_not_read_pauses(
        cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB, tmp_path: Path) -> None:
    """A task started after an XA PREPARE meets its XA COMMIT without its rows: paused with
    36106 rather than losing them; `binlog skip` goes on once they are downstream."""
    db = "trx_xa_unread"
    _start(cluster, upstream, downstream, tmp_path, db,
           f"CREATE TABLE {db}.t (id INT PRIMARY KEY, v INT)",
           before=("XA START 'early'", f"INSERT INTO {db}.t VALUES (1, 1), (2, 2)",
                   "XA END 'early'", "XA PREPARE 'early'"))
    with removed_afterwards(cluster, db, f"{db}-src"):
        upstream.execute(f"INSERT INTO {db}.t VALUES (3, 3)", "XA COMMIT 'early'")
        paused = wait_stage(cluster, db, "Paused")
        error = paused["sources"][0]["subTaskStatus"][0]["result"]["errors"][0]
        assert error["ErrCode"] == 36106 and "X'6561726c79'" in error["Message"], error
        downstream.execute(f"INSERT INTO {db}.t VALUES (1, 1), (2, 2)")  # by hand
        assert cluster.dmctl("binlog", "skip", db)["result"]
        upstream.execute(f"INSERT INTO {db}.t VALUES (4, 4)")
        wait_equal(upstream, downstream, db, ("t",))


def test_interleaved_xa_transactions_across_restarts(
        cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB, tmp_path: Path) -> None:
    """Prepared XA transactions ending in another order than they were prepared, with a
    binlog rotation, DDL (a table dropped, a database dropped and made again, a column
    added) and keyless rows between, through pauses and a kill -9 while some are
    prepared: the checkpoint goes on past them, and a restart reads only their groups
    again (once it froze at the earliest one and replayed the rest: the DDL ran twice).
    A prepared transaction holds its tables' metadata locks upstream: the DDL is on
    others."""
    db = "trx_xa_mix"
    _start(cluster, upstream, downstream, tmp_path, db,
           f"CREATE TABLE {db}.t (id INT PRIMARY KEY, v INT)", f"CREATE TABLE {db}.k (v INT)",
           f"CREATE TABLE {db}.u (id INT PRIMARY KEY)")
    with removed_afterwards(cluster, db, f"{db}-src"):
        _xa_prepare(upstream, "'one'", f"INSERT INTO {db}.t VALUES (1, 1)",
                    f"INSERT INTO {db}.k VALUES (1)")
        _xa_prepare(upstream, "'two'", f"INSERT INTO {db}.t VALUES (2, 2)")
        upstream.execute("FLUSH BINARY LOGS", "XA COMMIT 'one'",
                         f"INSERT INTO {db}.u VALUES (1)", f"DROP TABLE {db}.u",
                         f"CREATE DATABASE IF NOT EXISTS {db}_x", f"DROP DATABASE {db}_x",
                         f"INSERT INTO {db}.k VALUES (3)")
        _xa_prepare(upstream, "'three'", f"INSERT INTO {db}.t VALUES (3, 3)")
        upstream.execute(f"ALTER TABLE {db}.k ADD COLUMN w INT DEFAULT 7")
        wait_equal(upstream, downstream, db, ("t", "k"))
        time.sleep(1.5)  # a checkpoint past them all
        for _ in range(2):
            assert cluster.dmctl("pause-task", db)["result"]
            wait_stage(cluster, db, "Paused")
            assert cluster.dmctl("resume-task", db)["result"]
            wait_stage(cluster, db, "Running")
        upstream.execute("XA ROLLBACK 'three'", f"INSERT INTO {db}.k (v) VALUES (4)")
        cluster.kill_worker("worker1")
        upstream.execute("XA COMMIT 'two'", "FLUSH BINARY LOGS")
        cluster.start_worker("worker1")
        wait_stage(cluster, db, "Running")
        upstream.execute(f"INSERT INTO {db}.t VALUES (5, 5)")
        wait_equal(upstream, downstream, db, ("t", "k"))
        assert not fetch(downstream, f"SHOW DATABASES LIKE '{db}\\_x'")
        assert not fetch(downstream, f"SHOW TABLES FROM {db} LIKE 'u'")
        status = cluster.dmctl("query-status", db)["sources"][0]["subTaskStatus"][0]
        assert status["stage"] == "Running" and not status["result"], status

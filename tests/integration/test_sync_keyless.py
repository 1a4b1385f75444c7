"""Tables safe mode cannot replay (no NOT NULL unique key) are applied exactly once
(dm.sync.applied): kill -9 of the worker amid identical keyless rows and NULL unique keys
neither duplicates nor loses a row, and an applier whose COMMIT answer was lost does not
apply its batch twice (review finding 12)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest

from dm.binlog.location import Flavor, Location, MariaDBGTIDSet
from dm.db import Endpoint
from dm.sandbox import DMProcesses, MariaDB, table_rows
from dm.schema.table import TableInfo
from dm.sync.applied import AppliedMarks, Mark
from dm.sync.applier import Applier
from dm.sync.change import INSERT, RowChange
from dm.sync.dml import build_statements
from tests.integration.conftest import replicating_under_writes, wait_stage
from tests.unit.sync.tables import col

pytestmark = pytest.mark.integration

DB = "keyless"
TABLES = (f"CREATE TABLE {DB}.log (a INT, b INT)",
          f"CREATE TABLE {DB}.nk (u INT, v INT, UNIQUE KEY (u))")
TASK = """\
name: keyless
task-mode: incremental
target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
mysql-instances:
  - source-id: keyless-src
    block-allow-list: only
    meta: {{binlog-name: "{name}", binlog-pos: {pos}}}
    syncer: {{worker-count: 4, batch: 20, checkpoint-flush-interval: 1}}
block-allow-list:
  only: {{do-dbs: [keyless]}}
"""


def _writer(server: MariaDB, stop: threading.Event) -> None:
    """Identical rows inserted, updated and deleted one copy at a time; rows whose only
    unique key is NULL next to keyed ones."""
    conn = server.connect(database=DB)
    rnd = random.Random(5)
    with conn.cursor() as cur:
        while not stop.is_set():
            a = rnd.randint(1, 15)
            cur.execute("BEGIN")
            cur.execute("INSERT INTO log VALUES (%s, 0), (%s, 0)", (a, a))
            if rnd.random() < 0.5:
                cur.execute("UPDATE log SET b = b + 1 WHERE a = %s LIMIT 1", (a,))
            if rnd.random() < 0.4:
                cur.execute("DELETE FROM log WHERE a = %s LIMIT 1", (rnd.randint(1, 15),))
            u = None if rnd.random() < 0.6 else rnd.randint(1, 40)
            cur.execute("INSERT INTO nk VALUES (%s, %s) ON DUPLICATE KEY UPDATE v = v + 1",
                        (u, a))
            if rnd.random() < 0.3:
                cur.execute("DELETE FROM nk WHERE u IS NULL AND v = %s LIMIT 1", (a,))
            cur.execute("COMMIT")
            time.sleep(0.002)
    conn.close()


def _equal(upstream: MariaDB, downstream: MariaDB) -> bool:
    up, down = upstream.connect(), downstream.connect()
    return all(table_rows(up, DB, t) == table_rows(down, DB, t) for t in ("log", "nk"))


def test_kill_9_amid_keyless_changes_neither_duplicates_nor_loses(
        cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB, tmp_path: Path) -> None:
    downstream.execute("DROP DATABASE IF EXISTS dm_meta")
    rnd = random.Random(13)
    with replicating_under_writes(cluster, upstream, downstream, tmp_path, DB, TABLES, TASK,
                                  _writer):
        for _ in range(6):
            time.sleep(rnd.uniform(0.5, 2.0))
            cluster.kill_worker("worker1")
            cluster.start_worker("worker1")
            wait_stage(cluster, DB, "Running")
        time.sleep(1)
    deadline = time.monotonic() + 120
    while not _equal(upstream, downstream):
        assert time.monotonic() < deadline, (
            "keyless rows differ: "
            f"up {len(table_rows(upstream.connect(), DB, 'log'))} "
            f"down {len(table_rows(downstream.connect(), DB, 'log'))}")
        time.sleep(0.5)
    status = cluster.dmctl("query-status", DB)["sources"][0]["subTaskStatus"][0]
    assert status["stage"] == "Running" and not status["result"], status
    assert cluster.dmctl("stop-task", DB)["result"]
    assert cluster.dmctl("operate-source", "stop", f"{DB}-src")["result"]


LOG = TableInfo("lost", "log", (col("a"), col("b")), ())


class _LosesCommitAnswer(Applier):
    """The first session's COMMIT fails as a lost connection would: `after` whether the
    server committed before the answer was lost."""

    def __init__(self, target: Endpoint, marks: AppliedMarks, committed: bool) -> None:
        super().__init__(target, 1, 100, 1000, build_statements, marks)
        self.faulted = False
        self.committed = committed

    def _session(self) -> pymysql.Connection:
        conn = super()._session()
        if not self.faulted:
            self.faulted = True
            real_commit = conn.commit

            def commit() -> None:
                if self.committed:
                    real_commit()
                else:
                    conn.rollback()
                raise pymysql.err.OperationalError(2013, "Lost connection to server at COMMIT")
            conn.commit = commit
        return conn


@pytest.fixture
def lost(downstream: MariaDB) -> Iterator[AppliedMarks]:
    downstream.execute("DROP DATABASE IF EXISTS lost", "CREATE DATABASE lost",
                       "CREATE TABLE lost.log (a INT, b INT)", "DROP DATABASE IF EXISTS lost_meta")
    marks = AppliedMarks("lost_meta", "lost", "src", Flavor.MARIADB)
    conn = downstream.connect()
    marks.create(conn)
    yield marks
    marks.drop(conn)
    conn.close()


@pytest.mark.parametrize("committed", [True, False])
def test_a_lost_commit_answer_applies_a_keyless_batch_once(
        downstream: MariaDB, lost: AppliedMarks, committed: bool) -> None:
    at = Location("binlog.000001", 4000)
    changes = [RowChange(INSERT, LOG, ("lost", "log"), None, (1, 1), Mark(at, i))
               for i in range(3)]  # three identical rows
    applier = _LosesCommitAnswer(Endpoint("127.0.0.1", downstream.port, "root", ""), lost,
                                 committed)
    applier.start()
    try:
        for change in changes:
            applier.submit(0, change, False, at, 10)
        applier.flush()
    finally:
        applier.close()
    assert applier.faulted
    assert table_rows(downstream.connect(), "lost", "log") == [(1, 1)] * 3
    assert lost.load(downstream.connect(), Location("binlog.000001", 4)) == {
        ("lost", "log"): Mark(Location("binlog.000001", 4000), 2)}


def test_marks_made_before_they_had_gtid_sets_are_kept(downstream: MariaDB) -> None:
    """A `_syncer_applied` table of an earlier pydm (no GTID columns) gets them, and
    its marks still hold, by file and position (a helper's review: the first keyless write
    failed with 1054)."""
    downstream.execute("DROP DATABASE IF EXISTS old_meta", "CREATE DATABASE old_meta",
                       "CREATE TABLE old_meta.old_syncer_applied (`id` VARCHAR(32) NOT NULL, "
                       "`cp_schema` VARCHAR(128) NOT NULL, `cp_table` VARCHAR(128) NOT NULL, "
                       "`binlog_name` VARCHAR(128) NOT NULL, `binlog_pos` INT UNSIGNED NOT "
                       "NULL, `row_index` INT UNSIGNED NOT NULL, PRIMARY KEY (`id`, "
                       "`cp_schema`, `cp_table`))",
                       "INSERT INTO old_meta.old_syncer_applied VALUES "
                       "('src', 'lost', 'log', 'binlog.000001', 4000, 2)")
    marks = AppliedMarks("old_meta", "old", "src", Flavor.MARIADB)
    conn = downstream.connect()
    try:
        marks.create(conn)
        marks.create(conn)  # once only
        assert marks.load(conn, Location("binlog.000001", 4)) == {
            ("lost", "log"): Mark(Location("binlog.000001", 4000), 2)}
        at = Location("binlog.000001", 5000, MariaDBGTIDSet.parse("0-1-7"))
        with conn.cursor() as cur:
            marks.write(cur, {("lost", "log"): Mark(at, 0, "0-1-8")})
        conn.commit()
        assert marks.load(conn, Location("binlog.000001", 4)) == {
            ("lost", "log"): Mark(at, 0, "0-1-8")}
    finally:
        marks.drop(conn)
        conn.close()

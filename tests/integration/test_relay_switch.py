"""DM's upstream_switch with the relay on (issue 11): the source is reached through an
address that moves from a primary to its replica (a TCP proxy standing in for DM's virtual
IP). The relay opens a new sub-directory for the new server and goes on after the GTIDs
it holds; the task reading the relay follows it there; a shard waiting at a DDL across
the switch is read again from its checkpoint; locations saved on the old server (a table
start, a keyless table's mark) place the new server's rows by GTID. Equal at the end."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest

from dm.sandbox import DMProcesses, MariaDB, TcpProxy
from tests.integration.conftest import (
    fetch,
    own_server,
    rows_of,
    source_yaml,
    wait_stage,
    wait_until,
)

pytestmark = pytest.mark.integration

DB = "switchdb"
SOURCE = """\
source-id: switch-src
enable-gtid: true
enable-relay: true
from: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
"""
TASK = """\
name: switch
task-mode: all
target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
mysql-instances:
  - source-id: switch-src
    block-allow-list: only
    syncer: {{checkpoint-flush-interval: 1}}
block-allow-list:
  only: {{do-dbs: [switchdb]}}
"""


@pytest.fixture()
def primary_and_replica(tmp_path_factory: pytest.TempPathFactory
                        ) -> Iterator[tuple[MariaDB, MariaDB]]:
    with ExitStack() as servers:
        primary, replica = (servers.enter_context(contextmanager(own_server)(
            tmp_path_factory, name, sid, extra_args=("--log-slave-updates",)))
            for name, sid in (("primary", 51), ("replica", 52)))
        replica.execute(f"CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={primary.port},"
                        " MASTER_USER='root', MASTER_PASSWORD='', MASTER_USE_GTID=slave_pos",
                        "START SLAVE")
        yield primary, replica


def _writes(server: MariaDB, start: int, stop: threading.Event) -> None:
    conn = server.connect(database=DB)
    with conn.cursor() as cur:
        n = start
        while not stop.is_set():
            cur.execute("BEGIN")
            cur.execute("INSERT INTO t VALUES (%s, %s)", (n, f"row {n}"))
            cur.execute("UPDATE t SET v = CONCAT(v, '+') WHERE id = %s", (n // 2,))
            cur.execute("COMMIT")
            n += 1
            time.sleep(0.005)
    conn.close()


def _rows(server: MariaDB) -> list[tuple[Any, ...]]:
    return rows_of(server, DB, "t")


def _writing(server: MariaDB, start: int, seconds: float) -> None:
    stop = threading.Event()
    thread = threading.Thread(target=_writes, args=(server, start, stop))
    thread.start()
    time.sleep(seconds)
    stop.set()
    thread.join()


def test_the_relay_and_its_task_follow_the_upstream_to_another_server(
        cluster: DMProcesses, primary_and_replica: tuple[MariaDB, MariaDB],
        downstream: MariaDB, tmp_path: Path) -> None:
    primary, replica = primary_and_replica
    downstream.execute(f"DROP DATABASE IF EXISTS {DB}")
    primary.execute(f"CREATE DATABASE {DB}", f"CREATE TABLE {DB}.t (id INT PRIMARY KEY, v TEXT)")
    proxy = TcpProxy(primary.port)  # the source's address: DM's virtual IP
    try:
        _start(cluster, tmp_path, proxy, TASK.format(port=downstream.port), "switch")
        _writing(primary, 1, 3)
        wait_until("the replica has every row", lambda: _rows(replica) == _rows(primary))
        replica.execute("STOP SLAVE", "RESET SLAVE ALL")  # promoted
        proxy.switch(replica.port)  # the address moves: every connection through it drops
        _writing(replica, 100_000, 3)
        replica.execute(f"ALTER TABLE {DB}.t ADD COLUMN w INT DEFAULT 7",
                        f"INSERT INTO {DB}.t VALUES (1000000, 'after the DDL', 8)")
        wait_until("the downstream equals the new primary",
              lambda: _rows(downstream) == _rows(replica), timeout=120)
        source = cluster.dmctl("query-status", "switch")["sources"][0]
        relay, sub = source["sourceStatus"]["relayStatus"], source["subTaskStatus"][0]
        assert relay["relaySubDir"] == "0-52.000002" and relay["result"] is None, relay
        assert (sub["stage"], sub["sync"]["binlogType"], sub["result"]) == (
            "Running", "local", None), sub
        relay_dir = cluster.base / "worker1" / "relay-dir" / "switch-src"
        assert (relay_dir / "server-uuid.index").read_text().split() == [
            "0-51.000001", "0-52.000002"]
        # the old server's files: no task reads them any more, so a purge takes them all
        assert cluster.dmctl("purge-relay", "-s", "switch-src", "-f", "binlog.999999",
                             "--sub-dir", "0-51.000001")["result"]
        assert not list((relay_dir / "0-51.000001").glob("binlog.*"))
        assert _rows(downstream) == _rows(replica)
    finally:
        cluster.dmctl("stop-task", "switch", check=False)
        cluster.dmctl("operate-source", "stop", "switch-src", check=False)
        proxy.close()


SHARD_TASK = """\
name: heldswitch
task-mode: all
shard-mode: optimistic
target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
mysql-instances:
  - source-id: switch-src
    block-allow-list: shards
    route-rules: [tables, schemas]
    syncer: {{checkpoint-flush-interval: 1}}
  - source-id: other-src
    block-allow-list: shards
    route-rules: [tables, schemas]
    syncer: {{checkpoint-flush-interval: 1}}
block-allow-list:
  shards: {{do-dbs: ["~^shard[ab]$"]}}
routes:
  tables: {{schema-pattern: "shard?", table-pattern: "t_*", target-schema: merged,
           target-table: t}}
  schemas: {{schema-pattern: "shard?", target-schema: merged}}
"""
RENAME = "ALTER TABLE {} CHANGE d e INT DEFAULT 1"


def _insert(server: MariaDB, table: str, ids: range, column: str) -> None:
    server.execute(*(f"INSERT INTO {table} (id, {column}) VALUES ({i}, {i % 7})"
                     for i in ids))


def _start(cluster: DMProcesses, tmp_path: Path, proxy: TcpProxy, task: str, name: str,
           source: str = SOURCE) -> None:
    """The switching source (behind `proxy`; `source` its text) created, and the task
    `name` (its text) started and syncing."""
    (tmp_path / "s.yaml").write_text(source.format(port=proxy.port))
    assert cluster.dmctl("operate-source", "create", str(tmp_path / "s.yaml"))["result"]
    (tmp_path / "t.yaml").write_text(task)
    assert cluster.dmctl("start-task", "--remove-meta", str(tmp_path / "t.yaml"))["result"]
    wait_stage(cluster, name, "Running", unit="Sync")


def _shards(server: MariaDB, db: str, first: int, rows: int) -> None:
    """Database `db` with shards t_1 and t_2 of `rows` rows each, from id `first` on."""
    server.execute(f"CREATE DATABASE {db}")
    for k, table in enumerate(("t_1", "t_2")):
        server.execute(f"CREATE TABLE {db}.{table} (id INT PRIMARY KEY, d INT DEFAULT 1)")
        _insert(server, f"{db}.{table}", range(first + k * 10_000, first + k * 10_000 + rows),
                "d")


def _union(a: MariaDB, b: MariaDB) -> list[tuple[Any, ...]]:
    return sorted(row for server, db in ((a, "sharda"), (b, "shardb")) for table in
                  ("t_1", "t_2") for row in fetch(server, f"SELECT id, e FROM {db}.{table}"))


def test_a_shard_waiting_across_the_switch_is_read_again_from_its_checkpoint(
        cluster: DMProcesses, primary_and_replica: tuple[MariaDB, MariaDB],
        upstream2: MariaDB, downstream: MariaDB, tmp_path: Path) -> None:
    """A shard of the switching source waits at a rename (optimistic mode) while the
    upstream switches to its promoted replica, whose binlog files are numbered lower; the
    rename settles on the new server, and the waiting shard's rows arrive. Locations are
    ordered by GTID set: by file and position, the old server's checkpoint came after
    every position of the new one, the checkpoint was saved past the waiting shard's
    rows, and they were lost (a helper's review)."""
    primary, replica = primary_and_replica
    other = upstream2
    if "worker2" not in cluster.workers:
        cluster.start_worker("worker2")
    primary.execute(*["FLUSH BINARY LOGS"] * 3)  # numbered past the replica's files
    downstream.execute("DROP DATABASE IF EXISTS merged")
    other.execute("DROP DATABASE IF EXISTS shardb")
    _shards(primary, "sharda", 1_000_000, 50)
    _shards(other, "shardb", 3_000_000, 50)
    proxy = TcpProxy(primary.port)
    try:
        assert cluster.dmctl("operate-source", "create", str(source_yaml(
            tmp_path / "b.yaml", "other-src", other, **{"enable-gtid": "true"})))["result"]
        _start(cluster, tmp_path, proxy, SHARD_TASK.format(port=downstream.port), "heldswitch")
        for server, db, base in ((primary, "sharda", 1_000_100), (other, "shardb", 3_000_100)):
            server.execute(RENAME.format(f"{db}.t_1"))  # waits for the others
            _insert(server, f"{db}.t_1", range(base, base + 50), "e")
        _insert(primary, "sharda.t_2", range(1_010_100, 1_010_150), "d")
        wait_until("the free shard's rows arrive", lambda: (1_010_149,) in fetch(
            downstream, "SELECT id FROM merged.t"))
        time.sleep(2)  # checkpoints saved: held at the rename, t_2 ahead of it
        wait_until("the replica has every row", lambda: fetch(
            replica, "SELECT COUNT(*) FROM sharda.t_2") == [(100,)])
        replica.execute("STOP SLAVE", "RESET SLAVE ALL")  # promoted
        proxy.switch(replica.port)
        _insert(replica, "sharda.t_1", range(1_000_200, 1_000_250), "e")
        _insert(replica, "sharda.t_2", range(1_010_200, 1_010_250), "d")
        time.sleep(2)
        other.execute(RENAME.format("shardb.t_2"))
        replica.execute(RENAME.format("sharda.t_2"))  # the last one: settled
        wait_until("the merged column is renamed", lambda: ("e",) in fetch(
            downstream, "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE "
                        "TABLE_SCHEMA = 'merged' AND TABLE_NAME = 't'"))
        wait_until("the merged table equals the union of the shards",
                   lambda: sorted(fetch(downstream, "SELECT id, e FROM merged.t"))
                   == _union(replica, other), timeout=60)
        assert cluster.dmctl("shard-ddl-lock", "heldswitch")["locks"] == []
        for source in cluster.dmctl("query-status", "heldswitch")["sources"]:
            assert source["subTaskStatus"][0]["result"] is None, source
    finally:
        cluster.dmctl("stop-task", "heldswitch", check=False)
        for source in ("switch-src", "other-src"):
            cluster.dmctl("operate-source", "stop", source, check=False)
        proxy.close()


PESSIMISTIC_TASK = SHARD_TASK.replace("heldswitch", "startswitch").replace(
    "shard-mode: optimistic", "shard-mode: pessimistic").replace(
    """  - source-id: other-src
    block-allow-list: shards
    route-rules: [tables, schemas]
    syncer: {{checkpoint-flush-interval: 1}}
""", "")


def test_a_table_start_saved_on_the_old_server_holds_on_the_new_one(
        cluster: DMProcesses, primary_and_replica: tuple[MariaDB, MariaDB],
        downstream: MariaDB, tmp_path: Path) -> None:
    """A pessimistic shard waits at a DDL while the other shard of its group goes on: its
    table start is saved on the old server. After the switch (the new server's binlog
    files numbered lower) the other shard's rows are read by their transactions' GTIDs,
    not skipped as before that start by file and position (the reader's skip lost them:
    a helper's review)."""
    primary, replica = primary_and_replica
    primary.execute(*["FLUSH BINARY LOGS"] * 3)
    downstream.execute("DROP DATABASE IF EXISTS merged")
    _shards(primary, "sharda", 0, 20)
    proxy = TcpProxy(primary.port)
    try:
        _start(cluster, tmp_path, proxy, PESSIMISTIC_TASK.format(port=downstream.port),
               "startswitch")
        primary.execute("ALTER TABLE sharda.t_1 ADD COLUMN c INT DEFAULT 5")  # waits
        _insert(primary, "sharda.t_2", range(1100, 1120), "d")  # goes on
        wait_until("the free shard's rows arrive",
                   lambda: (1119,) in fetch(downstream, "SELECT id FROM merged.t"))
        time.sleep(2)  # checkpoints saved: t_2's start on the old server
        assert cluster.dmctl("pause-task", "startswitch")["result"]
        wait_stage(cluster, "startswitch", "Paused")
        wait_until("the replica has every row", lambda: fetch(
            replica, "SELECT COUNT(*) FROM sharda.t_2") == [(40,)])
        replica.execute("STOP SLAVE", "RESET SLAVE ALL")  # promoted
        proxy.switch(replica.port)
        _insert(replica, "sharda.t_2", range(1200, 1220), "d")
        assert cluster.dmctl("resume-task", "startswitch")["result"]
        wait_stage(cluster, "startswitch", "Running", unit="Sync")
        replica.execute("ALTER TABLE sharda.t_2 ADD COLUMN c INT DEFAULT 5")  # resolved
        _insert(replica, "sharda.t_2", range(1300, 1305), "d")
        expected = sorted(row for table in ("t_1", "t_2") for row in fetch(
            replica, f"SELECT id, d, c FROM sharda.{table}"))
        wait_until("the merged table equals the union of the shards", lambda: ("c",) in fetch(
            downstream, "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE "
                        "TABLE_SCHEMA = 'merged' AND TABLE_NAME = 't'") and sorted(
            fetch(downstream, "SELECT id, d, c FROM merged.t")) == expected, timeout=60)
    finally:
        cluster.dmctl("stop-task", "startswitch", check=False)
        cluster.dmctl("operate-source", "stop", "switch-src", check=False)
        proxy.close()


def test_keyless_rows_written_on_the_new_server_are_not_taken_for_applied(
        cluster: DMProcesses, primary_and_replica: tuple[MariaDB, MariaDB],
        downstream: MariaDB, tmp_path: Path) -> None:
    """A keyless table's exactly-once mark saved on the old server (its binlog files
    numbered past the new one's) does not hide the rows written on the new server once
    the checkpoint is there: marks name their transaction by its GTID set, not only by
    file and position (by position, all ten rows below were taken for applied and lost:
    a helper's review)."""
    primary, replica = primary_and_replica
    primary.execute(*["FLUSH BINARY LOGS"] * 3)  # numbered past the replica's files
    downstream.execute(f"DROP DATABASE IF EXISTS {DB}")
    primary.execute(f"CREATE DATABASE {DB}", f"CREATE TABLE {DB}.t (id INT PRIMARY KEY, v TEXT)",
                    f"CREATE TABLE {DB}.k (a INT, b TEXT)")  # keyless: marked
    proxy = TcpProxy(primary.port)
    try:
        _start(cluster, tmp_path, proxy, TASK.format(port=downstream.port), "switch")
        primary.execute(*(f"INSERT INTO {DB}.k VALUES ({i}, 'old'), ({i}, 'old')"
                          for i in range(20)))
        wait_until("the keyless rows arrive",
                   lambda: rows_of(downstream, DB, "k") == rows_of(primary, DB, "k"))
        wait_until("the replica has every row",
                   lambda: rows_of(replica, DB, "k") == rows_of(primary, DB, "k"))
        replica.execute("STOP SLAVE", "RESET SLAVE ALL")  # promoted
        proxy.switch(replica.port)
        replica.execute(f"INSERT INTO {DB}.t VALUES (1, 'on the new server')")
        wait_until("a row of the new server arrives",
                   lambda: rows_of(downstream, DB, "t") == [(1, "on the new server")])
        time.sleep(2)  # the checkpoint saved on the new server
        assert cluster.dmctl("pause-task", "switch")["result"]
        wait_stage(cluster, "switch", "Paused")
        assert cluster.dmctl("resume-task", "switch")["result"]
        wait_stage(cluster, "switch", "Running", unit="Sync")
        replica.execute(*(f"INSERT INTO {DB}.k VALUES ({i}, 'new')" for i in range(10)))
        replica.execute(f"INSERT INTO {DB}.t VALUES (2, 'after the keyless rows')")
        wait_until("the row after the keyless ones arrives",
                   lambda: len(rows_of(downstream, DB, "t")) == 2)
        assert rows_of(downstream, DB, "k") == rows_of(replica, DB, "k")
    finally:
        cluster.dmctl("stop-task", "switch", check=False)
        cluster.dmctl("operate-source", "stop", "switch-src", check=False)
        proxy.close()


def _logged(server: MariaDB, sql: str, gtid: str | None = None, domain: int = 0) -> str:
    """Run `sql` in a transaction of its own, in GTID domain `domain`, or as `gtid` (a
    replica that logged it in its own order); its GTID."""
    conn = server.connect()
    try:
        with conn.cursor() as cur:
            if gtid is None:
                cur.execute(f"SET SESSION gtid_domain_id = {domain}")
            else:
                d, sid, seq = gtid.split("-")
                cur.execute(f"SET SESSION gtid_domain_id = {d}, server_id = {sid}, "
                            f"gtid_seq_no = {seq}")
            cur.execute(sql)
            conn.commit()
            cur.execute("SELECT @@last_gtid")
            return str(cur.fetchone()[0])
    finally:
        conn.close()


@pytest.mark.parametrize("relay", ["true", "false"])
@pytest.mark.parametrize("order", ["reordered", "same"])
def test_a_keyless_row_is_applied_once_after_a_switch_to_a_replica_of_another_order(
        cluster: DMProcesses, primary_and_replica: tuple[MariaDB, MariaDB],
        downstream: MariaDB, tmp_path: Path, order: str, relay: str) -> None:
    """The old server logs T1 (domain 0, a keyless row) then T2 (domain 1); the worker is
    killed before a checkpoint past them; the promoted replica logged T2 before T1 (out of
    order across domains). The keyless table's mark names T1 by its GTID, so T1's row is
    not applied again (named by the GTID set before it, it was: a helper's review). With
    the relay, whose two sub-directories both hold a `binlog.000001`, the restarted task
    reads from the old server's (its checkpoint is inside what that one relayed): it read
    the new server's file from the old server's position, and paused with 28104."""
    primary, replica = primary_and_replica
    downstream.execute(f"DROP DATABASE IF EXISTS {DB}")
    primary.execute(f"CREATE DATABASE {DB}", f"CREATE TABLE {DB}.t (id INT PRIMARY KEY, v TEXT)",
                    f"CREATE TABLE {DB}.k (a INT, b TEXT)")
    proxy = TcpProxy(primary.port)
    task = TASK.replace("checkpoint-flush-interval: 1", "checkpoint-flush-interval: 3600")
    try:
        _start(cluster, tmp_path, proxy, task.format(port=downstream.port), "switch",
               SOURCE.replace("enable-relay: true", f"enable-relay: {relay}"))
        wait_until("the replica has the tables", lambda: len(fetch(
            replica, f"SHOW TABLES FROM {DB}")) == 2)
        replica.execute("STOP SLAVE")
        t1 = (_logged(primary, f"INSERT INTO {DB}.k VALUES (1, 'once')"),
              f"INSERT INTO {DB}.k VALUES (1, 'once')")
        t2 = (_logged(primary, f"INSERT INTO {DB}.t VALUES (1, 'domain 1')", domain=1),
              f"INSERT INTO {DB}.t VALUES (1, 'domain 1')")
        wait_until("both arrive", lambda: rows_of(downstream, DB, "k") == [(1, "once")]
                   and rows_of(downstream, DB, "t") == [(1, "domain 1")])
        time.sleep(1)  # k's mark is written with its row; no checkpoint comes
        cluster.kill_worker("worker1")
        for gtid, sql in ((t2, t1) if order == "reordered" else (t1, t2)):
            _logged(replica, sql, gtid)
        replica.execute("RESET SLAVE ALL")  # promoted
        proxy.switch(replica.port)
        cluster.start_worker("worker1")  # (its first stream may drop: 36069 resumes)
        replica.execute(f"INSERT INTO {DB}.t VALUES (2, 'after')")
        wait_until("the row after arrives", lambda: len(rows_of(downstream, DB, "t")) == 2,
                   timeout=120)
        assert rows_of(downstream, DB, "k") == rows_of(replica, DB, "k") == [(1, "once")]
    finally:
        cluster.dmctl("stop-task", "switch", check=False)
        cluster.dmctl("operate-source", "stop", "switch-src", check=False)
        proxy.close()


@pytest.mark.parametrize("relay", ["false", "true"])
def test_an_xa_prepared_on_the_old_server_commits_on_the_new_one(
        cluster: DMProcesses, primary_and_replica: tuple[MariaDB, MariaDB],
        downstream: MariaDB, tmp_path: Path, relay: str) -> None:
    """An XA transaction prepared on the old server (its binlog files numbered past the
    new one's) and committed on the promoted replica: a restart reads its prepared group
    again, found by GTID on the new server (by the old server's file and position, every
    resume paused with 36101: a helper's review), or in the relay's sub-directory of the
    old server."""
    primary, replica = primary_and_replica
    primary.execute(*["FLUSH BINARY LOGS"] * 3)  # numbered past the replica's files
    downstream.execute(f"DROP DATABASE IF EXISTS {DB}")
    primary.execute(f"CREATE DATABASE {DB}", f"CREATE TABLE {DB}.t (id INT PRIMARY KEY, v TEXT)")
    proxy = TcpProxy(primary.port)
    try:
        _start(cluster, tmp_path, proxy, TASK.format(port=downstream.port), "switch",
               SOURCE.replace("enable-relay: true", f"enable-relay: {relay}"))
        _logged(primary, f"INSERT INTO {DB}.t VALUES (1, 'other domain')", domain=1)
        primary.execute("XA START 'moved'", f"INSERT INTO {DB}.t VALUES (2, 'xa')",
                        "XA END 'moved'", "XA PREPARE 'moved'")
        primary.execute(f"INSERT INTO {DB}.t VALUES (3, 'after the prepare')")
        wait_until("the row after the prepare arrives",
                   lambda: rows_of(downstream, DB, "t") == [(1, "other domain"),
                                                           (3, "after the prepare")])
        time.sleep(2)  # the checkpoint saved past the prepared transaction
        wait_until("the replica has every row", lambda: len(rows_of(replica, DB, "t")) == 2)
        replica.execute("STOP SLAVE", "RESET SLAVE ALL")  # promoted
        proxy.switch(replica.port)  # the stream drops: the task starts again from there
        replica.execute("XA COMMIT 'moved'", f"INSERT INTO {DB}.t VALUES (4, 'new server')")
        wait_until("the downstream equals the new primary",
                   lambda: rows_of(downstream, DB, "t") == rows_of(replica, DB, "t"),
                   timeout=60)
        assert len(rows_of(downstream, DB, "t")) == 4
        status = cluster.dmctl("query-status", "switch")["sources"][0]["subTaskStatus"][0]
        assert (status["stage"], status["result"]) == ("Running", None), status
    finally:
        cluster.dmctl("stop-task", "switch", check=False)
        cluster.dmctl("operate-source", "stop", "switch-src", check=False)
        proxy.close()

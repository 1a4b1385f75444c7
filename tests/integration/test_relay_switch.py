"""DM's upstream_switch with the relay on (issue 11): the source is reached through an
address that moves from a primary to its replica (a TCP proxy standing in for DM's virtual
IP). The relay opens a new sub-directory for the new server and goes on after the GTIDs
it holds; the task reading the relay follows it there. Equal at the end."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest

from dm.sandbox import DMProcesses, MariaDB, TcpProxy
from tests.integration.conftest import own_server, rows_of, wait_stage, wait_until

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
        (tmp_path / "s.yaml").write_text(SOURCE.format(port=proxy.port))
        assert cluster.dmctl("operate-source", "create", str(tmp_path / "s.yaml"))["result"]
        (tmp_path / "t.yaml").write_text(TASK.format(port=downstream.port))
        assert cluster.dmctl("start-task", "--remove-meta", str(tmp_path / "t.yaml"))["result"]
        wait_stage(cluster, "switch", "Running", unit="Sync")
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

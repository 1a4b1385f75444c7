"""The binlog reader process a worker starts ahead (dm.sync.feed): it waits for its setup
with its imports done, a sync unit that starts takes it, and the unit leaves another one
when it stops, for its resume. Replication is equal after the pause and resume."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from dm.binlog.location import Location
from dm.binlog.replica import ReplicaConfig
from dm.sandbox import DMProcesses, MariaDB, child_pids
from dm.sync import feed
from dm.sync.records import QUERY, TableAnswer
from tests.integration.conftest import rows_of, source_yaml, wait_stage, wait_until
from tests.integration.test_sync_incremental import _master

pytestmark = pytest.mark.integration

TASK = """\
name: warmreader
task-mode: incremental
target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
mysql-instances:
  - source-id: warm-src
    block-allow-list: only
    meta: {{binlog-name: "{name}", binlog-pos: {pos}}}
block-allow-list:
  only: {{do-dbs: [warmreader]}}
"""


def _spares(cluster: DMProcesses) -> list[int]:
    """The worker's reader processes that read for no sync unit yet."""
    readers = set(cluster.child_pids("worker1"))
    return [p for p in child_pids(cluster.workers["worker1"].pid) if p not in readers]


def test_a_sync_unit_takes_the_reader_started_ahead_and_leaves_one(
        cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB, tmp_path: Path) -> None:
    for server in (upstream, downstream):
        server.execute("DROP DATABASE IF EXISTS warmreader", "CREATE DATABASE warmreader",
                       "CREATE TABLE warmreader.t (id INT PRIMARY KEY, v INT)")
    name, pos, _ = _master(upstream)
    upstream.execute(*(f"INSERT INTO warmreader.t VALUES ({i}, {i})" for i in range(100)))
    wait_until("a reader waits ahead", lambda: len(_spares(cluster)) == 1)
    (spare,) = _spares(cluster)
    assert cluster.dmctl("operate-source", "create", str(source_yaml(
        tmp_path / "s.yaml", "warm-src", upstream)))["result"]
    (tmp_path / "t.yaml").write_text(TASK.format(port=downstream.port, name=name, pos=pos))
    try:
        assert cluster.dmctl("start-task", str(tmp_path / "t.yaml"))["result"]
        wait_stage(cluster, "warmreader", "Running", unit="Sync")
        wait_until("the sync unit reads with it", lambda: cluster.child_pids("worker1") == [spare])
        assert cluster.dmctl("pause-task", "warmreader")["result"]
        wait_stage(cluster, "warmreader", "Paused")
        wait_until("another reader waits ahead", lambda: len(_spares(cluster)) == 1)
        (left,) = _spares(cluster)
        assert left != spare
        upstream.execute(*(f"INSERT INTO warmreader.t VALUES ({i}, {i})" for i in range(100, 150)))
        assert cluster.dmctl("resume-task", "warmreader")["result"]
        wait_until("the resumed unit reads with it",
                   lambda: cluster.child_pids("worker1") == [left])
        wait_until("equal", lambda: rows_of(downstream, "warmreader", "t")
                   == rows_of(upstream, "warmreader", "t"))
    finally:
        cluster.dmctl("stop-task", "warmreader", check=False)
        cluster.dmctl("operate-source", "stop", "warm-src", check=False)


def test_a_reader_started_ahead_that_died_is_replaced_at_once(
        upstream: MariaDB, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reader taken has exited before its setup could be written (here: a process
    that was never a reader): the feed starts a new one and reads (a helper's review: the
    sync unit failed instead)."""
    dead = subprocess.Popen(["true"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    dead.wait()
    monkeypatch.setattr(feed._WARM, "take", lambda: dead)
    upstream.execute("DROP DATABASE IF EXISTS warmdead", "CREATE DATABASE warmdead")
    name, pos, _ = _master(upstream)
    upstream.execute("CREATE TABLE warmdead.t (id INT PRIMARY KEY)")
    reading = feed.BinlogFeed(ReplicaConfig("127.0.0.1", upstream.port, "root", "", 4242),
                              Location(name, pos), False, lambda s, t: TableAnswer(None))
    try:
        statements = (r[6] for _, records in reading.batches() for r in records
                      if r[0] == QUERY)
        assert any("CREATE TABLE warmdead.t" in s for s in statements)
    finally:
        reading.close()
    assert dead.stdin is not None and dead.stdin.closed

"""Prepared XA transactions across the restarts that read part of the binlog again: a
pessimistic shard lock's resync from its frozen location, and a pause/resume reading the
relay log. Found by reviews of the XA hold: an XA transaction committed while a shard
was held paused the resync with a false 36106, one committed and followed by an ALTER of
its table was decoded with the later schema (36027), and a prepared group read again
from the relay sent its file's ROTATE, so every later position named the wrong file and
rows were lost while the task said synced."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from dm.sandbox import DMProcesses, MariaDB
from tests.integration.conftest import (
    binlog_end,
    fetch,
    removed_afterwards,
    rows_of,
    source_yaml,
    wait_equal,
    wait_stage,
    wait_until,
)
from tests.integration.test_sync_transactions import _xa_prepare

pytestmark = pytest.mark.integration

TASK = """\
name: {db}
task-mode: incremental
{shard}target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
mysql-instances:
  - source-id: {db}-src
    block-allow-list: only
    route-rules: [shards]
    meta: {{binlog-name: "{name}", binlog-pos: {pos}}}
    syncer: {{worker-count: 2, batch: 50, checkpoint-flush-interval: 1}}
block-allow-list:
  only: {{do-dbs: [{db}]}}
routes:
  shards: {{schema-pattern: "{db}", table-pattern: "t_*", target-schema: {db}, target-table: t}}
"""


def _start(cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB, tmp_path: Path,
           db: str, shard: str = "", **source: str) -> None:
    """`db` with a plain table `o` and shards `t_1`, `t_2` merged into `t`, and an
    incremental task from here."""
    for server in (upstream, downstream):
        server.execute(f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}",
                       f"CREATE TABLE {db}.o (id INT PRIMARY KEY)")
    upstream.execute(*(f"CREATE TABLE {db}.t_{i} (id INT PRIMARY KEY, v INT)" for i in (1, 2)))
    downstream.execute(f"CREATE TABLE {db}.t (id INT PRIMARY KEY, v INT)",
                       "DROP DATABASE IF EXISTS dm_meta")
    name, pos = binlog_end(upstream)
    assert cluster.dmctl("operate-source", "create", str(source_yaml(
        tmp_path / "s.yaml", f"{db}-src", upstream, **source)))["result"]
    task = tmp_path / "task.yaml"
    task.write_text(TASK.format(db=db, port=downstream.port, name=name, pos=pos,
                                shard=f"shard-mode: {shard}\n" if shard else ""))
    assert cluster.dmctl("start-task", str(task))["result"]
    wait_stage(cluster, db, "Running")


def _merged_equal(upstream: MariaDB, downstream: MariaDB, db: str) -> bool:
    shards = sorted(r for i in (1, 2) for r in rows_of(upstream, db, f"t_{i}"))
    return shards == rows_of(downstream, db, "t")


def _running(cluster: DMProcesses, db: str) -> None:
    status = cluster.dmctl("query-status", db)["sources"][0]["subTaskStatus"][0]
    assert status["stage"] == "Running" and not status["result"], status


def test_xa_transactions_through_a_shard_lock_resync(
        cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB, tmp_path: Path) -> None:
    db = "xa_shard_resync"
    _start(cluster, upstream, downstream, tmp_path, db, "pessimistic")
    with removed_afterwards(cluster, db, f"{db}-src"):
        upstream.execute(f"INSERT INTO {db}.o VALUES (100)", f"INSERT INTO {db}.t_1 VALUES (1, 1)")
        _xa_prepare(upstream, "'before'", f"INSERT INTO {db}.o VALUES (1)")
        upstream.execute(f"ALTER TABLE {db}.t_1 ADD COLUMN c INT")  # t_1 held from here
        _xa_prepare(upstream, "'after'", f"INSERT INTO {db}.o VALUES (2)")
        upstream.execute("XA COMMIT 'after'", "XA COMMIT 'before'",
                         f"ALTER TABLE {db}.o ADD COLUMN w INT",
                         f"INSERT INTO {db}.o VALUES (3, 3)",
                         f"INSERT INTO {db}.t_1 VALUES (4, 4, 4)",
                         f"INSERT INTO {db}.t_2 VALUES (5, 5)")
        wait_equal(upstream, downstream, db, ("o",))
        time.sleep(1.5)  # checkpoints at the held shard's frozen location
        upstream.execute(f"ALTER TABLE {db}.t_2 ADD COLUMN c INT",  # the lock resolves: the
                         f"INSERT INTO {db}.t_2 VALUES (6, 6, 6)")  # shard syncs again
        wait_until("the merged table", lambda: _merged_equal(upstream, downstream, db))
        wait_equal(upstream, downstream, db, ("o",))
        _running(cluster, db)


def test_a_prepared_group_read_again_from_the_relay(
        cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB, tmp_path: Path) -> None:
    db = "xa_relay_again"
    _start(cluster, upstream, downstream, tmp_path, db, **{"enable-relay": "true"})
    with removed_afterwards(cluster, db, f"{db}-src"):
        upstream.execute(f"INSERT INTO {db}.o VALUES (1)", "FLUSH BINARY LOGS")
        prepared_in = binlog_end(upstream)[0]
        _xa_prepare(upstream, "'first'", f"INSERT INTO {db}.o VALUES (2)")  # first in its file
        upstream.execute(f"INSERT INTO {db}.o VALUES (3)", "FLUSH BINARY LOGS",
                         f"INSERT INTO {db}.o VALUES (4)")
        wait_equal(upstream, downstream, db, ("o",))
        time.sleep(1.5)  # a checkpoint past the prepare, in the next file
        # the relay keeps the prepared transaction's file: a restart reads it again
        kept = cluster.dmctl("purge-relay", "-s", f"{db}-src", "-f", binlog_end(upstream)[0])
        assert f"kept {prepared_in} and later" in kept["sources"][0]["msg"], kept
        for commit in ("", "XA COMMIT 'first'"):
            assert cluster.dmctl("pause-task", db)["result"]
            wait_stage(cluster, db, "Paused")
            assert cluster.dmctl("resume-task", db)["result"]
            wait_stage(cluster, db, "Running")
            upstream.execute(*filter(None, [commit]), f"INSERT INTO {db}.o VALUES (1{len(commit)})")
            wait_equal(upstream, downstream, db, ("o",))
            time.sleep(1.5)
        status = cluster.dmctl("query-status", db)["sources"][0]["subTaskStatus"][0]
        assert status["sync"]["binlogType"] == "local", status
        checkpoint = fetch(downstream, f"SELECT binlog_name FROM dm_meta.`{db}_syncer_checkpoint`"
                                       " WHERE is_global")
        assert checkpoint == [(binlog_end(upstream)[0],)]  # the file it is really in
        _running(cluster, db)

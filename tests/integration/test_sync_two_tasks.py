"""Two tasks replicate from one source at once: each sync unit is a replica of its own.

MariaDB ends the older Binlog Dump of two replicas that give the same server id, so
tasks sharing the source's server id would take turns dropping each other's stream.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from dm.sandbox import DMProcesses, MariaDB
from tests.integration.conftest import binlog_end, source_yaml, wait_equal, wait_stage

pytestmark = pytest.mark.integration

TASK = """\
name: {name}
task-mode: incremental
target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
mysql-instances:
  - source-id: two-tasks-src
    block-allow-list: only
    meta: {{binlog-name: {file}, binlog-pos: {pos}}}
    syncer: {{worker-count: 2, checkpoint-flush-interval: 1}}
block-allow-list:
  only: {{do-dbs: [{name}]}}
"""


def _binlog_dumps(server: MariaDB) -> list[int]:
    """Thread ids of the upstream's Binlog Dump threads (one per connected replica)."""
    conn = server.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT ID FROM information_schema.PROCESSLIST"
                        " WHERE COMMAND LIKE 'Binlog Dump%'")
            return sorted(int(r[0]) for r in cur.fetchall())
    finally:
        conn.close()


def test_two_tasks_on_one_source_keep_their_streams(cluster: DMProcesses, upstream: MariaDB,
                                                    downstream: MariaDB,
                                                    tmp_path: Path) -> None:
    names = ("two_tasks_a", "two_tasks_b")
    for server in (upstream, downstream):
        for db in names:
            server.execute(f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}",
                           f"CREATE TABLE {db}.t (id INT PRIMARY KEY, v INT)")
    file, pos = binlog_end(upstream)
    assert cluster.dmctl("operate-source", "create", str(
        source_yaml(tmp_path / "s.yaml", "two-tasks-src", upstream)))["result"]
    before = set(_binlog_dumps(upstream))
    for name in names:
        task = tmp_path / f"{name}.yaml"
        task.write_text(TASK.format(name=name, port=downstream.port, file=file, pos=pos))
        assert cluster.dmctl("start-task", str(task))["result"]
        wait_stage(cluster, name, "Running")
    try:
        deadline = time.monotonic() + 8
        streams: set[int] = set()
        i = 0
        while time.monotonic() < deadline:  # writes go on; both streams must stay up
            i += 1
            upstream.execute(*(f"INSERT INTO {db}.t VALUES ({i}, {i})" for db in names))
            streams |= set(_binlog_dumps(upstream)) - before
            time.sleep(0.2)
        assert len(streams) == 2, f"Binlog Dump threads seen: {sorted(streams)} (restarted?)"
        for name in names:
            wait_equal(upstream, downstream, name, ("t",))
    finally:
        for name in names:
            cluster.dmctl("stop-task", name, check=False)
        cluster.dmctl("operate-source", "stop", "two-tasks-src", check=False)

"""A dump killed midway resumes under a new snapshot, yet the copy is one consistent copy
(review finding 5): rows that moved across chunk boundaries, were inserted into or deleted
from chunks taken before the kill, and a keyless table taken wholly after it, all end
equal to the upstream, in task-mode full (a catch-up replays the binlog between the
snapshots) and in task-mode all (each table's row events start at its own snapshot)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from dm.sandbox import DMProcesses, MariaDB
from tests.integration.conftest import removed_afterwards, source_yaml, wait_equal, wait_stage

pytestmark = pytest.mark.integration

TASK = """\
name: {name}
task-mode: {mode}
target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
mysql-instances:
  - source-id: {name}-src
    block-allow-list: only
    mydumper-thread: 1
    mydumper: {{rows: 20000}}
block-allow-list:
  only: {{do-dbs: [{name}]}}
"""
ROWS = 300_000


def _dumped_chunks(cluster: DMProcesses, name: str) -> int:
    answer = cluster.api("query-status", {"task": name})
    subs = [st for s in answer.get("sources", []) for st in s.get("subTaskStatus", [])]
    assert not (subs and subs[0].get("result")), subs
    if subs and subs[0].get("stage") == "Finished":
        raise AssertionError("the dump finished before the planned kill")
    return int(subs[0].get("dump", {}).get("finishedChunks", 0)) if subs else 0


@pytest.mark.parametrize("mode", ["full", "all"])
def test_a_dump_resumed_under_a_new_snapshot_is_one_consistent_copy(
        cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB, tmp_path: Path,
        mode: str) -> None:
    name = f"resnap_{mode}"
    for server in (upstream, downstream):
        server.execute(f"DROP DATABASE IF EXISTS {name}")
    upstream.execute(
        f"CREATE DATABASE {name}", f"USE {name}",
        "CREATE TABLE a_big (id INT PRIMARY KEY, v CHAR(200) NOT NULL)",
        f"INSERT INTO a_big SELECT seq, REPEAT(CHAR(65 + seq % 26), 200) "
        f"FROM seq_1_to_{ROWS}",
        "CREATE TABLE z_log (a INT, b INT)",  # keyless, one chunk, dumped last
        "INSERT INTO z_log SELECT seq, seq FROM seq_1_to_10")
    assert cluster.dmctl("operate-source", "create", str(
        source_yaml(tmp_path / "s.yaml", f"{name}-src", upstream)))["result"]
    (tmp_path / "t.yaml").write_text(TASK.format(name=name, mode=mode, port=downstream.port))
    with removed_afterwards(cluster, name, f"{name}-src"):
        assert cluster.dmctl("start-task", str(tmp_path / "t.yaml"))["result"]
        deadline = time.monotonic() + 120
        while _dumped_chunks(cluster, name) < 2:  # chunk 0 taken, the last chunks not yet
            assert time.monotonic() < deadline, "the dump never got going"
            time.sleep(0.02)
        cluster.kill_worker("worker1")
        upstream.execute(
            f"USE {name}",
            f"UPDATE a_big SET id = -5 WHERE id = {ROWS}",  # from the last chunk into chunk 0
            "INSERT INTO a_big VALUES (-6, 'new')",  # into chunk 0, taken before the kill
            "DELETE FROM a_big WHERE id = 3",  # likewise
            "INSERT INTO z_log VALUES (99, 99)",
            "UPDATE z_log SET b = b + 1 WHERE a = 1")
        cluster.start_worker("worker1")
        if mode == "full":
            wait_stage(cluster, name, "Finished", timeout=300)
            wait_equal(upstream, downstream, name, ("a_big", "z_log"), timeout=1)
            # caught up: the dump directory kept for the catch-up is gone (clean-dump-file)
            assert not (cluster.base / "worker1" / f"dumped_data.{name}").exists()
        else:
            wait_stage(cluster, name, "Running", timeout=300)
            wait_equal(upstream, downstream, name, ("a_big", "z_log"), timeout=120)

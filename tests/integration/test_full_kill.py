"""kill -9 of the worker during dump and load, several times: nothing lost, nothing doubled."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dm.sandbox import DMProcesses, MariaDB, table_rows
from tests.integration.conftest import source_yaml, wait_stage

pytestmark = pytest.mark.integration

TASK = """\
name: killme
task-mode: full
target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
mysql-instances:
  - source-id: kill-src
    block-allow-list: only
    mydumper-thread: 2
    loader-thread: 2
    mydumper: {{rows: 1000}}
block-allow-list:
  only: {{do-dbs: [killdb]}}
"""


def _subtask(dm: DMProcesses) -> dict[str, Any]:
    answer = dm.api("query-status", {"task": "killme"})
    subs = [st for src in answer.get("sources", []) for st in src.get("subTaskStatus", [])]
    return subs[0] if subs else {}


def _kill_when(dm: DMProcesses, ready: Callable[[dict[str, Any]], bool], timeout: float = 120
               ) -> dict[str, Any]:
    """Poll tightly until `ready(status)`, then kill -9 the worker and start it again."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = _subtask(dm)
        assert not st.get("result"), st
        if st.get("stage") == "Finished":
            raise AssertionError(f"finished before the planned kill: {st}")
        if st and ready(st):
            dm.kill_worker("worker1")
            dm.start_worker("worker1")
            return st
        time.sleep(0.02)
    raise AssertionError("the planned kill moment never came")


def _loaded(st: dict[str, Any]) -> int:
    return int(st.get("load", {}).get("loadedChunks", 0))


def _total(st: dict[str, Any]) -> int:
    return int(st.get("dump", {}).get("totalChunks", 0))


def _dumped(st: dict[str, Any]) -> int:
    return int(st.get("dump", {}).get("finishedChunks", 0))


def test_kill_worker_during_dump_and_load(cluster: DMProcesses, upstream: MariaDB,
                                          downstream: MariaDB, tmp_path: Path) -> None:
    upstream.execute(
        "DROP DATABASE IF EXISTS killdb", "CREATE DATABASE killdb", "USE killdb",
        "CREATE TABLE killdb.a (id INT PRIMARY KEY, v VARCHAR(64), n DOUBLE)",
        "INSERT INTO killdb.a SELECT seq, MD5(seq), seq / 3 FROM seq_1_to_1000000",
        "CREATE TABLE killdb.b (k VARCHAR(20) PRIMARY KEY, v TEXT)",
        "INSERT INTO killdb.b SELECT CONCAT('k', seq), REPEAT('v', seq % 50) "
        "FROM seq_1_to_50000",
        "CREATE TABLE killdb.nokey (a INT, b INT)",
        "INSERT INTO killdb.nokey SELECT seq % 10, seq % 3 FROM seq_1_to_40000",
    )
    downstream.execute("DROP DATABASE IF EXISTS killdb", "DROP DATABASE IF EXISTS dm_meta")
    src = source_yaml(tmp_path / "source.yaml", "kill-src", upstream)
    assert cluster.dmctl("operate-source", "create", str(src))["result"]
    task = tmp_path / "task.yaml"
    task.write_text(TASK.format(port=downstream.port))
    assert cluster.dmctl("start-task", str(task))["result"]

    # during the dump (few chunks dumped yet), then at growing load progress
    seen = [_kill_when(cluster, lambda st: st.get("unit") == "Dump" and _dumped(st) >= 2)]
    for share in (0.05, 0.3, 0.55, 0.8):
        def loaded(st: dict[str, Any], f: float = share) -> bool:
            return _loaded(st) >= f * _total(st) > 0
        seen.append(_kill_when(cluster, loaded))
    assert seen[0]["unit"] == "Dump"

    wait_stage(cluster, "killme", "Finished", timeout=600)
    up, down = upstream.connect(), downstream.connect()
    for table in ("a", "b", "nokey"):
        assert table_rows(down, "killdb", table) == table_rows(up, "killdb", table), table
    assert cluster.dmctl("stop-task", "killme")["result"]
    assert cluster.dmctl("operate-source", "stop", "kill-src")["result"]

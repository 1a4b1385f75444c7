"""A dump killed midway resumes under a new snapshot, yet the copy is one consistent copy
(review finding 5): rows that moved across chunk boundaries, were inserted into or deleted
from chunks taken before the kill, and a keyless table taken wholly after it, all end
equal to the upstream, in task-mode full (a catch-up replays the binlog between the
snapshots) and in task-mode all (each table's row events start at its own snapshot)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from dm.sandbox import DMProcesses, MariaDB
from tests.integration.conftest import (
    fetch,
    removed_afterwards,
    source_yaml,
    wait_equal,
    wait_stage,
)

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


@contextmanager
def _killed_midway(cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB,
                   tmp_path: Path, name: str, mode: str, *setup: str) -> Iterator[None]:
    """Database `name` made upstream by `setup`, and a task of `mode` dumping it whose
    worker is killed once chunk 0 is taken and the last chunks not yet; the caller
    changes the upstream and starts the worker again."""
    for server in (upstream, downstream):
        server.execute(f"DROP DATABASE IF EXISTS {name}")
    upstream.execute(f"CREATE DATABASE {name}", f"USE {name}", *setup)
    assert cluster.dmctl("operate-source", "create", str(
        source_yaml(tmp_path / "s.yaml", f"{name}-src", upstream)))["result"]
    (tmp_path / "t.yaml").write_text(TASK.format(name=name, mode=mode, port=downstream.port))
    with removed_afterwards(cluster, name, f"{name}-src"):
        assert cluster.dmctl("start-task", str(tmp_path / "t.yaml"))["result"]
        deadline = time.monotonic() + 120
        while _dumped_chunks(cluster, name) < 2:
            assert time.monotonic() < deadline, "the dump never got going"
            time.sleep(0.02)
        cluster.kill_worker("worker1")
        yield


@pytest.mark.parametrize("mode", ["full", "all"])
def test_a_dump_resumed_under_a_new_snapshot_is_one_consistent_copy(
        cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB, tmp_path: Path,
        mode: str) -> None:
    name = f"resnap_{mode}"
    with _killed_midway(cluster, upstream, downstream, tmp_path, name, mode,
                        "CREATE TABLE a_big (id INT PRIMARY KEY, v CHAR(200) NOT NULL)",
                        f"INSERT INTO a_big SELECT seq, REPEAT(CHAR(65 + seq % 26), 200) "
                        f"FROM seq_1_to_{ROWS}",
                        "CREATE TABLE z_log (a INT, b INT)",  # keyless, one chunk, dumped last
                        "INSERT INTO z_log SELECT seq, seq FROM seq_1_to_10"):
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


@pytest.mark.parametrize(("mode", "change", "keyless", "refused"), [
    ("all", "ADD COLUMN c INT NOT NULL DEFAULT 7", False, ""),
    ("full", "ADD COLUMN c INT DEFAULT 7 FIRST", False, ""),
    ("all", "ADD COLUMN c INT DEFAULT 7", True, "columns added to a table without a chunk key"),
    ("full", "DROP COLUMN w", False, "column w dropped, renamed or changed"),
    ("all", "MODIFY w VARCHAR(20) NOT NULL", False, "column w dropped, renamed or changed"),
    ("all", "CHANGE w w2 INT NOT NULL", True, "column w dropped, renamed or changed"),
])
def test_a_table_changed_while_its_dump_is_interrupted(
        cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB, tmp_path: Path,
        mode: str, change: str, keyless: bool, refused: str) -> None:
    """A DDL while a dump is interrupted, on a table with chunks taken before the kill and
    after it, or on a keyless one taken wholly after it; rows written before and after
    the DDL. Columns added to a table cut on a key: the rest of its chunks are dumped
    with the planned columns and sync replays the ADD and every row changed since, so the
    copy is one consistent copy with the new column. Any other change, or one on a
    keyless table, cannot be made one: 32007 names the table (it used to end with a
    table missing its new column downstream while sync ran on, or a dump failing on an
    unknown column at every resume)."""
    name = f"resddl_{mode}_{change.split()[0].lower()}_{int(keyless)}"
    changed = "z_log" if keyless else "a_big"
    with _killed_midway(
            cluster, upstream, downstream, tmp_path, name, mode,
            "CREATE TABLE a_big (id INT PRIMARY KEY, v CHAR(200) NOT NULL, w INT NOT NULL)",
            f"INSERT INTO a_big SELECT seq, REPEAT(CHAR(65 + seq % 26), 200), seq "
            f"FROM seq_1_to_{ROWS}",
            "CREATE TABLE z_log (a INT, b INT, w INT NOT NULL)",  # keyless, dumped last
            "INSERT INTO z_log SELECT seq, seq, seq FROM seq_1_to_10"):
        upstream.execute(
            f"USE {name}",
            f"UPDATE a_big SET id = -5 WHERE id = {ROWS}",  # from the last chunk into chunk 0
            "DELETE FROM a_big WHERE id = 3",
            "INSERT INTO z_log VALUES (99, 99, 99)",
            f"ALTER TABLE {changed} {change}",
            f"UPDATE a_big SET v = 'after' WHERE id IN (4, {ROWS - 1})",
            "DELETE FROM z_log WHERE a = 2")
        if "ADD" in change and not keyless:
            upstream.execute(f"USE {name}", f"INSERT INTO a_big (id, v, w, c) VALUES "
                             f"({ROWS + 1}, 'x', 1, 99), (-7, 'y', 2, 98)")
        cluster.start_worker("worker1")
        if refused:
            answer = wait_stage(cluster, name, "Paused", timeout=300)
            error = answer["sources"][0]["subTaskStatus"][0]["result"]["errors"][0]
            assert (error["ErrCode"], refused in error["Message"]) == (32007, True), error
            assert f"`{name}`.`{changed}`" in error["Message"]
            assert "start-task --remove-meta" in error["Workaround"]
        elif mode == "full":
            wait_stage(cluster, name, "Finished", timeout=300)
            wait_equal(upstream, downstream, name, ("a_big", "z_log"), timeout=1)
        else:
            wait_stage(cluster, name, "Running", timeout=300)
            wait_equal(upstream, downstream, name, ("a_big", "z_log"), timeout=120)


@pytest.mark.parametrize("mode", ["full", "all"])
def test_a_table_dropped_while_its_dump_is_interrupted(
        cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB, tmp_path: Path,
        mode: str) -> None:
    """A table with chunks still to dump is dropped (and a keyless one, not dumped yet, is
    written and dropped) while the dump is interrupted: the resumed dump goes on without
    them (it ended in 32006 at every resume: the dropped table failed each snapshot), and
    the binlog replay from the first snapshot drops them downstream too."""
    name = f"resdrop_{mode}"
    with _killed_midway(cluster, upstream, downstream, tmp_path, name, mode,
                        "CREATE TABLE a_big (id INT PRIMARY KEY, v CHAR(200) NOT NULL)",
                        f"INSERT INTO a_big SELECT seq, REPEAT(CHAR(65 + seq % 26), 200) "
                        f"FROM seq_1_to_{ROWS}",
                        "CREATE TABLE y_keep (id INT PRIMARY KEY, v INT)",
                        "INSERT INTO y_keep SELECT seq, seq FROM seq_1_to_10",
                        "CREATE TABLE z_log (a INT, b INT)",  # keyless, dumped last
                        "INSERT INTO z_log SELECT seq, seq FROM seq_1_to_10"):
        upstream.execute(f"USE {name}", "UPDATE a_big SET v = 'gone' WHERE id < 10",
                         "INSERT INTO z_log VALUES (99, 99)", "DROP TABLE a_big",
                         "DROP TABLE z_log", "UPDATE y_keep SET v = -v WHERE id = 10")
        cluster.start_worker("worker1")
        if mode == "full":
            wait_stage(cluster, name, "Finished", timeout=300)
        else:
            wait_stage(cluster, name, "Running", unit="Sync", timeout=300)
            # the resumed dump may already hold y_keep's last value: a change written now
            # reaches downstream only after the replay of the drops before it
            upstream.execute(f"UPDATE {name}.y_keep SET v = 0 WHERE id = 1")
        wait_equal(upstream, downstream, name, ("y_keep",), timeout=120)
        left = fetch(downstream, f"SELECT table_name FROM information_schema.tables "
                                 f"WHERE table_schema = '{name}'")
        assert [r[0] for r in left] == ["y_keep"]

"""`column-mappings` as DM 2.x applies them: shards with the same ids merge into one table
without overwriting each other (`partition id`), strings get a prefix, in the load and in
sync; a value a rule cannot map pauses the task with its code instead of landing unmapped."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pymysql
import pytest

from dm.sandbox import DMProcesses, MariaDB, table_rows
from tests.integration.conftest import removed_afterwards, source_yaml, wait_stage

pytestmark = pytest.mark.integration

TASK = """\
name: {name}
task-mode: {mode}
target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
mysql-instances:
  - source-id: {name}-src
    block-allow-list: only
    route-rules: [shards, dbs]
    column-mapping-rules: [pid, prefixed]
    syncer: {{checkpoint-flush-interval: 1}}
block-allow-list:
  only: {{do-dbs: ["~^{name}_[0-9]+$"]}}
routes:
  shards: {{schema-pattern: "{name}_*", table-pattern: "t_*", target-schema: {name}_all,
            target-table: t}}
  dbs: {{schema-pattern: "{name}_*", target-schema: {name}_all}}
column-mappings:
  pid: {{schema-pattern: "{name}_*", table-pattern: "t_*", target-column: id,
         expression: partition id, arguments: ["3", "{name}", "t", "_"]}}
  prefixed: {{schema-pattern: "{name}_*", table-pattern: names, target-column: name,
              expression: add prefix, arguments: ["up:"]}}
"""

SHARDS = ("1", "2")  # schemas <name>_1 and <name>_2, each with table t_1


def _partition_id(schema_number: int, table_number: int, origin: int) -> int:
    """What DM's `partition id` makes of an id, computed here independently: instance 3 in
    bits 59-62, the schema's number in bits 52-58, the table's in bits 44-51."""
    return (3 << 59) | (schema_number << 52) | (table_number << 44) | origin


def _expected(upstream: MariaDB, name: str) -> dict[str, list[tuple[Any, ...]]]:
    conn = upstream.connect()
    try:
        merged = sorted((_partition_id(int(shard), 1, row[0]), *row[1:])
                        for shard in SHARDS for row in table_rows(conn, f"{name}_{shard}", "t_1"))
        names = [(row[0], f"up:{row[1]}") for row in table_rows(conn, f"{name}_1", "names")]
    finally:
        conn.close()
    return {"t": merged, "names": names}


def _wait_mapped(upstream: MariaDB, downstream: MariaDB, name: str) -> None:
    expected = _expected(upstream, name)
    deadline = time.monotonic() + 60
    got: dict[str, list[tuple[Any, ...]]] = {}
    while True:
        conn = downstream.connect()
        try:  # Running also while the load goes on: the tables may not be there yet
            got = {t: sorted(tuple(r) for r in table_rows(conn, f"{name}_all", t))
                   for t in expected}
        except pymysql.err.MySQLError:
            pass
        finally:
            conn.close()
        if got == expected:
            return
        assert time.monotonic() < deadline, f"downstream {got} != mapped upstream {expected}"
        time.sleep(0.3)


def _prepare(cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB, tmp_path: Path,
             name: str, mode: str) -> Path:
    downstream.execute(f"DROP DATABASE IF EXISTS {name}_all")
    for shard in SHARDS:
        db = f"{name}_{shard}"
        upstream.execute(f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}", f"USE {db}",
                         f"CREATE TABLE {db}.t_1 (id BIGINT PRIMARY KEY, v VARCHAR(20))",
                         f"INSERT INTO {db}.t_1 SELECT seq, CONCAT('s{shard}-', seq) "
                         "FROM seq_1_to_40")  # the same ids in both shards
    upstream.execute(f"CREATE TABLE {name}_1.names (id INT PRIMARY KEY, name VARCHAR(20))",
                     f"INSERT INTO {name}_1.names VALUES (1, 'ann'), (2, 'bob')")
    assert cluster.dmctl("operate-source", "create", str(
        source_yaml(tmp_path / "s.yaml", f"{name}-src", upstream)))["result"]
    task = tmp_path / "task.yaml"
    task.write_text(TASK.format(name=name, mode=mode, port=downstream.port))
    return task


def test_shards_merge_without_collisions_in_load_and_sync(
        cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB, tmp_path: Path) -> None:
    name = "cmap"
    task = _prepare(cluster, upstream, downstream, tmp_path, name, "all")
    with removed_afterwards(cluster, name, f"{name}-src"):
        assert cluster.dmctl("start-task", str(task))["result"]
        wait_stage(cluster, name, "Running")
        _wait_mapped(upstream, downstream, name)  # the load mapped 80 rows into one table
        upstream.execute(
            f"INSERT INTO {name}_1.t_1 VALUES (100, 'new-1')",
            f"INSERT INTO {name}_2.t_1 VALUES (100, 'new-2')",
            f"UPDATE {name}_2.t_1 SET v = 'changed' WHERE id = 7",
            f"UPDATE {name}_1.t_1 SET id = 200 WHERE id = 8",  # the key itself moves
            f"DELETE FROM {name}_1.t_1 WHERE id = 9",
            f"INSERT INTO {name}_1.names VALUES (3, 'cy')",
            f"UPDATE {name}_1.names SET name = 'bo' WHERE id = 2")
        _wait_mapped(upstream, downstream, name)
        conn = downstream.connect()
        try:
            rows = dict(table_rows(conn, f"{name}_all", "t"))
        finally:
            conn.close()
        assert rows[_partition_id(2, 1, 9)] == "s2-9"  # the other shard's id 9 stays
        assert _partition_id(1, 1, 9) not in rows

        upstream.execute(f"INSERT INTO {name}_2.t_1 VALUES ({1 << 44}, 'too big')")
        status = wait_stage(cluster, name, "Paused")
        error = status["sources"][0]["subTaskStatus"][0]["result"]["errors"][0]
        assert error["ErrCode"] == 36033 and str(1 << 44) in error["Message"], error
        conn = downstream.connect()
        try:
            assert dict(table_rows(conn, f"{name}_all", "t")) == rows  # nothing unmapped landed
        finally:
            conn.close()


def test_a_value_the_load_cannot_map_pauses_the_task(
        cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB, tmp_path: Path) -> None:
    name = "cmapbad"
    task = _prepare(cluster, upstream, downstream, tmp_path, name, "full")
    upstream.execute(f"INSERT INTO {name}_1.names VALUES (9, NULL)")  # no prefix for NULL
    with removed_afterwards(cluster, name, f"{name}-src"):
        assert cluster.dmctl("start-task", str(task))["result"]
        status = wait_stage(cluster, name, "Paused")
        error = status["sources"][0]["subTaskStatus"][0]["result"]["errors"][0]
        assert error["ErrCode"] == 34004 and "prefixed" in error["Message"], error
        conn = downstream.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(f"SELECT COUNT(*) FROM {name}_all.names")
                assert cur.fetchone()[0] == 0  # the chunk rolled back whole
        finally:
            conn.close()

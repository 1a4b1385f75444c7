"""Shards merged into one table with DM 5.4+'s `extract-table`, `extract-schema` and
`extract-source` (routes): rows of different shards with the same id are different rows
downstream, each carrying the names it came from, through the dump, the load and the
binlog (inserts, updates, key updates, deletes). A merged table without the columns is
a coded error naming it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from dm.sandbox import DMProcesses, MariaDB, table_rows
from tests.integration.conftest import removed_afterwards, source_yaml, wait_stage, wait_until

pytestmark = pytest.mark.integration

SHARDS = (("mrgx_1", "t_1"), ("mrgx_1", "t_2"), ("mrgx_2", "t_1"))
SOURCE = "mrgx-src"
TASK = """\
name: {name}
task-mode: all
target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
mysql-instances:
  - source-id: mrgx-src
    block-allow-list: shards
    route-rules: [tables, schemas]
    syncer: {{checkpoint-flush-interval: 1}}
block-allow-list:
  shards: {{do-dbs: ["~^mrgx_[0-9]+$"]}}
routes:
  tables:
    schema-pattern: "mrgx_*"
    table-pattern: "t_*"
    target-schema: {target}
    target-table: t
    extract-table: {{table-regexp: "t_(.*)", target-column: c_table}}
    extract-schema: {{schema-regexp: "mrgx_(.*)", target-column: c_schema}}
    extract-source: {{source-regexp: "(.*)-src", target-column: c_source}}
  schemas:
    schema-pattern: "mrgx_*"
    target-schema: {target}
"""
MERGED = """CREATE TABLE {db}.t (id INT, v VARCHAR(20), c_table VARCHAR(10),
    c_schema VARCHAR(10), c_source VARCHAR(20), PRIMARY KEY (id, c_table, c_schema, c_source))"""


def _expected(upstream: MariaDB) -> list[tuple[object, ...]]:
    conn = upstream.connect()
    try:
        rows = [(*row, table[2:], schema[5:], "mrgx") for schema, table in SHARDS
                for row in table_rows(conn, schema, table)]
    finally:
        conn.close()
    return sorted(rows)


def _merged(downstream: MariaDB, db: str) -> list[tuple[object, ...]]:
    conn = downstream.connect()
    try:
        return sorted(table_rows(conn, db, "t"))
    finally:
        conn.close()


def _fresh(upstream: MariaDB, downstream: MariaDB, target: str, merged: str) -> None:
    for schema in sorted({s for s, _ in SHARDS}):
        upstream.execute(f"DROP DATABASE IF EXISTS {schema}", f"CREATE DATABASE {schema}")
    for schema, table in SHARDS:
        upstream.execute(f"CREATE TABLE {schema}.{table} (id INT PRIMARY KEY, v VARCHAR(20))",
                         f"INSERT INTO {schema}.{table} SELECT seq, 'first' "
                         f"FROM {schema}.seq_1_to_300")  # the same ids in every shard
    downstream.execute(f"DROP DATABASE IF EXISTS {target}", f"CREATE DATABASE {target}",
                       merged.format(db=target))


@contextmanager
def _merging(cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB, tmp_path: Path,
             target: str, merged: str) -> Iterator[None]:
    """Fresh shards and merged table `target`.t (made with `merged`), the task started."""
    _fresh(upstream, downstream, target, merged)
    task = tmp_path / "task.yaml"
    task.write_text(TASK.format(name=target, port=downstream.port, target=target))
    with removed_afterwards(cluster, target, SOURCE):
        assert cluster.dmctl("operate-source", "create",
                             str(source_yaml(tmp_path / "s.yaml", SOURCE, upstream)))["result"]
        assert cluster.dmctl("start-task", "--remove-meta", str(task))["result"]
        yield


def test_shards_merge_into_one_table_with_their_names_in_extra_columns(
        cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB, tmp_path: Path) -> None:
    with _merging(cluster, upstream, downstream, tmp_path, "mrgx", MERGED):
        wait_stage(cluster, "mrgx", "Running", unit="Sync")
        for n, (schema, table) in enumerate(SHARDS):
            upstream.execute(
                f"INSERT INTO {schema}.{table} VALUES (1000, 'new'), ({1001 + n}, 'only')",
                f"UPDATE {schema}.{table} SET v = 'changed' WHERE id <= {10 * (n + 1)}",
                f"UPDATE {schema}.{table} SET id = id + 5000 WHERE id BETWEEN 100 AND 104",
                f"DELETE FROM {schema}.{table} WHERE id BETWEEN {200 + n} AND 250")
        wait_until("the merged table equals the union of the shards",
                   lambda: _merged(downstream, "mrgx") == _expected(upstream),
                   shown=lambda: len(_merged(downstream, "mrgx")))
        status = cluster.dmctl("query-status", "mrgx")["sources"][0]["subTaskStatus"][0]
        assert status["stage"] == "Running" and status["result"] is None, status
    assert len(_expected(upstream)) == 3 * 300 + 3 * 2 - sum(51 - n for n in range(3))


def test_a_merged_table_without_the_extract_columns_is_a_coded_error(
        cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB, tmp_path: Path) -> None:
    with _merging(cluster, upstream, downstream, tmp_path, "mrgxbad",
                  "CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(20))"):
        paused = wait_stage(cluster, "mrgxbad", "Paused")
        error = paused["sources"][0]["subTaskStatus"][0]["result"]["errors"][0]
        assert error["ErrCode"] == 34090, error
        assert "`mrgxbad`.`t`" in error["Message"] and "c_table" in error["Message"], error
        time.sleep(1)
        assert _merged(downstream, "mrgxbad") == []

"""DM's many_tables scenario, scaled: a task-mode all over hundreds of small tables (2,000
with `PYDM_LONG=1`) of every shape the loader treats apart: keyed with a secondary index,
keyless, empty, and a few large enough to defer their indexes. It starts, dumps, loads and
syncs, and every table ends equal row by row. The catalog is read in whole-schema queries
and idle load connections create tables while the rest are planned (docs/performance.md)."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from dm.sandbox import DMProcesses, MariaDB
from tests.integration.conftest import source_yaml, wait_equal, wait_stage

pytestmark = pytest.mark.integration

DB = "manytables"
COUNT = 2000 if os.environ.get("PYDM_LONG") else 300
TASK = """\
name: manytables
task-mode: all
target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
mysql-instances:
  - source-id: many-src
    block-allow-list: only
    mydumper: {{threads: 2, rows: 1000}}
    loader-thread: 2
block-allow-list:
  only: {{do-dbs: [manytables]}}
"""


def _table(i: int) -> list[str]:
    """Table i: keyed with an index (most), keyless, empty, or 2,500 rows in 3 chunks."""
    name = f"{DB}.t{i:04d}"
    if i % 10 == 3:
        return [f"CREATE TABLE {name} (a INT, b VARCHAR(20), KEY (a))",
                f"INSERT INTO {name} SELECT seq % 3, 'x' FROM seq_1_to_{i % 17 + 1}"]
    create = f"CREATE TABLE {name} (id INT PRIMARY KEY, k INT, c VARCHAR(40), KEY (k))"
    if i % 10 == 7:
        return [create]
    rows = 2500 if i % 100 == 11 else i % 23 + 1
    return [create, f"INSERT INTO {name} SELECT seq, seq % 7, MD5(seq) FROM seq_1_to_{rows}"]


def test_a_task_over_many_small_tables_migrates_every_one(
        cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB, tmp_path: Path) -> None:
    for server in (upstream, downstream):
        server.execute(f"DROP DATABASE IF EXISTS {DB}", "DROP DATABASE IF EXISTS dm_meta")
    upstream.execute(f"CREATE DATABASE {DB}", f"USE {DB}",
                     *(sql for i in range(COUNT) for sql in _table(i)))
    tables = tuple(f"t{i:04d}" for i in range(COUNT))
    assert cluster.dmctl("operate-source", "create", str(
        source_yaml(tmp_path / "s.yaml", "many-src", upstream)))["result"]
    task = tmp_path / "task.yaml"
    task.write_text(TASK.format(port=downstream.port))
    try:
        assert cluster.dmctl("start-task", str(task))["result"]
        wait_stage(cluster, DB, "Running", timeout=600)
        rnd = random.Random(3)
        changed = rnd.sample(range(COUNT), 40)
        upstream.execute(*(f"INSERT INTO {DB}.t{i:04d} VALUES (100000, 1, 'synced')"
                           if i % 10 != 3 else f"DELETE FROM {DB}.t{i:04d} LIMIT 1"
                           for i in changed))
        wait_equal(upstream, downstream, DB, tables, timeout=300)
        down = downstream.connect()
        with down.cursor() as cur:  # small tables keep their index, large ones get it later
            cur.execute("SELECT COUNT(DISTINCT TABLE_NAME) FROM information_schema.STATISTICS "
                        "WHERE TABLE_SCHEMA = %s AND INDEX_NAME IN ('k', 'a')", (DB,))
            assert cur.fetchone()[0] == COUNT
        down.close()
    finally:
        cluster.dmctl("stop-task", DB)
        cluster.dmctl("operate-source", "stop", "many-src")

"""`mydumpers.where` and the dumpling flags DM passes through (`--where`, `-B`, `-T`,
`--consistency lock`) shape what a full task dumps, as they do under DM."""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest

from dm.sandbox import DMProcesses, MariaDB
from tests.integration.conftest import removed_afterwards, source_yaml, wait_stage

pytestmark = pytest.mark.integration

TASK = """\
name: {name}
task-mode: full
target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
mysql-instances:
  - source-id: {name}-src
    block-allow-list: only
    mydumper: {{where: "id % 3 = 0", extra-args: "{args}"}}
block-allow-list:
  only: {{do-dbs: [{name}, {name}_other]}}
"""


def _rows(server: MariaDB, sql: str) -> list[tuple[object, ...]] | None:
    conn = server.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall())
    except Exception:  # noqa: BLE001 - a table not dumped is not there
        return None
    finally:
        conn.close()


@pytest.mark.parametrize(("args", "dumped"), [
    ("", {"a", "b", "other.c"}),  # the where key alone
    ("--where=id%2=0 --consistency lock", {"a", "b", "other.c"}),  # --where wins over where
    ("-B {name}", {"a", "b"}),  # -B narrows the block-allow list
    ("-T {name}.a,{name}_other.c", {"a", "other.c"}),  # -T replaces it
])
def test_the_dump_takes_the_rows_and_tables_the_task_selects(
        cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB, tmp_path: Path,
        args: str, dumped: set[str]) -> None:
    name = f"dumpf{zlib.crc32(args.encode()) % 10000}"
    tables = {"a": f"{name}.a", "b": f"{name}.b", "other.c": f"{name}_other.c"}
    for server in (upstream, downstream):
        server.execute(f"DROP DATABASE IF EXISTS {name}", f"DROP DATABASE IF EXISTS {name}_other")
    upstream.execute(f"CREATE DATABASE {name}", f"CREATE DATABASE {name}_other", f"USE {name}",
                     *(f"CREATE TABLE {t} (id INT PRIMARY KEY, v VARCHAR(10)) ENGINE="
                       f"{'MyISAM' if t.endswith('.b') else 'InnoDB'}" for t in tables.values()),
                     *(f"INSERT INTO {t} SELECT seq, CONCAT('v', seq) FROM seq_1_to_30"
                       for t in tables.values()))
    assert cluster.dmctl("operate-source", "create", str(
        source_yaml(tmp_path / "s.yaml", f"{name}-src", upstream)))["result"]
    with removed_afterwards(cluster, name, f"{name}-src"):
        (tmp_path / "t.yaml").write_text(TASK.format(name=name, port=downstream.port,
                                                     args=args.format(name=name)))
        assert cluster.dmctl("start-task", str(tmp_path / "t.yaml"))["result"]
        wait_stage(cluster, name, "Finished")
    where = "id % 2 = 0" if "--where" in args else "id % 3 = 0"
    for key, table in tables.items():
        down = _rows(downstream, f"SELECT * FROM {table} ORDER BY id")
        if key in dumped:
            assert down == _rows(upstream, f"SELECT * FROM {table} WHERE {where} ORDER BY id")
            assert down
        else:
            assert down is None, table

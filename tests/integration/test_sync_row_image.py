"""A row image without every column (review finding 10: a session's binlog_row_image
MINIMAL or NOBLOB) pauses the task with a coded error naming the table, the columns and
the binlog position; the missing columns are never written as the text 'ABSENT'."""

from __future__ import annotations

from pathlib import Path

import pytest

from dm.sandbox import DMProcesses, MariaDB, table_rows
from tests.integration.conftest import binlog_end, removed_afterwards, source_yaml, wait_stage

pytestmark = pytest.mark.integration

TASK = """\
name: rowimage
task-mode: incremental
target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
mysql-instances:
  - source-id: rowimage-src
    block-allow-list: only
    meta: {{binlog-name: "{name}", binlog-pos: {pos}}}
block-allow-list:
  only: {{do-dbs: [rowimage]}}
"""


@pytest.mark.parametrize("image", ["MINIMAL", "NOBLOB"])
def test_an_incomplete_row_image_pauses_with_a_coded_error(
        cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB, tmp_path: Path,
        image: str) -> None:
    table = "CREATE TABLE rowimage.t (id INT PRIMARY KEY, a VARCHAR(10), n INT, b TEXT)"
    for server in (upstream, downstream):
        server.execute("DROP DATABASE IF EXISTS rowimage", "CREATE DATABASE rowimage", table,
                       "INSERT INTO rowimage.t VALUES (1, 'keep', 7, 'blob')")
    downstream.execute("DROP DATABASE IF EXISTS dm_meta")
    name, pos = binlog_end(upstream)
    conn = upstream.connect()
    with conn.cursor() as cur:
        cur.execute(f"SET SESSION binlog_row_image = '{image}'")
        cur.execute("UPDATE rowimage.t SET n = 8 WHERE id = 1")
    conn.close()
    assert cluster.dmctl("operate-source", "create", str(
        source_yaml(tmp_path / "s.yaml", "rowimage-src", upstream)))["result"]
    with removed_afterwards(cluster, "rowimage", "rowimage-src"):
        (tmp_path / "t.yaml").write_text(TASK.format(port=downstream.port, name=name, pos=pos))
        assert cluster.dmctl("start-task", str(tmp_path / "t.yaml"))["result"]
        answer = wait_stage(cluster, "rowimage", "Paused", timeout=60)
        error = answer["sources"][0]["subTaskStatus"][0]["result"]["errors"][0]
        assert error["ErrCode"] == 36104, error
        assert "`rowimage`.`t`" in error["Message"] and f"{name}:" in error["Message"], error
        missing = "id, a, n, b" if image == "MINIMAL" else "b"  # either image lacks them
        assert f"lacks column(s) {missing}" in error["Message"], error
        assert table_rows(downstream.connect(), "rowimage", "t") == [(1, "keep", 7, "blob")]

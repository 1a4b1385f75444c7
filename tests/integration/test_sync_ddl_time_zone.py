"""A DDL runs downstream under its own event's time zone (review finding 11): a TIMESTAMP
default written as a literal means the same instant on both sides, for the rows that
existed before the DDL too."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from dm.sandbox import DMProcesses, MariaDB
from tests.integration.conftest import binlog_end, removed_afterwards, source_yaml, wait_stage

pytestmark = pytest.mark.integration

TASK = """\
name: ddltz
task-mode: incremental
target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
mysql-instances:
  - source-id: ddltz-src
    block-allow-list: only
    meta: {{binlog-name: "{name}", binlog-pos: {pos}}}
block-allow-list:
  only: {{do-dbs: [ddltz]}}
"""


def _instants(server: MariaDB) -> list[tuple[int, int, int]]:
    conn = server.connect()
    with conn.cursor() as cur:
        cur.execute("SELECT id, UNIX_TIMESTAMP(ts), UNIX_TIMESTAMP(ts2) FROM ddltz.t ORDER BY id")
        rows = [tuple(int(v) for v in r) for r in cur.fetchall()]
    conn.close()
    return rows  # type: ignore[return-value]


@pytest.mark.parametrize("zone", ["+08:00", "-05:30"])
def test_ddl_defaults_mean_the_same_instant(cluster: DMProcesses, upstream: MariaDB,
                                             downstream: MariaDB, tmp_path: Path,
                                             zone: str) -> None:
    for server in (upstream, downstream):
        server.execute("DROP DATABASE IF EXISTS ddltz", "CREATE DATABASE ddltz",
                       "CREATE TABLE ddltz.t (id INT PRIMARY KEY)",
                       "INSERT INTO ddltz.t VALUES (1), (2)")
    downstream.execute("DROP DATABASE IF EXISTS dm_meta")
    name, pos = binlog_end(upstream)
    conn = upstream.connect()
    with conn.cursor() as cur:
        cur.execute(f"SET SESSION time_zone = '{zone}'")
        cur.execute("ALTER TABLE ddltz.t ADD COLUMN ts TIMESTAMP NOT NULL "
                    "DEFAULT '2024-01-01 00:00:00'")
        cur.execute("SET SESSION time_zone = '+00:00'")
        cur.execute("ALTER TABLE ddltz.t ADD COLUMN ts2 TIMESTAMP NOT NULL "
                    "DEFAULT '2024-06-01 12:00:00'")
        cur.execute("INSERT INTO ddltz.t (id) VALUES (3)")
    conn.close()
    assert cluster.dmctl("operate-source", "create", str(
        source_yaml(tmp_path / "s.yaml", "ddltz-src", upstream)))["result"]
    with removed_afterwards(cluster, "ddltz", "ddltz-src"):
        (tmp_path / "t.yaml").write_text(TASK.format(port=downstream.port, name=name, pos=pos))
        assert cluster.dmctl("start-task", str(tmp_path / "t.yaml"))["result"]
        wait_stage(cluster, "ddltz", "Running")
        expected = _instants(upstream)
        deadline = time.monotonic() + 60
        while True:
            try:
                got = _instants(downstream)
            except Exception:  # noqa: BLE001 - the columns may not be there yet
                got = []
            if got == expected:
                break
            assert time.monotonic() < deadline, (expected, got)
            time.sleep(0.3)

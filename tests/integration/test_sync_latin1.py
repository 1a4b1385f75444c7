"""An upstream whose server default charset is latin1 (MariaDB 10.11's own default, and
MySQL 5.7's: the usual legacy source) replicates byte for byte, tables and databases
created during sync included (review finding 6)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest

from dm.sandbox import DMProcesses, MariaDB
from tests.integration.conftest import source_yaml, wait_stage

pytestmark = pytest.mark.integration

TASK = """\
name: legacy
task-mode: all
target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
mysql-instances:
  - source-id: legacy-src
    block-allow-list: only
block-allow-list:
  only: {{do-dbs: ["~^legacy"]}}
"""
# (table, its CREATE TABLE): some made before the dump, the others during sync
BEFORE = {"legacy.dumped": "CREATE TABLE legacy.dumped (id INT PRIMARY KEY, body VARCHAR(50))"}
DURING = {
    "legacy.during": "CREATE TABLE legacy.during (id INT PRIMARY KEY, body VARCHAR(50))",
    "legacy_new.notes": "CREATE TABLE legacy_new.notes (id INT PRIMARY KEY, body TEXT)",
    "legacy_utf8.notes": "CREATE TABLE legacy_utf8.notes (id INT PRIMARY KEY, body TEXT)",
}
VALUES = [b"caf\xe9", b"caf\xc3\xa9", b"na\xefve \xa9 \xff"]  # latin1, double-encoded, high


@pytest.fixture(scope="module")
def latin1_upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDB]:
    server = MariaDB(tmp_path_factory.mktemp("latin1"), server_id=11, server_charset=True)
    server.start(tmp_path_factory.getbasetemp() / "cache")
    try:
        yield server
    finally:
        server.stop()


def _insert(server: MariaDB, table: str) -> None:
    conn = server.connect()
    conn.set_character_set("latin1")
    with conn.cursor() as cur:
        for i, value in enumerate(VALUES, 1):
            cur.execute(f"INSERT INTO {table} VALUES (%s, _latin1 %s)", (i, value))
    conn.close()


def _hex(server: MariaDB, table: str) -> list[tuple[int, str, str]]:
    conn = server.connect()
    with conn.cursor() as cur:
        cur.execute(f"SELECT id, HEX(body), CHARSET(body) FROM {table} ORDER BY id")
        rows = list(cur.fetchall())
    conn.close()
    return rows


def test_latin1_upstream_replicates_byte_for_byte(cluster: DMProcesses,
                                                  latin1_upstream: MariaDB,
                                                  downstream: MariaDB, tmp_path: Path) -> None:
    up = latin1_upstream
    for db in ("legacy", "legacy_new", "legacy_utf8"):
        for server in (up, downstream):
            server.execute(f"DROP DATABASE IF EXISTS {db}")
    up.execute("CREATE DATABASE legacy", *BEFORE.values())  # latin1 by the server's default
    _insert(up, "legacy.dumped")
    assert cluster.dmctl("operate-source", "create", str(
        source_yaml(tmp_path / "s.yaml", "legacy-src", up)))["result"]
    try:
        (tmp_path / "t.yaml").write_text(TASK.format(port=downstream.port))
        assert cluster.dmctl("start-task", str(tmp_path / "t.yaml"))["result"]
        wait_stage(cluster, "legacy", "Running")
        up.execute("CREATE DATABASE legacy_new",
                   "CREATE DATABASE legacy_utf8 CHARACTER SET utf8mb4", *DURING.values())
        for table in DURING:
            _insert(up, table)
        for table in [*BEFORE, *DURING]:
            expected = _hex(up, table)
            deadline = time.monotonic() + 60
            while True:
                try:
                    got = _hex(downstream, table)
                except pymysql.err.MySQLError:
                    got = []
                if got == expected:
                    break
                status = cluster.dmctl("query-status", "legacy")
                assert time.monotonic() < deadline, (table, expected, got, status)
                time.sleep(0.3)
    finally:
        cluster.dmctl("stop-task", "legacy", check=False)
        cluster.dmctl("operate-source", "stop", "legacy-src", check=False)

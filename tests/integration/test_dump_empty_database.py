"""A database the task takes but that holds no table yet at dump time is still created
downstream (as DM's dump writes its `-schema-create.sql`), so tables created in it during
sync replicate."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from dm.core.schemas import Selection
from dm.db import Endpoint
from dm.dump.dumper import Dumper, DumpSettings
from dm.dump.files import DumpedTable
from dm.dump.plan import database_file
from dm.sandbox import DMProcesses, MariaDB
from tests.integration.conftest import removed_afterwards, source_yaml, wait_equal, wait_stage

pytestmark = pytest.mark.integration

TASK = """\
name: emptydb
task-mode: all
target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
mysql-instances:
  - source-id: emptydb-src
    block-allow-list: only
block-allow-list:
  only: {{do-dbs: [emptydb]}}
"""


def test_an_empty_database_is_created_and_its_new_tables_replicate(
        cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB, tmp_path: Path) -> None:
    for server in (upstream, downstream):
        server.execute("DROP DATABASE IF EXISTS emptydb")
    upstream.execute("CREATE DATABASE emptydb CHARACTER SET latin1")
    assert cluster.dmctl("operate-source", "create", str(
        source_yaml(tmp_path / "s.yaml", "emptydb-src", upstream)))["result"]
    (tmp_path / "t.yaml").write_text(TASK.format(port=downstream.port))
    with removed_afterwards(cluster, "emptydb", "emptydb-src"):
        assert cluster.dmctl("start-task", str(tmp_path / "t.yaml"))["result"]
        wait_stage(cluster, "emptydb", "Running", unit="Sync")
        conn = downstream.connect()
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA "
                            "WHERE SCHEMA_NAME = 'emptydb'")
                assert cur.fetchone() == ("latin1",)  # created by the load, as upstream
        finally:
            conn.close()
        upstream.execute("CREATE TABLE emptydb.t (id INT PRIMARY KEY, v VARCHAR(10))",
                         "INSERT INTO emptydb.t VALUES (1, 'a'), (2, 'b')")
        wait_equal(upstream, downstream, "emptydb", ("t",))


def test_the_loader_hears_of_a_table_only_after_its_database_file_is_written(
        upstream: MariaDB, tmp_path: Path) -> None:
    """The load creates a table's database from the dump's CREATE DATABASE file as soon as
    it hears of the table: a file written later left the database in the downstream's
    default charset, and latin1 tables created in it during sync took utf8mb4."""
    upstream.execute("DROP DATABASE IF EXISTS dumporder",
                     "CREATE DATABASE dumporder CHARACTER SET latin1",
                     "CREATE TABLE dumporder.t (id INT PRIMARY KEY)")
    seen: list[tuple[str, str]] = []

    def on_plan(tables: list[DumpedTable], databases: list[str]) -> None:
        for table in tables:
            path = tmp_path / database_file(table.schema)
            seen.append((table.schema, path.read_text() if path.exists() else "(no file)"))

    def allows(schema: str, table: str = "") -> bool:
        return schema == "dumporder"

    Dumper(Endpoint("127.0.0.1", upstream.port, "root", ""), DumpSettings(threads=1),
           tmp_path, Selection(allows, allows), lambda _: False, on_plan,
           lambda *_: None, threading.Event()).run()
    assert len(seen) == 1 and seen[0][0] == "dumporder", seen
    assert "DEFAULT CHARACTER SET latin1" in seen[0][1], seen

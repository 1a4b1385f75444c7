"""DM's split task modes: `dump` writes files and metadata to loader.dir and nothing
downstream; `load` loads a directory (pydm's own dump, or mydumper's); `load&sync` loads it
and then syncs from its metadata. Every test ends with a row-level comparison."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from dm.binlog.location import parse_dump_metadata
from dm.sandbox import DMProcesses, MariaDB
from tests.integration.conftest import (
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
  - source-id: {source}
    block-allow-list: only
    loader: {{dir: "{dir}", on-duplicate: {on_duplicate}}}
    syncer: {{checkpoint-flush-interval: 1}}
{meta}block-allow-list:
  only: {{do-dbs: [{db}]}}
"""
TABLES = ("t", "k", "l", "e")


def _schema(upstream: MariaDB, downstream: MariaDB, db: str) -> None:
    """A keyed table with awkward bytes, a keyless one with duplicate rows, a latin1 one,
    an empty one."""
    for server in (upstream, downstream):
        server.execute(f"DROP DATABASE IF EXISTS {db}")
    upstream.execute(
        f"CREATE DATABASE {db}",
        f"CREATE TABLE {db}.t (id INT PRIMARY KEY, s VARCHAR(20), b BLOB, "
        "ts TIMESTAMP NULL, KEY (s))",
        f"INSERT INTO {db}.t VALUES (1, 'a;\\nb', X'00FF0A0D275C', '2020-01-01 00:00:00'),"
        " (2, NULL, NULL, NULL), (3, 'it''s \"q\"', 'x\\\\y\\ty', '2038-01-19 03:14:07'),"
        " (4, '日本語', X'', '1999-12-31 23:59:59')",
        f"CREATE TABLE {db}.k (a INT, b TEXT)",
        f"INSERT INTO {db}.k VALUES (1, 'x'), (1, 'x'), (NULL, NULL)",
        f"CREATE TABLE {db}.l (id INT PRIMARY KEY, v VARCHAR(10)) CHARACTER SET latin1",
        f"INSERT INTO {db}.l VALUES (1, 'caf\\xe9'), (2, X'E9E8')",
        f"CREATE TABLE {db}.e (id INT PRIMARY KEY, v INT, KEY (v))")  # empty: no data file


def _write_more(upstream: MariaDB, db: str) -> None:
    upstream.execute(f"INSERT INTO {db}.t VALUES (10, 'new', X'01', NOW())",
                     f"UPDATE {db}.t SET s = 'changed' WHERE id = 2",
                     f"DELETE FROM {db}.t WHERE id = 3",
                     f"INSERT INTO {db}.k VALUES (2, 'y')",
                     f"UPDATE {db}.l SET v = 'd\\xe9j\\xe0' WHERE id = 1")


def _start(cluster: DMProcesses, tmp_path: Path, **fields: Any) -> None:
    fields.setdefault("on_duplicate", "replace")
    fields.setdefault("meta", "")
    path = tmp_path / f"{fields['name']}.yaml"
    path.write_text(TASK.format(**fields))
    assert cluster.dmctl("start-task", str(path))["result"]


def _databases(server: MariaDB) -> set[str]:
    conn = server.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW DATABASES")
            return {str(r[0]) for r in cur.fetchall()}
    finally:
        conn.close()


def test_a_dump_task_then_a_load_task_then_incremental_from_its_metadata(
        cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB, tmp_path: Path) -> None:
    db, source, dump = "split_pydm", "split-pydm-src", tmp_path / "dump"
    _schema(upstream, downstream, db)
    assert cluster.dmctl("operate-source", "create", str(
        source_yaml(tmp_path / "s.yaml", source, upstream)))["result"]
    common = {"port": downstream.port, "source": source, "dir": dump, "db": db}
    with removed_afterwards(cluster, "split_incr", source):
        _start(cluster, tmp_path, name="split_dump", mode="dump", **common)
        status = wait_stage(cluster, "split_dump", "Finished")
        assert status["sources"][0]["subTaskStatus"][0]["unit"] == "Dump"
        cluster.dmctl("stop-task", "split_dump")
        assert db not in _databases(downstream)  # a dump task writes nothing downstream
        assert (dump / "metadata").exists() and list(dump.glob("*.tsv"))
        meta = parse_dump_metadata((dump / "metadata").read_text(), "metadata").location
        _write_more(upstream, db)  # after the dump: only the incremental task brings these

        _start(cluster, tmp_path, name="split_load", mode="load", **common)
        wait_stage(cluster, "split_load", "Finished")
        cluster.dmctl("stop-task", "split_load")
        assert not list(dump.glob("*.tsv"))  # clean-dump-file, as DM: data files go
        assert (dump / "metadata").exists()  # metadata and schema files stay
        down = downstream.connect()
        try:
            with down.cursor() as cur:
                cur.execute(f"SELECT s FROM {db}.t WHERE id = 2")
                assert cur.fetchone() == (None,)  # the dump's row, not the later update
        finally:
            down.close()

        # the incremental task starts where the dump's metadata says
        meta_yaml = f"    meta: {{binlog-name: {meta.file}, binlog-pos: {meta.pos}}}\n"
        _start(cluster, tmp_path, name="split_incr", mode="incremental", meta=meta_yaml,
               **common)
        wait_equal(upstream, downstream, db, TABLES)
        upstream.execute(f"INSERT INTO {db}.t VALUES (11, 'later', NULL, NULL)")
        wait_equal(upstream, downstream, db, TABLES)


def _mydumper(upstream: MariaDB, db: str, out: Path) -> None:
    subprocess.run(["mydumper", "-h", "127.0.0.1", "-P", str(upstream.port), "-u", "root",
                    "-B", db, "-o", str(out), "-r", "2"], check=True, capture_output=True)


def test_a_load_and_sync_task_loads_a_mydumper_dump_then_syncs_from_its_metadata(
        cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB, tmp_path: Path) -> None:
    db, source, dump = "split_myd", "split-myd-src", tmp_path / "mydumper"
    _schema(upstream, downstream, db)
    _mydumper(upstream, db, dump)
    assert len(list(dump.glob(f"{db}.t.*.sql"))) > 1  # chunked: several files per table
    _write_more(upstream, db)
    assert cluster.dmctl("operate-source", "create", str(
        source_yaml(tmp_path / "s.yaml", source, upstream)))["result"]
    with removed_afterwards(cluster, "split_ls", source):
        _start(cluster, tmp_path, name="split_ls", mode="load&sync", port=downstream.port,
               source=source, dir=dump, db=db)
        wait_equal(upstream, downstream, db, TABLES)
        status = wait_stage(cluster, "split_ls", "Running")
        assert status["sources"][0]["subTaskStatus"][0]["unit"] == "Sync"
        upstream.execute(f"INSERT INTO {db}.t VALUES (12, 'synced', NULL, NULL)")
        wait_equal(upstream, downstream, db, TABLES)


@pytest.mark.parametrize("on_duplicate", ["ignore", "error"])
def test_on_duplicate_decides_what_a_row_already_downstream_does(
        cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB, tmp_path: Path,
        on_duplicate: str) -> None:
    db, source, dump = f"split_dup_{on_duplicate}", f"split-dup-{on_duplicate}", \
        tmp_path / "mydumper"
    _schema(upstream, downstream, db)
    _mydumper(upstream, db, dump)
    downstream.execute(f"CREATE DATABASE {db}", f"CREATE TABLE {db}.t (id INT PRIMARY KEY, "
                       "s VARCHAR(20), b BLOB, ts TIMESTAMP NULL, KEY (s))",
                       f"INSERT INTO {db}.t (id, s) VALUES (1, 'downstream')")
    assert cluster.dmctl("operate-source", "create", str(
        source_yaml(tmp_path / "s.yaml", source, upstream)))["result"]
    name = f"split_dup_{on_duplicate}"
    with removed_afterwards(cluster, name, source):
        _start(cluster, tmp_path, name=name, mode="load", port=downstream.port, source=source,
               dir=dump, db=db, on_duplicate=on_duplicate)
        if on_duplicate == "error":
            status = wait_stage(cluster, name, "Paused")
            error = status["sources"][0]["subTaskStatus"][0]["result"]["errors"][0]
            assert error["ErrCode"] == 34002 and "Duplicate entry" in error["RawCause"], error
            return
        wait_stage(cluster, name, "Finished")
    conn = downstream.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT id, s FROM {db}.t ORDER BY id")
            rows = cur.fetchall()
    finally:
        conn.close()
    assert rows[0] == (1, "downstream") and [r[0] for r in rows] == [1, 2, 3, 4]


def test_kill_9_inside_a_sql_file_resumes_after_its_last_commit(
        cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB, tmp_path: Path) -> None:
    """One mydumper file of ~40 MiB is loaded in several transactions; a kill -9 between
    two of them resumes after the last one. With on-duplicate error, a replayed row would
    pause the load: it finishing proves nothing is loaded twice."""
    db, source, dump = "split_kill", "split-kill-src", tmp_path / "mydumper"
    for server in (upstream, downstream):
        server.execute(f"DROP DATABASE IF EXISTS {db}")
    upstream.execute(f"CREATE DATABASE {db}", f"USE {db}",
                     f"CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(200))",
                     f"INSERT INTO {db}.t SELECT seq, REPEAT(MD5(seq), 6) FROM "
                     "seq_1_to_200000")
    subprocess.run(["mydumper", "-h", "127.0.0.1", "-P", str(upstream.port), "-u", "root",
                    "-B", db, "-o", str(dump)], check=True, capture_output=True)
    assert (dump / f"{db}.t.sql").stat().st_size > 32 << 20
    assert cluster.dmctl("operate-source", "create", str(
        source_yaml(tmp_path / "s.yaml", source, upstream)))["result"]
    with removed_afterwards(cluster, "split_kill", source):
        _start(cluster, tmp_path, name="split_kill", mode="load", port=downstream.port,
               source=source, dir=dump, db=db, on_duplicate="error")
        conn = downstream.connect()
        try:
            with conn.cursor() as cur:
                for _ in range(2000):
                    try:
                        cur.execute("SELECT `offset`, end_pos FROM dm_meta."
                                    "split_kill_loader_checkpoint WHERE filename <> '+'")
                        row = cur.fetchone()
                    except Exception:  # noqa: BLE001 - the table is not there yet
                        row = None
                    conn.commit()
                    if row and 0 < row[0] < row[1]:
                        break
                    time.sleep(0.02)
                else:
                    raise AssertionError("the file was never part-loaded")
        finally:
            conn.close()
        cluster.kill_worker("worker1")
        cluster.start_worker("worker1")
        wait_stage(cluster, "split_kill", "Finished")
    wait_equal(upstream, downstream, db, ("t",))


DUMPLING_FILES = {  # dumpling's names and headers (no dumpling here: written as it writes)
    "{db}-schema-create.sql": "/*!40101 SET NAMES binary*/;\nCREATE DATABASE `{db}` "
                              "/*!40100 DEFAULT CHARACTER SET utf8mb4 */;\n",
    "{db}.t-schema.sql": "/*!40101 SET NAMES binary*/;\nCREATE TABLE `t` (\n  `id` int(11) "
                         "NOT NULL,\n  `s` varchar(20) DEFAULT NULL,\n  PRIMARY KEY (`id`)\n) "
                         "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n",
    "{db}.t.000000000.sql": "/*!40101 SET NAMES binary*/;\nINSERT INTO `t` VALUES\n"
                            "(1,'a;b'),\n(2,'it\\'s');\nINSERT INTO `t` VALUES\n(3,NULL);\n",
    "{db}.t.0000000010000.sql": "/*!40101 SET NAMES binary*/;\nINSERT INTO `t` VALUES\n"
                                "(10000,'x\\\\y\\nz'),\n(10001,'\xe6\x97\xa5');\n",
    "metadata": "Started dump at: 2026-12-03 10:00:00\nSHOW MASTER STATUS:\n\tLog: "
                "binlog.000001\n\tPos: 4\n\tGTID:\n\nFinished dump at: 2026-12-03 10:00:01\n",
}


def test_a_load_task_loads_a_dumpling_shaped_dump(
        cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB, tmp_path: Path) -> None:
    db, source, dump = "split_dumpling", "split-dumpling-src", tmp_path / "dumpling"
    dump.mkdir()
    for name, text in DUMPLING_FILES.items():
        (dump / name.format(db=db)).write_bytes(text.format(db=db).encode("latin1"))
    for server in (upstream, downstream):
        server.execute(f"DROP DATABASE IF EXISTS {db}")
    upstream.execute(f"CREATE DATABASE {db}")  # the same rows upstream, for comparison
    conn = upstream.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(f"USE {db}")
            for name in ("{db}.t-schema.sql", "{db}.t.000000000.sql",
                         "{db}.t.0000000010000.sql"):
                for statement in (dump / name.format(db=db)).read_bytes().split(b";\n"):
                    if statement.strip():
                        cur.execute(statement)
        conn.commit()
    finally:
        conn.close()
    assert cluster.dmctl("operate-source", "create", str(
        source_yaml(tmp_path / "s.yaml", source, upstream)))["result"]
    with removed_afterwards(cluster, "split_dumpling", source):
        _start(cluster, tmp_path, name="split_dumpling", mode="load", port=downstream.port,
               source=source, dir=dump, db=db)
        wait_stage(cluster, "split_dumpling", "Finished")
    wait_equal(upstream, downstream, db, ("t",))

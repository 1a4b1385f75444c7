"""task-mode incremental: from a binlog position, from a MariaDB GTID, across rotations,
and a purged binlog refused with a clear error."""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from dm.sandbox import DMProcesses, MariaDB, table_rows
from tests.integration.conftest import source_yaml, wait_stage

pytestmark = pytest.mark.integration

TASK = """\
name: {name}
task-mode: incremental
target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
mysql-instances:
  - source-id: {source}
    block-allow-list: only
    meta: {meta}
    syncer: {{worker-count: 2, checkpoint-flush-interval: 1}}
block-allow-list:
  only: {{do-dbs: [{db}]}}
"""


def _master(server: MariaDB) -> tuple[str, int, str]:
    conn = server.connect()
    with conn.cursor() as cur:
        cur.execute("SHOW MASTER STATUS")
        name, pos = cur.fetchone()[:2]
        cur.execute("SELECT @@gtid_binlog_pos")
        return str(name), int(pos), str(cur.fetchone()[0])


def _binlogs(server: MariaDB) -> list[str]:
    conn = server.connect()
    with conn.cursor() as cur:
        cur.execute("SHOW BINARY LOGS")
        return [str(r[0]) for r in cur.fetchall()]


def _wait_rows(up: MariaDB, down: MariaDB, db: str, table: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if table_rows(up.connect(), db, table) == table_rows(down.connect(), db, table):
                return
        except Exception:  # noqa: BLE001 - the table may not exist downstream yet
            pass
        time.sleep(0.3)
    raise AssertionError(f"{db}.{table} differs after {timeout}s")


def _etcd_reads(dm: DMProcesses) -> float:
    """The reads (Range calls) etcd has answered so far."""
    with urllib.request.urlopen(dm.etcd_url() + "/metrics") as resp:
        metrics = resp.read().decode()
    return next(float(line.split()[1]) for line in metrics.splitlines()
                if line.startswith("etcd_mvcc_range_total "))


def _start(dm: DMProcesses, tmp: Path, name: str, source: str, db: str, port: int,
           meta: str) -> dict[str, Any]:
    task = tmp / f"{name}.yaml"
    task.write_text(TASK.format(name=name, source=source, db=db, port=port, meta=meta))
    return dm.dmctl("start-task", str(task), check=False)


@pytest.mark.parametrize("by", ["position", "gtid"])
def test_incremental_from_a_position_across_rotations(cluster: DMProcesses, upstream: MariaDB,
                                                      downstream: MariaDB, tmp_path: Path,
                                                      by: str) -> None:
    db = f"inc_{by}"
    source = f"inc-{by}"
    src_file = source_yaml(tmp_path / "s.yaml", source, upstream,
                           **({"enable-gtid": "true"} if by == "gtid" else {}))
    assert cluster.dmctl("operate-source", "create", str(src_file))["result"]
    upstream.execute(f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}",
                     f"CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(20))",
                     f"INSERT INTO {db}.t VALUES (1, 'before start')")
    downstream.execute(f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}",
                       f"CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(20))",
                       f"INSERT INTO {db}.t VALUES (1, 'before start')",
                       "DROP DATABASE IF EXISTS dm_meta")
    name, pos, gtid = _master(upstream)
    meta = (f'{{binlog-name: "{name}", binlog-pos: {pos}}}' if by == "position"
            else f'{{binlog-name: "{name}", binlog-pos: {pos}, binlog-gtid: "{gtid}"}}')
    upstream.execute(f"INSERT INTO {db}.t VALUES (2, 'after start')",
                     "FLUSH BINARY LOGS",
                     f"UPDATE {db}.t SET v = 'rotated' WHERE id = 1",
                     "FLUSH BINARY LOGS",
                     f"DELETE FROM {db}.t WHERE id = 2",
                     f"INSERT INTO {db}.t VALUES (3, 'three')")
    assert _start(cluster, tmp_path, f"inc{by}", source, db, downstream.port, meta)["result"]
    _wait_rows(upstream, downstream, db, "t")
    upstream.execute(f"INSERT INTO {db}.t VALUES (4, 'live')", "FLUSH BINARY LOGS",
                     f"ALTER TABLE {db}.t ADD COLUMN w INT DEFAULT 7",
                     f"UPDATE {db}.t SET w = id")
    _wait_rows(upstream, downstream, db, "t")
    status = cluster.dmctl("query-status", f"inc{by}")["sources"][0]["subTaskStatus"][0]
    assert status["unit"] == "Sync" and status["stage"] == "Running"
    if by == "gtid":
        assert status["sync"]["syncerBinlogGtid"]
    else:  # at rest, the worker's and the master's passes read only etcd's revision
        # (5 reads a second; reading everything at every pass made 29)
        reads = _etcd_reads(cluster)
        time.sleep(3)
        assert _etcd_reads(cluster) - reads < 3 * 10
    assert cluster.dmctl("stop-task", f"inc{by}")["result"]
    assert cluster.dmctl("operate-source", "stop", source)["result"]


def test_purged_binlog_is_a_clear_error(cluster: DMProcesses, upstream: MariaDB,
                                        downstream: MariaDB, tmp_path: Path) -> None:
    src_file = source_yaml(tmp_path / "s.yaml", "inc-purged", upstream)
    assert cluster.dmctl("operate-source", "create", str(src_file))["result"]
    name, _, _ = _master(upstream)
    upstream.execute("FLUSH BINARY LOGS", "FLUSH BINARY LOGS")
    deadline = time.monotonic() + 30
    while name in _binlogs(upstream):  # MariaDB keeps a file until its binlog checkpoint
        assert time.monotonic() < deadline, f"{name} could not be purged"
        upstream.execute(f"PURGE BINARY LOGS TO '{_master(upstream)[0]}'")
        time.sleep(0.2)
    refused = _start(cluster, tmp_path, "incpurged", "inc-purged", "inc_purged",
                     downstream.port, f'{{binlog-name: "{name}", binlog-pos: 4}}')
    assert "code=26005" in refused["msg"] and "meta_position" in refused["msg"] and \
        f"meta binlog-name {name} is not among" in refused["msg"], refused  # the precheck
    task = tmp_path / "incpurged.yaml"  # past the precheck, sync itself says so
    task.write_text(task.read_text() + "ignore-checking-items: [meta_position]\n")
    assert cluster.dmctl("start-task", str(task))["result"]
    answer = wait_stage(cluster, "incpurged", "Paused", timeout=60)
    error = answer["sources"][0]["subTaskStatus"][0]["result"]["errors"][0]
    assert name in error["Message"] and error["ErrCode"] == 36101, error
    assert cluster.dmctl("stop-task", "incpurged")["result"]
    assert cluster.dmctl("operate-source", "stop", "inc-purged")["result"]


def test_a_failing_change_names_its_binlog_position_and_statement(
        cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB, tmp_path: Path) -> None:
    upstream.execute("DROP DATABASE IF EXISTS inc_fail", "CREATE DATABASE inc_fail",
                     "CREATE TABLE inc_fail.t (id INT PRIMARY KEY, v VARCHAR(20))")
    downstream.execute("DROP DATABASE IF EXISTS inc_fail", "CREATE DATABASE inc_fail",
                       "CREATE TABLE inc_fail.t (id INT PRIMARY KEY, v VARCHAR(20),"
                       " CONSTRAINT only_ok CHECK (v <> 'refused downstream'))")
    name, pos, _ = _master(upstream)
    src_file = source_yaml(tmp_path / "s.yaml", "inc-fail", upstream)
    assert cluster.dmctl("operate-source", "create", str(src_file))["result"]
    upstream.execute("INSERT INTO inc_fail.t VALUES (1, 'ok')",
                     "INSERT INTO inc_fail.t VALUES (2, 'refused downstream')")
    assert _start(cluster, tmp_path, "incfail", "inc-fail", "inc_fail", downstream.port,
                  f'{{binlog-name: "{name}", binlog-pos: {pos}}}')["result"]
    answer = wait_stage(cluster, "incfail", "Paused", timeout=60)
    error = answer["sources"][0]["subTaskStatus"][0]["result"]["errors"][0]
    assert error["ErrCode"] == 10006, error
    assert f"read from binlog {name}:" in error["Message"], error
    assert "REPLACE INTO `inc_fail`.`t`" in error["Message"], error  # safe mode at start
    assert "only_ok" in error["RawCause"], error
    assert cluster.dmctl("stop-task", "incfail")["result"]
    assert cluster.dmctl("operate-source", "stop", "inc-fail")["result"]

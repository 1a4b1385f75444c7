"""DM's precheck items `meta_position`, `conn_number`, `target_privilege` and `binlog_db`
run in check-task and start-task (they were accepted in ignore-checking-items and never
run), each against a server set up to trip it, and each passing once the cause is gone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dm.sandbox import DMProcesses, MariaDB
from tests.integration.conftest import binlog_end, own_server, source_yaml

pytestmark = pytest.mark.integration

TASK = """\
name: {name}
task-mode: {mode}
target-database: {{host: 127.0.0.1, port: {port}, user: {user}, password: "{password}"}}
mysql-instances:
  - source-id: {source}
    block-allow-list: only
    mydumper-thread: 12
    loader-thread: 16
{meta}block-allow-list:
  only: {{do-dbs: [{db}]}}
"""


@pytest.fixture(scope="module")
def source(cluster: DMProcesses, upstream: MariaDB,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    upstream.execute("CREATE DATABASE IF NOT EXISTS pc_db",
                     "CREATE TABLE IF NOT EXISTS pc_db.t (id INT PRIMARY KEY)")
    path = source_yaml(tmp_path_factory.mktemp("pc") / "s.yaml", "pc-src", upstream)
    assert cluster.dmctl("operate-source", "create", str(path))["result"]
    yield "pc-src"
    cluster.dmctl("operate-source", "stop", "pc-src", check=False)


def _check(cluster: DMProcesses, tmp_path: Path, downstream: MariaDB, source: str,
           mode: str = "full", meta: str = "", user: str = "root", password: str = "",
           db: str = "pc_db") -> dict[str, Any]:
    """check-task's answer, with its report's items as {name: (state, errors)} (a report
    shows only the items that failed or warned)."""
    task = tmp_path / "task.yaml"
    task.write_text(TASK.format(name="pc", mode=mode, port=downstream.port, user=user,
                                password=password, source=source, db=db,
                                meta=f"    meta: {{{meta}}}\n" if meta else ""))
    answer = cluster.dmctl("check-task", str(task), check=False)
    text = str(answer["msg"])  # a failed precheck's report is in its message, as DM's
    report = answer.get("checkResult") or json.JSONDecoder().raw_decode(text, text.index("{"))[0]
    items: dict[str, tuple[str, str]] = {}
    for r in report.get("results", []):  # conn_number: the target's, then each source's
        state, errors = items.get(r["name"], (r["state"], ""))
        items[r["name"]] = (state, " ".join(
            [errors, *(e["short_error"] for e in r["errors"])]).strip())
    answer["items"] = items
    return answer


def test_meta_position(cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB,
                       source: str, tmp_path: Path) -> None:
    name, pos = binlog_end(upstream)
    answer = _check(cluster, tmp_path, downstream, source, "incremental",
                    'binlog-name: "binlog.009999", binlog-pos: 4')
    assert answer["result"] is False and answer["items"]["meta_position"][0] == "fail"
    assert "binlog.009999 is not among" in answer["items"]["meta_position"][1]
    answer = _check(cluster, tmp_path, downstream, source, "incremental",
                    f'binlog-name: "{name}", binlog-pos: {pos + 1000000}')
    assert answer["items"]["meta_position"][0] == "fail"
    assert "beyond the end" in answer["items"]["meta_position"][1]
    answer = _check(cluster, tmp_path, downstream, source, "incremental",
                    f'binlog-name: "{name}", binlog-pos: {pos}')
    assert answer["result"] is True and "meta_position" not in answer["items"]


def test_conn_number(cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB,
                     source: str, tmp_path: Path) -> None:
    """The dump needs its 12 threads and 2 more upstream, the load its 16 threads and one
    more downstream; MariaDB's least max_connections is 10."""
    try:
        upstream.execute("SET GLOBAL max_connections = 10")
        downstream.execute("SET GLOBAL max_connections = 10")
        answer = _check(cluster, tmp_path, downstream, source)
    finally:
        upstream.execute("SET GLOBAL max_connections = 151")
        downstream.execute("SET GLOBAL max_connections = 151")
    assert answer["result"] is False and answer["items"]["conn_number"][0] == "fail", answer
    errors = answer["items"]["conn_number"][1]
    assert "source pc-src's dump: max_connections 10 is less than the 14" in errors
    assert "the target's load: max_connections 10 is less than the 17" in errors
    assert "conn_number" not in _check(cluster, tmp_path, downstream, source)["items"]


def test_target_privilege(cluster: DMProcesses, downstream: MariaDB, source: str,
                          tmp_path: Path) -> None:
    downstream.execute("DROP USER IF EXISTS 'pc_writer'@'%'",
                       "CREATE USER 'pc_writer'@'%' IDENTIFIED BY 'pw'",
                       "GRANT SELECT, INSERT, UPDATE, DELETE, CREATE ON *.* TO 'pc_writer'@'%'")
    answer = _check(cluster, tmp_path, downstream, source, user="pc_writer", password="pw")
    assert answer["result"] is True  # a warning
    assert answer["items"]["target_privilege"] == (
        "warn", "the target user lacks DROP, ALTER, INDEX on `dm_meta`, `pc_db`")
    # database-level grants count for the databases they name (a LIKE pattern here)
    downstream.execute("GRANT DROP, ALTER, INDEX ON `pc\\_%`.* TO 'pc_writer'@'%'")
    answer = _check(cluster, tmp_path, downstream, source, user="pc_writer", password="pw")
    assert answer["items"]["target_privilege"] == (
        "warn", "the target user lacks DROP, ALTER, INDEX on `dm_meta`")
    downstream.execute("GRANT ALL PRIVILEGES ON dm_meta.* TO 'pc_writer'@'%'")
    assert "target_privilege" not in _check(cluster, tmp_path, downstream, source,
                                            user="pc_writer", password="pw")["items"]


@pytest.fixture(scope="module")
def ignoring(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDB]:
    yield from own_server(tmp_path_factory, "ignoring", 61,
                          extra_args=("--binlog-ignore-db=pc_ignored",))


def test_binlog_db(cluster: DMProcesses, ignoring: MariaDB, downstream: MariaDB,
                   tmp_path: Path) -> None:
    ignoring.execute("CREATE DATABASE pc_ignored", "CREATE DATABASE pc_kept")
    path = source_yaml(tmp_path / "s.yaml", "pc-ignoring", ignoring)
    assert cluster.dmctl("operate-source", "create", str(path))["result"]
    try:
        answer = _check(cluster, tmp_path, downstream, "pc-ignoring", "all", db="pc_ignored")
        assert answer["result"] is True
        assert answer["items"]["binlog_db"][0] == "warn"
        assert "pc_ignored are in binlog_ignore_db" in answer["items"]["binlog_db"][1]
        assert "binlog_db" not in _check(cluster, tmp_path, downstream, "pc-ignoring", "all",
                                         db="pc_kept")["items"]
    finally:
        cluster.dmctl("operate-source", "stop", "pc-ignoring", check=False)


def test_a_source_user_without_binlog_rights_gets_answers_not_a_trace(
        cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB, tmp_path: Path) -> None:
    upstream.execute("DROP USER IF EXISTS 'pc_plain'@'%'",
                     "CREATE USER 'pc_plain'@'%' IDENTIFIED BY 'pw'",
                     "GRANT SELECT, RELOAD ON *.* TO 'pc_plain'@'%'")
    path = tmp_path / "s.yaml"
    path.write_text(f"source-id: pc-plain\nfrom:\n  host: 127.0.0.1\n  port: {upstream.port}\n"
                    "  user: pc_plain\n  password: pw\n")
    assert cluster.dmctl("operate-source", "create", str(path))["result"]
    try:
        name, pos = binlog_end(upstream)
        answer = _check(cluster, tmp_path, downstream, "pc-plain", "incremental",
                        f'binlog-name: "{name}", binlog-pos: {pos}')
        assert answer["result"] is False and "Traceback" not in str(answer["msg"])
        assert answer["items"]["replication_privilege"][0] == "fail"
        assert answer["items"]["binlog_db"][0] == "warn"
        assert "cannot read the binlog status" in answer["items"]["binlog_db"][1]
        assert answer["items"]["meta_position"][0] == "fail"
        assert "cannot list the binlog files" in answer["items"]["meta_position"][1]
    finally:
        cluster.dmctl("operate-source", "stop", "pc-plain", check=False)

"""Every refusal names its culprit, carries its code, and leaves nothing half-started."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from dm.sandbox import DMProcesses, MariaDB, free_port
from tests.integration.conftest import BIN_DIR, source_yaml

pytestmark = pytest.mark.integration

GOOD_TASK = """\
name: refused
task-mode: full
target-database:
  host: 127.0.0.1
  port: {port}
  user: root
  password: ""
mysql-instances:
  - source-id: {source}
    block-allow-list: only
block-allow-list:
  only:
    do-dbs: [refused_db]
"""


@pytest.fixture(scope="module")
def registered(cluster: DMProcesses, upstream: MariaDB,
               tmp_path_factory: pytest.TempPathFactory) -> str:
    path = source_yaml(tmp_path_factory.mktemp("src") / "source.yaml", "bad-input-src",
                       upstream)
    assert cluster.dmctl("operate-source", "create", str(path))["result"]
    return "bad-input-src"


def _refused(dm: DMProcesses, *args: str) -> str:
    answer = dm.dmctl(*args, check=False)
    assert answer["result"] is False
    assert answer["_exit"] == 1
    assert "Traceback" not in answer["msg"]
    return str(answer["msg"])


def _assert_no_task(dm: DMProcesses) -> None:
    assert all(t["taskName"] != "refused" for t in dm.dmctl("query-status").get("tasks", []))


def test_unknown_task_key_names_file_line_and_key(cluster: DMProcesses, downstream: MariaDB,
                                                  registered: str, tmp_path: Path) -> None:
    task = tmp_path / "task.yaml"
    text = GOOD_TASK.format(port=downstream.port, source=registered)
    task.write_text(text.replace("    block-allow-list: only\n",
                                 "    block-allow-list: only\n    mydumper-thred: 8\n"))
    msg = _refused(cluster, "start-task", str(task))
    assert "code=20003" in msg
    assert f"{task}:11: mysql-instances[0].mydumper-thred" in msg
    _assert_no_task(cluster)


def test_wrong_type_names_key(cluster: DMProcesses, registered: str, tmp_path: Path) -> None:
    task = tmp_path / "task.yaml"
    task.write_text(GOOD_TASK.format(port="forty", source=registered))
    msg = _refused(cluster, "start-task", str(task))
    assert f"{task}:5" in msg and "target-database.port" in msg
    _assert_no_task(cluster)


def test_undefined_rule_is_refused(cluster: DMProcesses, downstream: MariaDB,
                                   registered: str, tmp_path: Path) -> None:
    task = tmp_path / "task.yaml"
    text = GOOD_TASK.format(port=downstream.port, source=registered)
    task.write_text(text.replace("block-allow-list: only\nblock", "block-allow-list: nope\nblock"))
    msg = _refused(cluster, "start-task", str(task))
    assert "nope" in msg and f"{task}:" in msg
    _assert_no_task(cluster)


def test_unreachable_target_names_host_port(cluster: DMProcesses, registered: str,
                                            tmp_path: Path) -> None:
    port = free_port()
    task = tmp_path / "task.yaml"
    task.write_text(GOOD_TASK.format(port=port, source=registered))
    msg = _refused(cluster, "start-task", str(task))
    assert "code=10005" in msg and f"127.0.0.1:{port}" in msg
    _assert_no_task(cluster)


def test_missing_source_is_refused(cluster: DMProcesses, downstream: MariaDB,
                                   tmp_path: Path) -> None:
    task = tmp_path / "task.yaml"
    task.write_text(GOOD_TASK.format(port=downstream.port, source="no-such-source"))
    msg = _refused(cluster, "start-task", str(task))
    assert "code=38032" in msg and "no-such-source" in msg
    _assert_no_task(cluster)


def test_unknown_checking_item(cluster: DMProcesses, downstream: MariaDB, registered: str,
                               tmp_path: Path) -> None:
    task = tmp_path / "task.yaml"
    text = GOOD_TASK.format(port=downstream.port, source=registered)
    task.write_text(text + "ignore-checking-items: [dump_privilegez]\n")
    msg = _refused(cluster, "check-task", str(task))
    assert "code=20001" in msg and "dump_privilegez" in msg


def test_precheck_fails_without_reload(cluster: DMProcesses, upstream: MariaDB,
                                       downstream: MariaDB, tmp_path: Path) -> None:
    upstream.execute("DROP USER IF EXISTS 'noreload'@'%'",
                     "CREATE USER 'noreload'@'%' IDENTIFIED BY 'pw'",
                     "GRANT SELECT ON *.* TO 'noreload'@'%'")
    path = tmp_path / "source.yaml"
    path.write_text(f"source-id: noreload-src\nfrom:\n  host: 127.0.0.1\n"
                    f"  port: {upstream.port}\n  user: noreload\n  password: pw\n")
    assert cluster.dmctl("operate-source", "create", str(path))["result"]
    task = tmp_path / "task.yaml"
    task.write_text(GOOD_TASK.format(port=downstream.port, source="noreload-src"))
    msg = _refused(cluster, "start-task", str(task))
    assert "code=26005" in msg and "dump_privilege" in msg and "RELOAD" in msg
    _assert_no_task(cluster)
    task.write_text(GOOD_TASK.format(port=downstream.port, source="noreload-src")
                    + "ignore-checking-items: [dump_privilege]\n")
    assert cluster.dmctl("check-task", str(task))["result"] is True
    assert cluster.dmctl("operate-source", "stop", "noreload-src")["result"]


def test_source_errors(cluster: DMProcesses, upstream: MariaDB, registered: str,
                       tmp_path: Path) -> None:
    dup = source_yaml(tmp_path / "dup.yaml", registered, upstream)
    assert "code=38033" in _refused(cluster, "operate-source", "create", str(dup))
    port = free_port()
    dead = tmp_path / "dead.yaml"
    dead.write_text(f"source-id: dead\nfrom:\n  host: 127.0.0.1\n  port: {port}\n  user: root\n")
    msg = _refused(cluster, "operate-source", "create", str(dead))
    assert "code=10005" in msg and f"127.0.0.1:{port}" in msg
    bad = tmp_path / "bad.yaml"
    bad.write_text("source-id: bad\nfrom:\n  host: 127.0.0.1\n  port: 3306\n  colour: red\n")
    msg = _refused(cluster, "operate-source", "create", str(bad))
    assert f"{bad}:5" in msg and "colour" in msg
    shown = cluster.dmctl("operate-source", "show")
    assert [s["source"] for s in shown["sources"]].count("dead") == 0


def test_dmctl_without_master(tmp_path: Path) -> None:
    dm = DMProcesses(tmp_path, BIN_DIR)
    dm.master_port = free_port()
    answer = dm.dmctl("query-status", check=False)
    assert answer["result"] is False and "code=48001" in answer["msg"]



def test_unsupported_expression_filter_is_refused(cluster: DMProcesses, downstream: MariaDB,
                                                  registered: str, tmp_path: Path) -> None:
    task = tmp_path / "task.yaml"
    text = GOOD_TASK.format(port=downstream.port, source=registered)
    task.write_text(text.replace("    block-allow-list: only\n",
                                 "    block-allow-list: only\n    expression-filters: [f]\n")
                    + "expression-filter:\n  f: {schema: refused_db, table: t, "
                      "insert-value-expr: \"NOW() > c\"}\n")
    msg = _refused(cluster, "start-task", str(task))
    assert "code=20041" in msg and "NOW" in msg
    _assert_no_task(cluster)


@pytest.mark.parametrize(("extra", "line", "key"), [
    ("collation_compatible: strict\n", 14, "collation_compatible"),
])
def test_a_key_pydm_does_not_act_on_is_refused_not_ignored(
        cluster: DMProcesses, downstream: MariaDB, registered: str, tmp_path: Path,
        extra: str, line: int, key: str) -> None:
    task = tmp_path / "task.yaml"
    task.write_text(GOOD_TASK.format(port=downstream.port, source=registered) + extra)
    for command in ("check-task", "start-task"):
        msg = _refused(cluster, command, str(task))
        assert "code=20090" in msg and f"{task}:{line}: {key}: " in msg, msg
    _assert_no_task(cluster)


def test_a_refused_source_key_registers_nothing(cluster: DMProcesses, upstream: MariaDB,
                                                tmp_path: Path) -> None:
    path = source_yaml(tmp_path / "fix.yaml", "fix-src", upstream,
                       **{"enable-relay": "true", "auto-fix-gtid": "true"})
    msg = _refused(cluster, "operate-source", "create", str(path))
    assert "code=20090" in msg and f"{path}:8: auto-fix-gtid: fixing GTIDs" in msg, msg
    shown = cluster.dmctl("operate-source", "show", check=False)
    assert "fix-src" not in str(shown)


@pytest.mark.parametrize("args", [
    ("update-task", "task.yaml"), ("binlog", "inject", "t", "DROP TABLE x"),
    ("validation", "status", "t"), ("check-task-online", "task.yaml"),
    ("no-such-command",), ("query-status", "--no-such-flag"),
    ("--ssl-ca", "ca.pem", "query-status"),
])
def test_commands_pydm_lacks_answer_dm_json_with_result_false(cluster: DMProcesses,
                                                              args: tuple[str, ...]) -> None:
    msg = _refused(cluster, *args)
    assert "code=48010" in msg or "code=48002" in msg, msg


def test_ddl_locks_as_dm_shows_them_when_no_task_shards(cluster: DMProcesses) -> None:
    """No task shards, so no DDL lock exists: DM's answers for that case."""
    args: tuple[str, ...]
    for args in (("shard-ddl-lock",), ("shard-ddl-lock", "some-task"), ("show-ddl-locks",)):
        shown = cluster.dmctl(*args)
        assert shown["result"] is True and shown["locks"] == [], (args, shown)
        assert shown["msg"] == "no DDL lock exists"
    for args in (("shard-ddl-lock", "unlock", "t-`db`.`tbl`"), ("unlock-ddl-lock", "t-`db`.`tbl`")):
        missing = cluster.dmctl(*args, check=False)
        assert missing["_exit"] == 1 and "code=38019" in missing["msg"], missing
    for unlock in (("shard-ddl-lock", "unlock"), ("unlock-ddl-lock",)):  # no such task
        for extra in (("-s", "some-source"), ("-d", "db", "-t", "tbl"), ("-a", "exec")):
            answer = cluster.dmctl(*unlock, "t-`db`.`tbl`", *extra, check=False)
            assert answer["_exit"] == 1 and "code=38019" in answer["msg"], answer
    malformed = cluster.dmctl("shard-ddl-lock", "unlock", "nonsense", check=False)
    assert malformed["_exit"] == 1 and malformed["msg"] == "can't find task name from lock-ID"


def test_several_master_addresses_are_tried_in_turn(cluster: DMProcesses) -> None:
    proc = subprocess.run([str(BIN_DIR / "dmctl"), "--master-addr",
                           f"127.0.0.1:{free_port()},{cluster.master_addr}", "list-member",
                           "--worker", "-n", "worker1"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    answer = json.loads(proc.stdout)
    (workers,) = [m["worker"]["workers"] for m in answer["members"]]
    assert [w["name"] for w in workers] == ["worker1"]


def test_deprecated_keys_are_warned_in_the_answer(cluster: DMProcesses, downstream: MariaDB,
                                                  registered: str, tmp_path: Path) -> None:
    task = tmp_path / "task.yaml"
    task.write_text(GOOD_TASK.format(port=downstream.port, source=registered).replace(
        "name: refused\n", "name: warned\nenable-heartbeat: true\n"))
    answer = cluster.dmctl("check-task", str(task))
    assert f"{task}:2: enable-heartbeat: deprecated and ignored" in answer["msg"], answer


def test_a_system_versioned_table_is_refused_not_skipped(
        cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB, registered: str,
        tmp_path: Path) -> None:
    """The dump would leave it out and sync would meet columns it cannot name: refused."""
    upstream.execute("DROP DATABASE IF EXISTS refused_db", "CREATE DATABASE refused_db",
                     "CREATE TABLE refused_db.hist (id INT PRIMARY KEY) WITH SYSTEM VERSIONING")
    try:
        task = tmp_path / "task.yaml"
        task.write_text(GOOD_TASK.format(port=downstream.port, source=registered))
        msg = _refused(cluster, "start-task", str(task))
        assert "code=26005" in msg and "`refused_db`.`hist` is system-versioned" in msg, msg
        _assert_no_task(cluster)
    finally:
        upstream.execute("DROP DATABASE refused_db")


def test_keyless_and_foreign_key_tables_are_warned_once_each(
        cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB, registered: str,
        tmp_path: Path) -> None:
    """The table_schema precheck reads the catalog in whole-schema queries (a query per
    table made 2,000 tables take minutes): each table still gets its own warnings."""
    upstream.execute("DROP DATABASE IF EXISTS refused_db", "CREATE DATABASE refused_db",
                     "CREATE TABLE refused_db.p (id INT PRIMARY KEY)",
                     "CREATE TABLE refused_db.logs (a INT, b INT)",
                     "CREATE TABLE refused_db.c (id INT PRIMARY KEY, p INT, "
                     "FOREIGN KEY (p) REFERENCES refused_db.p (id))",
                     "CREATE TABLE refused_db.u (u INT, UNIQUE KEY (u))")
    try:
        task = tmp_path / "task.yaml"
        task.write_text(GOOD_TASK.format(port=downstream.port, source=registered))
        answer = cluster.dmctl("check-task", str(task))
        assert answer["result"] is True, answer
        text = json.dumps(answer["checkResult"])
        assert text.count("`refused_db`.`logs` has no primary or unique key") == 1, text
        assert text.count("`refused_db`.`c` has foreign keys") == 1, text
        assert "`refused_db`.`u` has" not in text and "`refused_db`.`p` has" not in text, text
    finally:
        upstream.execute("DROP DATABASE refused_db")

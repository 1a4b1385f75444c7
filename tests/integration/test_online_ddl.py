"""Online DDL (DM §13.1, `online-ddl: true`): a schema change made upstream by
pt-online-schema-change or gh-ost reaches the downstream table as its ALTER, run once at
the tool's cut-over; the ghost table's rows and the tools' other tables never arrive.

pt-osc is the real tool, run under writes, with the worker killed (kill -9) between the
recorded ALTER and the cut-over. gh-ost's sequence is replayed (onlineddl_tools.py) on
shards merged by routes in pessimistic mode. Every test ends with a row-level comparison.
"""

from __future__ import annotations

import random
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymysql
import pytest

from dm.sandbox import DMProcesses, MariaDB
from tests.integration.conftest import (
    binlog_end,
    fetch,
    removed_afterwards,
    rows_of,
    source_yaml,
    sources_on_two_workers,
    wait_equal,
    wait_stage,
    wait_until,
)
from tests.integration.onlineddl_tools import gh_ost, pt_osc, pt_osc_command
from tests.shared import DM_TESTS

pytestmark = pytest.mark.integration

TASK = """\
name: {name}
task-mode: {mode}
online-ddl: true
{extra}
target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
mysql-instances:
  - source-id: {name}-src
    block-allow-list: only
    {instance}
    syncer: {{checkpoint-flush-interval: 1}}
block-allow-list:
  only: {{do-dbs: [{name}]}}
"""


def _task(tmp_path: Path, downstream: MariaDB, name: str, mode: str = "all", extra: str = "",
          instance: str = "") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(TASK.format(name=name, mode=mode, extra=extra, port=downstream.port,
                                instance=instance))
    return path


def _create_source(cluster: DMProcesses, upstream: MariaDB, tmp_path: Path, name: str) -> None:
    assert cluster.dmctl("operate-source", "create", str(
        source_yaml(tmp_path / "source.yaml", f"{name}-src", upstream)))["result"]


def _tables(server: MariaDB, db: str) -> set[str]:
    return {str(r[0]) for r in fetch(server, f"SHOW TABLES FROM {db}")}


def _create_table(server: MariaDB, db: str, table: str) -> str:
    return str(fetch(server, f"SHOW CREATE TABLE {db}.{table}")[0][1])


def _records(downstream: MariaDB, task: str) -> int:
    return int(fetch(downstream, f"SELECT COUNT(*) FROM dm_meta.{task}_onlineddl")[0][0])


def _writer(server: MariaDB, db: str, stop: threading.Event, seed: int) -> None:
    """Inserts, updates and deletes on t, some in multi-statement transactions, until
    stopped (through pt-osc's triggers, its ghost table gets them too)."""
    rnd = random.Random(seed)
    conn = server.connect(db)
    try:
        with conn.cursor() as cur:
            while not stop.is_set():
                try:
                    _transaction(cur, rnd)
                except pymysql.err.OperationalError as exc:
                    if exc.args[0] not in (1205, 1213):  # pt-osc's chunk locks: again
                        raise
                    cur.execute("ROLLBACK")
                time.sleep(0.002)
    finally:
        conn.close()


def _transaction(cur: Any, rnd: random.Random) -> None:
    cur.execute("BEGIN")
    for _ in range(rnd.randint(1, 4)):
        k = rnd.randint(1, 20_000)
        op = rnd.random()
        if op < 0.4:
            cur.execute("INSERT INTO t (v) VALUES (%s)", (f"new {k}",))
        elif op < 0.8:
            cur.execute("UPDATE t SET v = CONCAT(v, '+') WHERE id = %s", (k,))
        else:
            cur.execute("DELETE FROM t WHERE id = %s", (k,))
    cur.execute("INSERT INTO u (v) VALUES ('u')")
    cur.execute("COMMIT")


@pytest.fixture
def pt_db(cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB,
          tmp_path: Path) -> Iterator[str]:
    """`onlpt` upstream in the server's default charset (latin1): t with 20,000 rows, u."""
    db = "onlpt"
    for server in (upstream, downstream):
        server.execute(f"DROP DATABASE IF EXISTS {db}")
    upstream.execute(f"CREATE DATABASE {db}",
                     f"CREATE TABLE {db}.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(60), "
                     "n INT)",
                     f"CREATE TABLE {db}.u (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(10))",
                     f"INSERT INTO {db}.t (v, n) SELECT CONCAT('row ', seq, ' é'), seq MOD 7 "
                     f"FROM {db}.seq_1_to_20000")
    _create_source(cluster, upstream, tmp_path, db)
    with removed_afterwards(cluster, db, f"{db}-src"):
        yield db


def test_pt_osc_under_writes_and_a_worker_kill_alters_the_real_table_once(
        cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB, tmp_path: Path,
        pt_db: str) -> None:
    db = pt_db
    assert cluster.dmctl("start-task", "--remove-meta", str(_task(tmp_path, downstream, db))
                         )["result"]
    wait_stage(cluster, db, "Running", unit="Sync")
    stop = threading.Event()
    writer = threading.Thread(target=_writer, args=(upstream, db, stop, 7))
    writer.start()
    try:
        tool = subprocess.Popen(pt_osc_command(
            upstream, db, "t", "ADD COLUMN c INT NOT NULL DEFAULT 7, ADD KEY k_v (v), "
            "DROP COLUMN n", "--sleep=0.05"), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True)
        # the ghost table's ALTER is recorded downstream: now the worker dies
        wait_until("the ALTER of _t_new recorded", lambda: _records(downstream, db) == 1)
        cluster.kill_worker("worker1")
        assert "_t_new" in _tables(upstream, db), "killed after the cut-over"
        cluster.start_worker("worker1")
        out, _ = tool.communicate(timeout=300)
        assert tool.returncode == 0, out
        assert "Swapped original and new tables OK" in out
        time.sleep(0.5)
    finally:
        stop.set()
        writer.join()
    wait_stage(cluster, db, "Running", unit="Sync")
    wait_equal(upstream, downstream, db, ("t", "u"), timeout=120)
    assert _tables(downstream, db) == {"t", "u"}  # no _t_new, no _t_old
    created = _create_table(downstream, db, "t")
    assert "`c` int(11) NOT NULL DEFAULT 7" in created and "KEY `k_v` (`v`)" in created
    assert "`n`" not in created
    wait_until("the record forgotten after the cut-over",
               lambda: _records(downstream, db) == 0)
    assert len(rows_of(downstream, db, "t")) > 19_000


def test_gh_ost_on_merged_shards_changes_the_merged_table_once(
        cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB, tmp_path: Path) -> None:
    """Two shards routed into one table, pessimistic: gh-ost on the first shard is held
    (its cut-over is the shard's DDL), gh-ost on the second resolves the lock; the
    cut-over never renames the merged table away."""
    db = "onlgh"
    for server in (upstream, downstream):
        server.execute(f"DROP DATABASE IF EXISTS {db}")
    upstream.execute(f"CREATE DATABASE {db} CHARACTER SET utf8mb4")
    for n in (1, 2):
        upstream.execute(
            f"CREATE TABLE {db}.t_{n} (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(60)) "
            f"AUTO_INCREMENT={n * 1_000_000}",
            f"INSERT INTO {db}.t_{n} (v) SELECT CONCAT('shard {n} row ', seq, ' 😊') FROM "
            f"{db}.seq_1_to_2000")
    _create_source(cluster, upstream, tmp_path, db)
    task = _task(tmp_path, downstream, db, extra="shard-mode: pessimistic",
                 instance="route-rules: [merge]")
    task.write_text(task.read_text() + "routes:\n  merge: {schema-pattern: onlgh, "
                    "table-pattern: t_*, target-schema: onlgh, target-table: t}\n")
    with removed_afterwards(cluster, db, f"{db}-src"):
        assert cluster.dmctl("start-task", "--remove-meta", str(task))["result"]
        wait_stage(cluster, db, "Running", unit="Sync")
        gh_ost(upstream, db, "t_1", "ADD COLUMN c INT NOT NULL DEFAULT 3")
        wait_until("t_1's cut-over held", lambda: _held(cluster, db) == ["`onlgh`.`t_1`"])
        assert "`c`" not in _create_table(downstream, db, "t")
        upstream.execute(f"INSERT INTO {db}.t_2 (v) VALUES ('while t_1 waits')")
        gh_ost(upstream, db, "t_2", "ADD COLUMN c INT NOT NULL DEFAULT 3")
        wait_until("the merged table equal to the union of its shards", lambda: _merged(
            downstream, db) == _union(upstream, db))
        assert _tables(downstream, db) == {"t"}
        assert "`c` int(11) NOT NULL DEFAULT 3" in _create_table(downstream, db, "t")
        wait_until("the records forgotten", lambda: _records(downstream, db) == 0)
        upstream.execute(f"UPDATE {db}.t_1 SET c = 5 WHERE id % 10 = 0")
        wait_until("rows after the change", lambda: _merged(downstream, db) == _union(
            upstream, db))


def _held(cluster: DMProcesses, task: str) -> list[str]:
    """The shards that hold their DDL in the task's group."""
    sub = cluster.dmctl("query-status", task)["sources"][0]["subTaskStatus"][0]
    groups = sub.get("sync", {}).get("unresolvedGroups") or [{}]
    return list(groups[0].get("synced", []))


def _running(cluster: DMProcesses, task: str) -> bool:
    sub = cluster.dmctl("query-status", task)["sources"][0]["subTaskStatus"][0]
    return bool(sub["stage"] == "Running" and sub["result"] is None)


def _union(upstream: MariaDB, db: str) -> list[tuple[Any, ...]]:
    return sorted(rows_of(upstream, db, "t_1") + rows_of(upstream, db, "t_2"))


def _merged(downstream: MariaDB, db: str) -> list[tuple[Any, ...]]:
    try:
        return sorted(rows_of(downstream, db, "t"))
    except pymysql.err.MySQLError:
        return []


def test_a_change_in_progress_fails_the_precheck_and_its_cut_over_pauses_with_36046(
        cluster: DMProcesses, upstream: MariaDB, downstream: MariaDB, tmp_path: Path) -> None:
    """A ghost table made before the task: check-task says so (DM's words); a task
    started anyway pauses at the cut-over, whose ALTER it never saw, and `binlog replace`
    runs that ALTER on the real table in its place."""
    db = "onlpre"
    for server in (upstream, downstream):
        server.execute(f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}",
                       f"CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(10))")
    upstream.execute(f"INSERT INTO {db}.t VALUES (1, 'a')",  # a change begun: the ghost
                     f"CREATE TABLE {db}._t_new (id INT PRIMARY KEY, v VARCHAR(10), c INT)",
                     f"INSERT INTO {db}._t_new (id, v) SELECT id, v FROM {db}.t",
                     f"CREATE TABLE {db}._log_old (id INT PRIMARY KEY)")  # named like trash
    _create_source(cluster, upstream, tmp_path, db)
    name, pos = binlog_end(upstream)
    meta = f'meta: {{binlog-name: "{name}", binlog-pos: {pos}}}'
    task = _task(tmp_path, downstream, db, mode="incremental", instance=meta)
    with removed_afterwards(cluster, db, f"{db}-src"):
        answer = cluster.dmctl("check-task", str(task), check=False)
        assert answer["_exit"] == 1 and not answer["result"]
        assert "your ddl is in pt/ghost online-ddl" in answer["msg"]
        assert "`onlpre`.`_t_new`" in answer["msg"]
        assert "`onlpre`.`_log_old` matches trash-table-rules" in answer["msg"]
        ignoring = _task(tmp_path, downstream, db, mode="incremental", instance=meta,
                         extra="ignore-checking-items: [online_ddl]")
        assert cluster.dmctl("start-task", "--remove-meta", str(ignoring))["result"]
        wait_stage(cluster, db, "Running", unit="Sync")
        upstream.execute(f"INSERT INTO {db}.t VALUES (2, 'b')",
                         f"INSERT INTO {db}._t_new VALUES (2, 'b', NULL)",  # as its trigger
                         f"UPDATE {db}._t_new SET v = 'never' WHERE id = 2",  # not replicated
                         f"UPDATE {db}._t_new SET v = 'b' WHERE id = 2",
                         f"RENAME TABLE {db}.t TO {db}._t_old, {db}._t_new TO {db}.t",
                         f"DROP TABLE {db}._t_old", f"INSERT INTO {db}.t VALUES (3, 'c', 3)")
        paused = wait_stage(cluster, db, "Paused")
        error = paused["sources"][0]["subTaskStatus"][0]["result"]["errors"][0]
        assert error["ErrCode"] == 36046 and "`onlpre`.`_t_new`" in error["Message"]
        assert "binlog replace" in error["Workaround"]
        assert cluster.dmctl("binlog", "replace", db, f"ALTER TABLE {db}.t ADD COLUMN c INT"
                             )["result"]
        wait_until("running again, past the RENAME", lambda: _running(cluster, db))
        upstream.execute(f"UPDATE {db}.t SET c = 9 WHERE id = 1")
        wait_equal(upstream, downstream, db, ("t",))
        assert rows_of(downstream, db, "t") == [(1, "a", 9), (2, "b", None), (3, "c", 3)]
        assert _tables(downstream, db) == {"t"}


DM_SOURCES = ("onl-a", "onl-b")
OPTIONS = "COMMENT='string' CHARACTER SET='utf8mb4'"  # DM's second pt-osc run of an ALTER


@pytest.fixture
def two_sources(cluster: DMProcesses, upstream: MariaDB, upstream2: MariaDB,
                tmp_path: Path) -> Iterator[list[MariaDB]]:
    with sources_on_two_workers(cluster, [upstream, upstream2], DM_SOURCES, tmp_path) as ups:
        yield ups


def _run_with_tool(server: MariaDB, path: Path, tool: str | None) -> None:
    """A DM workload file as DM's run_sql_file_online_ddl runs it: each `alter table`
    line through the tool (pt-osc twice: the ALTER, then a table-option change), the
    other lines in one session; `tool` None runs every line plainly."""
    conn = server.connect()
    try:
        with conn.cursor() as cur:
            for line in path.read_text().split(";\n"):
                sql = line.strip().rstrip(";")
                words = sql.split(" ", 3)
                if tool is None or not sql.lower().startswith("alter table"):
                    if sql:
                        cur.execute(sql)
                    continue
                conn.commit()
                if tool == "gh-ost":
                    gh_ost(server, "online_ddl", words[2], words[3], text="name", writes=0)
                else:
                    pt_osc(server, "online_ddl", words[2], words[3])
                    pt_osc(server, "online_ddl", words[2], OPTIONS)
        conn.commit()
    finally:
        conn.close()


def _target_rows(downstream: MariaDB, ups: list[MariaDB], prefix: str
                 ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The merged `<prefix>_t_target` (every column but the mapped id) and the union of
    its shards upstream, the same columns."""
    shards = {0: [f"{prefix}_t1", f"{prefix}_t2"], 1: [f"{prefix}_t2", f"{prefix}_t3"]}
    try:
        conn = downstream.connect("online_ddl")
        try:
            with conn.cursor() as cur:
                cur.execute(f"SHOW COLUMNS FROM {prefix}_t_target")
                columns = ", ".join(f"`{r[0]}`" for r in cur.fetchall() if r[0] != "id")
                cur.execute(f"SELECT {columns} FROM {prefix}_t_target")
                merged = sorted(cur.fetchall(), key=repr)
        finally:
            conn.close()
        union: list[tuple[Any, ...]] = []
        for i, tables in shards.items():
            conn = ups[i].connect("online_ddl")
            try:
                with conn.cursor() as cur:
                    for table in tables:
                        cur.execute(f"SELECT {columns} FROM {table}")
                        union += cur.fetchall()
            finally:
                conn.close()
    except pymysql.err.MySQLError:
        return [], [("not yet",)]
    return merged, sorted(union, key=repr)


def _equal(downstream: MariaDB, ups: list[MariaDB]) -> bool:
    return all(merged == union for merged, union in (
        _target_rows(downstream, ups, prefix) for prefix in ("gho", "pt")))


def test_dms_online_ddl_scenario_with_pt_osc_and_gh_ost_on_merged_shards(
        cluster: DMProcesses, two_sources: list[MariaDB], downstream: MariaDB,
        tmp_path: Path) -> None:
    """DM's online_ddl with its task file: two sources, gh-ost and pt-osc tables merged
    by routes (`is-sharding: true`, partition-id column mappings, an event filter that
    drops `ADD KEY name`); each ALTER of its workloads run through the tool on every
    shard; tables of a change begun before the task that the block-allow list leaves out;
    a worker killed and restarted; then plain DDLs. Equal at each step."""
    conf, data = DM_TESTS / "online_ddl" / "conf", DM_TESTS / "online_ddl" / "data"
    task = tmp_path / "task.yaml"
    task.write_text((conf / "dm-task.yaml").read_text().replace(
        "port: 4000", f"port: {downstream.port}").replace(
        "mysql-replica-01", DM_SOURCES[0]).replace("mysql-replica-02", DM_SOURCES[1]))
    downstream.execute("DROP DATABASE IF EXISTS online_ddl", "DROP DATABASE IF EXISTS dm_meta")
    ups = two_sources
    for i, server in enumerate(ups):
        server.execute("DROP DATABASE IF EXISTS online_ddl")
        for tool in ("gho", "pt"):
            _run_with_tool(server, data / f"{tool}.db{i + 1}.prepare.sql", None)
    ups[0].execute("create table online_ddl.gho_ignore (c int)",
                   "create table online_ddl._gho_ignore_gho (c int)",
                   "create table online_ddl.pt_ignore (c int)",
                   "create table online_ddl._pt_ignore_new (c int)")
    assert cluster.dmctl("start-task", "--remove-meta", str(task))["result"]
    try:
        wait_stage(cluster, "test", "Running", unit="Sync")
        wait_until("the full phase equal", lambda: _equal(downstream, ups))
        comment = "add column c int comment '1  2\n3😊4'"
        for i, table in ((0, "t1"), (0, "t2"), (1, "t2"), (1, "t3")):
            gh_ost(ups[i], "online_ddl", f"gho_{table}", comment, text="name", writes=0)
            pt_osc(ups[i], "online_ddl", f"pt_{table}", comment)
            pt_osc(ups[i], "online_ddl", f"pt_{table}", OPTIONS)
        wait_until("the column c merged", lambda: _equal(downstream, ups) and all(
            "`c` int(11)" in _create_table(downstream, "online_ddl", f"{p}_t_target")
            for p in ("gho", "pt")))
        ups[0].execute("rename /* gh-ost */ table online_ddl.gho_ignore to "
                       "online_ddl._gho_ignore_del, online_ddl._gho_ignore_gho to "
                       "online_ddl.gho_ignore",
                       "rename table online_ddl.pt_ignore to online_ddl._pt_ignore_old, "
                       "online_ddl._pt_ignore_new to online_ddl.pt_ignore")
        for i, server in enumerate(ups):
            for tool, name in (("gho", "gh-ost"), ("pt", "pt")):
                _run_with_tool(server, data / f"{tool}.db{i + 1}.increment.sql", name)
        wait_until("the increment equal", lambda: _equal(downstream, ups) and all(
            "info_json" in _create_table(downstream, "online_ddl", f"{p}_t_target")
            for p in ("gho", "pt")), timeout=180)
        for p in ("gho", "pt"):  # ADD KEY name filtered out, as in DM
            assert "KEY `name`" not in _create_table(downstream, "online_ddl", f"{p}_t_target")
        assert "COMMENT='string'" in _create_table(downstream, "online_ddl", "pt_t_target")
        assert _tables(downstream, "online_ddl") == {"gho_t_target", "pt_t_target"}
        cluster.kill_worker("worker2")
        cluster.start_worker("worker2")
        for i, server in enumerate(ups):
            for tool in ("gho", "pt"):
                _run_with_tool(server, data / f"{tool}.db{i + 1}.increment2.sql", None)
        wait_until("the second increment equal", lambda: _equal(downstream, ups),
                   timeout=180)
        assert cluster.dmctl("shard-ddl-lock", "test")["locks"] == []
    finally:
        cluster.dmctl("stop-task", "test", check=False)

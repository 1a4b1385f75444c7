"""DM's shardddl1 cases replayed (their SQL and what DM checks, written anew for pydm):
two sources, shards `shardddl{1,2}.tb{1..4}` routed into `shardddl.tb`, the merged
table compared row for row with the union of the shards after each case.

Where pydm answers otherwise than DM it says so in the case: pessimistic shards that ran
different DDLs are shown waiting with both DDLs, as DM shows them, by pydm's lock and
query-status.

The optimistic cases here (and in shardddl3, shardddl4) run with
`strict-optimistic-shard-mode: true` (DM 7.2+), where a conflict pauses at once (36062):
what DM's tests check of a conflict. DM's default non-strict mode, where a shard waits
at its conflicting DDL until the others agree, is replayed in
test_shard_optimistic_waits.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from dm.sandbox import DMProcesses, MariaDB
from tests.integration.conftest import (
    fetch,
    sources_on_two_workers,
    wait_stage,
    wait_until,
)

pytestmark = pytest.mark.integration

SOURCES = ("ddl1-src1", "ddl1-src2")
TASK = "shardddl1"
INSTANCE = """\
  - source-id: {source}
    block-allow-list: instance
    route-rules: [{routes}]
    syncer: {{checkpoint-flush-interval: 1}}
"""
HEAD = """\
name: shardddl1
task-mode: all
{shard}target-database: {{host: 127.0.0.1, port: {port}, user: root, password: ""}}
block-allow-list:
  instance: {{do-dbs: [shardddl1, shardddl2]}}
routes:
  tables: {{schema-pattern: "shardddl*", table-pattern: "tb*", target-schema: shardddl,
           target-table: tb}}
  schemas: {{schema-pattern: "shardddl*", target-schema: shardddl}}
mysql-instances:
"""


@pytest.fixture(scope="module")
def ups(cluster: DMProcesses, upstream: MariaDB, upstream2: MariaDB,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[MariaDB]]:
    with sources_on_two_workers(cluster, [upstream, upstream2], SOURCES,
                                tmp_path_factory.mktemp("shardddl1")) as servers:
        yield servers


def _task(mode: str, sources: int, port: int) -> str:
    shard = f"shard-mode: {mode}\n" if mode else ""
    if mode == "optimistic":
        shard += "strict-optimistic-shard-mode: true\n"
    return HEAD.format(shard=shard, port=port) + "".join(
        INSTANCE.format(source=s, routes="tables, schemas") for s in SOURCES[:sources])


@contextmanager
def _case(cluster: DMProcesses, ups: list[MariaDB], downstream: MariaDB, tmp_path: Path,
          mode: str, sources: int, tables: dict[str, str]) -> Iterator[None]:
    """DM's run_case: both sources' databases afresh, `tables` ("111": source 1,
    shardddl1, tb1 → its columns) created, the task started and syncing; stopped after."""
    for server in ups:
        server.execute("DROP DATABASE IF EXISTS shardddl1", "DROP DATABASE IF EXISTS shardddl2",
                       "CREATE DATABASE shardddl1", "CREATE DATABASE shardddl2")
    downstream.execute("DROP DATABASE IF EXISTS shardddl", "DROP DATABASE IF EXISTS dm_meta")
    for spec, columns in tables.items():  # columns, or "(columns) table options"
        definition = columns if columns.startswith("(") else f"({columns})"
        ups[int(spec[0]) - 1].execute(f"CREATE TABLE shardddl{spec[1]}.tb{spec[2]} "
                                      f"{definition}")
    task = tmp_path / "task.yaml"
    task.write_text(_task(mode, sources, downstream.port))
    assert cluster.dmctl("start-task", "--remove-meta", str(task))["result"]
    try:
        wait_stage(cluster, TASK, "Running", unit="Sync")
        yield
    finally:
        cluster.dmctl("stop-task", TASK, check=False)


def _shards(ups: list[MariaDB]) -> list[tuple[int, str, str]]:
    return [(i, str(db), str(t)) for i, server in enumerate(ups)
            for db, t in fetch(server, "SELECT TABLE_SCHEMA, TABLE_NAME FROM "
                                       "information_schema.TABLES WHERE TABLE_SCHEMA IN "
                                       "('shardddl1', 'shardddl2') AND TABLE_NAME LIKE 'tb%'")]


def _columns(server: MariaDB, db: str, table: str) -> list[str]:
    return [str(r[0]) for r in fetch(
        server, "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = "
                f"'{db}' AND TABLE_NAME = '{table}' ORDER BY ORDINAL_POSITION")]


def _merged_equal(ups: list[MariaDB], downstream: MariaDB, sources: int = 2) -> bool:
    """DM's sync_diff: the merged table holds the union of the shards (of the first
    `sources` sources), on every column of the merged table."""
    columns = _columns(downstream, "shardddl", "tb")
    if not columns:
        return False
    union: list[tuple[Any, ...]] = []
    for i, db, table in _shards(ups[:sources]):
        if set(columns) - set(_columns(ups[i], db, table)):
            return False
        union += fetch(ups[i], f"SELECT {', '.join(columns)} FROM {db}.{table}")
    return sorted(union, key=repr) == sorted(fetch(downstream, f"SELECT {', '.join(columns)} "
                                                               "FROM shardddl.tb"), key=repr)


def _equal(ups: list[MariaDB], downstream: MariaDB, sources: int = 2) -> None:
    wait_until("the merged table equals the shards' union",
               lambda: _merged_equal(ups, downstream, sources),
               shown=lambda: fetch(downstream, "SELECT * FROM shardddl.tb"))


def _errors(cluster: DMProcesses) -> list[dict[str, Any]]:
    return [e for s in cluster.dmctl("query-status", TASK)["sources"]
            for sub in s["subTaskStatus"] for e in (sub.get("result") or {}).get("errors", [])]


def _groups(cluster: DMProcesses) -> list[tuple[str, list[str], list[str]]]:
    """query-status's unresolvedGroups: (target, synced, unsynced) of every source."""
    return [(g["target"], g["synced"], g["unsynced"])
            for s in cluster.dmctl("query-status", TASK)["sources"]
            for sub in s["subTaskStatus"]
            for g in (sub.get("sync") or {}).get("unresolvedGroups", [])]


def _run_and_check(cluster: DMProcesses, ups: list[MariaDB], downstream: MariaDB,
                   statements: list[tuple[int, str]], expect: str, sources: int) -> None:
    """Run each (source, statement), then check what DM checks: "equal" (sync_diff),
    "count N" (rows merged) or "code N" (a source paused with that code)."""
    for i, sql in statements:
        ups[i].execute(sql)
    if expect == "equal":
        _equal(ups, downstream, sources)
        assert not _errors(cluster)
    elif expect.startswith("count "):
        wait_until("every row merged", lambda: _count(downstream) == int(expect[6:]))
        assert not _errors(cluster)
    else:
        wait_until(f"a source paused with {expect}", lambda: any(
            e["ErrCode"] == int(expect[5:]) for e in _errors(cluster)),
            shown=lambda: _errors(cluster))


def _count(downstream: MariaDB) -> int:
    return int(fetch(downstream, "SELECT COUNT(*) FROM shardddl.tb")[0][0])


def test_dm_001_two_tables_without_shard_mode_add_the_same_column_twice(
        cluster: DMProcesses, ups: list[MariaDB], downstream: MariaDB, tmp_path: Path) -> None:
    """No shard mode: each table's ALTER runs on the merged table. DM pauses on the
    second ("Duplicate column name 'new_col1'"): its tracker starts tb2 from the merged
    table, which has the column already. pydm tracks tb2 from its dump and, as DM does
    for a DDL run downstream, takes 1060 for done: the rows go on, equal."""
    with _case(cluster, ups, downstream, tmp_path, "", 1,
               {"111": "id INT PRIMARY KEY", "112": "id INT PRIMARY KEY"}):
        ups[0].execute("ALTER TABLE shardddl1.tb1 ADD COLUMN new_col1 INT",
                       "ALTER TABLE shardddl1.tb2 ADD COLUMN new_col1 INT",
                       "INSERT INTO shardddl1.tb1 VALUES (1, 1)",
                       "INSERT INTO shardddl1.tb2 VALUES (2, 2)")
        _equal(ups, downstream, 1)
        assert not _errors(cluster)


@pytest.mark.parametrize("mode", ["pessimistic", "optimistic"])
def test_dm_002_to_005_one_source_adds_a_column_to_both_shards(
        cluster: DMProcesses, ups: list[MariaDB], downstream: MariaDB, tmp_path: Path,
        mode: str) -> None:
    """DM_002/005 (both ALTERs, then rows), DM_003 (pessimistic: a row of the first shard
    waits for the second shard's ALTER) and DM_004 (optimistic: it does not)."""
    with _case(cluster, ups, downstream, tmp_path, mode, 1,
               {"111": "id INT PRIMARY KEY", "112": "id INT PRIMARY KEY"}):
        ups[0].execute("ALTER TABLE shardddl1.tb1 ADD COLUMN new_col1 INT",
                       "INSERT INTO shardddl1.tb1 VALUES (1, 1)")
        if mode == "optimistic":
            wait_until("the row arrives at once", lambda: _count(downstream) == 1)
        else:
            wait_until("tb1 waits for tb2", lambda: _groups(cluster) == [
                ("`shardddl`.`tb`", ["`shardddl1`.`tb1`"], ["`shardddl1`.`tb2`"])],
                shown=lambda: _groups(cluster))
            assert _count(downstream) == 0 and _columns(downstream, "shardddl", "tb") == ["id"]
        ups[0].execute("ALTER TABLE shardddl1.tb2 ADD COLUMN new_col1 INT",
                       "INSERT INTO shardddl1.tb2 VALUES (2, 2)")
        _equal(ups, downstream, 1)
        assert _columns(downstream, "shardddl", "tb") == ["id", "new_col1"]
        assert not cluster.dmctl("shard-ddl-lock", TASK)["locks"]


@pytest.mark.parametrize("mode", ["pessimistic", "optimistic"])
def test_dm_rename_table_of_a_shard(
        cluster: DMProcesses, ups: list[MariaDB], downstream: MariaDB, tmp_path: Path,
        mode: str) -> None:
    """DM_RENAME_TABLE: after an ADD COLUMN on every shard, each shard is renamed to a
    name the route still merges, writes, and adds another column. Pessimistic: each shard
    keeps its group under its new name, the merged table is not renamed, and the next
    ADD COLUMN waits for the renamed shards as it would have for the old names: equal,
    as in DM. Optimistic: 36068 ("`RENAME TABLE` statement not supported"), as DM's, with
    the rows before the rename all there."""
    tables = {"111": "id INT PRIMARY KEY", "211": "id INT PRIMARY KEY",
              "212": "id INT PRIMARY KEY"}
    with _case(cluster, ups, downstream, tmp_path, mode, 2, tables):
        ups[0].execute("INSERT INTO shardddl1.tb1 VALUES (1)")
        ups[1].execute("INSERT INTO shardddl1.tb1 VALUES (2)",
                       "INSERT INTO shardddl1.tb2 VALUES (3)")
        ups[0].execute("ALTER TABLE shardddl1.tb1 ADD COLUMN a INT")
        ups[1].execute("ALTER TABLE shardddl1.tb1 ADD COLUMN a INT",
                       "ALTER TABLE shardddl1.tb2 ADD COLUMN a INT")
        ups[0].execute("INSERT INTO shardddl1.tb1 VALUES (4, 4)")
        ups[1].execute("INSERT INTO shardddl1.tb1 VALUES (5, 5)",
                       "INSERT INTO shardddl1.tb2 VALUES (6, 6)")
        _equal(ups, downstream)
        ups[0].execute("RENAME TABLE shardddl1.tb1 TO shardddl1.tb3")
        if mode == "optimistic":
            wait_until("the rename refused", lambda: any(
                e["ErrCode"] == 36068 and "RENAME TABLE" in e["Message"]
                for e in _errors(cluster)), shown=lambda: _errors(cluster))
            assert sorted(r[0] for r in fetch(downstream, "SELECT id FROM shardddl.tb")) == [
                1, 2, 3, 4, 5, 6]
            return
        ups[1].execute("RENAME TABLE shardddl1.tb1 TO shardddl1.tb3",
                       "ALTER TABLE shardddl1.tb2 RENAME TO shardddl1.tb4")
        ups[0].execute("INSERT INTO shardddl1.tb3 VALUES (7, 7)")
        ups[1].execute("INSERT INTO shardddl1.tb3 VALUES (8, 8)",
                       "INSERT INTO shardddl1.tb4 VALUES (9, 9)")
        ups[0].execute("ALTER TABLE shardddl1.tb3 ADD COLUMN b INT")
        ups[1].execute("ALTER TABLE shardddl1.tb3 ADD COLUMN b INT")
        ups[0].execute("INSERT INTO shardddl1.tb3 VALUES (10, 10, 10)")
        wait_until("the renamed shards of the first source wait for tb4's ADD", lambda: any(
            g[2] for g in _groups(cluster)), shown=lambda: _groups(cluster))
        assert _columns(downstream, "shardddl", "tb") == ["id", "a"]
        ups[1].execute("ALTER TABLE shardddl1.tb4 ADD COLUMN b INT",
                       "INSERT INTO shardddl1.tb3 VALUES (11, 11, 11)",
                       "INSERT INTO shardddl1.tb4 VALUES (12, 12, 12)")
        _equal(ups, downstream)
        assert _columns(downstream, "shardddl", "tb") == ["id", "a", "b"]
        assert sorted(r[0] for r in fetch(downstream, "SELECT id FROM shardddl.tb")) == list(
            range(1, 13))
        assert not _errors(cluster)
        wait_until("no lock left", lambda: not cluster.dmctl("shard-ddl-lock", TASK)["locks"])


@pytest.mark.parametrize("mode", ["pessimistic", "optimistic"])
def test_dm_restart_master_keeps_a_conflicting_lock(
        cluster: DMProcesses, ups: list[MariaDB], downstream: MariaDB, tmp_path: Path,
        mode: str) -> None:
    """DM_RestartMaster: the two sources' shards add `c` as DOUBLE and as TEXT. DM shows
    the lock (pessimistic: with both DDLs; optimistic: a conflict naming the shards); a
    restarted master shows the same. pydm shows each source's DDL blocking and pauses
    the second source with 38016 (pessimistic), or with 36062 (optimistic)."""
    tables = {"111": "a INT PRIMARY KEY, b VARCHAR(10)", "211": "a INT PRIMARY KEY, b VARCHAR(10)"}
    with _case(cluster, ups, downstream, tmp_path, mode, 2, tables):
        ups[0].execute("INSERT INTO shardddl1.tb1 VALUES (1, 'aaa')")
        ups[1].execute("INSERT INTO shardddl1.tb1 VALUES (2, 'bbb')")
        _equal(ups, downstream)
        ups[0].execute("ALTER TABLE shardddl1.tb1 ADD COLUMN c DOUBLE")
        ups[1].execute("ALTER TABLE shardddl1.tb1 ADD COLUMN c TEXT")

        def shown() -> str:  # (a master just restarted answers once it leads)
            return str(cluster.dmctl("query-status", TASK, check=False)) + str(
                cluster.dmctl("shard-ddl-lock", TASK, check=False))

        if mode == "pessimistic":  # each source's DDL blocking; the second one's 38016
            expected = ["'blockingDDLs': ['ALTER TABLE `shardddl`.`tb` ADD COLUMN c DOUBLE']",
                        "'blockingDDLs': ['ALTER TABLE `shardddl`.`tb` ADD COLUMN c TEXT']",
                        "'ErrCode': 38016", "'ID': 'shardddl1-`shardddl`.`tb`'"]
        else:  # the conflict, and the lock with its shards
            expected = ["'ErrCode': 36062", f"'synced': ['{SOURCES[0]}:shardddl1.tb1']",
                        f"'unsynced': ['{SOURCES[1]}:shardddl1.tb1']"]
        wait_until("the conflict shown", lambda: all(e in shown() for e in expected),
                   shown=shown)
        cluster.kill_master("master1")
        cluster.restart_master("master1")
        wait_until("shown again by the restarted master", lambda: all(
            e in shown() for e in expected), shown=shown)


# DM's shardddl1_1 cases: (case, shard mode, sources, tables, statements by source, what
# DM checks: "equal" (sync_diff), "count N" (rows merged), or "code N" (a source paused
# with that code; DM's "is different with" of pessimistic mode is pydm's 38016, its
# "because schema conflict detected" of optimistic mode 36062)). Left out: 008 (like
# 009), 027 and 028 (DM's answers come from TiDB's table handling), 034 (TiDB refuses
# ADD COLUMN ... UNIQUE AUTO_INCREMENT, MariaDB does not).
BOTH = ("pessimistic", "optimistic")
ONE_ONE = [
    ("006", "pessimistic", 2, ("111", "211"),
     [(0, "ALTER TABLE shardddl1.tb1 ADD COLUMN new_col1 INT"),
      (0, "INSERT INTO shardddl1.tb1 VALUES (1, 1)"),
      (1, "ALTER TABLE shardddl1.tb1 ADD COLUMN new_col1 INT"),
      (1, "INSERT INTO shardddl1.tb1 VALUES (2, 2)")], "equal"),
    ("007", "pessimistic", 2, ("111", "212"),
     [(0, "ALTER TABLE shardddl1.tb1 ADD COLUMN new_col1 INT"),
      (0, "INSERT INTO shardddl1.tb1 VALUES (1, 1)"),
      (1, "ALTER TABLE shardddl1.tb2 ADD COLUMN new_col1 INT"),
      (1, "INSERT INTO shardddl1.tb2 VALUES (2, 2)")], "equal"),
    ("009", "pessimistic", 2, ("111", "222"),
     [(0, "ALTER TABLE shardddl1.tb1 ADD COLUMN new_col1 INT"),
      (0, "INSERT INTO shardddl1.tb1 VALUES (1, 1)"),
      (1, "ALTER TABLE shardddl2.tb2 ADD COLUMN new_col1 INT"),
      (1, "INSERT INTO shardddl2.tb2 VALUES (2, 2)")], "equal"),
    ("010", "pessimistic", 1, ("111", "112"),
     [(0, "ALTER TABLE shardddl1.tb1 ADD COLUMN new_col1 INT"),
      (0, "INSERT INTO shardddl1.tb1 VALUES (1, 1)"),
      (0, "ALTER TABLE shardddl1.tb1 ADD COLUMN new_col2 INT"),
      (0, "INSERT INTO shardddl1.tb1 VALUES (2, 2, 2)"),
      (0, "ALTER TABLE shardddl1.tb2 ADD COLUMN new_col1 INT"),
      (0, "INSERT INTO shardddl1.tb2 VALUES (3, 3)"),
      (0, "ALTER TABLE shardddl1.tb2 ADD COLUMN new_col2 INT"),
      (0, "INSERT INTO shardddl1.tb2 VALUES (4, 4, 4)")], "equal"),
    ("011", "pessimistic", 2, ("111", "211"),
     [(0, "ALTER TABLE shardddl1.tb1 ADD COLUMN new_col1 INT"),
      (0, "INSERT INTO shardddl1.tb1 VALUES (1, 1)"),
      (1, "ALTER TABLE shardddl1.tb1 ADD COLUMN new_col1 FLOAT"),
      (1, "INSERT INTO shardddl1.tb1 VALUES (3, 3.0)")], "code 38016"),
    ("012", "pessimistic", 2, ("111", "211"),
     [(0, "ALTER TABLE shardddl1.tb1 ADD COLUMN new_col1 INT"),
      (0, "ALTER TABLE shardddl1.tb1 ADD COLUMN new_col2 INT"),
      (1, "ALTER TABLE shardddl1.tb1 ADD COLUMN new_col2 INT"),
      (1, "ALTER TABLE shardddl1.tb1 ADD COLUMN new_col1 INT")], "code 38016"),
    ("013", "optimistic", 1, ("111", "112"),
     [(0, "ALTER TABLE shardddl1.tb1 ADD COLUMN new_col1 INT"),
      (0, "INSERT INTO shardddl1.tb1 VALUES (1, 1)"),
      (0, "ALTER TABLE shardddl1.tb1 ADD COLUMN new_col2 INT"),
      (0, "INSERT INTO shardddl1.tb1 VALUES (2, 2, 2)"),
      (0, "ALTER TABLE shardddl1.tb2 ADD COLUMN new_col1 INT"),
      (0, "INSERT INTO shardddl1.tb2 VALUES (3, 3)"),
      (0, "ALTER TABLE shardddl1.tb2 ADD COLUMN new_col2 INT"),
      (0, "INSERT INTO shardddl1.tb2 VALUES (4, 4, 4)")], "equal"),
    ("014", "optimistic", 1, ("111", "112"),
     [(0, "ALTER TABLE shardddl1.tb1 ADD COLUMN new_col1 INT"),
      (0, "INSERT INTO shardddl1.tb1 VALUES (1, 1)"),
      (0, "ALTER TABLE shardddl1.tb1 ADD COLUMN new_col2 INT"),
      (0, "INSERT INTO shardddl1.tb1 VALUES (2, 2, 2)"),
      (0, "ALTER TABLE shardddl1.tb2 ADD COLUMN new_col2 INT"),
      (0, "INSERT INTO shardddl1.tb2 VALUES (3, 3)"),
      (0, "ALTER TABLE shardddl1.tb2 ADD COLUMN new_col1 INT"),
      (0, "INSERT INTO shardddl1.tb2 VALUES (4, 4, 4)")], "count 4"),
    # DM: "rename table ... not supported" (one DDL per event in its sharding group);
    # pydm: both shards keep their group under their new names
    ("023", "pessimistic", 1, ("111", "112"),
     [(0, "INSERT INTO shardddl1.tb1 VALUES (1)"), (0, "INSERT INTO shardddl1.tb2 VALUES (2)"),
      (0, "RENAME TABLE shardddl1.tb1 TO shardddl1.tb3, shardddl1.tb2 TO shardddl1.tb4"),
      (0, "INSERT INTO shardddl1.tb3 VALUES (3)"), (0, "INSERT INTO shardddl1.tb4 VALUES (4)")],
     "equal"),
    # a shard renamed out of its group (routed to shardddl.other): 36068 in both
    *((f"023-out-{mode[:3]}", mode, 1, ("111", "112"),
       [(0, "RENAME TABLE shardddl1.tb1 TO shardddl1.other")], "code 36068") for mode in BOTH),
    ("026", "pessimistic", 1, ("111", "112"),
     [(0, "INSERT INTO shardddl1.tb1 VALUES (1)"), (0, "INSERT INTO shardddl1.tb2 VALUES (2)"),
      (0, "CREATE TABLE shardddl1.tb3 (id INT PRIMARY KEY)"),
      (0, "INSERT INTO shardddl1.tb1 VALUES (3)"), (0, "INSERT INTO shardddl1.tb2 VALUES (4)"),
      (0, "INSERT INTO shardddl1.tb3 VALUES (5)")], "equal"),
    *((f"030-{mode[:3]}", mode, 2, ("111", "211"),
       [(0, "ALTER TABLE shardddl1.tb1 ADD new_col1 INT"),
        (0, "INSERT INTO shardddl1.tb1 VALUES (1, 1)"), (1, "INSERT INTO shardddl1.tb1 VALUES (2)"),
        (1, "ALTER TABLE shardddl1.tb1 ADD new_col1 INT"),
        (0, "INSERT INTO shardddl1.tb1 VALUES (3, 3)"),
        (1, "INSERT INTO shardddl1.tb1 VALUES (4, 4)")], "equal")
      for mode in ("pessimistic", "optimistic")),
    *((f"031-{mode[:3]}", mode, 2, ("111", "211"),
       [(0, "ALTER TABLE shardddl1.tb1 ADD new_col1 INT"),
        (0, "INSERT INTO shardddl1.tb1 VALUES (1, 1)"), (1, "INSERT INTO shardddl1.tb1 VALUES (2)"),
        (1, "ALTER TABLE shardddl1.tb1 ADD new_col1 VARCHAR(10)"),
        (0, "INSERT INTO shardddl1.tb1 VALUES (3, 3)"),
        (1, "INSERT INTO shardddl1.tb1 VALUES (4, 'dkfj')")], code)
      for mode, code in (("pessimistic", "code 38016"), ("optimistic", "code 36062"))),
    ("032", "optimistic", 2, ("111", "211", "212"),
     [(0, "ALTER TABLE shardddl1.tb1 ADD new_col1 INT"),
      (0, "INSERT INTO shardddl1.tb1 VALUES (1, 1)"),
      (0, "ALTER TABLE shardddl1.tb1 DROP COLUMN new_col1"),
      (0, "INSERT INTO shardddl1.tb1 VALUES (2)"),
      (0, "ALTER TABLE shardddl1.tb1 ADD new_col2 FLOAT"),
      (0, "INSERT INTO shardddl1.tb1 VALUES (3, 3.0)"),
      (1, "ALTER TABLE shardddl1.tb1 ADD new_col2 FLOAT"),
      (0, "INSERT INTO shardddl1.tb1 VALUES (4, 4.0)"),
      (1, "INSERT INTO shardddl1.tb1 VALUES (5, 5.0)"), (1, "INSERT INTO shardddl1.tb2 VALUES (6)"),
      (1, "ALTER TABLE shardddl1.tb2 ADD new_col2 FLOAT"),
      (0, "INSERT INTO shardddl1.tb1 VALUES (7, 7.0)"),
      (1, "INSERT INTO shardddl1.tb1 VALUES (8, 8.0)"),
      (1, "INSERT INTO shardddl1.tb2 VALUES (9, 9.0)")], "equal"),
    ("035", "optimistic", 2, ("111", "211", "212"),
     [(0, "ALTER TABLE shardddl1.tb1 ADD new_col1 INT"),
      (0, "ALTER TABLE shardddl1.tb1 ADD new_col2 INT"),
      (0, "INSERT INTO shardddl1.tb1 VALUES (1, 1, 1)"),
      (1, "INSERT INTO shardddl1.tb1 VALUES (2)"),
      (1, "INSERT INTO shardddl1.tb2 VALUES (3)"),
      (1, "ALTER TABLE shardddl1.tb1 ADD new_col2 INT"),
      (1, "ALTER TABLE shardddl1.tb1 ADD new_col1 INT"),
      (0, "INSERT INTO shardddl1.tb1 VALUES (4, 4, 4)"),
      (1, "INSERT INTO shardddl1.tb1 VALUES (5, 5, 5)"),
      (1, "INSERT INTO shardddl1.tb2 VALUES (6)"),
      (1, "ALTER TABLE shardddl1.tb2 ADD new_col2 INT"),
      (1, "ALTER TABLE shardddl1.tb2 ADD new_col1 INT"),
      (0, "INSERT INTO shardddl1.tb1 VALUES (7, 7, 7)"),
      (1, "INSERT INTO shardddl1.tb1 VALUES (8, 8, 8)"),
      (1, "INSERT INTO shardddl1.tb2 VALUES (9, 9, 9)")], "count 9"),
]


@pytest.mark.parametrize(("case", "mode", "sources", "tables", "statements", "expect"),
                         ONE_ONE, ids=[c[0] for c in ONE_ONE])
def test_dm_shardddl1_1_cases(cluster: DMProcesses, ups: list[MariaDB], downstream: MariaDB,
                              tmp_path: Path, case: str, mode: str, sources: int,
                              tables: tuple[str, ...], statements: list[tuple[int, str]],
                              expect: str) -> None:
    with _case(cluster, ups, downstream, tmp_path, mode, sources,
               dict.fromkeys(tables, "id INT PRIMARY KEY")):
        _run_and_check(cluster, ups, downstream, statements, expect, sources)


@pytest.mark.parametrize("mode", ["pessimistic", "optimistic"])
def test_dm_015_to_019_drop_create_truncate_of_a_shard(
        cluster: DMProcesses, ups: list[MariaDB], downstream: MariaDB, tmp_path: Path,
        mode: str) -> None:
    """DM_015-019: a shard's TRUNCATE, DROP TABLE and DROP DATABASE never touch the merged
    table (its rows stay); CREATE DATABASE / TABLE [IF NOT EXISTS] of a shard again go on
    and its new rows arrive."""
    with _case(cluster, ups, downstream, tmp_path, mode, 1,
               {"111": "id INT PRIMARY KEY", "112": "id INT PRIMARY KEY"}):
        ups[0].execute("INSERT INTO shardddl1.tb1 VALUES (1), (2)",
                       "INSERT INTO shardddl1.tb2 VALUES (3)")
        _equal(ups, downstream, 1)
        ups[0].execute("TRUNCATE TABLE shardddl1.tb1", "INSERT INTO shardddl1.tb2 VALUES (4)")
        wait_until("tb2's row after the TRUNCATE", lambda: _count(downstream) == 4)
        ups[0].execute("DROP TABLE shardddl1.tb1",
                       "CREATE TABLE IF NOT EXISTS shardddl1.tb1 (id INT PRIMARY KEY)",
                       "INSERT INTO shardddl1.tb1 VALUES (5)")
        wait_until("the new tb1's row", lambda: _count(downstream) == 5)
        ups[0].execute("DROP DATABASE shardddl1", "CREATE DATABASE shardddl1",
                       "CREATE TABLE shardddl1.tb1 (id INT PRIMARY KEY)",
                       "INSERT INTO shardddl1.tb1 VALUES (6)")
        wait_until("the row of the database made again", lambda: _count(downstream) == 6)
        assert sorted(r[0] for r in fetch(downstream, "SELECT id FROM shardddl.tb")) == [
            1, 2, 3, 4, 5, 6]
        assert not _errors(cluster)


def _paused_sources(cluster: DMProcesses) -> dict[str, str]:
    """source → the first error's code and raw cause, of each paused source."""
    out = {}
    for s in cluster.dmctl("query-status", TASK)["sources"]:
        for sub in s["subTaskStatus"]:
            errs = (sub.get("result") or {}).get("errors", [])
            if sub["stage"] == "Paused" and errs:
                out[s["sourceStatus"]["source"]] = f"{errs[0]['ErrCode']} {errs[0]['RawCause']}"
    return out


def test_dm_rename_column_optimistic_workaround(
        cluster: DMProcesses, ups: list[MariaDB], downstream: MariaDB, tmp_path: Path) -> None:
    """DM_RENAME_COLUMN_OPTIMISTIC, DM's documented way through a column rename in
    optimistic mode: every shard's `CHANGE a c` is a conflict (36062); the operator
    renames the merged column by hand, skips the DDLs (`binlog skip`), fixes the tracked
    schemas (`binlog-schema update`) and resumes; the rows then merge again, and a later
    ADD COLUMN on every shard goes through as usual."""
    create = "a INT PRIMARY KEY, b VARCHAR(10)"
    with _case(cluster, ups, downstream, tmp_path, "optimistic", 2,
               {"111": create, "211": create, "212": create}):
        ups[0].execute("INSERT INTO shardddl1.tb1 VALUES (1, 'aaa')")
        ups[1].execute("INSERT INTO shardddl1.tb1 VALUES (2, 'bbb')",
                       "INSERT INTO shardddl1.tb2 VALUES (3, 'ccc')")
        ups[0].execute("ALTER TABLE shardddl1.tb1 CHANGE a c INT",
                       "INSERT INTO shardddl1.tb1 VALUES (4, 'ddd')")
        ups[1].execute("ALTER TABLE shardddl1.tb1 CHANGE a c INT",
                       "INSERT INTO shardddl1.tb1 VALUES (5, 'eee')",
                       "ALTER TABLE shardddl1.tb2 CHANGE a c INT",
                       "INSERT INTO shardddl1.tb2 VALUES (6, 'fff')")
        wait_until("both sources paused on the conflict", lambda: {
            s: v.split()[0] for s, v in _paused_sources(cluster).items()} == dict.fromkeys(
            SOURCES, "36062"), shown=lambda: _paused_sources(cluster))
        downstream.execute("ALTER TABLE shardddl.tb CHANGE a c INT")
        schema = tmp_path / "schema.sql"
        schema.write_text("CREATE TABLE tb1 (c INT NOT NULL, b VARCHAR(10), PRIMARY KEY (c))")

        def next_pause(source: str, codes: tuple[str, ...], after: str = "") -> str:
            wait_until(f"{source} paused with {codes}", lambda: _paused_sources(
                cluster).get(source, "")[:5] in codes and _paused_sources(cluster)[
                source] != after, shown=lambda: _paused_sources(cluster))
            return _paused_sources(cluster)[source]

        for source in SOURCES:
            # the CHANGE skipped (the merged column is renamed by hand), the shard's next
            # row still names `a` (1054): its tracked schema gets `c`, and it resumes
            skipped = next_pause(source, ("36062",))
            assert cluster.dmctl("binlog", "skip", TASK, "-s", source)["result"]
            assert "Unknown column 'a'" in next_pause(source, ("10006",), skipped)
            assert cluster.dmctl("binlog-schema", "update", TASK, "shardddl1", "tb1",
                                 str(schema), "-s", source)["result"]
            assert cluster.dmctl("resume-task", TASK, "-s", source)["result"]
        # tb2 of the second source meets its CHANGE with the merged table's schema (its
        # first event; DM's tracker says "Unknown column 'a'"): a conflict, skipped
        skipped = next_pause(SOURCES[1], ("36062", "44006"))
        assert cluster.dmctl("binlog", "skip", TASK, "-s", SOURCES[1])["result"]
        # its row then names `a` when tb2's tracked schema still has it (as DM's
        # source2.table2): tb2 gets `c` too, and the source resumes
        wait_until("tb2's row merged, or refused", lambda: _merged_equal(ups, downstream) or
                   _paused_sources(cluster).get(SOURCES[1], skipped) != skipped)
        if SOURCES[1] in _paused_sources(cluster):
            assert "Unknown column 'a'" in _paused_sources(cluster)[SOURCES[1]]
            schema.write_text("CREATE TABLE tb2 (c INT NOT NULL, b VARCHAR(10), "
                              "PRIMARY KEY (c))")
            assert cluster.dmctl("binlog-schema", "update", TASK, "shardddl1", "tb2",
                                 str(schema), "-s", SOURCES[1])["result"]
            assert cluster.dmctl("resume-task", TASK, "-s", SOURCES[1])["result"]
        wait_until("the renamed shards merge again", lambda: _merged_equal(ups, downstream),
                   shown=lambda: (_paused_sources(cluster), cluster.dmctl(
                       "query-status", TASK)))
        ups[0].execute("ALTER TABLE shardddl1.tb1 ADD COLUMN d INT",
                       "INSERT INTO shardddl1.tb1 VALUES (13, 'mmm', 13)")
        ups[1].execute("ALTER TABLE shardddl1.tb1 ADD COLUMN d INT",
                       "ALTER TABLE shardddl1.tb2 ADD COLUMN d INT",
                       "INSERT INTO shardddl1.tb2 VALUES (14, 'nnn', 14)")
        _equal(ups, downstream)
        assert not _errors(cluster) and not cluster.dmctl("shard-ddl-lock", TASK)["locks"]


# DM_ADD_DROP_COLUMNS and DM_COLUMN_INDEX: (table, leading values of a row, columns
# after them at first, ALTERs with how many columns each adds, the merged table's end)
SEVERAL = {
    "ADD_DROP_COLUMNS": ("a INT PRIMARY KEY, id DATETIME", "NOW()", 0, [
        ("ADD COLUMN col1 INT, ADD COLUMN col2 INT, ADD COLUMN col3 INT", 3),
        ("DROP COLUMN col1, DROP COLUMN col2", -2),
        ("ADD COLUMN col4 INT, DROP COLUMN col3", 0)], ["a", "id", "col4"]),
    "COLUMN_INDEX": ("a INT PRIMARY KEY, col1 INT, col2 INT", "", 2, [
        ("ADD COLUMN col3 INT, ADD INDEX idx_col1(col1)", 1),
        ("DROP COLUMN col2, DROP INDEX idx_col1", -1),
        ("DROP COLUMN col1, ADD INDEX idx_col3(col3)", -1),
        ("ADD COLUMN col4 INT, DROP INDEX idx_col3", 1)], ["a", "col3", "col4"]),
}


@pytest.mark.parametrize("mode", ["pessimistic", "optimistic"])
@pytest.mark.parametrize("case", list(SEVERAL))
def test_dm_alters_of_several_clauses(
        cluster: DMProcesses, ups: list[MariaDB], downstream: MariaDB, tmp_path: Path,
        mode: str, case: str) -> None:
    """DM_ADD_DROP_COLUMNS and DM_COLUMN_INDEX: ALTERs of several clauses (columns and
    indexes added and dropped together) run shard after shard, each shard writing a row
    of its shape after every step; equal at the end, the indexes gone, in both modes."""
    create, lead, first, steps, end = SEVERAL[case]
    shards = [(0, "tb1"), (1, "tb1"), (1, "tb2")]
    width = dict.fromkeys(shards, first)  # columns after the key and `lead`
    key = 0
    with _case(cluster, ups, downstream, tmp_path, mode, 2,
               {"111": create, "211": create, "212": create}):
        for alter, change in steps:
            for shard in shards:
                ups[shard[0]].execute(f"ALTER TABLE shardddl1.{shard[1]} {alter}")
                width[shard] += change
                for i, table in shards:
                    key += 1
                    values = [str(key), *([lead] if lead else []), *[str(key)] * width[
                        (i, table)]]
                    ups[i].execute(f"INSERT INTO shardddl1.{table} VALUES "
                                   f"({', '.join(values)})")
        _equal(ups, downstream)
        assert _columns(downstream, "shardddl", "tb") == end
        assert [r[2] for r in fetch(downstream, "SHOW INDEX FROM shardddl.tb")] == ["PRIMARY"]
        assert not _errors(cluster)


def test_dm_causality_of_a_unique_key_moving_between_rows(
        cluster: DMProcesses, ups: list[MariaDB], downstream: MariaDB, tmp_path: Path) -> None:
    """DM_CAUSALITY (no shard mode): a row's primary and unique keys change, a row is
    deleted and its key and another row's old unique value come back, in one burst;
    applied in an order that keeps every key unique downstream, equal."""
    with _case(cluster, ups, downstream, tmp_path, "", 1,
               {"111": "a INT PRIMARY KEY, b INT UNIQUE"}):
        ups[0].execute("INSERT INTO shardddl1.tb1 VALUES (1, 2)",
                       "INSERT INTO shardddl1.tb1 VALUES (2, 3)",
                       "UPDATE shardddl1.tb1 SET a = 3, b = 4 WHERE b = 3",
                       "DELETE FROM shardddl1.tb1 WHERE a = 1",
                       "INSERT INTO shardddl1.tb1 VALUES (1, 3)")
        _equal(ups, downstream, 1)
        assert not _errors(cluster)


def test_dm_update_ba_rule_leaves_a_conflicting_database_out(
        cluster: DMProcesses, ups: list[MariaDB], downstream: MariaDB, tmp_path: Path) -> None:
    """DM_UpdateBARule (optimistic): four shards in two databases change columns in their
    own ways; one renames its key column (a conflict, 36062). The task is stopped and
    started again (checkpoints kept) with that database left out of its block-allow list:
    rows go on, the lock with the remaining shards survives a master restart, and once
    they agree it is gone."""
    tables = dict.fromkeys(("111", "121", "211", "221"), "id INT PRIMARY KEY")
    with _case(cluster, ups, downstream, tmp_path, "optimistic", 2, tables):
        for i, db, key in ((0, 1, 1), (0, 2, 2), (1, 1, 3), (1, 2, 4)):
            ups[i].execute(f"INSERT INTO shardddl{db}.tb1 VALUES ({key})")
        for i, db in ((0, 1), (0, 2), (1, 1), (1, 2)):
            ups[i].execute(f"ALTER TABLE shardddl{db}.tb1 ADD COLUMN new_col1 INT")
        for i, db, key in ((0, 1, 5), (0, 2, 6), (1, 1, 7), (1, 2, 8)):
            ups[i].execute(f"INSERT INTO shardddl{db}.tb1 VALUES ({key}, {key})")
        ups[0].execute("ALTER TABLE shardddl2.tb1 ADD COLUMN new_col2 INT",
                       "INSERT INTO shardddl2.tb1 VALUES (9, 9, 9)",
                       "ALTER TABLE shardddl2.tb1 DROP COLUMN new_col2",
                       "INSERT INTO shardddl2.tb1 VALUES (10, 10)",
                       "ALTER TABLE shardddl1.tb1 ADD COLUMN new_col3 INT",
                       "INSERT INTO shardddl1.tb1 VALUES (11, 11, 11)")
        ups[1].execute("ALTER TABLE shardddl1.tb1 DROP COLUMN new_col1",
                       "INSERT INTO shardddl1.tb1 VALUES (12)",
                       "ALTER TABLE shardddl2.tb1 RENAME COLUMN id TO new_id")
        wait_until("the rename is a conflict", lambda: _paused_sources(cluster).get(
            SOURCES[1], "").startswith("36062"), shown=lambda: _paused_sources(cluster))
        assert cluster.dmctl("stop-task", TASK)["result"]
        task = tmp_path / "task.yaml"  # shardddl2 left out; its shards differ, as DM's
        task.write_text(_task("optimistic", 2, downstream.port).replace(
            "do-dbs: [shardddl1, shardddl2]", "do-dbs: [shardddl1]")
            + 'ignore-checking-items: ["schema_of_shard_tables"]\n')
        assert cluster.dmctl("start-task", str(task))["result"]
        wait_stage(cluster, TASK, "Running", unit="Sync")
        ups[0].execute("INSERT INTO shardddl1.tb1 VALUES (13, 13, 13)")
        ups[1].execute("INSERT INTO shardddl1.tb1 VALUES (14)")
        wait_until("14 rows merged", lambda: _count(downstream) == 14)
        cluster.kill_master("master1")
        cluster.restart_master("master1")
        wait_until("the lock shown by the restarted master", lambda: [
            lock["ID"] for lock in cluster.dmctl("shard-ddl-lock", TASK, check=False).get(
                "locks", [])] == ["shardddl1-`shardddl`.`tb`"])
        ups[0].execute("ALTER TABLE shardddl1.tb1 DROP COLUMN new_col1",
                       "INSERT INTO shardddl1.tb1 VALUES (15, 15)")
        ups[1].execute("ALTER TABLE shardddl1.tb1 ADD COLUMN new_col3 INT",
                       "INSERT INTO shardddl1.tb1 VALUES (16, 16)")
        wait_until("16 rows merged", lambda: _count(downstream) == 16)
        assert sorted(r[0] for r in fetch(downstream, "SELECT id FROM shardddl.tb")) == list(
            range(1, 17))
        assert _columns(downstream, "shardddl", "tb") == ["id", "new_col3"]
        wait_until("no lock left", lambda: not cluster.dmctl("shard-ddl-lock", TASK)["locks"])
        assert not _errors(cluster)


def _shardddl2(case: str, mode: str, alters: tuple[str, ...], rows: tuple[str, ...],
               expect: str, create: str = "id INT PRIMARY KEY"
               ) -> tuple[str, str, str, list[tuple[int, str]], str]:
    """One of DM's shardddl2 cases on shards src1.tb1, src2.tb1, src2.tb2: each shard's
    ALTER in turn (`alters`), every shard writing a row after each (`rows`: the INSERT's
    column list and values, by how many ALTERs ran, 0 to 3)."""
    shards = [(0, "tb1"), (1, "tb1"), (1, "tb2")]
    statements: list[tuple[int, str]] = []
    key = 0
    for step, alter in enumerate(alters):
        i, table = shards[step]
        statements.append((i, f"ALTER TABLE shardddl1.{table} {alter}"))
        for n, (j, other) in enumerate(shards):
            key += 1
            statements.append((j, f"INSERT INTO shardddl1.{other} "
                                  + rows[step + 1 if n <= step else 0].format(key=key)))
    return f"{case}-{mode[:3]}", mode, create, statements, expect

SHARDDDL2 = [
    _shardddl2("036", "optimistic", ("ADD COLUMN new_col1 INT FIRST",
                                     "ADD COLUMN new_col1 INT AFTER a",
                                     "ADD COLUMN new_col1 INT AFTER b"),
               ("(a, b) VALUES ({key}, 'x')", *["(a, b, new_col1) VALUES ({key}, 'x', {key})"] * 3),
               "count 9", "a INT PRIMARY KEY, b VARCHAR(10)"),
    *(_shardddl2("037", mode, ("ADD new_col1 INT DEFAULT 0", "ADD new_col1 INT DEFAULT -1",
                               "ADD new_col1 INT DEFAULT -1"),
                 ("(id) VALUES ({key})",) * 4, code)
      for mode, code in zip(BOTH, ("code 38016", "code 36062"), strict=True)),
    *(_shardddl2("039", mode, ("ADD COLUMN col1 VARCHAR(10) CHARACTER SET utf8 COLLATE "
                               "utf8_bin",) * 3,
                 ("(id) VALUES ({key})", *["(id, col1) VALUES ({key}, 'v{key}')"] * 3),
                 "equal") for mode in BOTH),
    *(_shardddl2("040", mode, ("ADD COLUMN col1 VARCHAR(10) CHARACTER SET utf8 COLLATE "
                               "utf8_bin",
                               *["ADD COLUMN col1 VARCHAR(10) CHARACTER SET utf8mb4 COLLATE "
                                 "utf8mb4_bin"] * 2),
                 ("(id) VALUES ({key})", *["(id, col1) VALUES ({key}, 'v{key}')"] * 3), code)
      for mode, code in zip(BOTH, ("code 38016", "code 36062"), strict=True)),
    *(_shardddl2("041", mode, ("ADD COLUMN new_col1 INT AS (id + 1)",) * 3,
                 ("(id) VALUES ({key})",) * 4, "equal") for mode in BOTH),
    *(_shardddl2("043", mode, ("ADD COLUMN new_col1 INT AS (id + 1)",
                               *["ADD COLUMN new_col1 INT AS (id + 2)"] * 2),
                 ("(id) VALUES ({key})",) * 4, code)
      for mode, code in zip(BOTH, ("code 38016", "code 36062"), strict=True)),
]


SHARDDDL2_CASES = [pytest.param(*c, id=c[0]) for c in SHARDDDL2]


@pytest.mark.parametrize(("case", "mode", "create", "statements", "expect"), SHARDDDL2_CASES)
def test_dm_shardddl2_cases(cluster: DMProcesses, ups: list[MariaDB], downstream: MariaDB,
                            tmp_path: Path, case: str, mode: str, create: str,
                            statements: list[tuple[int, str]], expect: str) -> None:
    """DM's shardddl2 036-043: a column added at other positions (optimistic: rows never
    wait), with other defaults, charsets, or generation expressions (conflicts: 38016 /
    36062), and alike (equal)."""
    with _case(cluster, ups, downstream, tmp_path, mode, 2,
               dict.fromkeys(("111", "211", "212"), create)):
        _run_and_check(cluster, ups, downstream, statements, expect, 2)

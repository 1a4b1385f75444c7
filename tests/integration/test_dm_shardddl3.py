"""DM's shardddl3 and shardddl3_1 cases replayed (their SQL and what DM checks, written
anew for pydm) on test_dm_shardddl1.py's two sources and helpers: shards
`shardddl{1,2}.tb*` routed into `shardddl.tb`, the merged table compared row for row
with the union of the shards, or the task paused with the code DM's case implies.

Adapted: DM's cases on one source of MySQL 8.0 (085, 086) run on the first source here,
with MariaDB's `ALTER INDEX ... NOT IGNORED / IGNORED` for MySQL's `VISIBLE / INVISIBLE`;
078 and 079 need TiDB's alter-primary-key in DM, which a MariaDB downstream does not;
DM_096 runs DM_095's steps (its update-task is commented out in DM), so it is not run
twice. Where pydm answers otherwise than DM it says so in the case: 103 and 118 in
optimistic mode (conflicts of pydm's strict optimistic mode), 102 (the source paused by
38016 is resumed after the unlock).

Not replayable:
- DM_077: the merged table is created in TiDB with a clustered primary key, and DM
  expects TiDB's refusal of the shard's DROP PRIMARY KEY ("Unsupported drop primary
  key"); a MariaDB downstream has no clustered index to refuse it.

DM's cases left out by DM itself (commented out in its run.sh) are not replayed either:
071, 073, 080-082 optimistic, 104-106 pessimistic, 107 pessimistic.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dm.sandbox import DMProcesses, MariaDB
from tests.integration import test_dm_shardddl1 as shardddl1
from tests.integration.conftest import LONG_FORM, fetch, wait_stage, wait_until
from tests.integration.test_dm_shardddl1 import (
    BOTH,
    SOURCES,
    TASK,
    _case,
    _columns,
    _count,
    _equal,
    _errors,
    _merged_equal,
    _paused_sources,
    _run_and_check,
    _shardddl2,
)

pytestmark = pytest.mark.integration

ups = shardddl1.ups  # its fixture: the two sources, each on a worker of its own

THREE = ("111", "211", "212")  # src1 shardddl1.tb1, src2 shardddl1.tb1 and tb2
LOCK = f"{TASK}-`shardddl`.`tb`"

Case = tuple[str, str, int, dict[str, str], list[tuple[int, str]], str]


def _options(columns: str, options: str) -> str:
    """A table definition with table options, for `_case`."""
    return f"({columns}) {options}"


def _three(case: str, mode: str, alters: tuple[str, str, str], rows: tuple[str, ...],
           expect: str, create: str) -> Case:
    """A shardddl2-shaped case (each of the three shards' ALTER in turn, every shard
    writing a row after each) as a row of CASES."""
    name, mode, create, statements, expect = _shardddl2(case, mode, alters, rows, expect,
                                                        create)
    return name, mode, 2, dict.fromkeys(THREE, create), statements, expect


def _one_source(case: str, mode: str, alters: tuple[str, str, str], expect: str) -> Case:
    """DM_085/086: one source's tb1, tb2, tb3 each run their ALTER in turn, every table
    writing a row after each."""
    statements: list[tuple[int, str]] = []
    for step, alter in enumerate(alters):
        statements.append((0, f"ALTER TABLE shardddl1.tb{step + 1} {alter}"))
        statements += [(0, f"INSERT INTO shardddl1.tb{t} VALUES ({3 * step + t}, 'v')")
                       for t in (1, 2, 3)]
    return (f"{case}-{mode[:3]}", mode, 1,
            dict.fromkeys(("111", "112", "113"), "a INT UNIQUE KEY, b VARCHAR(10)"),
            statements, expect)


UTF8 = _options("a INT PRIMARY KEY, b VARCHAR(10)", "DEFAULT CHARACTER SET utf8 COLLATE utf8_bin")
AB = ("(a, b) VALUES ({key}, 'v{key}')",) * 4
VISIBLE = "ALTER INDEX a NOT IGNORED"  # MySQL 8.0's ALTER INDEX a VISIBLE

# (case, shard mode, sources, tables, statements by source, what DM checks: "equal"
# (sync_diff), "count N" (rows merged) or "code N" (a source paused with that code))
CASES: list[Case] = [
    # DM_071 / 073: a table's default charset changed, or its columns converted
    _three("071", "pessimistic", ("DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",) * 3,
           AB, "equal", UTF8),
    _three("073", "pessimistic", ("CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",) * 3,
           AB, "equal", UTF8),
    # DM_076: a primary key added to a table with a unique key
    *((f"076-{mode[:3]}", mode, 1, {"111": "a INT UNIQUE, id INT"},
       [(0, "ALTER TABLE shardddl1.tb1 ADD PRIMARY KEY (id)"),
        (0, "INSERT INTO shardddl1.tb1 VALUES (1, 1)")], "equal") for mode in BOTH),
    # DM_078 / 079: a primary key added to a table with rows / dropped (DM needs TiDB's
    # alter-primary-key for both; a MariaDB downstream takes them as they come).
    *((f"078-{mode[:3]}", mode, 1, {"111": "id INT UNIQUE, a INT, b VARCHAR(10)"},
       [(0, "INSERT INTO shardddl1.tb1 VALUES (1, 1, 'wer'), (2, 2, NULL)"),
        (0, "ALTER TABLE shardddl1.tb1 ADD PRIMARY KEY (a)"),
        (0, "INSERT INTO shardddl1.tb1 VALUES (3, 3, 'wer'), (4, 4, NULL)")], "equal")
      for mode in BOTH),
    *((f"079-{mode[:3]}", mode, 1, {"111": "a INT PRIMARY KEY, b VARCHAR(10)"},
       [(0, "INSERT INTO shardddl1.tb1 VALUES (1, 'wer'), (2, NULL)"),
        (0, "ALTER TABLE shardddl1.tb1 DROP PRIMARY KEY"),
        (0, "INSERT INTO shardddl1.tb1 VALUES (0, 'wer'), (0, NULL)")], "equal")
      for mode in BOTH),
    # DM_080: unique keys added shard after shard, whose values collide across shards:
    # held rows replayed after the lock (safe mode) leave one row per key
    ("080-pes", "pessimistic", 2, dict.fromkeys(THREE, "id INT PRIMARY KEY, a INT, "
                                                       "b VARCHAR(10)"),
     [*[(0, f"ALTER TABLE shardddl1.tb1 ADD UNIQUE KEY {k}") for k in (
         "idx_a(a)", "idx_b(b)", "idx_ab(a, b)")],
      (0, "INSERT INTO shardddl1.tb1 VALUES (1, 1, 'aaa')"),
      (1, "INSERT INTO shardddl1.tb1 VALUES (2, 1, 'aaa')"),
      *[(1, f"ALTER TABLE shardddl1.tb1 ADD UNIQUE KEY {k}") for k in (
          "idx_a(a)", "idx_b(b)", "idx_ab(a, b)")],
      (0, "INSERT INTO shardddl1.tb1 VALUES (3, 2, 'bbb')"),
      (1, "INSERT INTO shardddl1.tb1 VALUES (4, 2, 'bbb')"),
      (1, "INSERT INTO shardddl1.tb2 VALUES (5, 2, 'bbb')"),
      *[(1, f"ALTER TABLE shardddl1.tb2 ADD UNIQUE KEY {k}") for k in (
          "idx_a(a)", "idx_b(b)", "idx_ab(a, b)")],
      (0, "INSERT INTO shardddl1.tb1 VALUES (6, 3, 'ccc')"),
      (1, "INSERT INTO shardddl1.tb1 VALUES (7, 3, 'ccc')"),
      (1, "INSERT INTO shardddl1.tb2 VALUES (8, 3, 'ccc')")], "count 3"),
    # DM_081: the same unique keys (made alike on every shard) dropped shard after shard
    ("081-pes", "pessimistic", 2, dict.fromkeys(THREE, "id INT PRIMARY KEY, a INT, "
                                                       "b VARCHAR(10)"),
     [*[(i, f"ALTER TABLE shardddl1.{t} ADD UNIQUE KEY {k}")
        for i, t in ((0, "tb1"), (1, "tb1"), (1, "tb2"))
        for k in ("idx_a(a)", "idx_b(b)", "idx_ab(a, b)")],
      *[(0, f"ALTER TABLE shardddl1.tb1 DROP INDEX {k}") for k in ("idx_a", "idx_b", "idx_ab")],
      (0, "INSERT INTO shardddl1.tb1 VALUES (1, 1, 'aaa')"),
      (1, "INSERT INTO shardddl1.tb1 VALUES (2, 1, 'aaa')"),
      *[(1, f"ALTER TABLE shardddl1.tb1 DROP INDEX {k}") for k in ("idx_a", "idx_b", "idx_ab")],
      (0, "INSERT INTO shardddl1.tb1 VALUES (3, 2, 'bbb')"),
      (1, "INSERT INTO shardddl1.tb1 VALUES (4, 2, 'bbb')"),
      (1, "INSERT INTO shardddl1.tb2 VALUES (5, 2, 'bbb')"),
      *[(1, f"ALTER TABLE shardddl1.tb2 DROP INDEX {k}") for k in ("idx_a", "idx_b", "idx_ab")],
      (0, "INSERT INTO shardddl1.tb1 VALUES (6, 3, 'ccc')"),
      (1, "INSERT INTO shardddl1.tb1 VALUES (7, 3, 'ccc')"),
      (1, "INSERT INTO shardddl1.tb2 VALUES (8, 3, 'ccc')")], "equal"),
    # DM_082: an index renamed
    _three("082", "pessimistic", ("RENAME INDEX a TO c",) * 3, AB, "equal",
           "a INT UNIQUE KEY, b VARCHAR(10)"),
    # DM_085 / 086 (DM: source 2 alone, MySQL 8.0): an index made visible on every table /
    # invisible on one (pessimistic: "detect inconsistent DDL sequence", 36008; optimistic:
    # DM's schema comparer does not see visibility, equal)
    *(_one_source("085", mode, (VISIBLE,) * 3, "equal") for mode in BOTH),
    _one_source("086", "pessimistic", (VISIBLE, "ALTER INDEX a IGNORED", VISIBLE),
                "code 36008"),
    _one_source("086", "optimistic", (VISIBLE, "ALTER INDEX a IGNORED", VISIBLE), "equal"),
    # DM_103: ADD c, DROP b and CHANGE a (to BIGINT DEFAULT 10) in that order on every
    # shard, the shards interleaved. Pessimistic: equal, as DM. Optimistic: DM (not strict)
    # replays the CHANGE once every shard ran it, equal; pydm's optimistic mode is always
    # DM's strict one (docs/sharding.md), where a column's type and default changed on one
    # shard of a merged table is a conflict: 36062 ("not a widening")
    *((f"103-{mode[:3]}", mode, 2, dict.fromkeys(THREE, "a INT PRIMARY KEY, b VARCHAR(10)"),
       [(0, "INSERT INTO shardddl1.tb1 VALUES (1, 'aaa')"),
        (1, "INSERT INTO shardddl1.tb1 VALUES (2, 'bbb')"),
        (1, "INSERT INTO shardddl1.tb2 VALUES (3, 'ccc')"),
        (0, "ALTER TABLE shardddl1.tb1 ADD COLUMN c DOUBLE"),
        (0, "ALTER TABLE shardddl1.tb1 DROP COLUMN b"),
        (1, "ALTER TABLE shardddl1.tb1 ADD COLUMN c DOUBLE"),
        (1, "ALTER TABLE shardddl1.tb2 ADD COLUMN c DOUBLE"),
        (0, "ALTER TABLE shardddl1.tb1 CHANGE a a BIGINT DEFAULT 10"),
        (1, "ALTER TABLE shardddl1.tb1 DROP COLUMN b"),
        (1, "ALTER TABLE shardddl1.tb1 CHANGE a a BIGINT DEFAULT 10"),
        (1, "ALTER TABLE shardddl1.tb2 DROP COLUMN b"),
        (1, "ALTER TABLE shardddl1.tb2 CHANGE a a BIGINT DEFAULT 10")], expect)
      for mode, expect in zip(BOTH, ("equal", "code 36062"), strict=True)),
    # DM_104: two NOT NULL columns with defaults added in other orders (DM counts 9
    # rows; equal, on the merged table's columns, says more)
    ("104-opt", "optimistic", 2, dict.fromkeys(THREE, "id INT PRIMARY KEY"),
     [(0, "ALTER TABLE shardddl1.tb1 ADD new_col1 INT NOT NULL DEFAULT 10"),
      (0, "INSERT INTO shardddl1.tb1 (id) VALUES (1)"),
      (0, "ALTER TABLE shardddl1.tb1 ADD new_col2 INT NOT NULL DEFAULT 20"),
      (0, "INSERT INTO shardddl1.tb1 (id) VALUES (2)"),
      (1, "INSERT INTO shardddl1.tb1 VALUES (3)"),
      (1, "INSERT INTO shardddl1.tb2 VALUES (4)"),
      (1, "ALTER TABLE shardddl1.tb1 ADD new_col2 INT NOT NULL DEFAULT 20"),
      (1, "INSERT INTO shardddl1.tb1 (id) VALUES (5)"),
      (1, "ALTER TABLE shardddl1.tb1 ADD new_col1 INT NOT NULL DEFAULT 10"),
      (1, "INSERT INTO shardddl1.tb1 (id) VALUES (6)"),
      (1, "ALTER TABLE shardddl1.tb2 ADD new_col1 INT NOT NULL DEFAULT 10"),
      (1, "ALTER TABLE shardddl1.tb2 ADD new_col2 INT NOT NULL DEFAULT 20"),
      (0, "INSERT INTO shardddl1.tb1 (id) VALUES (7)"),
      (0, "INSERT INTO shardddl1.tb1 (id) VALUES (8)"),
      (1, "INSERT INTO shardddl1.tb2 (id) VALUES (9)")], "equal"),
    # DM_105 / 106: two indexes added / dropped in other orders (DM counts the rows and
    # the values of b and c: equal says as much)
    *((f"{case}-opt", "optimistic", 2, dict.fromkeys(THREE, create),
       [(0, f"ALTER TABLE shardddl1.tb1 {action} new_idx1{col1}"),
        (0, "INSERT INTO shardddl1.tb1 VALUES (1, 1, 1)"),
        (0, f"ALTER TABLE shardddl1.tb1 {action} new_idx2{col2}"),
        (0, "INSERT INTO shardddl1.tb1 VALUES (2, 2, 2)"),
        (1, "INSERT INTO shardddl1.tb1 VALUES (3, 3, 3)"),
        (1, "INSERT INTO shardddl1.tb2 VALUES (4, 4, 4)"),
        (1, f"ALTER TABLE shardddl1.tb1 {action} new_idx2{col2}"),
        (1, "INSERT INTO shardddl1.tb1 VALUES (5, 5, 5)"),
        (1, f"ALTER TABLE shardddl1.tb1 {action} new_idx1{col1}"),
        (1, "INSERT INTO shardddl1.tb1 VALUES (6, 6, 6)"),
        (1, f"ALTER TABLE shardddl1.tb2 {action} new_idx1{col1}"),
        (1, f"ALTER TABLE shardddl1.tb2 {action} new_idx2{col2}"),
        (0, "INSERT INTO shardddl1.tb1 VALUES (7, 7, 7)"),
        (0, "INSERT INTO shardddl1.tb1 VALUES (8, 8, 8)"),
        (1, "INSERT INTO shardddl1.tb2 VALUES (9, 9, 9)")], "equal")
      for case, create, action, col1, col2 in (
          ("105", "a INT PRIMARY KEY, b INT, c INT", "ADD INDEX", "(b)", "(c)"),
          ("106", "a INT PRIMARY KEY, b INT, c INT, INDEX new_idx1(b), INDEX new_idx2(c)",
           "DROP INDEX", "", ""))),
    # DM_113 / 114 / 116: two columns added / dropped / one added and one dropped in one
    # ALTER, shard after shard
    *(_three("113", mode, ("ADD COLUMN (b INT, c INT)",) * 3,
             ("VALUES ({key})", *["VALUES ({key}, {key}, {key})"] * 3), "equal",
             "id INT PRIMARY KEY") for mode in BOTH),
    *(_three("114", mode, ("DROP COLUMN b, DROP COLUMN c",) * 3,
             ("VALUES ({key}, {key}, {key})", *["VALUES ({key})"] * 3), "equal",
             "a INT PRIMARY KEY, b INT, c INT") for mode in BOTH),
    *(_three("116", mode, ("ADD COLUMN b INT, DROP COLUMN c",) * 3,
             ("VALUES ({key}, {key})",) * 4, "equal", "a INT PRIMARY KEY, c INT")
      for mode in BOTH),
    # DM_115: two shards add two columns and drop them again, the third never has them
    ("115-opt", "optimistic", 2, dict.fromkeys(THREE, "id INT PRIMARY KEY"),
     [(0, "INSERT INTO shardddl1.tb1 VALUES (1)"),
      (1, "INSERT INTO shardddl1.tb1 VALUES (2)"),
      (1, "INSERT INTO shardddl1.tb2 VALUES (3)"),
      (0, "ALTER TABLE shardddl1.tb1 ADD COLUMN (b INT, c INT)"),
      (0, "INSERT INTO shardddl1.tb1 VALUES (4, 4, 4)"),
      (1, "INSERT INTO shardddl1.tb1 VALUES (5)"),
      (1, "INSERT INTO shardddl1.tb2 VALUES (6)"),
      (1, "ALTER TABLE shardddl1.tb1 ADD COLUMN (b INT, c INT)"),
      (0, "INSERT INTO shardddl1.tb1 VALUES (7, 7, 7)"),
      (1, "INSERT INTO shardddl1.tb1 VALUES (8, 8, 8)"),
      (1, "INSERT INTO shardddl1.tb2 VALUES (9)"),
      (1, "ALTER TABLE shardddl1.tb1 DROP COLUMN b, DROP COLUMN c"),
      (0, "INSERT INTO shardddl1.tb1 VALUES (10, 10, 10)"),
      (1, "INSERT INTO shardddl1.tb1 VALUES (11)"),
      (1, "INSERT INTO shardddl1.tb2 VALUES (12)"),
      (0, "ALTER TABLE shardddl1.tb1 DROP COLUMN b, DROP COLUMN c"),
      (0, "INSERT INTO shardddl1.tb1 VALUES (13)"),
      (1, "INSERT INTO shardddl1.tb1 VALUES (14)"),
      (1, "INSERT INTO shardddl1.tb2 VALUES (15)")], "equal"),
    # DM_118: an index dropped and made again on other columns in one ALTER. Pessimistic:
    # equal, as DM. Optimistic: DM drops from the merged table an index its shards define
    # otherwise (its schema comparer deletes an incompatible index join) and adds it back
    # once they agree, equal; pydm refuses an index added otherwise than another shard
    # has it (docs/sharding.md): 36062 ("index idx is added otherwise on another shard")
    *(_three("118", mode, ("DROP INDEX idx, ADD INDEX idx(c3, c1, c2)",) * 3,
             ("VALUES ({key}, {key}, {key}, {key})",) * 4, expect,
             "a INT PRIMARY KEY, c1 INT, c2 INT, c3 INT, INDEX idx(c1, c2, c3)")
      for mode, expect in zip(BOTH, ("equal", "code 36062"), strict=True)),
]


@pytest.mark.parametrize(("case", "mode", "sources", "tables", "statements", "expect"),
                         [pytest.param(*c, id=c[0]) for c in CASES])
def test_dm_shardddl3_cases(cluster: DMProcesses, ups: list[MariaDB], downstream: MariaDB,
                            tmp_path: Path, case: str, mode: str, sources: int,
                            tables: dict[str, str], statements: list[tuple[int, str]],
                            expect: str) -> None:
    with _case(cluster, ups, downstream, tmp_path, mode, sources, tables):
        _run_and_check(cluster, ups, downstream, statements, expect, sources)


def _ids(downstream: MariaDB, key: str = "id") -> list[int]:
    return sorted(int(r[0]) for r in fetch(downstream, f"SELECT {key} FROM shardddl.tb"))


# DM_107-112 (optimistic): each shard adds `col1` after a row, and writes a row with it:
# the column's definitions (and the values written) on src1.tb1, src2.tb1, src2.tb2
CONFLICTS = {
    "107": (("INT NOT NULL", "2"),) * 3,
    "108": (("DECIMAL(5,2)", "2"), ("DECIMAL(7,4)", "4"), ("DECIMAL(9,6)", "6")),
    "109": (("VARCHAR(3)", "'222'"), ("VARCHAR(4)", "'4444'"), ("VARCHAR(5)", "'66666'")),
    "110": (("VARCHAR(5)", "'22222'"), ("VARCHAR(4)", "'4444'"), ("VARCHAR(3)", "'666'")),
    "111": (("INT(11) ZEROFILL", "2"), ("INT(11)", "4"), ("INT(11) ZEROFILL", "'66666'")),
    "112": (("INT(11) UNSIGNED", "2"), ("INT(11)", "4"), ("INT(11) UNSIGNED", "'66666'")),
}


@pytest.mark.parametrize("case", list(CONFLICTS))
def test_dm_107_to_112_optimistic_columns_added_otherwise(
        cluster: DMProcesses, ups: list[MariaDB], downstream: MariaDB, tmp_path: Path,
        case: str) -> None:
    """DM_107 (a NOT NULL column without a default, on every shard) and DM_108-112 (a
    column added with another precision, length, ZEROFILL or signedness than the first
    shard's): "because schema conflict detected" (36062) and the merged table no longer
    follows the shards (sync_diff fails). 107: the first shard's ADD is the conflict
    already (both sources pause, the merged table keeps rows 1 and 3); 108-112: the first
    shard's column is added, the second's ADD is the conflict (only the second source
    pauses, rows 1-3 merged)."""
    conflict = 0 if case == "107" else 1  # the shard whose ADD is the conflict
    ddl = f"ADD COLUMN col1 {CONFLICTS[case][conflict][0]}"  # named by DM's message, and pydm's
    with _case(cluster, ups, downstream, tmp_path, "optimistic", 2,
               dict.fromkeys(THREE, "id INT PRIMARY KEY")):
        for n, ((i, table), (column, value)) in enumerate(zip(
                ((0, "tb1"), (1, "tb1"), (1, "tb2")), CONFLICTS[case], strict=True)):
            ups[i].execute(f"INSERT INTO shardddl1.{table} VALUES ({2 * n + 1})",
                           f"ALTER TABLE shardddl1.{table} ADD COLUMN col1 {column}",
                           f"INSERT INTO shardddl1.{table} VALUES ({2 * n + 2}, {value})")
            if n == conflict:
                wait_until("the conflict", lambda: any(
                    e["ErrCode"] == 36062 and "because schema conflict detected" in e[
                        "Message"] and ddl in e["Message"] for e in _errors(cluster)),
                    shown=lambda: _errors(cluster))
        paused = set(SOURCES) if case == "107" else {SOURCES[1]}
        wait_until("the conflicting sources paused", lambda: {
            s: v[:5] for s, v in _paused_sources(cluster).items()} == dict.fromkeys(
            paused, "36062"), shown=lambda: _paused_sources(cluster))
        wait_until("the rows before the conflicts merged", lambda: _ids(downstream) == (
            [1, 3] if case == "107" else [1, 2, 3]), shown=lambda: _ids(downstream))
        assert not _merged_equal(ups, downstream)


# DM_094-101: the tracked shards (tb1, tb2 of both sources) get a column, rows are
# written, then each shard adds new_col1 with the task stopped / paused, a master or a
# worker killed in between: (DDL shards before the interruption, its kind, the source
# whose worker is killed, DDL shards before the task comes back)
RESTARTS = {
    "094": (2, "stop-task", 0, 4),  # stop-task, start-task (checkpoints kept)
    "095": (2, "pause-task", 0, 4),  # pause-task, resume-task (DM_096 is the same:
    # its update-task between them is commented out)
    "097": (2, "master", 0, 4),  # kill the master, start it again
    "098": (1, "worker", 0, 3),  # kill the first source's worker
    "099": (2, "worker", 1, 3),  # kill the second source's worker
}
ADDS = ((0, "tb1"), (1, "tb1"), (0, "tb2"), (1, "tb2"))


@pytest.mark.parametrize(("case", "mode"), [
    pytest.param(c, m, id=f"{c}-{m[:3]}",
                 # the master restarts with an optimistic lock in DM_RestartMaster (shardddl1)
                 marks=[LONG_FORM] if (c, m) == ("097", "optimistic") else [])
    for c, m in (
        ("094", "pessimistic"), ("094", "optimistic"), ("095", "pessimistic"),
        ("095", "optimistic"), ("097", "pessimistic"), ("097", "optimistic"),
        ("098", "pessimistic"), ("100", "optimistic"), ("099", "pessimistic"),
        ("101", "optimistic"))])
def test_dm_094_to_101_shard_ddls_across_restarts(
        cluster: DMProcesses, ups: list[MariaDB], downstream: MariaDB, tmp_path: Path,
        case: str, mode: str) -> None:
    """DM_094-101: the merged table gets new_col1 once every shard added it, across a
    stop-task / start-task, a pause / resume, a master or a worker killed (kill -9) and
    started again; equal, with no lock left (DM_100 / 101 are 098 / 099 optimistic)."""
    down, how, source, up = RESTARTS[{"100": "098", "101": "099"}.get(case, case)]
    with _case(cluster, ups, downstream, tmp_path, mode, 2,
               dict.fromkeys(("111", "112", "211", "212"), "id INT PRIMARY KEY")):
        for i, table in ADDS:
            ups[i].execute(f"ALTER TABLE shardddl1.{table} ADD COLUMN col INT")
        _equal(ups, downstream)
        ups[0].execute("INSERT INTO shardddl1.tb1 VALUES (1, 1)")
        ups[1].execute("INSERT INTO shardddl1.tb1 VALUES (2, 2)",
                       "INSERT INTO shardddl1.tb2 VALUES (3, 3)")
        ups[0].execute("INSERT INTO shardddl1.tb2 VALUES (4, 4)")
        worker = cluster.bound()[SOURCES[source]]
        for step in range(len(ADDS) + 1):
            if step == down:  # the interruption
                if how in ("stop-task", "pause-task"):
                    assert cluster.dmctl(how, TASK)["result"]
                elif how == "master":
                    cluster.kill_master("master1")
                else:
                    cluster.kill_worker(worker)
            if step == up:  # and the way back
                if how == "stop-task":
                    assert cluster.dmctl("start-task", str(tmp_path / "task.yaml"))["result"]
                elif how == "pause-task":
                    assert cluster.dmctl("resume-task", TASK)["result"]
                elif how == "master":
                    cluster.restart_master("master1")
                else:
                    cluster.start_worker(worker)
            if step < len(ADDS):
                i, table = ADDS[step]
                ups[i].execute(f"ALTER TABLE shardddl1.{table} ADD COLUMN new_col1 INT")
        wait_until("new_col1 added", lambda: _columns(downstream, "shardddl", "tb") == [
            "id", "col", "new_col1"], shown=lambda: cluster.dmctl("query-status", TASK))
        _equal(ups, downstream)
        wait_stage(cluster, TASK, "Running", unit="Sync")
        wait_until("no lock left", lambda: not cluster.dmctl("shard-ddl-lock", TASK)["locks"])


def test_dm_102_unlock_of_a_lock_with_other_ddls(
        cluster: DMProcesses, ups: list[MariaDB], downstream: MariaDB, tmp_path: Path) -> None:
    """DM_102 (pessimistic): the two sources add new_col1 with defaults 0 and -1. DM shows
    the lock (`shard-ddl-lock`), `shard-ddl-lock unlock` resolves it (the owner's DDL
    runs, the other source's is skipped), and the second source's next row merges: 2 rows.
    pydm pauses the second source with 38016 (its DDL differs from the lock's, as in
    DM_RestartMaster); the unlock runs the owner's DDL and the lock is gone, but that
    source stays paused until `resume-task` (DM's source never paused); then its DDL is
    skipped and its row merges."""
    with _case(cluster, ups, downstream, tmp_path, "pessimistic", 2,
               dict.fromkeys(("111", "211"), "id INT PRIMARY KEY")):
        ups[0].execute("ALTER TABLE shardddl1.tb1 ADD COLUMN new_col1 INT DEFAULT 0",
                       "INSERT INTO shardddl1.tb1 VALUES (1, 1)")
        wait_until("the first source's DDL makes the lock", lambda: [  # (else the second
            lock["ID"] for lock in cluster.dmctl("shard-ddl-lock", TASK)["locks"]] == [LOCK])
        # source's DDL may come first under load, and the first source's would be paused)
        ups[1].execute("ALTER TABLE shardddl1.tb1 ADD COLUMN new_col1 INT DEFAULT -1")
        wait_until("the second source's DDL met the lock", lambda: {
            s: v[:5] for s, v in _paused_sources(cluster).items()} == {SOURCES[1]: "38016"},
            shown=lambda: _paused_sources(cluster))
        assert [lock["ID"] for lock in cluster.dmctl("shard-ddl-lock", TASK)["locks"]] == [LOCK]
        one = cluster.dmctl("shard-ddl-lock", "unlock", LOCK, "-s", SOURCES[0], check=False)
        assert one["_exit"] == 1 and one["msg"].startswith(  # optimistic locks' flags
            "-s, -d, -t and -a name one shard of an optimistic lock"), one
        assert cluster.dmctl("shard-ddl-lock", "unlock", LOCK)["result"]
        wait_until("the owner's DDL run", lambda: _columns(downstream, "shardddl", "tb") == [
            "id", "new_col1"] and _count(downstream) == 1)
        wait_until("no lock left", lambda: not cluster.dmctl("shard-ddl-lock", TASK)["locks"])
        ups[1].execute("INSERT INTO shardddl1.tb1 VALUES (2, 2)")
        assert {s: v[:5] for s, v in _paused_sources(cluster).items()} == {SOURCES[1]: "38016"}
        assert cluster.dmctl("resume-task", TASK, "-s", SOURCES[1])["result"]
        wait_until("both rows merged", lambda: _count(downstream) == 2,
                   shown=lambda: _paused_sources(cluster))
        assert sorted(fetch(downstream, "SELECT * FROM shardddl.tb")) == [(1, 1), (2, 2)]
        assert fetch(downstream, "SELECT COLUMN_DEFAULT FROM information_schema.COLUMNS "
                                 "WHERE TABLE_SCHEMA = 'shardddl' AND TABLE_NAME = 'tb' AND "
                                 "COLUMN_NAME = 'new_col1'") == [("0",)]
        assert not _errors(cluster)


def test_dm_117_columns_dropped_and_added_back(
        cluster: DMProcesses, ups: list[MariaDB], downstream: MariaDB, tmp_path: Path) -> None:
    """DM_117 (optimistic): a shard drops b and c while the others keep them, then adds
    them back: DM's conflict (36062, "add column b that wasn't fully dropped in
    downstream": the merged table still has the shard's old values of b and c, which the
    shard now has as NULL). DM's way out: the shard's tracked table updated
    (`binlog-schema update`), the ADD skipped (`binlog skip`), the old values cleared
    downstream by hand; then equal."""
    create = _options("a INT PRIMARY KEY, b INT, c INT", "ENGINE=InnoDB DEFAULT CHARSET=latin1")
    with _case(cluster, ups, downstream, tmp_path, "optimistic", 2,
               dict.fromkeys(THREE, create)):
        ups[0].execute("INSERT INTO shardddl1.tb1 VALUES (1, 1, 1)")
        ups[1].execute("INSERT INTO shardddl1.tb1 VALUES (2, 2, 2)",
                       "INSERT INTO shardddl1.tb2 VALUES (3, 3, 3)")
        ups[0].execute("ALTER TABLE shardddl1.tb1 DROP COLUMN b, DROP COLUMN c",
                       "INSERT INTO shardddl1.tb1 VALUES (4)")
        ups[1].execute("INSERT INTO shardddl1.tb1 VALUES (5, 5, 5)",
                       "INSERT INTO shardddl1.tb2 VALUES (6, 6, 6)")
        ups[0].execute("ALTER TABLE shardddl1.tb1 ADD COLUMN (b INT, c INT)",
                       "INSERT INTO shardddl1.tb1 VALUES (7, 7, 7)")
        ups[1].execute("INSERT INTO shardddl1.tb1 VALUES (8, 8, 8)",
                       "INSERT INTO shardddl1.tb2 VALUES (9, 9, 9)")
        wait_until("the ADD decided", lambda: SOURCES[0] in _paused_sources(cluster) or
                   7 in _ids(downstream, "a"))
        assert _paused_sources(cluster).get(SOURCES[0], "").startswith("36062"), fetch(
            downstream, "SELECT * FROM shardddl.tb")
        assert "because schema conflict detected" in str(_errors(cluster))
        schema = tmp_path / "schema.sql"
        schema.write_text("CREATE TABLE tb1 (a INT PRIMARY KEY, b INT, c INT) ENGINE=InnoDB "
                          "DEFAULT CHARSET=latin1")
        assert cluster.dmctl("binlog-schema", "update", TASK, "shardddl1", "tb1", str(schema),
                             "-s", SOURCES[0])["result"]
        assert cluster.dmctl("binlog", "skip", TASK, "-s", SOURCES[0])["result"]
        downstream.execute("UPDATE shardddl.tb SET b = NULL, c = NULL WHERE a = 1")
        _equal(ups, downstream)
        assert not _errors(cluster)

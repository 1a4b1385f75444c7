"""DM's shardddl4 and shardddl4_1 cases replayed (their SQL and what DM checks, written
anew for pydm) on test_dm_shardddl1.py's two sources and helpers: shards
`shardddl1.tb1` of the first source and `shardddl1.tb{1,2}` of the second routed into
`shardddl.tb`, the merged table compared row for row with the union of the shards, or
the task paused with the code DM's case implies.

Every case has DM's shape: each shard writes a row, then the shards run their ALTERs in
turn, every shard writing a row after each one (`_rounds`, this file's helper).

Where pydm answers otherwise than DM it says so in the case. pydm's optimistic mode is
always DM's strict one (docs/sharding.md): a column made NOT NULL, given another default,
narrowed or given another type (128, 129, 131, 150, 151), an index added back on other
columns (123, 126), a unique or primary key added (132-134, 136-138, 152) are conflicts
(36062) in optimistic mode, where DM's default mode replays them shard after shard.
DM_147's `binlog replace` answers a false overall result where DM's is true (one source
had no error to replace).

DM_142 optimistic (a partition added on every shard) found a bug, fixed: pydm's
optimistic mode skipped the ADD PARTITION (it changes no column or index), so the rows
for the new partition paused both sources (1526 downstream); now it runs, as DM's.

Adapted: DM_132-135 create the merged table in TiDB first, with a NONCLUSTERED primary
key (TiDB cannot change a clustered one); a MariaDB downstream takes the table pydm's
dump creates, whose primary key it can drop and add.

Not replayable (TiDB's answers, which a MariaDB downstream does not give):
- DM_140 (`ALTER TABLE ... PARTITION BY`): TiDB's "alter table partition is unsupported".
- DM_141 (`REMOVE PARTITIONING`): TiDB's "Unsupported remove partitioning".
- DM_144 (`REORGANIZE PARTITION`): TiDB's "Unsupported reorganize partition".
- DM_146 (`ROW_FORMAT=COMPACT`): TiDB's "This type of ALTER TABLE is currently
  unsupported".

DM's cases left out by DM itself (commented out in its run.sh) are not replayed either:
124-127, 131, 136 and 137 pessimistic, 143 optimistic.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pymysql
import pytest

from dm.sandbox import DMProcesses, MariaDB
from tests.integration import test_dm_shardddl1 as shardddl1
from tests.integration.conftest import fetch, wait_until
from tests.integration.test_dm_shardddl1 import (
    BOTH,
    SOURCES,
    TASK,
    _case,
    _columns,
    _equal,
    _errors,
    _groups,
    _merged_equal,
    _paused_sources,
    _run_and_check,
)
from tests.integration.test_dm_shardddl3 import LOCK, THREE, Case, _options

pytestmark = pytest.mark.integration

ups = shardddl1.ups  # its fixture: the two sources, each on a worker of its own

SHARDS = ((0, "tb1"), (1, "tb1"), (1, "tb2"))  # THREE's shards: (source, table)


def _values(n: int, value: str = "{key}") -> str:
    """An INSERT's tail of `n` values: the row's key, and `value` for the others."""
    return f"VALUES ({', '.join(['{key}', *[value] * (n - 1)])})"


def _rounds(alters: Sequence[tuple[int, str]], rows: tuple[str, ...]) -> list[tuple[int, str]]:
    """A shardddl4 case's statements: every shard of SHARDS writes a row, then each
    (shard, ALTER) runs in turn, every shard writing a row after each. `rows`: the INSERT's
    tail (`{key}` the row's key) by how many ALTERs the shard ran (the last for more)."""
    ran = [0] * len(SHARDS)
    statements: list[tuple[int, str]] = []
    keys = iter(range(1, 1000))

    def write() -> None:
        for n, (i, table) in enumerate(SHARDS):
            tail = rows[min(ran[n], len(rows) - 1)]
            statements.append((i, f"INSERT INTO shardddl1.{table} "
                                  + tail.format(key=next(keys))))

    write()
    for shard, alter in alters:
        i, table = SHARDS[shard]
        statements.append((i, f"ALTER TABLE shardddl1.{table} {alter}"))
        ran[shard] += 1
        write()
    return statements


def _each(case: str, mode: str, create: str, alter: str, rows: tuple[str, ...],
          expect: str) -> Case:
    """The commonest case: every shard runs the same ALTER in turn."""
    return (f"{case}-{mode[:3]}", mode, 2, dict.fromkeys(THREE, create),
            _rounds([(0, alter), (1, alter), (2, alter)], rows), expect)


def _both(case: str, create: str, alter: str, rows: tuple[str, ...],
          optimistic: str = "equal") -> list[Case]:
    """The case in both modes: equal in pessimistic mode, `optimistic` in the other."""
    return [_each(case, "pessimistic", create, alter, rows, "equal"),
            _each(case, "optimistic", create, alter, rows, optimistic)]


V2, V3, V5 = _values(2), _values(3), _values(5)
C12 = "a INT PRIMARY KEY, c1 INT, c2 INT"
IDX12 = f"{C12}, INDEX idx1(c1), INDEX idx2(c2)"
C1234 = "a INT PRIMARY KEY, c1 INT, c2 INT, c3 INT, c4 INT"
IDX1234 = f"{C1234}, INDEX idx1(c1, c2), INDEX idx2(c3, c4)"
SWAP = "DROP INDEX idx1, ADD INDEX idx1(c2, c1), DROP INDEX idx2, ADD INDEX idx2(c4, c3)"
PARTS = _options("id INT PRIMARY KEY", "PARTITION BY RANGE (id) (PARTITION p0 VALUES "
                                       "LESS THAN (100))")
STR = ("VALUES ({key}, 'sssssss')", "VALUES ({key}, 'ssssssssssssss')")


# DM_142: six rows on each shard, then each shard in turn adds a partition and writes six
# rows into it
ADD_PARTITION = [
    *[(i, f"INSERT INTO shardddl1.{t} VALUES " + ", ".join(
        f"({10 * n + k})" for k in range(6))) for n, (i, t) in enumerate(SHARDS, 1)],
    *[s for n, (i, t) in enumerate(SHARDS, 1) for s in (
        (i, f"ALTER TABLE shardddl1.{t} ADD PARTITION (PARTITION p1 VALUES LESS THAN (200))"),
        (i, f"INSERT INTO shardddl1.{t} VALUES " + ", ".join(
            f"({100 + 10 * n + k})" for k in range(6))))]]


def _partitions(case: str, mode: str, create: str, steps: list[tuple[int, str]]) -> Case:
    return (f"{case}-{mode[:3]}", mode, 2, dict.fromkeys(THREE, create), steps, "equal")


# (case, shard mode, sources, tables, statements by source, what DM checks: "equal"
# (sync_diff), or "code N" (a source paused with that code))
CASES: list[Case] = [
    # DM_120 / 122: two indexes added / dropped in one ALTER, shard after shard
    *_both("120", C12, "ADD INDEX idx1(c1), ADD INDEX idx2(c2)", (V3,)),
    *_both("122", IDX12, "DROP INDEX idx1, DROP INDEX idx2", (V3,)),
    # DM_123: two indexes made again on their columns in the other order. Optimistic: DM
    # replays them (equal); pydm refuses an index added otherwise than another shard has
    # it (docs/sharding.md): 36062, at the first shard's ALTER
    *_both("123", IDX1234, SWAP, (V5,), "code 36062"),
    # DM_126 (optimistic): DM_123's ALTER on the first shard, then its way back: 36062 at
    # once in pydm, for the same reason (DM: equal, a lock left with no unsynced shard)
    ("126-opt", "optimistic", 2, dict.fromkeys(THREE, IDX1234),
     _rounds([(0, SWAP), (0, "DROP INDEX idx1, ADD INDEX idx1(c1, c2), DROP INDEX idx2, "
                            "ADD INDEX idx2(c3, c4)")], (V5,)), "code 36062"),
    # DM_128 / 129: a column made NOT NULL / nullable with a default, shard after shard.
    # Optimistic: DM replays them (equal); in pydm a column's nullability or default
    # changed on one shard of a merged table is a conflict: 36062
    *_both("128", "a INT PRIMARY KEY, b INT", "MODIFY b INT NOT NULL", (V2,), "code 36062"),
    *_both("129", "a INT PRIMARY KEY, b INT NOT NULL", "MODIFY b INT DEFAULT 10",
           (V2, "(a) VALUES ({key})"), "code 36062"),
    # DM_130: defaults 0 on the first source, -1 on the second. DM: "is different with"
    # (pessimistic: pydm's 38016), "because schema conflict detected" (optimistic: 36062)
    *((f"130-{mode[:3]}", mode, 2, dict.fromkeys(THREE, "a INT PRIMARY KEY, b INT NOT NULL"),
       _rounds([(0, "MODIFY b INT DEFAULT 0"), (1, "MODIFY b INT DEFAULT -1"),
                (2, "MODIFY b INT DEFAULT -1")], (V2, "(a) VALUES ({key})")), code)
      for mode, code in zip(BOTH, ("code 38016", "code 36062"), strict=True)),
    # DM_131 (optimistic): the first shard's b made NOT NULL and nullable again. DM: equal
    # (and more ALTERs of every shard after); pydm: 36062 at the first ALTER, as in 128
    ("131-opt", "optimistic", 2, dict.fromkeys(THREE, "a INT PRIMARY KEY, b INT"),
     _rounds([(0, "MODIFY b INT NOT NULL"), (0, "MODIFY b INT")], (V2,)), "code 36062"),
    # DM_132-134: the primary key widened / narrowed / moved to another column. Optimistic:
    # DM replays them (equal); pydm refuses a primary key added on one shard (its
    # uniqueness is not the merged table's): 36062
    *_both("132", "a INT PRIMARY KEY, b INT", "DROP PRIMARY KEY, ADD PRIMARY KEY(a, b)",
           (V2,), "code 36062"),
    *_both("133", "a INT, b INT, PRIMARY KEY(a, b)", "DROP PRIMARY KEY, ADD PRIMARY KEY(a)",
           (V2,), "code 36062"),
    *_both("134", "a INT, b INT, PRIMARY KEY(a)", "DROP PRIMARY KEY, ADD PRIMARY KEY(b)",
           (V2,), "code 36062"),
    # DM_136 / 137 (optimistic): a unique key widened / narrowed. DM: equal; pydm: 36062,
    # a unique key added on one shard, as 132
    _each("136", "optimistic", "id INT PRIMARY KEY, a INT, b INT, UNIQUE KEY uk(a)",
          "DROP INDEX uk, ADD UNIQUE KEY uk(a, b)", (V3,), "code 36062"),
    _each("137", "optimistic", "id INT PRIMARY KEY, a INT, b INT, UNIQUE KEY uk(a, b)",
          "DROP INDEX uk, ADD UNIQUE KEY uk(a)", (V3,), "code 36062"),
    # DM_138 / 139: a unique key added / dropped (optimistic: the add is 36062, as 136)
    *_both("138", "id INT PRIMARY KEY, a INT", "ADD UNIQUE KEY uk(a)", (V2,), "code 36062"),
    *_both("139", "id INT PRIMARY KEY, a INT, UNIQUE KEY uk(a)", "DROP INDEX uk", (V2,)),
    # DM_142 (pessimistic): a partition added on every shard, rows written into it (the
    # optimistic one: test_dm_142_optimistic_partition_added_on_every_shard)
    _partitions("142", "pessimistic", PARTS, ADD_PARTITION),
    # DM_143 (pessimistic): the rows of a partition deleted, and the partition dropped on
    # every shard
    _partitions("143", "pessimistic", _options("id INT PRIMARY KEY", (
        "PARTITION BY RANGE (id) (PARTITION p0 VALUES LESS THAN (100), "
        "PARTITION p1 VALUES LESS THAN (200))")), [
        *[(i, f"INSERT INTO shardddl1.{t} VALUES " + ", ".join(
            f"({base + 10 * n + k})" for base in (0, 100) for k in range(6)))
          for n, (i, t) in enumerate(SHARDS, 1)],
        *[(i, f"DELETE FROM shardddl1.{t} WHERE id >= 100") for i, t in SHARDS],
        *[(i, f"ALTER TABLE shardddl1.{t} DROP PARTITION p1") for i, t in SHARDS]]),
    # DM_145: ENGINE=InnoDB (a rebuild) on every shard, between rows
    *(_partitions("145", mode, "id INT PRIMARY KEY", [
        *[(i, f"INSERT INTO shardddl1.{t} VALUES " + ", ".join(
            f"({100 * n + k})" for k in range(6))) for n, (i, t) in enumerate(SHARDS, 1)],
        *[(i, f"ALTER TABLE shardddl1.{t} ENGINE=InnoDB") for i, t in SHARDS],
        *[(i, f"INSERT INTO shardddl1.{t} VALUES " + ", ".join(
            f"({100 * n + 300 + k})" for k in range(6))) for n, (i, t) in enumerate(SHARDS, 1)],
    ]) for mode in BOTH),
    # DM_148: two columns added after the key, shard after shard
    *_both("148", "id INT PRIMARY KEY, a INT",
           "ADD COLUMN b INT AFTER id, ADD COLUMN c INT AFTER b", (V2, _values(4))),
    # DM_149: a VARCHAR widened, the widened shards writing longer strings
    *_both("149", "id INT PRIMARY KEY, a VARCHAR(10)", "MODIFY COLUMN a VARCHAR(20)", STR),
    # DM_150 / 151 optimistic: a VARCHAR narrowed / an INT made DOUBLE on the first shard.
    # DM: 150 runs on ("stage": "Running"), 151 pauses ("incompatible mysql type"); pydm:
    # both 36062 (narrower, another type)
    ("150-opt", "optimistic", 2, dict.fromkeys(THREE, "id INT PRIMARY KEY, a VARCHAR(20)"),
     _rounds([(0, "MODIFY COLUMN a VARCHAR(10)")], ("VALUES ({key}, 'sssssss')",)),
     "code 36062"),
    ("151-opt", "optimistic", 2, dict.fromkeys(THREE, "id INT PRIMARY KEY, a INT"),
     _rounds([(0, "MODIFY COLUMN a DOUBLE")], (V2,)), "code 36062"),
]


@pytest.mark.parametrize(("case", "mode", "sources", "tables", "statements", "expect"),
                         [pytest.param(*c, id=c[0]) for c in CASES])
def test_dm_shardddl4_cases(cluster: DMProcesses, ups: list[MariaDB], downstream: MariaDB,
                            tmp_path: Path, case: str, mode: str, sources: int,
                            tables: dict[str, str], statements: list[tuple[int, str]],
                            expect: str) -> None:
    with _case(cluster, ups, downstream, tmp_path, mode, sources, tables):
        _run_and_check(cluster, ups, downstream, statements, expect, sources)


def _ids(downstream: MariaDB, key: str = "a") -> list[int]:
    return sorted(int(r[0]) for r in fetch(downstream, f"SELECT {key} FROM shardddl.tb"))


@pytest.mark.parametrize("mode", BOTH)
@pytest.mark.parametrize("case", ["119", "121"])
def test_dm_119_121_an_index_added_otherwise(
        cluster: DMProcesses, ups: list[MariaDB], downstream: MariaDB, tmp_path: Path,
        case: str, mode: str) -> None:
    """DM_119 / 121: the first source's shard adds `idx` on (c1, c2) / (c1), the second
    source's tb1 on (c1, c3) / (c1, c2), its tb2 never. DM: the merged table no longer
    follows the shards (sync_diff fails; its FIXME: a conflict should be detected).
    Pessimistic: the second source's group waits for tb2's DDL, so the lock never sees the
    other DDL; rows 4 and 7 (the first source's) and 8 (the second's tb1) wait with their
    shards, as in DM. Optimistic: pydm's 36062 ("added otherwise") pauses the second
    source at its tb1's ALTER: its rows 8 and 9 never come."""
    create = "a INT PRIMARY KEY, c1 INT, c2 INT, c3 INT" if case == "119" else C12
    first, second = ("idx(c1, c2)", "idx(c1, c3)") if case == "119" else (
        "idx(c1)", "idx(c1, c2)")
    with _case(cluster, ups, downstream, tmp_path, mode, 2, dict.fromkeys(THREE, create)):
        for i, sql in _rounds([(0, f"ADD INDEX {first}"), (1, f"ADD INDEX {second}")],
                              (_values(len(create.split(","))),)):
            ups[i].execute(sql)
        if mode == "pessimistic":
            wait_until("the rows of the waiting shards held", lambda: _ids(downstream) == [
                1, 2, 3, 5, 6, 9] and sorted(_groups(cluster)) == [
                ("`shardddl`.`tb`", ["`shardddl1`.`tb1`"], []),
                ("`shardddl`.`tb`", ["`shardddl1`.`tb1`"], ["`shardddl1`.`tb2`"])],
                shown=lambda: (_ids(downstream), _groups(cluster)))
            assert not _errors(cluster)
            assert [(lock["ID"], lock["owner"], lock["DDLs"], lock["synced"], lock["unsynced"])
                    for lock in cluster.dmctl("shard-ddl-lock", TASK)["locks"]] == [
                (LOCK, SOURCES[0], [f"ALTER TABLE `shardddl`.`tb` ADD INDEX {first}"],
                 [SOURCES[0]], [SOURCES[1]])]
        else:
            wait_until("the second source paused", lambda: {
                s: v[:5] for s, v in _paused_sources(cluster).items()} == {
                SOURCES[1]: "36062"}, shown=lambda: _paused_sources(cluster))
            assert "index idx is added otherwise" in str(_errors(cluster))
            wait_until("the rows before the conflict merged", lambda: _ids(
                downstream) == list(range(1, 8)), shown=lambda: _ids(downstream))
        assert not _merged_equal(ups, downstream)


@pytest.mark.parametrize("case", ["124", "125", "127"])
def test_dm_124_125_127_optimistic_indexes_rolled_back(
        cluster: DMProcesses, ups: list[MariaDB], downstream: MariaDB, tmp_path: Path,
        case: str) -> None:
    """DM_124 / 125 / 127 (optimistic): the first shard adds two indexes and drops them
    again / drops the two indexes every shard has and adds them back alike / adds idx2
    dropping idx1 and back. Equal. DM then shows a lock with no unsynced shard left (its
    FIXME: the lock should be gone); pydm's is gone."""
    create, there, back = {
        "124": (C12, "ADD INDEX idx1(c1), ADD INDEX idx2(c2)",
                "DROP INDEX idx1, DROP INDEX idx2"),
        "125": (IDX12, "DROP INDEX idx1, DROP INDEX idx2",
                "ADD INDEX idx1(c1), ADD INDEX idx2(c2)"),
        "127": (f"{C12}, INDEX idx1(c1)", "ADD INDEX idx2(c2), DROP INDEX idx1",
                "ADD INDEX idx1(c1), DROP INDEX idx2")}[case]
    with _case(cluster, ups, downstream, tmp_path, "optimistic", 2,
               dict.fromkeys(THREE, create)):
        _run_and_check(cluster, ups, downstream, _rounds([(0, there), (0, back)], (V3,)),
                       "equal", 2)
        assert sorted({str(r[2]) for r in fetch(downstream, "SHOW INDEX FROM shardddl.tb")}
                      ) == sorted({str(r[2]) for r in fetch(ups[1], "SHOW INDEX FROM "
                                                                     "shardddl1.tb2")})
        wait_until("no lock left", lambda: not cluster.dmctl("shard-ddl-lock", TASK)["locks"])


@pytest.mark.parametrize("mode", BOTH)
def test_dm_135_primary_key_moved_off_an_auto_increment_column(
        cluster: DMProcesses, ups: list[MariaDB], downstream: MariaDB, tmp_path: Path,
        mode: str) -> None:
    """DM_135: the upstream itself refuses to move the primary key off an AUTO_INCREMENT
    column (MariaDB's 1075, as MySQL's); nothing reaches the task: the rows before it
    merge, equal."""
    with _case(cluster, ups, downstream, tmp_path, mode, 2, dict.fromkeys(
            THREE, "a INT AUTO_INCREMENT PRIMARY KEY, b INT")):
        for n, (i, table) in enumerate(SHARDS, 1):
            ups[i].execute(f"INSERT INTO shardddl1.{table} VALUES ({n}, {n})")
        with pytest.raises(pymysql.err.OperationalError, match="there can be only one auto "
                                                               "column"):
            ups[0].execute("ALTER TABLE shardddl1.tb1 DROP PRIMARY KEY, ADD PRIMARY KEY(b)")
        _equal(ups, downstream)
        assert not _errors(cluster)


@pytest.mark.parametrize("case", ["150", "151"])
def test_dm_150_151_pessimistic_column_changed_on_every_shard(
        cluster: DMProcesses, ups: list[MariaDB], downstream: MariaDB, tmp_path: Path,
        case: str) -> None:
    """DM_150 / 151 (pessimistic): the first shard narrows a VARCHAR / makes an INT a
    DOUBLE; query-status shows the DDL (blocking, and in the shard's group), as does
    shard-ddl-lock; then the second source's shards run it too, and the merged table
    equals the shards. (DM prints the DDL from its parse tree, "MODIFY COLUMN `a` ...";
    pydm keeps the statement's own text, "MODIFY COLUMN a ...", docs/ddl.md.)"""
    create, alter, value = {
        "150": ("id INT PRIMARY KEY, a VARCHAR(20)", "MODIFY COLUMN a VARCHAR(10)",
                "'sssssss'"),
        "151": ("id INT PRIMARY KEY, a INT", "MODIFY COLUMN a DOUBLE", "{key}")}[case]
    ddl = f"ALTER TABLE `shardddl`.`tb` {alter}"
    with _case(cluster, ups, downstream, tmp_path, "pessimistic", 2,
               dict.fromkeys(THREE, create)):
        for i, sql in _rounds([(0, alter)], (_values(2, value),)):
            ups[i].execute(sql)
        wait_until("the DDL shown waiting", lambda: str(cluster.dmctl(
            "query-status", TASK)).count(ddl) == 2, shown=lambda: cluster.dmctl(
            "query-status", TASK))
        assert [lock["DDLs"] for lock in cluster.dmctl("shard-ddl-lock", TASK)["locks"]] == [
            [ddl]]
        ups[1].execute(f"ALTER TABLE shardddl1.tb1 {alter}", f"ALTER TABLE shardddl1.tb2 {alter}")
        _equal(ups, downstream)
        assert not _errors(cluster)
        wait_until("no lock left", lambda: not cluster.dmctl("shard-ddl-lock", TASK)["locks"])


def test_dm_147_optimistic_columns_swapped_and_back(
        cluster: DMProcesses, ups: list[MariaDB], downstream: MariaDB, tmp_path: Path) -> None:
    """DM_147 (optimistic): the first shard adds b dropping c, then adds c back dropping
    b: 36062, "add column c that wasn't fully dropped in downstream" (the merged table
    still has the shard's old values of c). DM's way out: the shard's tracked table made
    (a, b, c) (`binlog-schema update`), its ALTER replaced by `DROP COLUMN b` (`binlog
    replace`; the second source has no error), the old value of c cleared downstream by
    hand; then equal."""
    create = _options("a INT PRIMARY KEY, c INT", "ENGINE=InnoDB DEFAULT CHARSET=latin1")
    with _case(cluster, ups, downstream, tmp_path, "optimistic", 2,
               dict.fromkeys(THREE, create)):
        for i, sql in _rounds([(0, "ADD COLUMN b INT, DROP COLUMN c"),
                               (0, "ADD COLUMN c INT, DROP COLUMN b")], (V2,)):
            ups[i].execute(sql)
        wait_until("the conflict", lambda: {
            s: v[:5] for s, v in _paused_sources(cluster).items()} == {SOURCES[0]: "36062"},
            shown=lambda: _paused_sources(cluster))
        assert "because schema conflict detected" in str(_errors(cluster))
        schema = tmp_path / "schema.sql"
        schema.write_text("CREATE TABLE tbl (a INT PRIMARY KEY, b INT, c INT) ENGINE=InnoDB "
                          "DEFAULT CHARSET=latin1")
        assert cluster.dmctl("binlog-schema", "update", TASK, "shardddl1", "tb1", str(schema),
                             "-s", SOURCES[0])["result"]
        # DM answers "result": true, its first source true and the second "has no error";
        # pydm's overall result is false (some source failed: dmctl exits 1), the sources'
        # answers as DM's
        answer = cluster.dmctl("binlog", "replace", TASK,
                               "ALTER TABLE shardddl1.tb1 DROP COLUMN b", check=False)
        assert [(s["source"], s["result"]) for s in answer["sources"]] == [
            (SOURCES[0], True), (SOURCES[1], False)], answer
        assert f"source '{SOURCES[1]}' has no error" in answer["sources"][1]["msg"]
        downstream.execute("UPDATE shardddl.tb SET c = NULL WHERE a = 1")
        _equal(ups, downstream)
        assert _columns(downstream, "shardddl", "tb") == ["a", "c"]
        assert not _errors(cluster)


def test_dm_152_optimistic_many_alters_on_every_shard(
        cluster: DMProcesses, ups: list[MariaDB], downstream: MariaDB, tmp_path: Path) -> None:
    """DM_152 (optimistic): every shard adds three columns (equal), then a unique and a
    plain index, ... (DM: equal after each of six such rounds). pydm: the first round is
    equal; the unique key of the second is 36062 on both sources (a unique key added on
    one shard of a merged table), so DM's later rounds are not reached."""
    with _case(cluster, ups, downstream, tmp_path, "optimistic", 2,
               dict.fromkeys(THREE, "id INT PRIMARY KEY")):
        for n, (i, table) in enumerate(SHARDS, 1):
            ups[i].execute(f"INSERT INTO shardddl1.{table} VALUES ({n})")
        for i, table in SHARDS:
            ups[i].execute(f"ALTER TABLE shardddl1.{table} ADD COLUMN a INT, "
                           "ADD COLUMN b VARCHAR(20), ADD COLUMN c DOUBLE")
        for n, (i, table) in enumerate(SHARDS, 4):
            ups[i].execute(f"INSERT INTO shardddl1.{table} VALUES ({n}, {n}, 'x{n}', {n}.0)")
        _equal(ups, downstream)
        assert not _errors(cluster)
        for i, table in SHARDS:
            ups[i].execute(f"ALTER TABLE shardddl1.{table} ADD UNIQUE INDEX uni_a(a), "
                           "ADD INDEX idx_b(b)")
        for n, (i, table) in enumerate(SHARDS, 7):
            ups[i].execute(f"INSERT INTO shardddl1.{table} VALUES ({n}, {n}, 'x{n}', {n}.0)")
        wait_until("both sources paused on the unique key", lambda: {
            s: v[:5] for s, v in _paused_sources(cluster).items()} == dict.fromkeys(
            SOURCES, "36062"), shown=lambda: _paused_sources(cluster))
        assert "unique key uni_a" in str(_errors(cluster))
        assert _ids(downstream, "id") == list(range(1, 7))


def test_dm_142_optimistic_partition_added_on_every_shard(
        cluster: DMProcesses, ups: list[MariaDB], downstream: MariaDB, tmp_path: Path) -> None:
    """DM_142 (optimistic): every shard adds partition p1 and writes rows into it. The
    first shard's ADD PARTITION runs (the next ones find it there: 1517 tolerated), as DM
    runs a DDL that leaves the joined schema as it was: equal."""
    with _case(cluster, ups, downstream, tmp_path, "optimistic", 2,
               dict.fromkeys(THREE, PARTS)):
        for i, sql in ADD_PARTITION:
            ups[i].execute(sql)
        wait_until("equal, or a source paused", lambda: _merged_equal(ups, downstream) or
                   bool(_paused_sources(cluster)), shown=lambda: _paused_sources(cluster))
        assert not _paused_sources(cluster)
        _equal(ups, downstream)

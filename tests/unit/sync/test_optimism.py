"""Optimistic shard DDL: what one shard's change means for the merged table."""

import pytest

from dm.schema import ddl
from dm.schema.createtable import parse_create_table
from dm.schema.table import TableInfo
from dm.schema.tracker import SchemaTracker
from dm.sync.optimism import RUN, SKIP, Decision, decide, still_dropped

BASE = "CREATE TABLE s.t (id INT PRIMARY KEY, v VARCHAR(10), d INT, KEY kd (d))"


def _info(create: str = BASE) -> TableInfo:
    return parse_create_table(create, current_db="s")


def _after(sql: str, create: str = BASE) -> TableInfo:
    tracker = SchemaTracker()
    tracker.put(_info(create))
    tracker.apply_ddl(ddl.parse(sql, "s"))
    info = tracker.get("s", "t")
    assert info is not None
    return info


def _decide(sql: str, others: list[TableInfo], create: str = BASE) -> str:
    return decide(_info(create), _after(sql, create), others).verdict


def test_the_first_shard_adds_a_column_the_others_skip_it() -> None:
    add = "ALTER TABLE s.t ADD COLUMN c INT DEFAULT 7"
    assert _decide(add, [_info(), _info()]) == RUN
    assert _decide(add, [_after(add), _info()]) == SKIP
    other = "ALTER TABLE s.t ADD COLUMN c BIGINT DEFAULT 7"
    assert _decide(add, [_after(other)]) == "conflict"


def test_a_not_null_column_without_default_is_a_conflict() -> None:
    assert _decide("ALTER TABLE s.t ADD COLUMN c INT NOT NULL", [_info()]) == "conflict"
    assert _decide("ALTER TABLE s.t ADD COLUMN c INT NOT NULL DEFAULT 0", [_info()]) == RUN


def test_a_column_is_dropped_with_the_last_shard() -> None:
    drop = "ALTER TABLE s.t DROP COLUMN d"
    assert _decide(drop, [_info(), _after(drop)]) == SKIP
    assert _decide(drop, [_after(drop), _after(drop)]) == RUN


def test_a_widened_type_runs_once_anything_else_is_a_conflict() -> None:
    widen = "ALTER TABLE s.t MODIFY v VARCHAR(20)"
    assert _decide(widen, [_info()]) == RUN
    assert _decide(widen, [_after(widen)]) == SKIP
    assert _decide("ALTER TABLE s.t MODIFY d BIGINT", [_info()]) == RUN
    for other in ("MODIFY v VARCHAR(5)", "MODIFY v VARCHAR(20) COLLATE utf8mb4_bin",
                  "MODIFY d INT NOT NULL DEFAULT 0", "CHANGE v w VARCHAR(10)"):
        assert _decide(f"ALTER TABLE s.t {other}", [_info()]) == "conflict", other


def test_enum_values_appended_are_a_widening_reordered_are_not() -> None:
    create = "CREATE TABLE s.t (id INT PRIMARY KEY, e ENUM('a','b'))"
    append = "ALTER TABLE s.t MODIFY e ENUM('a','b','c')"
    assert _decide(append, [_info(create)], create) == RUN
    reorder = "ALTER TABLE s.t MODIFY e ENUM('b','a')"
    assert _decide(reorder, [_info(create)], create) == "conflict"


def test_a_unique_key_on_a_merged_table_is_a_conflict() -> None:
    assert _decide("ALTER TABLE s.t ADD UNIQUE KEY uv (v)", [_info()]) == "conflict"


def test_a_default_is_a_word_not_a_comment() -> None:
    assert _decide("ALTER TABLE s.t ADD COLUMN c INT NOT NULL COMMENT 'no default'",
                   [_info()]) == "conflict"


@pytest.mark.parametrize(("sql", "first", "then"), [
    ("ALTER TABLE s.t ADD INDEX kv (v)", RUN, SKIP),
    ("CREATE INDEX kv ON s.t (v)", RUN, SKIP),
    ("ALTER TABLE s.t DROP INDEX kd", SKIP, RUN),
])
def test_indexes_join_as_columns_do(sql: str, first: str, then: str) -> None:
    assert _decide(sql, [_info()]) == first
    assert _decide(sql, [_after(sql)]) == then


def test_the_same_index_name_on_other_columns_is_a_conflict() -> None:
    assert _decide("ALTER TABLE s.t ADD INDEX kv (v)",
                   [_after("ALTER TABLE s.t ADD INDEX kv (d)")]) == "conflict"


def test_a_table_alone_in_its_lock_runs_everything() -> None:
    assert _decide("ALTER TABLE s.t MODIFY v VARCHAR(5)", []) == RUN
    assert _decide("ALTER TABLE s.t COMMENT 'x'", []) == RUN


def test_a_change_of_options_on_a_merged_table_is_a_conflict() -> None:
    assert _decide("ALTER TABLE s.t CONVERT TO CHARACTER SET latin1", [_info()]) == "conflict"


@pytest.mark.parametrize(("mine", "theirs", "verdict"), [
    ("c INT DEFAULT 0", "c INT DEFAULT 0", SKIP),
    ("c INT DEFAULT 0", "c INT DEFAULT '0'", SKIP),  # the same default, written otherwise
    ("c INT", "c INT DEFAULT NULL", SKIP),
    ("c INT DEFAULT 0", "c INT DEFAULT -1", "conflict"),  # DM's shardddl2 037
    ("c INT DEFAULT 0", "c INT", "conflict"),
    ("c INT AS (id + 1)", "c INT AS (`id`+1)", SKIP),
    ("c INT AS (id + 1)", "c INT AS (id + 2)", "conflict"),  # DM's shardddl2 043
    ("c DATETIME DEFAULT '2020-01-01'", "c DATETIME DEFAULT '2020-01-01 00:00:00'", SKIP),
])
def test_a_column_added_again_compares_its_default_and_expression(
        mine: str, theirs: str, verdict: str) -> None:
    assert _decide(f"ALTER TABLE s.t ADD COLUMN {mine}",
                   [_after(f"ALTER TABLE s.t ADD COLUMN {theirs}")]) == verdict


def test_a_changed_default_on_a_merged_table_is_a_conflict() -> None:
    """Other shards' rows that leave the column out would take the new default."""
    create = "CREATE TABLE s.t (id INT PRIMARY KEY, d INT DEFAULT 1)"
    for change in ("ALTER d SET DEFAULT 2", "ALTER COLUMN d DROP DEFAULT",
                   "MODIFY d BIGINT"):  # a MODIFY restates the whole definition
        assert _decide(f"ALTER TABLE s.t {change}", [_info(create)], create) == "conflict"
    assert _decide("ALTER TABLE s.t MODIFY d BIGINT DEFAULT 1", [_info(create)], create) == RUN
    assert _decide("ALTER TABLE s.t ALTER d SET DEFAULT 2", [], create) == RUN


def test_a_conflict_names_both_definitions() -> None:
    decision = decide(_info(), _after("ALTER TABLE s.t ADD COLUMN c INT DEFAULT 0"),
                      [_after("ALTER TABLE s.t ADD COLUMN c INT DEFAULT -1")])
    assert decision.why == ("column c is added as int(11) DEFAULT 0, another shard has it "
                            "as int(11) DEFAULT -1")


def test_a_column_dropped_and_added_back_while_others_kept_it_is_a_conflict() -> None:
    """DM_117: the merged table still holds the shard's old values of the column; added
    back upstream they are the default, so merging on would keep stale values."""
    create = "CREATE TABLE s.t (id INT PRIMARY KEY, b INT)"
    drop = "ALTER TABLE s.t DROP COLUMN b"
    dropped_info = _after(drop, create)
    decision = decide(_info(create), dropped_info, [_info(create)])
    assert decision.verdict == SKIP  # the other shard keeps b
    gone = still_dropped(_info(create), dropped_info, decision, frozenset())
    assert gone == {"b"}
    assert decide(dropped_info, _info(create), [_info(create)], gone).verdict == "conflict"
    # once no other shard has it (dropped downstream), adding it again is a new column
    assert decide(dropped_info, _info(create), [dropped_info], gone).verdict == RUN
    assert still_dropped(dropped_info, _info(create), Decision(RUN), gone) == frozenset()
    # a shard that never had it adds it as any other
    assert decide(dropped_info, _info(create), [_info(create)]).verdict == SKIP


def test_partitions_added_run_partition_maintenance_that_moves_rows_is_a_conflict() -> None:
    """DM_142: the merged table needs a partition a shard added for the shard's rows;
    dropping or truncating one on a merged table would remove every shard's rows."""
    create = ("CREATE TABLE s.t (id INT PRIMARY KEY) PARTITION BY RANGE (id) "
              "(PARTITION p0 VALUES LESS THAN (100))")
    for sql, verdict in (
            ("ALTER TABLE s.t ADD PARTITION (PARTITION p1 VALUES LESS THAN (200))", RUN),
            ("ALTER TABLE s.t DROP PARTITION p0", "conflict"),
            ("ALTER TABLE s.t TRUNCATE PARTITION p0", "conflict"),
            ("ALTER TABLE s.t COMMENT 'x'", SKIP)):
        one = ddl.parse(sql, "s")
        assert decide(_info(create), _after(sql, create), [_info(create)],
                      events=one.events).verdict == verdict, sql


def test_a_column_dropped_downstream_is_no_shards_dropped_column_any_more() -> None:
    """A drops c (kept for B), B drops c (gone downstream) and adds it again, then A adds
    it: the merged table holds none of A's old values, so no conflict (SoleOptimism,
    the same bookkeeping as etcd's)."""
    from dm.sync.optimism import SoleOptimism, dropped_downstream
    create = "CREATE TABLE s.t (id INT PRIMARY KEY, c INT)"
    drop, add = "ALTER TABLE s.t DROP COLUMN c", "ALTER TABLE s.t ADD COLUMN c INT"
    locks, a, b = SoleOptimism(), ("s", "a"), ("s", "b")
    locks.register({a: ("L", _info(create)), b: ("L", _info(create))}, lambda t: True)

    def turn(me: tuple[str, str], sql: str, before: TableInfo) -> str:
        _, others, dropped = locks.others("L", me)
        after = _after(sql, "CREATE TABLE s.t (id INT PRIMARY KEY)" if "ADD" in sql
                       else create)
        decision = decide(before, after, [s.info for s in others], dropped)
        gone = dropped_downstream(before, after, decision)
        locks.commit("L", None, me, after, None,
                     still_dropped(before, after, decision, dropped) - gone, gone)
        return decision.verdict

    dropped_info = _after(drop, create)
    assert turn(a, drop, _info(create)) == SKIP
    assert turn(b, drop, _info(create)) == RUN
    assert turn(b, add, dropped_info) == RUN
    assert turn(a, add, dropped_info) == SKIP  # B has it, alike: nothing to do


def test_held_changes_settle_once_every_shard_agrees_on_what_they_touch() -> None:
    """Non-strict mode: a shard holds at a conflicting change until every shard's schema
    agrees on the columns and indexes the held changes touch (other differences, such as
    a column one shard added, do not matter); two held changes that contradict each
    other never settle."""
    from dm.sync.optimism import settled, touched
    base = _info()
    renamed, elsewise = _after("ALTER TABLE s.t CHANGE d e INT"), \
        _after("ALTER TABLE s.t CHANGE d f INT")
    rename, other = touched(base, renamed), touched(base, elsewise)
    renamed_plus = _after("ALTER TABLE s.t ADD COLUMN g INT",
                          "CREATE TABLE s.t (id INT PRIMARY KEY, v VARCHAR(10), e INT, "
                          "KEY kd (e))")
    assert settled([(rename, renamed)], [renamed, base]) is False
    assert settled([(rename, renamed)], [renamed, renamed_plus]) is True
    assert settled([(rename, renamed), (other, elsewise)], [renamed, elsewise]) is None
    # a held statement with another clause than the conflicting one (`, ADD COLUMN g`):
    # only what its conflicting piece touches has to agree
    assert settled([(rename, renamed_plus)], [renamed_plus, renamed]) is True
    narrowed = _after("ALTER TABLE s.t MODIFY v VARCHAR(5)")
    narrowing = touched(base, narrowed)
    assert settled([(narrowing, narrowed)], [narrowed, base]) is False
    assert settled([(narrowing, narrowed)], [narrowed, narrowed]) is True
    assert settled([(narrowing, narrowed)], [narrowed, _after("ALTER TABLE s.t MODIFY v "
                                                              "VARCHAR(6)")]) is False
    assert settled([], [base]) is False


def test_a_held_shard_is_released_with_its_final_schema() -> None:
    """SoleOptimism keeps a held shard's schema before its DDL; released (once the change
    ran downstream), it lists the DDL's location and conflicting pieces as settled (until
    forgotten) and keeps that schema until its source reads the DDL again."""
    from dm.sync.optimism import HeldChange, SoleOptimism
    locks, a, b = SoleOptimism(), ("s", "a"), ("s", "b")
    locks.register({a: ("L", _info()), b: ("L", _info())}, lambda t: True)
    renamed = _after("ALTER TABLE s.t CHANGE d e INT")
    held = HeldChange("mysql-bin.000001:400", renamed, ("ALTER TABLE m.t CHANGE d e INT",
                                                        "ALTER TABLE m.t ADD x INT"),
                      frozenset({("column", "d"), ("column", "e")}), (),
                      ("ALTER TABLE m.t CHANGE d e INT",))
    locks.commit("L", None, a, _info(), None, frozenset(), hold=held)
    _, others, _ = locks.others("L", b)
    assert [(s.info, s.held) for s in others] == [(_info(), held)]
    locks.commit("L", None, b, renamed, None, frozenset())
    locks.release("L", [s.name for s in others])
    _, others, _ = locks.others("L", b)
    assert [(s.info, s.held) for s in others] == [(_info(), None)]  # till read again
    assert locks.settled_at() == {  # with its conflicting piece, not decided again
        a: {"mysql-bin.000001:400": ("ALTER TABLE m.t CHANGE d e INT",)}}
    locks.forget(a, "mysql-bin.000001:400")
    assert locks.settled_at() == {}


def test_a_held_change_alone_is_taken_from_the_final_schema() -> None:
    """A held statement's other clauses (`ADD COLUMN x`) never ran downstream: deciding
    against a held shard takes only what its conflicting piece touches from its final
    schema."""
    from dm.sync.optimism import touched, with_change
    base = _info()
    final = _after("ALTER TABLE s.t CHANGE d e INT, ADD COLUMN x INT")
    renamed = _after("ALTER TABLE s.t CHANGE d e INT")
    came = with_change(base, final, touched(base, renamed))
    assert [c.name for c in came.columns] == ["id", "v", "e"]
    assert came.indexes == renamed.indexes  # kd follows its column's new name

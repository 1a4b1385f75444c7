"""Optimistic shard DDL: what one shard's change means for the merged table."""

import pytest

from dm.schema import ddl
from dm.schema.createtable import parse_create_table
from dm.schema.table import TableInfo
from dm.schema.tracker import SchemaTracker
from dm.sync.optimism import RUN, SKIP, decide

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
    return decide(_info(create), _after(sql, create), others, sql).verdict


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


def test_a_widened_type_runs_first_a_narrowed_one_conflicts_until_all_agree() -> None:
    widen = "ALTER TABLE s.t MODIFY v VARCHAR(20)"
    assert _decide(widen, [_info()]) == RUN
    assert _decide(widen, [_after(widen)]) == SKIP
    narrow = "ALTER TABLE s.t MODIFY v VARCHAR(5)"
    assert _decide(narrow, [_info()]) == "conflict"
    assert _decide(narrow, [_after(narrow)]) == RUN
    assert _decide("ALTER TABLE s.t MODIFY d BIGINT", [_info()]) == RUN


def test_a_rename_runs_with_the_last_shard() -> None:
    rename = "ALTER TABLE s.t CHANGE v w VARCHAR(10)"
    assert _decide(rename, [_info()]) == "conflict"
    assert _decide(rename, [_after(rename)]) == RUN


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


def test_a_change_of_options_runs_with_the_last_shard() -> None:
    change = "ALTER TABLE s.t CONVERT TO CHARACTER SET latin1"
    assert _decide(change, [_info()]) == "conflict"
    assert _decide(change, [_after(change)]) == RUN

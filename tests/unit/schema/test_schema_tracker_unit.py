"""SchemaTracker: DDL sequences, versions, case folding, JSON, errors."""

from __future__ import annotations

import pytest

from dm.errors import DMError
from dm.schema.table import Index
from dm.schema.tracker import SchemaTracker


def columns(tr: SchemaTracker, table: str, schema: str = "db") -> list[str]:
    info = tr.get(schema, table)
    assert info is not None
    return [c.name for c in info.columns]


@pytest.fixture()
def tr() -> SchemaTracker:
    tracker = SchemaTracker()
    tracker.apply("create database db character set latin1", "")
    tracker.apply("create table t (id int primary key, a int, b varchar(3), key ab (a, b))",
                  "db")
    return tracker


@pytest.mark.parametrize(("ddl", "expected"), [
    ("alter table t add column c int", ["id", "a", "b", "c"]),
    ("alter table t add column c int first", ["c", "id", "a", "b"]),
    ("alter table t add column c int after id", ["id", "c", "a", "b"]),
    ("alter table t add (c int, d int)", ["id", "a", "b", "c", "d"]),
    ("alter table t add column if not exists a int", ["id", "a", "b"]),
    ("alter table t drop column a", ["id", "b"]),
    ("alter table t drop column if exists zz", ["id", "a", "b"]),
    ("alter table t modify b int first", ["b", "id", "a"]),
    ("alter table t modify column a bigint after b", ["id", "b", "a"]),
    ("alter table t change a a2 int", ["id", "a2", "b"]),
    ("alter table t change column a a2 int after b", ["id", "b", "a2"]),
    ("alter table t rename column b to B2", ["id", "a", "B2"]),
    ("alter table t add c int, drop a, modify c int first", ["c", "id", "b"]),
    ("alter table T engine=InnoDB", ["id", "a", "b"]),
])
def test_column_changes(tr: SchemaTracker, ddl: str, expected: list[str]) -> None:
    before = tr.version("db", "t")
    assert tr.apply(ddl, "db") == [("db", "t")]
    assert columns(tr, "t") == expected
    assert tr.version("db", "t") > before


@pytest.mark.parametrize(("ddl", "expected"), [
    ("alter table t add index (b)", {"PRIMARY": ("id",), "ab": ("a", "b"), "b": ("b",)}),
    ("alter table t add unique key u (b), drop index ab", {"PRIMARY": ("id",), "u": ("b",)}),
    ("alter table t drop column a", {"PRIMARY": ("id",), "ab": ("b",)}),
    ("alter table t drop a, drop b", {"PRIMARY": ("id",)}),
    ("alter table t change a x int", {"PRIMARY": ("id",), "ab": ("x", "b")}),
    ("alter table t rename column a to x", {"PRIMARY": ("id",), "ab": ("x", "b")}),
    ("alter table t rename index ab to cd", {"PRIMARY": ("id",), "cd": ("a", "b")}),
    ("alter table t drop primary key", {"ab": ("a", "b")}),
    ("alter table t drop primary key, add primary key (a, id)",
     {"PRIMARY": ("a", "id"), "ab": ("a", "b")}),
    ("create index i on t (b(2), A)", {"PRIMARY": ("id",), "ab": ("a", "b"), "i": ("b", "a")}),
    ("drop index ab on t", {"PRIMARY": ("id",)}),
    ("alter table t add index if not exists ab (b)", {"PRIMARY": ("id",), "ab": ("a", "b")}),
    ("alter table t drop index if exists nope", {"PRIMARY": ("id",), "ab": ("a", "b")}),
    ("alter table t add column c int unique", {"PRIMARY": ("id",), "ab": ("a", "b"),
                                               "c": ("c",)}),
    ("alter table t add index (a), add index (a)", {"PRIMARY": ("id",), "ab": ("a", "b"),
                                                    "a": ("a",), "a_2": ("a",)}),
])
def test_index_changes(tr: SchemaTracker, ddl: str, expected: dict[str, tuple[str, ...]]
                       ) -> None:
    tr.apply(ddl, "db")
    info = tr.get("db", "t")
    assert info is not None
    assert {i.name: i.columns for i in info.indexes} == expected


def test_primary_key_makes_columns_not_null(tr: SchemaTracker) -> None:
    tr.apply("alter table t drop primary key, add primary key (a, b)", "db")
    info = tr.get("db", "t")
    assert info is not None
    assert [c.nullable for c in info.columns] == [False, False, False]
    assert info.primary_key == Index("PRIMARY", ("a", "b"), True, True)


def test_charsets_follow_database_then_table(tr: SchemaTracker) -> None:
    info = tr.get("db", "t")
    assert info is not None and info.columns[2].charset == "latin1"
    tr.apply("alter table t default charset utf8mb4", "db")
    tr.apply("alter table t add column c varchar(2), modify b varchar(3)", "db")
    info = tr.get("db", "t")
    assert info is not None
    assert [c.charset for c in info.columns] == [None, None, "utf8mb4", "utf8mb4"]
    tr.apply("alter database db character set utf8mb3", "")
    tr.apply("create table u (v varchar(1))", "db")
    assert tr.get("db", "u").columns[0].collation == "utf8mb3_general_ci"  # type: ignore


def test_convert_to_widens_text(tr: SchemaTracker) -> None:
    tr.apply("create table w (a tinytext, b text, c longtext, e enum('x'), n int)", "db")
    tr.apply("alter table w convert to character set utf8mb4 collate utf8mb4_bin", "db")
    info = tr.get("db", "w")
    assert info is not None
    assert [c.type_name for c in info.columns] == ["text", "mediumtext", "longtext", "enum",
                                                   "int"]
    assert [c.collation for c in info.columns] == ["utf8mb4_bin"] * 4 + [None]
    assert (info.charset, info.collation) == ("utf8mb4", "utf8mb4_bin")


def test_create_like_rename_drop(tr: SchemaTracker) -> None:
    assert tr.apply("create table u like t", "db") == [("db", "u")]
    assert columns(tr, "u") == ["id", "a", "b"]
    assert tr.apply("rename table t to t2, u to t", "db") == [
        ("db", "t"), ("db", "t2"), ("db", "u"), ("db", "t")]
    assert tr.tables() == [("db", "t"), ("db", "t2")]
    assert tr.apply("alter table t2 rename to other.t3", "db") == [("db", "t2"),
                                                                   ("other", "t3")]
    assert tr.get("other", "t3") is not None
    assert tr.apply("drop table if exists t, nope, other.t3", "db") == [("db", "t"),
                                                                      ("other", "t3")]
    assert tr.tables() == []


def test_create_if_not_exists_keeps_and_plain_create_replaces(tr: SchemaTracker) -> None:
    assert tr.apply("create table if not exists t (x int)", "db") == []
    assert columns(tr, "t") == ["id", "a", "b"]
    tr.apply("create table t (x int)", "db")
    assert columns(tr, "t") == ["x"]


def test_drop_database_returns_its_tables(tr: SchemaTracker) -> None:
    tr.apply("create table db.u (x int)", "")
    tr.apply("create table other.v (x int)", "")
    assert tr.apply("drop database db", "") == [("db", "t"), ("db", "u")]
    assert tr.tables() == [("other", "v")]
    assert tr.database_charset("db").charset == "utf8mb4"  # back to the server default


@pytest.mark.parametrize("sql", ["truncate table t", "BEGIN", "flush logs",
                                 "create view v as select 1", "create database db2",
                                 "alter table t comment 'c'"])
def test_statements_without_table_changes(tr: SchemaTracker, sql: str) -> None:
    before = tr.get("db", "t")
    changed = tr.apply(sql, "db")
    assert tr.get("db", "t") == before
    assert changed in ([], [("db", "t")])


def test_versions_never_repeat(tr: SchemaTracker) -> None:
    seen = {tr.version("db", "t")}
    for sql in ["alter table t add c int", "drop table t", "create table t (a int)",
                "alter table t add d int"]:
        tr.apply(sql, "db")
        seen.add(tr.version("db", "t"))
    assert len(seen) == 5
    assert tr.version("db", "nope") == 0
    decoder = tr.get("db", "t").decoder_schema(tr.version("db", "t"))  # type: ignore
    assert decoder.version == tr.version("db", "t")


def test_case_folding() -> None:
    tr = SchemaTracker()
    tr.apply("create table Db.T (A int)", "")
    assert tr.get("DB", "t") is not None
    assert tr.tables() == [("db", "t")]
    sensitive = SchemaTracker(case_sensitive=True)
    sensitive.apply("create table Db.T (A int)", "")
    assert sensitive.get("db", "t") is None
    assert sensitive.get("Db", "T") is not None


def test_put_remove_json(tr: SchemaTracker) -> None:
    text = tr.to_json("db", "t")
    info = SchemaTracker.from_json(text, "`db`.`t`")
    fresh = SchemaTracker()
    assert fresh.put(info) == ("db", "t")
    assert fresh.get("db", "t") == tr.get("db", "t")
    assert fresh.version("db", "t") > 0
    assert fresh.remove("db", "t") and not fresh.remove("db", "t")
    with pytest.raises(DMError) as err:
        SchemaTracker.from_json("{not json", "`db`.`t`")
    assert err.value.code == 44001 and "`db`.`t`" in err.value.message
    with pytest.raises(DMError) as err:
        fresh.to_json("db", "t")
    assert err.value.code == 44005


@pytest.mark.parametrize(("sql", "code"), [
    ("alter table nope add c int", 44005), ("create table x like nope", 44005),
    ("rename table nope to x", 44005), ("alter table t drop column zz", 44006),
    ("alter table t add column a int", 44006), ("alter table t add index (zz)", 44006),
    ("alter table t add primary key (a)", 44006), ("alter table t drop index zz", 44006),
    ("alter table t add c int after zz", 44006), ("alter table t rename column zz to y", 44006),
    ("alter table t change a b int", 44006), ("alter table t add index ab (a)", 44006),
    ("alter table t frob", 36067),
])
def test_errors(tr: SchemaTracker, sql: str, code: int) -> None:
    before = tr.get("db", "t")
    with pytest.raises(DMError) as err:
        tr.apply(sql, "db")
    assert err.value.code == code
    assert tr.get("db", "t") == before  # a failed DDL changes nothing


def test_charsets_and_collations_may_be_written_as_strings(tr: SchemaTracker) -> None:
    """pt-osc and others write `CHARACTER SET='utf8mb4'`; MariaDB takes it as the name."""
    tr.apply("alter table t COMMENT='string' CHARACTER SET='utf8mb4'", "db")
    tr.apply("alter table t add column c varchar(3) character set 'latin1' collate "
             "'latin1_bin'", "db")
    tr.apply("create table u (id int) default charset 'utf8mb4' collate='utf8mb4_bin'", "db")
    t, u = tr.get("db", "t"), tr.get("db", "u")
    assert t is not None and u is not None
    assert t.charset == "utf8mb4" and t.columns[-1].collation == "latin1_bin"
    assert u.collation == "utf8mb4_bin"


def test_the_decoder_knows_the_fractional_digits_of_temporal_columns() -> None:
    """MariaDB 5.3's TIME/DATETIME/TIMESTAMP format carries them in no table map."""
    tr = SchemaTracker()
    tr.apply("create table db.t (a time(3), b datetime(6), c timestamp null, d datetime, "
             "e decimal(5,2), f timestamp(2) null)", "")
    info = tr.get("db", "t")
    assert info is not None
    assert [c.decimals for c in info.decoder_schema(1).columns] == [3, 6, 0, 0, 0, 2]

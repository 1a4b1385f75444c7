"""dm.schema.render: a tracked table shown as CREATE TABLE reads back to the same
TableInfo (what binlog-schema list shows, binlog-schema update takes)."""

import pytest

from dm.schema.createtable import parse_create_table
from dm.schema.render import create_table_sql

TABLES = [
    "CREATE TABLE `d`.`t` (`id` int(11) NOT NULL, `v` varchar(20) CHARACTER SET latin1 "
    "COLLATE latin1_swedish_ci DEFAULT NULL, `b` blob, `e` enum('a','b') NOT NULL, "
    "`g` int(11) GENERATED ALWAYS AS (`id` + 1) VIRTUAL, `u` bigint(20) unsigned, "
    "PRIMARY KEY (`id`), UNIQUE KEY `uv` (`v`(4)), KEY `k` (`u`,`e`)) ENGINE=InnoDB "
    "DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci",
    "CREATE TABLE t2 (a INT, b TEXT, UNIQUE KEY (a)) DEFAULT CHARSET=latin1",
    "CREATE TABLE `we``ird` (`c``1` decimal(10,2) NOT NULL, `s` set('x','y'), "
    "PRIMARY KEY (`c``1`)) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
    "CREATE TABLE f (a int, g int GENERATED ALWAYS AS (a * 2) STORED NOT NULL, "
    "UNIQUE KEY ug (g), UNIQUE KEY ue ((lower(a))))",
]


@pytest.mark.parametrize("sql", TABLES)
def test_the_rendered_statement_reads_back_to_the_same_table(sql: str) -> None:
    info = parse_create_table(sql, current_db="d")
    assert parse_create_table(create_table_sql(info), current_db="other") == info


def test_what_the_tracker_keeps_is_shown_as_such() -> None:
    info = parse_create_table(TABLES[0], current_db="d")
    shown = create_table_sql(info)
    assert "`g` int(11) GENERATED ALWAYS AS (id + 1) VIRTUAL" in shown
    assert "UNIQUE KEY `uv` (`v`(1))" in shown  # a prefix key, its length not kept
    assert "DEFAULT NULL" not in shown and "ENGINE" not in shown


def test_defaults_are_shown_and_read_back() -> None:
    info = parse_create_table(
        "CREATE TABLE t (a int DEFAULT '7', b varchar(5) DEFAULT 'it''s', c datetime(3) "
        "DEFAULT now(3), d decimal(6,2) DEFAULT (1 + 2), e bit(2) DEFAULT b'01')",
        current_db="d")
    shown = create_table_sql(info)
    for text in ("`a` int(11) DEFAULT 7", "`b` varchar(5) CHARACTER SET utf8mb4 COLLATE "
                 "utf8mb4_general_ci DEFAULT 'it''s'", "`c` datetime(3) DEFAULT "
                 "(current_timestamp(3))", "`d` decimal(6,2) DEFAULT (1 + 2)",
                 "`e` bit(2) DEFAULT b'1'"):
        assert text in shown
    assert parse_create_table(shown, current_db="d") == info


def test_extract_columns_join_column_keys_only() -> None:
    """A key on expressions only stays one: with the extract columns alone it would name
    every row of a shard (a DELETE ... WHERE c_table = ? LIMIT 1 of any row)."""
    from dm.sync.change import identity_key
    info = parse_create_table("CREATE TABLE t (a int, b varchar(10), UNIQUE KEY u "
                              "((lower(b))), UNIQUE KEY ua (a))", current_db="d")
    extended = info.extended(("c_table",))
    assert identity_key(extended) is None  # ua's a is nullable: no row key at all
    assert {i.name: i.columns for i in extended.indexes} == {"u": (), "ua": ("a", "c_table")}
    assert extended.without(("c_table",)) == info

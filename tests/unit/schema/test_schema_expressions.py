"""A column's DEFAULT and generation expression compare alike however they were written:
in a DDL, or as MariaDB 10.11's SHOW CREATE TABLE printed the same definition back (the
right-hand sides below were taken from the server)."""

import pytest

from dm.schema import ddl
from dm.schema.createtable import parse_create_table
from dm.schema.table import Column
from dm.schema.tracker import SchemaTracker


def _column(definition: str) -> Column:
    return parse_create_table(f"CREATE TABLE t (id INT, {definition})",
                              current_db="d").columns[1]


@pytest.mark.parametrize(("written", "shown", "default", "expression"), [
    ("a INT DEFAULT 0", "`a` int(11) DEFAULT 0", "0", None),
    ("a INT DEFAULT '7'", "`a` int(11) DEFAULT 7", "7", None),
    ("a VARCHAR(10) DEFAULT 0", "`a` varchar(10) DEFAULT '0'", "'0'", None),
    ("a DECIMAL(6,2) DEFAULT 1.5", "`a` decimal(6,2) DEFAULT 1.50", "1.5", None),
    ("a DECIMAL(5,2) DEFAULT '-0.0'", "`a` decimal(5,2) DEFAULT 0.00", "0", None),
    ("a DOUBLE DEFAULT 1e3", "`a` double DEFAULT 1000", "1000", None),
    ("a DATETIME DEFAULT '2020-01-01'", "`a` datetime DEFAULT '2020-01-01 00:00:00'",
     "'2020-01-01 00:00:00'", None),
    ("a DATETIME(3) DEFAULT '2020-01-01 10:11:12.5'",
     "`a` datetime(3) DEFAULT '2020-01-01 10:11:12.500'", "'2020-01-01 10:11:12.5'", None),
    ("a TIME DEFAULT '10:00'", "`a` time DEFAULT '10:00:00'", "'10:00:00'", None),
    ("a TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP",
     "`a` timestamp NULL DEFAULT current_timestamp()", "current_timestamp()", None),
    ("a DATETIME(3) DEFAULT NOW(3)", "`a` datetime(3) DEFAULT current_timestamp(3)",
     "current_timestamp(3)", None),
    ("a DATETIME DEFAULT (CURRENT_TIMESTAMP + INTERVAL 1 DAY)",
     "`a` datetime DEFAULT (current_timestamp() + interval 1 day)",
     "current_timestamp() + interval 1 day", None),
    ("a INT DEFAULT (1+2)", "`a` int(11) DEFAULT (1 + 2)", "1 + 2", None),
    ("a BIT(3) DEFAULT b'101'", "`a` bit(3) DEFAULT b'101'", "b'101'", None),
    ("a VARCHAR(5) DEFAULT _utf8mb4'x'", "`a` varchar(5) DEFAULT 'x'", "'x'", None),
    ("a VARCHAR(10) DEFAULT 'it''s'", "`a` varchar(10) DEFAULT 'it''s'", "'it''s'", None),
    ("a CHAR(3) DEFAULT 'a\\\\b'", "`a` char(3) DEFAULT 'a\\\\b'", "'a\\\\b'", None),
    ("a INT", "`a` int(11) DEFAULT NULL", None, None),
    ("a INT AS (id+1)", "`a` int(11) GENERATED ALWAYS AS (`id` + 1) VIRTUAL", None,
     "id + 1"),
    ("a VARCHAR(20) AS (CONCAT(id,'x')) STORED",
     "`a` varchar(20) GENERATED ALWAYS AS (concat(`id`,'x')) STORED", None,
     "concat(id, 'x')"),
    ("a VARCHAR(20) AS (lower(concat('A', id)))",
     "`a` varchar(20) GENERATED ALWAYS AS (lcase(concat('A',`id`))) VIRTUAL", None,
     "lcase(concat('A', id))"),
    ("a INT AS (id MOD 3)", "`a` int(11) GENERATED ALWAYS AS (`id` MOD 3) VIRTUAL", None,
     "id mod 3"),
    ("a TINYINT(1) DEFAULT FALSE", "`a` tinyint(1) DEFAULT 0", "0", None),
    ("a BOOL DEFAULT TRUE", "`a` tinyint(1) DEFAULT 1", "1", None),
    ("a BIT(1) DEFAULT 1", "`a` bit(1) DEFAULT b'1'", "b'1'", None),
    ("a BIT(4) DEFAULT b'0101'", "`a` bit(4) DEFAULT b'101'", "b'101'", None),
    ("a VARCHAR(5) DEFAULT 0x4142", "`a` varchar(5) DEFAULT 'AB'", "'AB'", None),
    ("a INT DEFAULT 0x10", "`a` int(11) DEFAULT 16", "16", None),
    ("a DATETIME DEFAULT 0", "`a` datetime DEFAULT '0000-00-00 00:00:00'",
     "'0000-00-00 00:00:00'", None),
    # MySQL's SHOW CREATE: one more pair of parentheses, and charset introducers
    ("a INT AS (id + 1)", "`a` int GENERATED ALWAYS AS ((`id` + 1)) VIRTUAL", None,
     "id + 1"),
    ("a VARCHAR(9) AS (concat('x', id))",
     "`a` varchar(9) GENERATED ALWAYS AS (concat(_utf8mb4'x',`id`)) VIRTUAL", None,
     "concat('x', id)"),
])
def test_written_and_shown_definitions_are_the_same_column(
        written: str, shown: str, default: str | None, expression: str | None) -> None:
    column = _column(written)
    assert (column.default, column.expression) == (default, expression)
    assert _column(shown) == column


def test_a_column_named_like_a_function_stays_itself() -> None:
    assert _column("a INT AS (`lower` + 1)").expression == "lower + 1"


def test_alter_column_sets_and_drops_the_default() -> None:
    tracker = SchemaTracker()
    tracker.put(parse_create_table("CREATE TABLE t (id INT, d DATETIME DEFAULT NULL)",
                                   current_db="s"))

    def default_after(sql: str) -> str | None:
        tracker.apply_ddl(ddl.parse(sql, "s"))
        info = tracker.get("s", "t")
        assert info is not None
        return info.columns[1].default

    assert default_after("ALTER TABLE t ALTER COLUMN d SET DEFAULT '2020-01-01'") == \
        "'2020-01-01 00:00:00'"
    assert default_after("ALTER TABLE t ALTER d SET DEFAULT (now())") == "current_timestamp()"
    assert default_after("ALTER TABLE t ALTER d DROP DEFAULT") is None

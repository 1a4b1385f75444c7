"""Every expression case of the expression filter's unit tests, evaluated by MariaDB too:
the row is stored in a table of the same columns and collations, and the server's
`SELECT (<expression>) IS TRUE` must be the filter's answer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pymysql.cursors import Cursor

from dm.sandbox import MariaDB
from tests.unit.test_rules_expr_filter import BASE, CASES, COLUMNS, matches

pytestmark = pytest.mark.integration

DDL = """CREATE TABLE shop.orders (
    id INT NOT NULL PRIMARY KEY, Name VARCHAR(40), code VARCHAR(40) COLLATE utf8mb4_bin,
    price DECIMAL(10, 2), ratio DOUBLE, data VARBINARY(40), d DATE, dt DATETIME, t TIME,
    n INT, s2 VARCHAR(40), big BIGINT UNSIGNED
) DEFAULT CHARSET utf8mb4 COLLATE utf8mb4_general_ci"""


@pytest.fixture(scope="module")
def cur(downstream: MariaDB, utf8_cursor: Cursor) -> Iterator[Cursor]:
    downstream.execute("DROP DATABASE IF EXISTS shop", "CREATE DATABASE shop", DDL)
    try:
        yield utf8_cursor
    finally:
        downstream.execute("DROP DATABASE IF EXISTS shop")


def _server_says(cur: Cursor, expr: str, overrides: dict[str, Any]) -> bool:
    values = {**BASE, **overrides}
    # the columns' fractional seconds: 6 where the case's values have them, else none (the
    # filter prints temporal values without a fraction when they have none, as fsp 0 does)
    fsp = 6 if any(getattr(values[c], "microsecond", 0) or getattr(values[c], "microseconds", 0)
                   for c in ("dt", "t")) else 0
    cur.execute(f"ALTER TABLE shop.orders MODIFY dt DATETIME({fsp}), MODIFY t TIME({fsp})")
    cur.execute("DELETE FROM shop.orders")
    cur.execute(f"INSERT INTO shop.orders ({', '.join(c.name for c in COLUMNS)}) VALUES "
                f"({', '.join(['%s'] * len(COLUMNS))})", [values[c.name] for c in COLUMNS])
    cur.execute(f"SELECT ({expr}) IS TRUE FROM shop.orders")
    return bool(cur.fetchone()[0])


# Where MariaDB answers otherwise than MySQL, whose semantics DM's filter (TiDB's
# expressions) and pydm's follow: a binary string makes the comparison binary in MySQL
# (MariaDB lets the column's collation win); a hex literal is a number in a numeric
# context in MySQL (MariaDB compares the string 'A' as 0); a DATE against text that is no
# date compares as text in MySQL (MariaDB's answer is NULL).
MARIADB_DIFFERS = {"name = _binary'alice'", "x'41' = 65", "d < 'not a date'"}


@pytest.mark.parametrize(("expr", "overrides", "expected"), CASES,
                         ids=[f"{i}:{c[0]}" for i, c in enumerate(CASES)])
def test_mariadb_agrees(cur: Cursor, expr: str, overrides: dict[str, Any],
                        expected: bool) -> None:
    assert matches(expr, **overrides) is expected
    server = _server_says(cur, expr, overrides)
    assert server is (not expected if expr in MARIADB_DIFFERS else expected)

"""Expression filters: which row changes a task's `expression-filter` rules skip."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from dm import errors
from dm.config.task import ExpressionFilter
from dm.rules.expr import ExpressionFilters, filters
from dm.schema.table import Column, Index, TableInfo
from dm.sync.change import DELETE, INSERT, REPLACE, UPDATE, RowChange

COLUMNS = (
    Column("id", "int", nullable=False),
    Column("Name", "varchar", charset="utf8mb4"),  # table's default (_ci) collation
    Column("code", "varchar", charset="utf8mb4", collation="utf8mb4_bin"),
    Column("price", "decimal"),
    Column("ratio", "double"),
    Column("data", "varbinary", charset="binary"),
    Column("d", "date"),
    Column("dt", "datetime"),
    Column("t", "time"),
    Column("n", "int"),
    Column("s2", "varchar", charset="utf8mb4"),
    Column("big", "bigint", unsigned=True),
)
TABLE = TableInfo("shop", "orders", COLUMNS, (Index("PRIMARY", ("id",), True, True),),
                  charset="utf8mb4", collation="utf8mb4_general_ci")
BASE: dict[str, Any] = {
    "id": 1, "Name": "Alice", "code": "AbC", "price": Decimal("9.99"), "ratio": 0.5,
    "data": b"\x01ab", "d": date(2024, 1, 15), "dt": datetime(2024, 1, 15, 10, 30),
    "t": timedelta(hours=10, minutes=5), "n": None, "s2": "  pad  ", "big": 2**63,
}
TARGET = ("down", "orders")


def row(**overrides: Any) -> tuple[Any, ...]:
    values = {**BASE, **overrides}
    return tuple(values[c.name] for c in COLUMNS)


def one(expr: str, kind: str = "insert", name: str = "f", schema: str = "shop",
        table: str = "orders") -> ExpressionFilters:
    key = f"{kind}_value_expr" if kind in ("insert", "delete") else f"update_{kind}_value_expr"
    cfg = ExpressionFilter.model_validate({"schema": schema, "table": table, key: expr})
    return ExpressionFilters({name: cfg})


def ins(values: tuple[Any, ...], info: TableInfo = TABLE) -> RowChange:
    return RowChange(INSERT, info, TARGET, None, values)


def upd(before: tuple[Any, ...], after: tuple[Any, ...], info: TableInfo = TABLE) -> RowChange:
    return RowChange(UPDATE, info, TARGET, before, after)


def dele(values: tuple[Any, ...], info: TableInfo = TABLE) -> RowChange:
    return RowChange(DELETE, info, TARGET, values, None)


def matches(expr: str, **overrides: Any) -> bool:
    return one(expr).skip(ins(row(**overrides)))


# (expression, row overrides, skipped?)
CASES: list[tuple[str, dict[str, Any], bool]] = [
    # columns and literals
    ("id = 1", {}, True),
    ("id = 2", {}, False),
    ("ID = 1", {}, True),
    ("`id` = 1", {}, True),
    ("orders.id = 1", {}, True),
    ("shop.orders.id = 1", {}, True),
    ("name = 'Alice'", {}, True),
    ("NAME = 'alice'", {}, True),
    ("id", {}, True),
    ("id", {"id": 0}, False),
    ("n", {}, False),
    ("TRUE", {}, True),
    ("FALSE", {}, False),
    ("NULL", {}, False),
    ("1", {}, True),
    ("0", {}, False),
    ("'abc'", {}, False),  # a string is its numeric prefix: 0
    ("'1abc'", {}, True),
    ("'0.0'", {}, False),
    ("price", {"price": Decimal("0.00")}, False),
    ("ratio", {"ratio": 0.0}, False),
    ("d", {}, True),
    ("t", {"t": timedelta(0)}, False),
    # comparisons
    ("id <> 1", {}, False),
    ("id != 2", {}, True),
    ("id < 2", {}, True),
    ("id <= 1", {}, True),
    ("id > 1", {}, False),
    ("id >= 1", {}, True),
    ("1 < id", {}, False),
    ("2 > id", {}, True),
    ("1 = 1 = 1", {}, True),
    ("id = n", {}, False),
    ("n = NULL", {}, False),
    ("n <> 1", {}, False),
    ("n <=> NULL", {}, True),
    ("id <=> NULL", {}, False),
    ("n <=> n", {}, True),
    ("id <=> 1", {}, True),
    ("NULL <=> NULL", {}, True),
    # numbers of every Python type compare as numbers
    ("price = 9.99", {}, True),
    ("price = 9.990", {}, True),
    ("price > 9.9", {}, True),
    ("price = 10", {"price": Decimal("10.00")}, True),
    ("ratio = 0.5", {}, True),
    ("ratio = 5e-1", {}, True),
    ("ratio < price", {}, True),
    ("price > ratio", {}, True),
    ("id = 1.0", {}, True),
    ("id = 1.5", {}, False),
    ("big = 9223372036854775808", {}, True),
    ("big > 9223372036854775807", {}, True),
    ("ratio = 0.1", {"ratio": 0.1}, True),
    # numbers against strings: the string's numeric prefix
    ("id = '1'", {}, True),
    ("id = ' 1'", {}, True),
    ("id = '1abc'", {}, True),
    ("id = 'abc'", {"id": 0}, True),
    ("price = '9.99'", {}, True),
    ("name = 0", {}, True),  # 'Alice' is 0 as a number
    ("s2 = 0", {"s2": "12x"}, False),
    ("s2 = 12", {"s2": "12x"}, True),
    ("s2 > 100", {"s2": "1e3"}, True),
    # strings: case-insensitive, trailing spaces ignored; binary collations exact
    ("name = 'ALICE'", {}, True),
    ("name = 'Alice   '", {}, True),
    ("name = ' Alice'", {}, False),
    ("name < 'bob'", {}, True),
    ("name > 'ALICE'", {}, False),
    ("name = s2", {"s2": "alice"}, True),
    ("code = 'AbC'", {}, True),
    ("code = 'abc'", {}, False),
    ("code = 'AbC '", {}, True),
    ("name COLLATE utf8mb4_bin = 'alice'", {}, False),
    ("name COLLATE utf8mb4_general_ci = 'alice'", {}, True),
    ("BINARY name = 'alice'", {}, False),
    ("BINARY name = 'Alice'", {}, True),
    ("name = _binary'alice'", {}, False),
    ("code > 'AbB'", {}, True),
    ("s2 = '  pad'", {}, True),
    ("s2 = 'pad'", {}, False),
    ("name = N'alice'", {}, True),
    ("name = _utf8mb4'alice'", {}, True),
    ("name = \"alice\"", {}, True),
    ("name = 'it''s'", {"Name": "It's"}, True),
    ("name = 'it\\'s'", {"Name": "it's"}, True),
    ("name = 'a\\nb'", {"Name": "a\nb"}, True),
    # the column's collation decides, exactly (general_ci: accents off, 'ß' = 's')
    ("name = 'Straße'", {"Name": "STRASSE"}, False),
    ("name = 'Straße'", {"Name": "STRASE"}, True),
    ("name = 'résumé'", {"Name": "RESUME"}, True),
    ("code = 'résumé'", {"code": "resume"}, False),  # utf8mb4_bin
    ("code = 'abc' COLLATE utf8mb4_general_ci", {"code": "ABC"}, True),  # explicit wins
    ("name LIKE 'résumé'", {"Name": "RESUME"}, True),  # LIKE under general_ci too
    ("name LIKE 'Stras%'", {"Name": "Straße"}, True),
    ("name LIKE 'r_sum_ '", {"Name": "résumé"}, False),  # no PAD SPACE in LIKE
    ("code LIKE 'r%'", {"code": "Résumé"}, False),  # utf8mb4_bin
    # bytes compare bytewise
    ("name = 'Ali' 'CE'", {}, True),  # adjacent strings are one string
    ("data = CONCAT(x'01', 'ab')", {}, True),
    ("data = 0x016162", {}, True),
    ("data = CONCAT(x'01', 'AB')", {}, False),
    ("data > x'01'", {}, True),
    ("data = 'ab'", {"data": b"ab"}, True),
    ("data = 'ab '", {"data": b"ab"}, False),
    ("data = 'AB'", {"data": b"ab"}, False),
    ("x'41' = 'A'", {}, True),
    ("x'41' = 65", {}, True),
    ("0x41 + 0 = 65", {}, True),
    ("b'1000001' = 'A'", {}, True),
    ("b'11' = 3", {}, True),
    # dates and times against strings, numbers and each other
    ("d = '2024-01-15'", {}, True),
    ("d = '2024-1-15'", {}, True),
    ("d = '20240115'", {}, True),
    ("d = 20240115", {}, True),
    ("d = '2024/01/15'", {}, True),
    ("d < '2024-02-01'", {}, True),
    ("d > '2024-01-15 00:00:01'", {}, False),
    ("d = '2024-01-15 00:00:00'", {}, True),
    ("d between '2024-01-01' and '2024-01-31'", {}, True),
    ("dt = '2024-01-15 10:30:00'", {}, True),
    ("dt = '2024-01-15T10:30'", {}, True),
    ("dt > '2024-01-15'", {}, True),
    ("dt >= d", {}, True),
    ("dt = 20240115103000", {}, True),
    ("dt = '2024-01-15 10:30:00.000001'", {"dt": datetime(2024, 1, 15, 10, 30, 0, 1)}, True),
    ("dt < DATE '2024-01-16'", {}, True),
    ("dt = TIMESTAMP '2024-01-15 10:30:00'", {}, True),
    ("d = DATE '2024-01-15'", {}, True),
    ("d = CAST('2024-01-15 23:00' AS DATE)", {}, True),
    ("dt = CAST('2024-01-15 10:30' AS DATETIME)", {}, True),
    ("d = 'not a date'", {}, False),
    ("d < 'not a date'", {}, True),  # unparsable: compared as text, '2' < 'n'
    ("dt = '2024-02-30'", {}, False),
    ("dt = '0000-00-00 00:00:00'", {"dt": "0000-00-00 00:00:00"}, True),
    ("dt < '2000-01-01'", {"dt": "0000-00-00 00:00:00"}, True),
    ("t = '10:05:00'", {}, True),
    ("t = '10:05'", {}, True),
    ("t = 100500", {}, True),
    ("t = '100500'", {}, True),
    ("t > '9:00'", {}, True),
    ("t < '-01:00:00'", {"t": -timedelta(hours=2)}, True),
    ("t = '-02:00:00'", {"t": -timedelta(hours=2)}, True),
    ("t = '1 02:00:00'", {"t": timedelta(hours=26)}, True),
    ("t = '26:00:00'", {"t": timedelta(hours=26)}, True),
    ("t = TIME '10:05:00'", {}, True),
    ("t = 'junk'", {}, False),
    ("t = '99999999999:00:00'", {}, False),
    ("d + 0 = 20240115", {}, True),
    ("dt + 0 = 20240115103000", {}, True),
    ("t + 0 = 100500", {}, True),
    ("d LIKE '2024-01-%'", {}, True),
    ("dt LIKE '2024-01-15 10:30:00'", {}, True),
    ("t LIKE '10:05:00'", {}, True),
    # AND / OR / XOR / NOT with NULLs
    ("id = 1 AND name = 'alice'", {}, True),
    ("id = 1 AND name = 'bob'", {}, False),
    ("id = 1 && id < 5", {}, True),
    ("id = 2 OR name = 'alice'", {}, True),
    ("id = 2 OR name = 'bob'", {}, False),
    ("id = 2 || id = 1", {}, True),
    ("n = 1 OR id = 1", {}, True),
    ("n = 1 OR id = 2", {}, False),
    ("n = 1 AND id = 2", {}, False),
    ("n = 1 AND id = 1", {}, False),
    ("NOT (n = 1 AND id = 2)", {}, True),  # NULL AND FALSE is FALSE
    ("NOT (n = 1 AND id = 1)", {}, False),  # NULL AND TRUE is NULL
    ("NOT (n = 1 OR id = 2)", {}, False),
    ("NOT id = 2", {}, True),
    ("NOT n", {}, False),
    ("NOT NOT id", {}, True),
    ("!(id = 2)", {}, True),
    ("id = 1 XOR id = 2", {}, True),
    ("id = 1 XOR id = 1", {}, False),
    ("id = 1 XOR n", {}, False),
    ("(id = 1) = TRUE", {}, True),
    ("(id = 2) = FALSE", {}, True),
    ("id = 1 AND (name = 'x' OR code = 'AbC')", {}, True),
    # IS
    ("n IS NULL", {}, True),
    ("id IS NULL", {}, False),
    ("n IS NOT NULL", {}, False),
    ("id IS NOT NULL", {}, True),
    ("n IS UNKNOWN", {}, True),
    ("id = 1 IS TRUE", {}, True),
    ("n = 1 IS TRUE", {}, False),
    ("n = 1 IS NOT TRUE", {}, True),
    ("n = 1 IS FALSE", {}, False),
    ("n = 1 IS NOT FALSE", {}, True),
    ("id = 2 IS FALSE", {}, True),
    ("'abc' IS FALSE", {}, True),
    ("(n = 1) IS NULL", {}, True),
    # IN
    ("id IN (1, 2, 3)", {}, True),
    ("id IN (2, 3)", {}, False),
    ("id NOT IN (2, 3)", {}, True),
    ("id NOT IN (1, 3)", {}, False),
    ("id IN (2, NULL)", {}, False),
    ("id NOT IN (2, NULL)", {}, False),  # NULL: 1 might be the unknown value
    ("id IN (1, NULL)", {}, True),
    ("n IN (1, 2)", {}, False),
    ("n NOT IN (1, 2)", {}, False),
    ("name IN ('bob', 'ALICE')", {}, True),
    ("code IN ('abc', 'ABC')", {}, False),
    ("id IN ('1', 2.5)", {}, True),
    ("price IN (9.99)", {}, True),
    ("id IN (n, 1)", {}, True),
    ("id IN (id + 1, n)", {}, False),
    ("d IN ('2024-01-15', '2024-01-16')", {}, True),
    ("1 IN (id, n)", {}, True),
    # BETWEEN
    ("id BETWEEN 1 AND 3", {}, True),
    ("id BETWEEN 2 AND 3", {}, False),
    ("id NOT BETWEEN 2 AND 3", {}, True),
    ("id BETWEEN n AND 3", {}, False),
    ("id BETWEEN n AND 0", {}, False),
    ("id NOT BETWEEN n AND 0", {}, True),  # FALSE once the upper bound fails
    ("n BETWEEN 1 AND 3", {}, False),
    ("name BETWEEN 'a' AND 'b'", {}, True),
    ("code BETWEEN 'a' AND 'b'", {}, False),  # binary: 'AbC' < 'a'
    ("price BETWEEN 9 AND 10", {}, True),
    ("ratio BETWEEN '0.1' AND '0.9'", {}, True),
    ("2 BETWEEN id AND 3", {}, True),
    # LIKE
    ("name LIKE 'Al%'", {}, True),
    ("name LIKE 'al%'", {}, True),
    ("name LIKE '%ICE'", {}, True),
    ("name LIKE 'A_ice'", {}, True),
    ("name LIKE 'A_ce'", {}, False),
    ("name LIKE 'Alice '", {}, False),  # LIKE does not pad
    ("name LIKE '%'", {}, True),
    ("name LIKE ''", {"Name": ""}, True),
    ("name NOT LIKE 'B%'", {}, True),
    ("NOT name LIKE 'A%'", {}, False),
    ("code LIKE 'a%'", {}, False),
    ("code LIKE 'A%'", {}, True),
    ("name LIKE BINARY 'al%'", {}, False),
    ("name LIKE '50\\%'", {"Name": "50%"}, True),
    ("name LIKE '50\\%'", {"Name": "50x"}, False),
    ("name LIKE 'a\\_b'", {"Name": "a_b"}, True),
    ("name LIKE 'a\\_b'", {"Name": "axb"}, False),
    ("name LIKE 'a!%b' ESCAPE '!'", {"Name": "a%b"}, True),
    ("name LIKE 'a!%b' ESCAPE '!'", {"Name": "axxb"}, False),
    ("name LIKE 'a\\%b' ESCAPE '!'", {"Name": "a\\xxb"}, True),
    ("name LIKE 'a|%' ESCAPE '|'", {"Name": "a%"}, True),
    ("name LIKE 'a.c'", {"Name": "abc"}, False),  # regex characters are literal
    ("name LIKE 'a.c'", {"Name": "a.c"}, True),
    ("name LIKE '(x)*'", {"Name": "(x)*"}, True),
    ("name LIKE 'a%c'", {"Name": "a\nc"}, True),
    ("name LIKE s2", {"s2": "A%"}, True),
    ("name LIKE s2", {"s2": None}, False),
    ("n LIKE '%'", {}, False),
    ("n NOT LIKE '%'", {}, False),
    ("id LIKE '1'", {}, True),
    ("price LIKE '9.9_'", {}, True),
    ("data LIKE '_ab'", {}, True),
    ("data LIKE '%AB'", {}, False),
    ("name LIKE '%!'", {"Name": "x!"}, True),
    ("name LIKE 'x\\\\'", {"Name": "x\\"}, True),  # a trailing escape is literal
    # arithmetic
    ("id + 1 = 2", {}, True),
    ("id - 1 = 0", {}, True),
    ("id * 3 = 3", {}, True),
    ("-id = -1", {}, True),
    ("- -id = 1", {}, True),
    ("price + 0.01 = 10", {}, True),
    ("price * 2 = 19.98", {}, True),
    ("ratio + price > 10.4", {}, True),
    ("ratio * 2 = 1", {}, True),
    ("id / 3 = 0.3333", {}, True),
    ("id / 3 > 0.3333", {}, False),
    ("2 / 3 = 0.6667", {}, True),
    ("1.0 / 3 = 0.33333", {}, True),
    ("id / 2 = 0.5", {}, True),
    ("ratio / 2 = 0.25", {}, True),
    ("id / 0 IS NULL", {}, True),
    ("id / 0", {}, False),
    ("id DIV 0 IS NULL", {}, True),
    ("id % 0 IS NULL", {}, True),
    ("7 DIV 2 = 3", {}, True),
    ("-7 DIV 2 = -3", {}, True),
    ("7.9 DIV 2 = 3", {}, True),
    ("7 % 3 = 1", {}, True),
    ("-7 % 3 = -1", {}, True),
    ("7 % -3 = 1", {}, True),
    ("MOD(7, 3) = 1", {}, True),
    ("7.5 % 2 = 1.5", {}, True),
    ("ratio % 0.3 > 0.19", {}, True),
    ("id % 2 = 1", {}, True),
    ("id + n IS NULL", {}, True),
    ("n * 0 = 0", {}, False),
    ("'3' + 4 = 7", {}, True),
    ("'1.5' + 1 = 2.5", {}, True),
    ("'abc' + 1 = 1", {}, True),
    ("(id + 1) * 2 = 4", {}, True),
    ("id + 1 * 2 = 3", {}, True),
    ("big + 1 = 9223372036854775809", {}, True),
    # functions
    ("LENGTH(name) = 5", {}, True),
    ("LENGTH(name) = 6", {"Name": "Alicé"}, True),
    ("CHAR_LENGTH(name) = 5", {"Name": "Alicé"}, True),
    ("CHARACTER_LENGTH(name) = 5", {}, True),
    ("OCTET_LENGTH(name) = 6", {"Name": "Alicé"}, True),
    ("LENGTH(data) = 3", {}, True),
    ("CHAR_LENGTH(data) = 3", {}, True),
    ("LENGTH(id) = 1", {}, True),
    ("LENGTH(price) = 4", {}, True),
    ("LENGTH(n) IS NULL", {}, True),
    ("LOWER(name) = 'alice'", {}, True),
    ("LCASE(code) = 'abc'", {}, True),
    ("LOWER(code) = 'ABC'", {}, False),  # code is _bin: the result keeps the collation
    ("UPPER(code) = 'ABC'", {}, True),
    ("UCASE(name) LIKE 'ALI%'", {}, True),
    ("LOWER(data) = data", {"data": b"AB"}, True),
    ("LOWER(n) IS NULL", {}, True),
    ("CONCAT(name, '-', id) = 'alice-1'", {}, True),
    ("CONCAT(name, n) IS NULL", {}, True),
    ("CONCAT(price) = '9.99'", {}, True),
    ("CONCAT(d) = '2024-01-15'", {}, True),
    ("CONCAT(dt) = '2024-01-15 10:30:00'", {}, True),
    ("CONCAT(t) = '10:05:00'", {}, True),
    ("CONCAT(ratio) = '0.5'", {}, True),
    ("CONCAT(ratio) = '2'", {"ratio": 2.0}, True),
    ("SUBSTRING(name, 2) = 'lice'", {}, True),
    ("SUBSTRING(name, 2, 3) = 'lic'", {}, True),
    ("SUBSTRING(name FROM 2 FOR 3) = 'lic'", {}, True),
    ("SUBSTRING(name FROM 4) = 'ce'", {}, True),
    ("SUBSTR(name, -3) = 'ice'", {}, True),
    ("SUBSTR(name, -3, 2) = 'ic'", {}, True),
    ("SUBSTRING(name, 0) = ''", {}, True),
    ("SUBSTRING(name, 10) = ''", {}, True),
    ("SUBSTRING(name, -10) = ''", {}, True),
    ("SUBSTRING(name, 2, 0) = ''", {}, True),
    ("SUBSTRING(name, 2, -1) = ''", {}, True),
    ("SUBSTRING(name, 1.5, 1) = 'l'", {}, True),
    ("SUBSTRING(name, '2', 1) = 'l'", {}, True),
    ("SUBSTRING(name, n) IS NULL", {}, True),
    ("SUBSTRING(name, 1, n) IS NULL", {}, True),
    ("MID(name, 2, 2) = 'li'", {}, True),
    ("MID(name, 4) = 'ce'", {}, True),
    ("SUBSTRING(data, 2) = 'ab'", {}, True),
    ("SUBSTRING(id, 1, 1) = '1'", {}, True),
    ("TRIM(s2) = 'pad'", {}, True),
    ("TRIM(LEADING FROM s2) = 'pad  '", {}, True),
    ("TRIM(TRAILING FROM s2) = '  pad'", {}, True),
    ("LENGTH(TRIM(TRAILING FROM s2)) = 5", {}, True),
    ("TRIM(BOTH 'x' FROM s2) = 'pad'", {"s2": "xxpadxx"}, True),
    ("TRIM(LEADING 'xy' FROM s2) = 'xpadxy'", {"s2": "xyxyxpadxy"}, True),
    ("TRIM(TRAILING 'xy' FROM s2) = 'xyxpad'", {"s2": "xyxpadxyxy"}, True),
    ("TRIM('' FROM s2) = s2", {}, True),
    ("TRIM(n FROM s2) IS NULL", {}, True),
    ("TRIM(n) IS NULL", {}, True),
    ("ABS(id - 3) = 2", {}, True),
    ("ABS(-price) = 9.99", {}, True),
    ("ABS(-ratio) = 0.5", {}, True),
    ("ABS(n) IS NULL", {}, True),
    ("ABS('-4x') = 4", {}, True),
    ("IFNULL(n, 5) = 5", {}, True),
    ("IFNULL(id, 5) = 1", {}, True),
    ("IFNULL(n, n) IS NULL", {}, True),
    ("COALESCE(n, n, 'x') = 'X'", {}, True),
    ("COALESCE(n) IS NULL", {}, True),
    ("COALESCE(id, n) = 1", {}, True),
    ("IF(id = 1, 'a', 'b') = 'a'", {}, True),
    ("IF(id = 2, 'a', 'b') = 'b'", {}, True),
    ("IF(n, 'a', 'b') = 'b'", {}, True),
    ("IF(n = 1, 1, n) IS NULL", {}, True),
    ("IF(name = 'ALICE', TRUE, FALSE)", {}, True),
    ("CAST(price AS SIGNED) = 10", {}, True),
    ("CAST('9.99' AS SIGNED) = 9", {}, True),
    ("CAST(-1 AS UNSIGNED) = 18446744073709551615", {}, True),
    ("CAST(price AS DECIMAL(10, 1)) = 10.0", {}, True),
    ("CAST(price AS DECIMAL) = 10", {}, True),
    ("CAST(price AS DECIMAL(3, 2)) = 9.99", {}, True),
    ("CAST(ratio AS DECIMAL(4, 2)) = 99.99", {"ratio": 1e200}, True),
    ("CAST(ratio AS DECIMAL(4, 2)) = -99.99", {"ratio": -1e200}, True),
    ("CAST(ratio AS CHAR) = '0.5'", {}, True),
    ("CONVERT(id, CHAR) = '1'", {}, True),
    ("CAST(name AS BINARY) = 'Alice'", {}, True),
    ("CAST(code AS CHAR) = 'abc'", {}, True),
    ("CAST(t AS TIME) = '10:05'", {}, True),
    ("CAST('x' AS DATE) IS NULL", {}, True),
    ("CAST(dt AS DATE) = d", {}, True),
    ("CAST('1.5' AS DOUBLE) = 1.5", {}, True),
    # other values the decoder produces
    ("s2 = 'a,c'", {"s2": "a,c"}, True),
    ("id = 1", {"id": True}, True),
    ("name = 'x'", {"Name": bytearray(b"x")}, True),
]


@pytest.mark.parametrize(("expr", "overrides", "expected"), CASES,
                         ids=[f"{i}:{c[0]}" for i, c in enumerate(CASES)])
def test_expression(expr: str, overrides: dict[str, Any], expected: bool) -> None:
    assert matches(expr, **overrides) is expected


# --- which change kinds and tables a filter looks at ------------------------------------------
def test_insert_filter_looks_at_inserts_only() -> None:
    f = one("id = 1")
    assert f.skip(ins(row()))
    assert not f.skip(dele(row()))
    assert not f.skip(upd(row(), row()))


def test_delete_filter_reads_the_old_row() -> None:
    f = one("id = 1", "delete")
    assert f.skip(dele(row()))
    assert not f.skip(dele(row(id=2)))
    assert not f.skip(ins(row()))
    assert not f.skip(upd(row(), row()))


@pytest.mark.parametrize(
    ("old", "new", "before", "after", "expected"),
    [
        ("id = 1", "id = 2", 1, 2, True),
        ("id = 1", "id = 2", 1, 3, False),
        ("id = 1", "id = 2", 3, 2, False),
        ("id = 1", "", 1, 9, True),  # the omitted new side counts as TRUE
        ("id = 1", "", 9, 1, False),
        ("", "id = 2", 9, 2, True),
        ("", "id = 2", 2, 9, False),
        ("n = 1", "", 1, 1, False),  # NULL is not TRUE
        ("id = 1", "n IS NULL", 1, 5, True),
    ],
)
def test_update_needs_old_and_new(old: str, new: str, before: int, after: int,
                                  expected: bool) -> None:
    cfg = ExpressionFilter.model_validate({"schema": "shop", "table": "orders",
                                           "update-old-value-expr": old,
                                           "update-new-value-expr": new})
    f = ExpressionFilters({"u": cfg})
    assert f.skip(upd(row(id=before), row(id=after))) is expected
    assert not f.skip(ins(row(id=before)))
    assert not f.skip(dele(row(id=before)))


def test_filter_without_update_sides_ignores_updates() -> None:
    cfg = ExpressionFilter.model_validate({"schema": "shop", "table": "orders"})
    f = ExpressionFilters({"none": cfg})
    assert not f
    assert not f.skip(upd(row(), row()))
    assert not f.skip(ins(row()))


def test_replace_is_never_skipped() -> None:
    f = one("id = 1")
    assert not f.skip(RowChange(REPLACE, TABLE, TARGET, None, row()))


def test_any_filter_on_the_table_skips() -> None:
    cfgs = {
        "a": ExpressionFilter.model_validate({"schema": "shop", "table": "orders",
                                              "insert-value-expr": "id = 1"}),
        "b": ExpressionFilter.model_validate({"schema": "shop", "table": "orders",
                                              "insert-value-expr": "id = 2"}),
        "c": ExpressionFilter.model_validate({"schema": "shop", "table": "orders",
                                              "delete-value-expr": "id = 3"}),
        "other": ExpressionFilter.model_validate({"schema": "shop", "table": "other",
                                                  "insert-value-expr": "id = 4"}),
    }
    f = ExpressionFilters(cfgs)
    assert f.skip(ins(row(id=1)))
    assert f.skip(ins(row(id=2)))
    assert not f.skip(ins(row(id=3)))
    assert not f.skip(ins(row(id=4)))
    assert f.skip(dele(row(id=3)))
    assert not f.skip(dele(row(id=1)))


def test_exact_table_names_not_patterns() -> None:
    other = TableInfo("shop", "orders_1", COLUMNS)
    assert not one("id = 1").skip(ins(row(), other))
    assert not one("id = 1", table="order*").skip(ins(row()))
    assert not one("id = 1", schema="SHOP_2").skip(ins(row()))


def test_table_names_fold_case_unless_case_sensitive() -> None:
    upper = TableInfo("Shop", "ORDERS", COLUMNS)
    assert one("id = 1", schema="SHOP", table="Orders").skip(ins(row()))
    assert one("id = 1").skip(ins(row(), upper))
    cfg = ExpressionFilter.model_validate({"schema": "shop", "table": "orders",
                                           "insert-value-expr": "id = 1"})
    strict = ExpressionFilters({"f": cfg}, case_sensitive=True)
    assert strict.skip(ins(row()))
    assert not strict.skip(ins(row(), upper))
    assert strict.applies_to("shop", "orders")
    assert not strict.applies_to("Shop", "ORDERS")
    assert one("id = 1").applies_to("Shop", "ORDERS")


def test_no_filters() -> None:
    f = ExpressionFilters({})
    assert not f
    assert not f.skip(ins(row()))


# --- compiling once per table version -----------------------------------------------------------
def test_compiled_once_per_table_version(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[TableInfo] = []
    real = filters._column_resolver

    def counting(info: TableInfo) -> Any:
        calls.append(info)
        return real(info)

    monkeypatch.setattr(filters, "_column_resolver", counting)
    f = one("name = 'alice'")
    for _ in range(5):
        assert f.skip(ins(row()))
    assert calls == [TABLE]
    # after a DDL the tracker hands out a new TableInfo: compiled again, new positions
    moved = TableInfo("shop", "orders", (Column("extra", "int"), *COLUMNS))
    assert f.skip(ins((0, *row()), moved))
    assert len(calls) == 2
    assert calls[1] is moved
    assert f.skip(ins(row()))
    assert len(calls) == 2


def test_other_tables_are_not_compiled() -> None:
    f = one("no_such_column = 1")
    other = TableInfo("shop", "other", COLUMNS)
    assert not f.skip(ins(row(), other))


def test_constant_folding_keeps_results() -> None:
    assert matches("1 + 1 = 2 AND id = 1")
    assert not matches("1 + 1 = 3 AND id = 1")
    assert not matches("1 / 0 AND id = 1")


def test_column_positions_follow_the_table() -> None:
    info = TableInfo("s", "t", (Column("b", "int"), Column("A", "varchar")))
    cfg = ExpressionFilter.model_validate({"schema": "s", "table": "t",
                                           "insert-value-expr": "a = 'x' AND B = 2"})
    f = ExpressionFilters({"f": cfg})
    assert f.skip(RowChange(INSERT, info, TARGET, None, (2, "x")))
    assert not f.skip(RowChange(INSERT, info, TARGET, None, (3, "x")))


# --- errors --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "expr",
    [
        "id = ",
        "id = 1 x",
        "id, name",
        "id = 1; select 1",
        "NOW() > d",
        "foo(id) = 1",
        "id = (SELECT 1)",
        "id IN (SELECT 1)",
        "*",
        "id IS 1",
        "id & 1",
        "~id",
        "id << 1",
        "name REGEXP 'a'",
        "CASE WHEN id = 1 THEN 1 END",
        "LEFT(name, 1) = 'A'",
        "LENGTH(name, 1) = 5",
        "IFNULL(n) = 1",
        "IFNULL(n, 1, 2) = 1",
        "IF(id, 1) = 1",
        "ABS(id, 2) = 1",
        "LOWER(name, 1) = 'a'",
        "SUBSTRING(name) = 'a'",
        "SUBSTRING(name, 1, 2, 3) = 'a'",
        "TRIM(name, 'x') = 'a'",
        "name LIKE 'a' ESCAPE 'ab'",
        "name LIKE 'a' ESCAPE name",
        "@v = 1",
        "? = 1",
        "CAST(id AS JSON) = 1",
        "id = INTERVAL 1 DAY",
        "(id, n) IN ((1, 2))",
        "MID(name) = 'a'",
        "CAST(id AS DECIMAL(70, 2)) = 1",
        "'1e999999' * '1e999999' > 0",
    ],
)
def test_unsupported_expressions_fail_at_construction(expr: str) -> None:
    with pytest.raises(errors.DMError) as info:
        one(expr, name="rule-x")
    err = info.value
    assert err.code == errors.CONFIG_EXPR_GRAMMAR.code
    assert "rule-x" in err.message
    assert "`shop`.`orders`" in err.message
    assert repr(expr) in err.message
    assert "insert-value-expr" in err.message


@pytest.mark.parametrize("expr", ["missing = 1", "id = 1 OR nope IS NULL", "other.id = 1",
                                  "db.orders.id = 1", "LOWER(ghost) = 'x'"])
def test_unknown_columns_fail_when_the_table_is_seen(expr: str) -> None:
    f = one(expr, "delete", name="gone")
    with pytest.raises(errors.DMError) as info:
        f.skip(dele(row()))
    err = info.value
    assert err.code == errors.CONFIG_EXPR_GRAMMAR.code
    assert "gone" in err.message
    assert "`shop`.`orders`" in err.message
    assert repr(expr) in err.message
    assert "delete-value-expr" in err.message
    assert "unknown column" in err.message
    with pytest.raises(errors.DMError):
        f.check(TABLE)


def test_check_compiles_without_a_change() -> None:
    one("id = 1").check(TABLE)
    with pytest.raises(errors.DMError):
        one("idx = 1").check(TABLE)


def test_blank_expression_is_ignored() -> None:
    f = one("   ")
    assert not f
    assert not f.skip(ins(row()))


def test_evaluation_failure_names_the_filter() -> None:
    f = one("price * '1e999999' * '1e999999' > 0", name="huge")
    with pytest.raises(errors.DMError) as info:
        f.skip(ins(row()))
    err = info.value
    assert err.code == errors.CONFIG_EXPR_GRAMMAR.code
    assert "huge" in err.message
    assert "`shop`.`orders`" in err.message
    assert "Overflow" in err.raw_cause

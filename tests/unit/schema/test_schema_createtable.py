"""CREATE TABLE into TableInfo: types, charsets, generated columns, keys, odd syntax."""

from __future__ import annotations

import pytest

from dm.errors import DMError
from dm.schema.charsets import MYSQL, Charset
from dm.schema.createtable import parse_create_table
from dm.schema.table import Column, Index, TableInfo

SHOW_CREATE = """CREATE TABLE `t1` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `name` varchar(20) DEFAULT NULL COMMENT 'the name',
  `e` enum('a','b''c','d\\\\e') CHARACTER SET latin1 COLLATE latin1_bin DEFAULT 'a',
  `s` set('x','y') DEFAULT NULL,
  `j` longtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL CHECK (json_valid(`j`)),
  `g` int(11) GENERATED ALWAYS AS (json_value(`j`,'$.id')) VIRTUAL,
  `ts` timestamp NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp(),
  `b` blob,
  `u` bigint(20) unsigned zerofill DEFAULT 0,
  `d` decimal(9,6) DEFAULT 0.000000,
  `bin` bit(1) DEFAULT b'0',
  PRIMARY KEY (`id`),
  UNIQUE KEY `gen_idx` (`g`),
  KEY `multi` (`id`,`name`(10) DESC),
  FULLTEXT KEY `ft` (`name`)
) ENGINE=InnoDB AUTO_INCREMENT=3 DEFAULT CHARSET=latin1 COLLATE=latin1_general_ci
 /*!50100 PARTITION BY RANGE (`id`)
(PARTITION `p0` VALUES LESS THAN (10) ENGINE = InnoDB,
 PARTITION `p1` VALUES LESS THAN MAXVALUE ENGINE = InnoDB) */"""


def col(name: str, type_name: str, column_type: str = "", **kw: object) -> Column:
    return Column(name, type_name, column_type or type_name, **kw)  # type: ignore[arg-type]


def test_show_create_table_mariadb() -> None:
    info = parse_create_table(SHOW_CREATE, current_db="db")
    assert (info.schema, info.table, info.charset, info.collation) == (
        "db", "t1", "latin1", "latin1_general_ci")
    latin = {"charset": "latin1", "collation": "latin1_general_ci"}
    assert info.columns == (
        col("id", "int", "int(11)", nullable=False),
        col("name", "varchar", "varchar(20)", **latin),
        col("e", "enum", "enum('a','b''c','d\\\\e')", charset="latin1",
            collation="latin1_bin", enum_values=("a", "b'c", "d\\e"), default="'a'"),
        col("s", "set", "set('x','y')", set_values=("x", "y"), **latin),
        col("j", "longtext", charset="utf8mb4", collation="utf8mb4_bin"),
        col("g", "int", "int(11)", generated=True, expression="json_value(j, '$.id')"),
        col("ts", "timestamp", nullable=False, default="current_timestamp()"),
        col("b", "blob", charset="binary", collation="binary"),
        col("u", "bigint", "bigint(20) unsigned zerofill", unsigned=True, default="0"),
        col("d", "decimal", "decimal(9,6)", default="0"),
        col("bin", "bit", "bit(1)", default="b'0'"),
    )
    assert info.indexes == (
        Index("PRIMARY", ("id",), True, True), Index("gen_idx", ("g",), True),
        Index("multi", ("id", "name"), partial=True), Index("ft", ("name",)))


@pytest.mark.parametrize(("definition", "expected"), [
    ("c INTEGER", col("c", "int", "int(11)")),
    ("c int unsigned", col("c", "int", "int(10) unsigned", unsigned=True)),
    ("c tinyint", col("c", "tinyint", "tinyint(4)")),
    ("c bigint unsigned", col("c", "bigint", "bigint(20) unsigned", unsigned=True)),
    ("c BOOL", col("c", "tinyint", "tinyint(1)")),
    ("c numeric(5,2)", col("c", "decimal", "decimal(5,2)")),
    ("c decimal", col("c", "decimal", "decimal(10,0)")),
    ("c real", col("c", "double")),
    ("c double precision", col("c", "double")),
    ("c float(10)", col("c", "float")),
    ("c float(30)", col("c", "double")),
    ("c float(7,3)", col("c", "float", "float(7,3)")),
    ("c year", col("c", "year", "year(4)")),
    ("c char", col("c", "char", "char(1)", charset="utf8mb4",
                   collation="utf8mb4_general_ci")),
    ("c national varchar(5)", col("c", "varchar", "varchar(5)", charset="utf8mb3",
                                  collation="utf8mb3_general_ci")),
    ("c nchar(2)", col("c", "char", "char(2)", charset="utf8mb3",
                       collation="utf8mb3_general_ci")),
    ("c character varying(3)", col("c", "varchar", "varchar(3)", charset="utf8mb4",
                                   collation="utf8mb4_general_ci")),
    ("c varchar(3) binary", col("c", "varchar", "varchar(3)", charset="utf8mb4",
                                collation="utf8mb4_bin")),
    ("c varchar(3) charset utf8", col("c", "varchar", "varchar(3)", charset="utf8mb3",
                                      collation="utf8mb3_general_ci")),
    ("c varchar(3) collate utf8_bin", col("c", "varchar", "varchar(3)", charset="utf8mb3",
                                          collation="utf8mb3_bin")),
    ("c varchar(3) character set binary", col("c", "varbinary", "varbinary(3)",
                                              charset="binary", collation="binary")),
    ("c text character set binary", col("c", "blob", charset="binary", collation="binary")),
    ("c text(10)", col("c", "tinytext", charset="utf8mb4", collation="utf8mb4_general_ci")),
    ("c blob(70000)", col("c", "mediumblob", charset="binary", collation="binary")),
    ("c long varchar", col("c", "mediumtext", charset="utf8mb4",
                           collation="utf8mb4_general_ci")),
    ("c varbinary(4)", col("c", "varbinary", "varbinary(4)", charset="binary",
                           collation="binary")),
    ("c json", col("c", "longtext", charset="utf8mb4", collation="utf8mb4_bin")),
    ("c serial", col("c", "bigint", "bigint(20) unsigned", unsigned=True, nullable=False)),
    ("c int as (a + 1) stored", col("c", "int", "int(11)", generated=True,
                                    expression="a + 1")),
    ("c int as (a + 1) persistent", col("c", "int", "int(11)", generated=True,
                                        expression="a + 1")),
    ("c int generated always as (a) virtual not null",
     col("c", "int", "int(11)", generated=True, nullable=False, expression="a")),
    ("c timestamp(3) null default null on update current_timestamp(3)",
     col("c", "timestamp", "timestamp(3)")),
    ("c datetime not null default '0000-00-00 00:00:00'",
     col("c", "datetime", nullable=False, default="'0000-00-00 00:00:00'")),
    ("c varchar(3) default _utf8mb4'x' comment 'y' invisible",
     col("c", "varchar", "varchar(3)", charset="utf8mb4", collation="utf8mb4_general_ci",
         default="'x'")),
    ("c int default (1 + 2) check (c > 0)", col("c", "int", "int(11)", default="1 + 2")),
    ("c int default -1 references p (id) on delete set null",
     col("c", "int", "int(11)", default="-1")),
    ("c point", col("c", "point")),
    ("`select` enum('a') character set ascii", col("select", "enum", "enum('a')",
                                                   charset="ascii",
                                                   collation="ascii_general_ci",
                                                   enum_values=("a",))),
    ("c varchar(2) ascii", col("c", "varchar", "varchar(2)", charset="latin1",
                               collation="latin1_swedish_ci")),
])
def test_column_definitions(definition: str, expected: Column) -> None:
    info = parse_create_table(f"create table t ({definition}, a int)", current_db="d")
    assert info.columns[0] == expected


def test_primary_key_columns_are_not_null_and_column_keys() -> None:
    info = parse_create_table(
        "CREATE TABLE IF NOT EXISTS `db`.`t` (a int key, b int unique, c int, d int, "
        "UNIQUE (c), INDEX (c), CONSTRAINT uc UNIQUE (d)) ")
    assert info.schema == "db"
    assert [c.nullable for c in info.columns] == [False, True, True, True]
    assert info.indexes == (Index("PRIMARY", ("a",), True, True), Index("b", ("b",), True),
                            Index("c", ("c",), True), Index("c_2", ("c",)),
                            Index("uc", ("d",), True))


def test_table_level_primary_key_and_expression_index() -> None:
    info = parse_create_table("create table t (a int, b int, primary key (a, b), "
                              "key ((a + b)), foreign key (b) references p (x), "
                              "check (a > 0))", current_db="d")
    assert [c.nullable for c in info.columns] == [False, False]
    assert info.indexes == (Index("PRIMARY", ("a", "b"), True, True),
                            Index("functional_index", (), partial=True))
    assert not info.partial_unique  # not unique: nothing for causality to fear


def test_prefix_and_expression_unique_keys_are_partial() -> None:
    info = parse_create_table("create table t (id int primary key, name varchar(20), "
                              "unique key uk (name(4)), unique key ((lower(name))))",
                              current_db="d")
    assert info.indexes[1:] == (Index("uk", ("name",), True, partial=True),
                                Index("functional_index", (), True, partial=True))
    assert info.partial_unique
    assert [k.name for k in info.unique_keys] == ["PRIMARY", "uk"]  # columns identify rows

@pytest.mark.parametrize(("db", "server", "flavor", "expected"), [
    (None, Charset("utf8mb4", "utf8mb4_general_ci"), "mariadb",
     ("utf8mb4", "utf8mb4_general_ci")),
    (Charset("latin1", "latin1_bin"), Charset("utf8mb4", "utf8mb4_general_ci"), "mariadb",
     ("latin1", "latin1_bin")),
])
def test_charset_inheritance(db: Charset | None, server: Charset, flavor: str,
                             expected: tuple[str, str]) -> None:
    info = parse_create_table("create table t (v varchar(1))", current_db="d",
                              db_charset=db, server_charset=server, flavor=flavor)
    assert (info.columns[0].charset, info.columns[0].collation) == expected


def test_mysql_flavor() -> None:
    info = parse_create_table("create table t (i int, j json, v varchar(2) charset utf8mb4)",
                              current_db="d", flavor=MYSQL)
    assert info.columns[0].column_type == "int"
    assert (info.columns[1].type_name, info.columns[1].charset) == ("json", None)
    assert info.columns[2].collation == "utf8mb4_0900_ai_ci"


def test_table_options_and_partitions() -> None:
    info = parse_create_table(
        "create table t (id int) engine=InnoDB default character set = utf8mb3 "
        "comment='charset latin1' partition by hash(id) partitions 4", current_db="d")
    assert (info.charset, info.collation) == ("utf8mb3", "utf8mb3_general_ci")
    info = parse_create_table("create table t (id int) collate latin1_bin", current_db="d")
    assert (info.charset, info.collation) == ("latin1", "latin1_bin")


@pytest.mark.parametrize("sql", [
    "create table t like u", "create view v as select 1", "create table t (a int foo)",
    "create table t (a int", "create table 't' (a int)",
])
def test_invalid(sql: str) -> None:
    with pytest.raises(DMError) as err:
        parse_create_table(sql, current_db="d")
    assert err.value.code == 44009
    assert sql in err.value.message


def test_json_round_trip() -> None:
    info = parse_create_table(SHOW_CREATE, current_db="db")
    assert TableInfo.from_json(info.to_json()) == info

"""The schema tracker against a real MariaDB: DM's own workloads (and a DDL-heavy script of
ours) run statement by statement; after each DDL every table the tracker says changed is
compared with information_schema and with SHOW CREATE TABLE parsed back."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymysql
import pytest

from dm.sandbox import MariaDB
from dm.schema import ddl as ddlmod
from dm.schema.createtable import parse_create_table
from dm.schema.definitions import BINARY_TYPES
from dm.schema.lexer import T, split_statements, tokenize
from dm.schema.table import TableInfo
from dm.schema.tracker import SchemaTracker
from tests.shared import DM_TESTS

pytestmark = pytest.mark.integration

SCENARIOS = [
    ("all_mode", "db1"), ("all_mode", "db2"), ("incremental_mode", "db1"),
    ("incremental_mode", "db2"), ("drop_column_with_index", "db1"),
    ("downstream_more_column", "db1"), ("tracker_ignored_ddl", "db"),
    ("sequence_sharding", "db1"), ("sequence_sharding", "db2"),
    ("sequence_sharding_optimistic", "db1"), ("sequence_sharding_optimistic", "db2"),
    ("sharding2", "db1"), ("expression_filter", "db1"), ("case_sensitive", "db1"),
    ("online_ddl", "gho.db1"), ("online_ddl", "pt.db1"), ("safe_mode", "db1"),
    ("dmctl_basic", "db1"), ("full_mode", "db1"), ("sequence_safe_mode", "db1"),
]
SETUP = {"online_ddl": "create database online_ddl"}  # done by the scenario's run.sh
SYSTEM = {"mysql", "information_schema", "performance_schema", "sys"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDB]:
    db = MariaDB(tmp_path_factory.mktemp("tracker"), server_id=77, log_bin=False)
    db.start(tmp_path_factory.getbasetemp() / "cache")
    try:
        yield db
    finally:
        db.stop()


@pytest.fixture()
def conn(server: MariaDB) -> Iterator[pymysql.Connection]:
    c = server.connect()
    try:
        yield c
    finally:
        with c.cursor() as cur:
            cur.execute("SHOW DATABASES")
            for (name,) in cur.fetchall():
                if name not in SYSTEM:
                    cur.execute(f"DROP DATABASE `{name}`")
        c.close()


def _files(scenario: str, prefix: str) -> list[Path]:
    def order(p: Path) -> tuple[int, str]:
        stage = p.name[len(prefix) + 1:].split(".")[0]
        return (0 if stage.startswith("prepare") else 1, stage.replace("increment", "") or "0")
    files = [p for p in (DM_TESTS / scenario / "data").glob(f"{prefix}.*.sql")
             if ".user." not in p.name]
    return sorted(files, key=order)


_JSON_ARROW = re.compile(r"(\w+)\s*->\s*(['\"])(\$[^'\"]*)\2")


def _mariadb(sql: str) -> str:
    """DM's MySQL workloads in MariaDB spelling (no `->` JSON operator)."""
    return _JSON_ARROW.sub(r"JSON_VALUE(\1, '\3')", sql)


class Replay:
    def __init__(self, conn: pymysql.Connection) -> None:
        self.conn = conn
        self.tracker = SchemaTracker(case_sensitive=True)
        self.db = ""
        self.compared = 0

    def run(self, sql: str, *, strict: bool = False) -> None:
        sql = _mariadb(sql)
        with self.conn.cursor() as cur:
            try:
                cur.execute(sql)
            except pymysql.err.MySQLError:
                if strict:
                    raise
                return  # the upstream rejected it: nothing to track
            cur.execute("SELECT DATABASE()")
            self.db = cur.fetchone()[0] or ""
        parsed = ddlmod.parse(sql, self.db)
        for schema, table in self.tracker.apply_ddl(parsed):
            if self._exists(schema, table):
                self.check(schema, table, sql)

    def _exists(self, schema: str, table: str) -> bool:
        with self.conn.cursor() as cur:
            cur.execute("SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA=%s "
                        "AND TABLE_NAME=%s", (schema, table))
            return cur.fetchone() is not None

    def check(self, schema: str, table: str, sql: str) -> None:
        tracked = self.tracker.get(schema, table)
        assert tracked is not None, f"{schema}.{table} not tracked after {sql}"
        diff = _diff(_shape(tracked), server_shape(self.conn, schema, table))
        assert not diff, f"{sql}\n" + "\n".join(map(repr, diff))
        with self.conn.cursor() as cur:
            cur.execute(f"SHOW CREATE TABLE `{schema}`.`{table}`")
            text = cur.fetchone()[1]
        reparsed = parse_create_table(text, current_db=schema,
                                      db_charset=self.tracker.database_charset(schema))
        assert _diff(_shape(reparsed), _shape(tracked)) == [], f"{sql}\n{text}"
        self.compared += 1


def _shape(info: TableInfo) -> dict[str, Any]:
    columns = [(c.name, c.type_name, c.column_type, c.unsigned, c.nullable,
                None if c.type_name in BINARY_TYPES else c.charset,
                None if c.type_name in BINARY_TYPES else c.collation, c.generated,
                c.enum_values, c.set_values) for c in info.columns]
    indexes = {i.name: (i.columns, i.unique, i.primary) for i in info.indexes}
    return {"columns": columns, "indexes": indexes}


def _diff(ours: dict[str, Any], theirs: dict[str, Any]) -> list[Any]:
    """Differing columns and indexes, side by side (readable where == is not)."""
    pairs = list(zip(ours["columns"], theirs["columns"], strict=False))
    out: list[Any] = [(a, b) for a, b in pairs if a != b]
    if len(ours["columns"]) != len(theirs["columns"]):
        out.append(("column count", len(ours["columns"]), len(theirs["columns"])))
    if ours["indexes"] != theirs["indexes"]:
        out.append((ours["indexes"], theirs["indexes"]))
    return out


def server_shape(conn: pymysql.Connection, schema: str, table: str) -> dict[str, Any]:
    """The same shape, read from information_schema."""
    with conn.cursor() as cur:
        cur.execute("SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, "
                    "CHARACTER_SET_NAME, COLLATION_NAME, IS_GENERATED FROM "
                    "information_schema.COLUMNS WHERE TABLE_SCHEMA=%s AND TABLE_NAME=%s "
                    "ORDER BY ORDINAL_POSITION", (schema, table))
        columns = []
        for name, dtype, ctype, nullable, cs, coll, gen in cur.fetchall():
            members = tuple(t.value for t in tokenize(ctype) if t.kind is T.STRING)
            columns.append((name, dtype, ctype, "unsigned" in ctype, nullable == "YES", cs,
                            coll, gen == "ALWAYS", members if dtype == "enum" else (),
                            members if dtype == "set" else ()))
        cur.execute("SELECT INDEX_NAME, COLUMN_NAME, NON_UNIQUE FROM "
                    "information_schema.STATISTICS WHERE TABLE_SCHEMA=%s AND TABLE_NAME=%s "
                    "ORDER BY INDEX_NAME, SEQ_IN_INDEX", (schema, table))
        indexes: dict[str, tuple[tuple[str, ...], bool, bool]] = {}
        for name, column, non_unique in cur.fetchall():
            cols = indexes.get(name, ((), False, False))[0]
            indexes[name] = ((*cols, column), not non_unique, name == "PRIMARY")
    return {"columns": columns, "indexes": indexes}


@pytest.mark.parametrize(("scenario", "prefix"), SCENARIOS,
                         ids=[f"{s}-{p}" for s, p in SCENARIOS])
def test_dm_workload(conn: pymysql.Connection, scenario: str, prefix: str) -> None:
    replay = Replay(conn)
    if scenario in SETUP:
        replay.run(SETUP[scenario], strict=True)
    files = _files(scenario, prefix)
    assert files
    for path in files:
        for statement in split_statements(path.read_text()):
            replay.run(statement)
    assert replay.compared > 0


DDL_SEQUENCE = """
create database trk character set latin1;
use trk;
create table a (id int primary key, v varchar(10), n national varchar(5),
  t text, b blob, vb varbinary(4), bo boolean, d decimal, f float(7,3), bits bit,
  e enum('x','y''z') character set utf8mb4, s set('p','q') collate utf8mb4_bin,
  y year, ts timestamp(3) null, dt datetime(6), j json, u bigint unsigned zerofill,
  g int as (id + 1) persistent, gv int generated always as (id * 2) virtual,
  key (v), unique key uq (n, v), fulltext key ft (t)) default charset=utf8mb4;
alter table a add column c1 int first, add column c2 char(3) after v;
alter table a modify column v varchar(30) character set latin1 collate latin1_bin;
alter table a change column c2 c3 char(4) not null after id;
alter table a rename column c3 to c4;
alter table a drop column t;
alter table a drop index uq, drop column n;
alter table a add index ic (c1, c4), drop index v;
alter table a rename index ic to ic2;
alter table a drop primary key, add primary key (id, c4);
alter table a convert to character set utf8mb4 collate utf8mb4_unicode_ci;
alter table a default charset = latin1;
alter table a add column l varchar(3);
create index ci on a (l(2), c1);
drop index ci on a;
alter table a add column (x1 int, x2 varchar(2) unique);
create table b like a;
alter table b engine=InnoDB, comment 'x';
rename table a to a2, b to a;
alter table a2 rename to trk.a3;
create table c (id serial, name varchar(3) binary, w text character set binary);
create table d (k int not null, m int, primary key (m)) ;
create table p (id int, v varchar(5)) partition by hash(id) partitions 3;
alter table p add column w int;
drop table c, d;
alter database trk character set utf8mb4;
create table e2 (v varchar(3));
truncate table e2;
create table w (t1 tinytext, t2 text, t3 mediumtext, v varchar(10), k int) charset latin1;
alter table w convert to character set utf8mb4;
alter table w add column z int after t1, modify t2 text first, add primary key (k);
alter table w change k k2 bigint unsigned, add unique (z, v), add key (v);
alter table w add key (v), alter column z set default 3;
alter table w add column q int not null default 0 first, drop column t3;
"""


def test_ddl_sequence(conn: pymysql.Connection) -> None:
    replay = Replay(conn)
    for statement in split_statements(DDL_SEQUENCE):
        replay.run(statement, strict=True)
    assert replay.compared >= 30
    assert replay.tracker.get("trk", "c") is None
    assert {k for k in replay.tracker.tables("trk")} == {
        ("trk", "a"), ("trk", "a3"), ("trk", "p"), ("trk", "e2"), ("trk", "w")}

"""What the upstream's information_schema says about the tables a task takes.

Each answer is one query over the task's databases, never one per table: the server
opens every table of a schema to fill an information_schema view, so a per-table query
(or a correlated subquery) costs a pass over thousands of tables each time.
"""

from __future__ import annotations

from dataclasses import dataclass

from dm.core.schemas import Allows, taken
from dm.db import Connection, query_all

_INT_TYPES = frozenset({"tinyint", "smallint", "mediumint", "int", "bigint"})
_GENERATED_EXTRA = frozenset({"VIRTUAL GENERATED", "STORED GENERATED", "VIRTUAL", "PERSISTENT",
                              "STORED"})

Table = tuple[str, str]


def list_databases(conn: Connection, allows: Allows) -> list[str]:
    """The databases the task takes, with tables or not (DM's dump creates them all)."""
    rows = query_all(conn, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA "
                           "ORDER BY SCHEMA_NAME")
    return [str(s) for (s,) in rows if taken(allows, str(s))]


def _in_databases(databases: list[str]) -> str:
    return "TABLE_SCHEMA IN (" + ",".join(["%s"] * len(databases)) + ")"


def list_tables(conn: Connection, allows: Allows, kinds: tuple[str, ...] = ("BASE TABLE",)
                ) -> list[tuple[str, str, str]]:
    """(schema, table, TABLE_TYPE) of the tables the task takes, of `kinds`, in order."""
    databases = list_databases(conn, allows)
    if not databases:
        return []
    rows = query_all(conn, "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE FROM "
                           f"information_schema.TABLES WHERE {_in_databases(databases)} AND "
                           f"TABLE_TYPE IN ({','.join(['%s'] * len(kinds))}) "
                           "ORDER BY TABLE_SCHEMA, TABLE_NAME", (*databases, *kinds))
    return [(str(s), str(t), str(k)) for s, t, k in rows if taken(allows, str(s), str(t))]


@dataclass(frozen=True)
class Constraints:
    keys: int  # PRIMARY KEY and UNIQUE
    foreign_keys: int


def constraints(conn: Connection, databases: list[str]) -> dict[Table, Constraints]:
    if not databases:
        return {}
    rows = query_all(conn, "SELECT TABLE_SCHEMA, TABLE_NAME, "
                           "SUM(CONSTRAINT_TYPE IN ('PRIMARY KEY', 'UNIQUE')), "
                           "SUM(CONSTRAINT_TYPE = 'FOREIGN KEY') FROM "
                           f"information_schema.TABLE_CONSTRAINTS WHERE "
                           f"{_in_databases(databases)} GROUP BY TABLE_SCHEMA, TABLE_NAME",
                     databases)
    return {(str(s), str(t)): Constraints(int(k or 0), int(f or 0)) for s, t, k, f in rows}


def holds_data(extra: str | None, generation_expression: str | None) -> bool:
    """Whether a column's values are stored rather than computed. MySQL 8 says
    `DEFAULT_GENERATED` (plus `on update ...`) for columns whose *default* is an expression
    (`DEFAULT CURRENT_TIMESTAMP`, `DEFAULT (uuid())`): those hold data like any other."""
    if generation_expression:
        return False
    return (extra or "").upper().strip() not in _GENERATED_EXTRA


@dataclass(frozen=True)
class ColumnFacts:
    name: str
    data_type: str  # lower case
    nullable: bool
    stored: bool  # holds data: generated columns are recomputed downstream


def columns(conn: Connection, databases: list[str]) -> dict[Table, list[ColumnFacts]]:
    """Each table's columns, in order."""
    found: dict[Table, list[ColumnFacts]] = {}
    if not databases:
        return found
    rows = query_all(conn, "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, DATA_TYPE, "
                           "IS_NULLABLE, EXTRA, GENERATION_EXPRESSION FROM "
                           f"information_schema.COLUMNS WHERE {_in_databases(databases)} "
                           "ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION", databases)
    for schema, table, name, dtype, nullable, extra, expression in rows:
        found.setdefault((str(schema), str(table)), []).append(ColumnFacts(
            str(name), str(dtype).lower(), nullable != "NO", holds_data(extra, expression)))
    return found


def integer_chunk_keys(conn: Connection, databases: list[str],
                       columns: dict[Table, list[ColumnFacts]]) -> dict[Table, str]:
    """Per table, a single NOT NULL integer column that is its primary key or else a
    unique key (the first by name), if it has one."""
    if not databases:
        return {}
    where = _in_databases(databases).replace("TABLE_SCHEMA", "s.TABLE_SCHEMA")
    rows = query_all(conn, "SELECT s.TABLE_SCHEMA, s.TABLE_NAME, s.INDEX_NAME, "
                           "MIN(s.COLUMN_NAME), COUNT(*) FROM information_schema.STATISTICS s "
                           f"WHERE {where} AND s.NON_UNIQUE = 0 "
                           "GROUP BY s.TABLE_SCHEMA, s.TABLE_NAME, s.INDEX_NAME "
                           "ORDER BY s.TABLE_SCHEMA, s.TABLE_NAME, s.INDEX_NAME <> 'PRIMARY', "
                           "s.INDEX_NAME", databases)
    keys: dict[Table, str] = {}
    for schema, table, _, column, width in rows:
        key = (str(schema), str(table))
        if key in keys or int(width) != 1:
            continue
        facts = next((c for c in columns.get(key, ()) if c.name == str(column)), None)
        if facts is not None and facts.data_type in _INT_TYPES and not facts.nullable:
            keys[key] = facts.name
    return keys


def table_stats(conn: Connection, databases: list[str]) -> dict[Table, tuple[int, int]]:
    """Per table, the server's estimate of its rows and their average length."""
    if not databases:
        return {}
    rows = query_all(conn, "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_ROWS, AVG_ROW_LENGTH FROM "
                           f"information_schema.TABLES WHERE {_in_databases(databases)}",
                     databases)
    return {(str(s), str(t)): (int(n or 0), int(a or 0)) for s, t, n, a in rows}

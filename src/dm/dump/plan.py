"""Which tables to dump and how to cut them into key-range chunks.

The plan is computed once, inside the first snapshot, and saved in the dump
directory, so that a resumed dump cuts every table exactly the same way and only
dumps the chunks that are not on disk (or loaded) yet.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dm.core.schemas import taken
from dm.db import Connection, qualified, query_all, query_one, quote
from dm.dump.files import DataFile, DumpedTable

_INT_TYPES = frozenset({"tinyint", "smallint", "mediumint", "int", "bigint"})
PLAN_FILE = "dump-plan.json"


def file_part(name: str) -> str:
    """A schema or table name made safe as part of a file name ('/', '.', '%' escaped)."""
    return "".join(c if c.isalnum() or c in "_-$ " else f"%{ord(c):02X}" for c in name)


def schema_file(schema: str, table: str) -> str:
    return f"{file_part(schema)}.{file_part(table)}-schema.sql"


def database_file(schema: str) -> str:
    return f"{file_part(schema)}-schema-create.sql"


@dataclass
class Chunk:
    """Rows of one table with lo <= key < hi (None: unbounded); one file each."""

    index: int
    lo: int | None
    hi: int | None

    def file_name(self, schema: str, table: str) -> str:
        return f"{file_part(schema)}.{file_part(table)}.{self.index:06d}.tsv"


@dataclass
class TablePlan:
    schema: str
    table: str
    columns: list[tuple[str, str]]  # (name, data_type) of the stored columns, in order
    chunk_key: str | None
    chunks: list[Chunk] = field(default_factory=list)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)

    def dumped(self, directory: Path) -> DumpedTable:
        """The table's files in `directory`: its CREATE TABLE and a TSV file per chunk."""
        return DumpedTable(self.schema, self.table,
                           directory / schema_file(self.schema, self.table),
                           [DataFile(directory / c.file_name(self.schema, self.table),
                                     self.column_names) for c in self.chunks])

    def where(self, chunk: Chunk, condition: str = "") -> str:
        """The WHERE clause of `chunk`'s rows, narrowed to `condition` (the task's)."""
        conds = [f"({condition})"] if condition else []
        if self.chunk_key is not None:
            key = quote(self.chunk_key)
            if chunk.lo is not None:
                conds.append(f"{key} >= {chunk.lo}")
            if chunk.hi is not None:
                conds.append(f"{key} < {chunk.hi}")
        return " WHERE " + " AND ".join(conds) if conds else ""


@dataclass
class DumpPlan:
    tables: list[TablePlan]
    databases: list[str] = field(default_factory=list)  # every one taken, with tables or not

    def dumped_tables(self, directory: Path) -> list[DumpedTable]:
        return [t.dumped(directory) for t in self.tables]

    def save(self, directory: Path) -> None:
        tmp = directory / (PLAN_FILE + ".tmp")
        tmp.write_text(json.dumps(asdict(self)))
        os.replace(tmp, directory / PLAN_FILE)

    @classmethod
    def load(cls, directory: Path) -> DumpPlan | None:
        path = directory / PLAN_FILE
        if not path.exists():
            return None
        raw: dict[str, Any] = json.loads(path.read_text())
        tables = []
        for t in raw["tables"]:
            chunks = [Chunk(**c) for c in t.pop("chunks")]
            t["columns"] = [tuple(c) for c in t["columns"]]
            tables.append(TablePlan(**t, chunks=chunks))
        old = sorted({t.schema for t in tables})  # a plan of an earlier pydm names none
        return cls(tables, raw.get("databases", old))


def list_databases(conn: Connection, allows: Callable[[str, str], bool]) -> list[str]:
    """The databases the task takes, with tables or not (DM's dump creates them all)."""
    rows = query_all(conn, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA "
                           "ORDER BY SCHEMA_NAME")
    return [s for (s,) in rows if taken(allows, s)]


def list_tables(conn: Connection, allows: Callable[[str, str], bool]) -> list[tuple[str, str]]:
    rows = query_all(conn, "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES "
                           "WHERE TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_SCHEMA, TABLE_NAME")
    return [(s, t) for s, t in rows if taken(allows, s, t)]


def stored_columns(conn: Connection, schema: str, table: str) -> list[tuple[str, str]]:
    """Columns that hold data (generated columns are recomputed downstream)."""
    rows = query_all(conn, "SELECT COLUMN_NAME, DATA_TYPE, EXTRA, GENERATION_EXPRESSION "
                           "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s AND "
                           "TABLE_NAME = %s ORDER BY ORDINAL_POSITION", (schema, table))
    return [(name, dtype.lower()) for name, dtype, extra, expression in rows
            if holds_data(extra, expression)]


_GENERATED_EXTRA = frozenset({"VIRTUAL GENERATED", "STORED GENERATED", "VIRTUAL", "PERSISTENT",
                              "STORED"})


def holds_data(extra: str | None, generation_expression: str | None) -> bool:
    """Whether a column's values are stored rather than computed. MySQL 8 says
    `DEFAULT_GENERATED` (plus `on update ...`) for columns whose *default* is an expression
    (`DEFAULT CURRENT_TIMESTAMP`, `DEFAULT (uuid())`): those hold data like any other."""
    if generation_expression:
        return False
    return (extra or "").upper().strip() not in _GENERATED_EXTRA


def integer_chunk_key(conn: Connection, schema: str, table: str) -> str | None:
    """A single NOT NULL integer column of the primary key or a unique key, if any."""
    rows = query_all(conn, """
        SELECT s.INDEX_NAME, s.COLUMN_NAME, c.DATA_TYPE, c.IS_NULLABLE,
               (SELECT COUNT(*) FROM information_schema.STATISTICS s2
                 WHERE s2.TABLE_SCHEMA = s.TABLE_SCHEMA AND s2.TABLE_NAME = s.TABLE_NAME
                   AND s2.INDEX_NAME = s.INDEX_NAME) AS width
          FROM information_schema.STATISTICS s
          JOIN information_schema.COLUMNS c
            ON c.TABLE_SCHEMA = s.TABLE_SCHEMA AND c.TABLE_NAME = s.TABLE_NAME
           AND c.COLUMN_NAME = s.COLUMN_NAME
         WHERE s.TABLE_SCHEMA = %s AND s.TABLE_NAME = %s AND s.NON_UNIQUE = 0
         ORDER BY s.INDEX_NAME <> 'PRIMARY', s.INDEX_NAME""", (schema, table))
    for _, column, dtype, nullable, width in rows:
        if width == 1 and dtype.lower() in _INT_TYPES and nullable == "NO":
            return str(column)
    return None


def plan_table(conn: Connection, schema: str, table: str, rows_per_chunk: int,
               target_bytes: int) -> TablePlan:
    columns = stored_columns(conn, schema, table)
    key = integer_chunk_key(conn, schema, table)
    plan = TablePlan(schema, table, columns, key)
    if key is None:
        plan.chunks = [Chunk(0, None, None)]
        return plan
    stats = query_one(conn, "SELECT TABLE_ROWS, AVG_ROW_LENGTH FROM information_schema.TABLES "
                            "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s", (schema, table))
    est_rows, avg_len = (int(stats[0] or 0), int(stats[1] or 0)) if stats else (0, 0)
    bounds = query_one(conn, f"SELECT MIN({quote(key)}), MAX({quote(key)}) "
                             f"FROM {qualified(schema, table)}")
    lo, hi = (bounds[0], bounds[1]) if bounds else (None, None)
    if lo is None or hi is None:
        plan.chunks = [Chunk(0, None, None)]
        return plan
    per_chunk = rows_per_chunk
    if avg_len > 0:
        per_chunk = max(1000, min(per_chunk, target_bytes // avg_len))
    span = int(hi) - int(lo) + 1
    density = span / max(est_rows, 1)
    step = max(1, int(per_chunk * max(density, 1.0)))
    cuts = list(range(int(lo) + step, int(hi) + 1, step))
    edges: list[int | None] = [None, *cuts, None]
    plan.chunks = [Chunk(i, edges[i], edges[i + 1]) for i in range(len(edges) - 1)]
    return plan

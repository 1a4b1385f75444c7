"""Which tables to dump and how to cut them into key-range chunks.

The plan is computed once, inside the first snapshot, and saved in the dump
directory, so that a resumed dump cuts every table exactly the same way and only
dumps the chunks that are not on disk (or loaded) yet.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dm.db import Connection, qualified, query_one, quote
from dm.dump.files import DataFile, DumpedTable
from dm.schema import catalog

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
    est_bytes: int = 0  # the server's estimate when planned (0 in older plans)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)

    def dumped(self, directory: Path) -> DumpedTable:
        """The table's files in `directory`: its CREATE TABLE and a TSV file per chunk."""
        return DumpedTable(self.schema, self.table,
                           directory / schema_file(self.schema, self.table),
                           [DataFile(directory / c.file_name(self.schema, self.table),
                                     self.column_names) for c in self.chunks], self.est_bytes)

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


def plan_tables(conn: Connection, tables: list[tuple[str, str]], rows_per_chunk: int,
                target_bytes: int) -> Iterator[TablePlan]:
    """Each table cut into chunks, in turn: the catalog read first in a few whole-schema
    queries, then one MIN/MAX query per table with an integer key."""
    databases = sorted({schema for schema, _ in tables})
    columns = catalog.columns(conn, databases)
    keys = catalog.integer_chunk_keys(conn, databases, columns)
    stats = catalog.table_stats(conn, databases)
    for schema, table in tables:
        yield _plan_table(conn, schema, table, [(c.name, c.data_type) for c in
                                                columns.get((schema, table), []) if c.stored],
                          keys.get((schema, table)), stats.get((schema, table), (0, 0)),
                          rows_per_chunk, target_bytes)


def _plan_table(conn: Connection, schema: str, table: str, columns: list[tuple[str, str]],
                key: str | None, stats: tuple[int, int], rows_per_chunk: int,
                target_bytes: int) -> TablePlan:
    est_rows, avg_len = stats
    plan = TablePlan(schema, table, columns, key, est_bytes=est_rows * avg_len)
    if key is None:
        plan.chunks = [Chunk(0, None, None)]
        return plan
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

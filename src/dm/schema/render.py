"""A TableInfo as a CREATE TABLE statement: what `binlog-schema list` shows of a tracked
table, and what `binlog-schema update` reads back (createtable.py parses it to the same
TableInfo).

The tracker keeps what the sync path and shard merging need: column types, nullability,
charsets, defaults, generation expressions and keys, not comments, ON UPDATE or key
expressions. So a key on a prefix shows its columns with a prefix length of 1, and a key
on expressions only shows the expression `(NULL)`: each only says what the tracker knows.
"""

from __future__ import annotations

import re

from dm.core.names import qualified, quote
from dm.schema.table import Column, Index, TableInfo

_NUMBER = re.compile(r"-?\d+(\.\d+)?(E[-+]\d+)?")


def create_table_sql(info: TableInfo) -> str:
    lines = [_column(c) for c in info.columns] + [_index(i) for i in info.indexes]
    options = ""
    if info.charset:
        options += f" DEFAULT CHARSET={info.charset}"
    if info.collation:
        options += f" COLLATE={info.collation}"
    body = ",\n  ".join(lines)
    return f"CREATE TABLE {qualified(info.schema, info.table)} (\n  {body}\n){options}"


def _column(column: Column) -> str:
    text = f"{quote(column.name)} {column.column_type or column.type_name}"
    if column.charset and column.charset != "binary":
        text += f" CHARACTER SET {column.charset}"
        if column.collation:
            text += f" COLLATE {column.collation}"
    if column.generated:
        text += f" GENERATED ALWAYS AS ({column.expression or 'NULL'}) VIRTUAL"
    if not column.nullable:
        text += " NOT NULL"
    if column.default is not None:
        literal = column.default.startswith(("'", "b'")) or _NUMBER.fullmatch(column.default)
        text += f" DEFAULT {column.default}" if literal else f" DEFAULT ({column.default})"
    return text


def _index(index: Index) -> str:
    parts = ", ".join(quote(c) + ("(1)" if index.partial else "") for c in index.columns) \
        or "(NULL)"  # a key on expressions only
    if index.primary:
        return f"PRIMARY KEY ({parts})"
    kind = "UNIQUE KEY" if index.unique else "KEY"
    return f"{kind} {quote(index.name)} ({parts})"

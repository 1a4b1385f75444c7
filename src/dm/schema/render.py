"""A TableInfo as a CREATE TABLE statement: what `binlog-schema list` shows of a tracked
table, and what `binlog-schema update` reads back (createtable.py parses it to the same
TableInfo).

The tracker keeps what the sync path needs: column types, nullability, charsets,
generated-ness and keys, not defaults, comments or expressions. So a generated column's
expression shows as NULL, a key on a prefix shows its columns with a prefix length of 1,
and a key on expressions only shows the expression `(NULL)`: each only says what the
tracker knows.
"""

from __future__ import annotations

from dm.core.names import qualified, quote
from dm.schema.table import Column, Index, TableInfo


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
        text += " GENERATED ALWAYS AS (NULL) VIRTUAL"
    if not column.nullable:
        text += " NOT NULL"
    return text


def _index(index: Index) -> str:
    parts = ", ".join(quote(c) + ("(1)" if index.partial else "") for c in index.columns) \
        or "(NULL)"  # a key on expressions only
    if index.primary:
        return f"PRIMARY KEY ({parts})"
    kind = "UNIQUE KEY" if index.unique else "KEY"
    return f"{kind} {quote(index.name)} ({parts})"

"""Identifiers in SQL: quoted with backticks (MariaDB reserves words such as `offset`)."""

from __future__ import annotations


def quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def qualified(schema: str, table: str) -> str:
    return f"{quote(schema)}.{quote(table)}"

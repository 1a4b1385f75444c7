"""What the row decoder needs to know about a table beyond the binlog: the caller's schema."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ColumnInfo:
    """One column as the schema tracker knows it.

    `type_name` is the SQL type without arguments ("int", "varchar", "json", "binary", ...);
    `charset` is the column's character set ("utf8mb4", "latin1", "binary"), None for
    non-string columns."""

    name: str
    type_name: str
    unsigned: bool = False
    charset: str | None = None
    enum_values: tuple[str, ...] = ()
    set_values: tuple[str, ...] = ()
    decimals: int = 0  # fractional second digits of TIME/DATETIME/TIMESTAMP (MariaDB 5.3's
    # format, whose table map does not carry them)


@dataclass(frozen=True)
class TableSchema:
    """The columns of one table, in table order. Bump `version` whenever they change: decoders
    are cached per (TABLE_MAP, version)."""

    schema: str
    table: str
    columns: Sequence[ColumnInfo]
    version: int = 0
    primary_key: tuple[int, ...] = field(default=())


SchemaProvider = Callable[[str, str], TableSchema | None]
"""(schema, table) -> the table's columns as of the event being decoded, or None if unknown."""

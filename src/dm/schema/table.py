"""One table's schema as the sync path needs it: columns, keys, charsets.

Shared vocabulary of the schema tracker (which produces it), the row decoder (which
needs names, signedness, charsets, ENUM/SET members) and the DML builder and
causality (which need keys and nullability).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from dm.binlog.rows.schema import ColumnInfo, TableSchema

_TEMPORAL_DIGITS = re.compile(r"(?:time|datetime|timestamp)\((\d)\)")


@dataclass(frozen=True)
class Column:
    name: str
    type_name: str  # lower-case SQL type without arguments: "int", "varchar", "decimal"...
    column_type: str = ""  # the full type as SHOW CREATE prints it: "int(10) unsigned"
    unsigned: bool = False
    nullable: bool = True
    charset: str | None = None  # effective charset of string columns ("binary" for BLOBs)
    collation: str | None = None
    generated: bool = False
    enum_values: tuple[str, ...] = ()
    set_values: tuple[str, ...] = ()
    default: str | None = None  # DEFAULT as canonical SQL (dm.schema.expressions); None: none
    expression: str | None = None  # a generated column's expression, canonical SQL


@dataclass(frozen=True)
class Index:
    name: str
    columns: tuple[str, ...]  # (): only expressions (MySQL 8's functional key parts)
    unique: bool = False
    primary: bool = False
    partial: bool = False  # a prefix `c(4)` or an expression part: keys are not the values


@dataclass(frozen=True)
class TableInfo:
    schema: str
    table: str
    columns: tuple[Column, ...]
    indexes: tuple[Index, ...] = ()
    charset: str | None = None
    collation: str | None = None
    _positions: dict[str, int] = field(default_factory=dict, init=False, compare=False,
                                       repr=False)

    def __post_init__(self) -> None:
        self._positions.update({c.name.lower(): i for i, c in enumerate(self.columns)})

    def has_column(self, column: str) -> bool:
        return column.lower() in self._positions

    def position(self, column: str) -> int:
        """Index of a column (case-insensitive, as MySQL column names are)."""
        return self._positions[column.lower()]

    @property
    def primary_key(self) -> Index | None:
        return next((i for i in self.indexes if i.primary), None)

    @property
    def unique_keys(self) -> list[Index]:
        """PRIMARY first, then the other unique keys on columns in definition order (a
        prefix key's columns identify a row too)."""
        return sorted((i for i in self.indexes if (i.unique or i.primary) and i.columns),
                      key=lambda i: not i.primary)

    @property
    def partial_unique(self) -> bool:
        """A unique key on prefixes or expressions: rows whose column values differ can
        still collide in it."""
        return any((i.unique or i.primary) and i.partial for i in self.indexes)

    def not_null_unique_key(self) -> Index | None:
        """The PK, else the first unique key whose columns are all NOT NULL."""
        for index in self.unique_keys:
            if all(not self.columns[self.position(c)].nullable for c in index.columns):
                return index
        return None

    def extended(self, columns: tuple[str, ...]) -> TableInfo:
        """This upstream table as its merged downstream table sees it with extract-*'s extra
        columns (strings, at the end): each unique key of a shard plus those columns
        names one row of the merged table."""
        extra = tuple(Column(c, "varchar", "varchar(255)", nullable=False, charset="utf8mb4",
                             collation="utf8mb4_bin") for c in columns)
        indexes = tuple(replace(i, columns=i.columns + columns)
                        if (i.unique or i.primary) and i.columns else i  # not expression keys
                        for i in self.indexes)
        return replace(self, columns=self.columns + extra, indexes=indexes)

    def without(self, columns: tuple[str, ...]) -> TableInfo:
        """The table without `columns` (and without them in its keys): a merged downstream
        table's schema as one of its upstream shards has it."""
        gone = {c.lower() for c in columns}
        indexes = [(i, replace(i, columns=tuple(c for c in i.columns if c.lower() not in gone)))
                   for i in self.indexes]
        return replace(self, columns=tuple(c for c in self.columns if c.name.lower() not in gone),
                       indexes=tuple(new for old, new in indexes
                                     if new.columns or not old.columns))  # expression keys stay

    def decoder_schema(self, version: int) -> TableSchema:
        pk = self.primary_key
        return TableSchema(
            self.schema, self.table,
            [ColumnInfo(c.name, c.type_name, c.unsigned, c.charset, c.enum_values,
                        c.set_values, _decimals(c)) for c in self.columns],
            version, tuple(self.position(c) for c in pk.columns) if pk else ())

    def to_json(self) -> str:
        doc = asdict(self)
        doc.pop("_positions")
        return json.dumps(doc, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> TableInfo:
        doc: dict[str, Any] = json.loads(text)
        columns = tuple(Column(**{**c, "enum_values": tuple(c["enum_values"]),
                                  "set_values": tuple(c["set_values"])})
                        for c in doc.pop("columns"))
        indexes = tuple(Index(i["name"], tuple(i["columns"]), i["unique"], i["primary"],
                              i.get("partial", False)) for i in doc.pop("indexes"))
        return cls(columns=columns, indexes=indexes, **doc)


def _decimals(column: Column) -> int:
    """The fractional second digits of a TIME, DATETIME or TIMESTAMP column."""
    found = _TEMPORAL_DIGITS.match(column.column_type.lower())
    return int(found[1]) if found else 0

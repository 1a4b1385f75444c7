"""Tables and change builders shared by the sync unit tests."""

from __future__ import annotations

from typing import Any

from dm.schema.table import Column, Index, TableInfo
from dm.sync.change import DELETE, INSERT, UPDATE, RowChange

TARGET = ("down", "t")


def table(columns: list[Column], indexes: list[Index], name: str = "t") -> TableInfo:
    return TableInfo("up", name, tuple(columns), tuple(indexes))


def pk(*cols: str) -> Index:
    return Index("PRIMARY", cols, unique=True, primary=True)


def uk(name: str, *cols: str) -> Index:
    return Index(name, cols, unique=True)


def col(name: str, type_name: str = "int", *, null: bool = True, **kw: Any) -> Column:
    return Column(name, type_name, nullable=null, **kw)


# sysbench's sbtest: PK id, secondary index k, two CHAR columns
SBTEST = table([col("id", null=False), col("k", null=False), col("c", "char", null=False),
                col("pad", "char", null=False)], [pk("id"), Index("k_1", ("k",))])
# PK plus a nullable unique key
PK_UK = table([col("id", null=False), col("u"), col("v")], [pk("id"), uk("u", "u")])
# no PK, a NOT NULL unique key
NN_UK = table([col("a", null=False), col("b", null=False), col("v")], [uk("ab", "a", "b")])
# only a nullable unique key
NULL_UK = table([col("u"), col("v", "varchar")], [uk("u", "u")])
KEYLESS = table([col("a"), col("f", "float"), col("d", "double"), col("s", "varchar"),
                 col("g", generated=True)], [])


def ins(info: TableInfo, row: tuple[Any, ...], target: tuple[str, str] = TARGET) -> RowChange:
    return RowChange(INSERT, info, target, None, row)


def upd(info: TableInfo, before: tuple[Any, ...], after: tuple[Any, ...],
        target: tuple[str, str] = TARGET) -> RowChange:
    return RowChange(UPDATE, info, target, before, after)


def dele(info: TableInfo, row: tuple[Any, ...], target: tuple[str, str] = TARGET) -> RowChange:
    return RowChange(DELETE, info, target, row, None)

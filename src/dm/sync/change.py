"""`RowChange`: the one typed row change that flows through sync, and its identity key.

A change names the *upstream* table (its `TableInfo`, which says where every value sits)
and the *downstream* table it is written to. Value tuples hold every column of the
upstream table in table order, generated columns included (they are never written).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from enum import StrEnum
from operator import itemgetter
from typing import Any, NamedTuple, TypeVar

from dm import errors
from dm.db import qualified
from dm.schema.table import TableInfo

Row = tuple[Any, ...]
Target = tuple[str, str]  # downstream (schema, table)
T = TypeVar("T")

_CACHE_LIMIT = 4096  # table versions kept per cache; a DDL makes a new TableInfo


class ChangeKind(StrEnum):
    INSERT = "insert"
    UPDATE = "update"
    DELETE = "delete"
    # Only compaction makes this one: a row deleted then inserted again within a batch.
    # It is written as REPLACE in every mode, because the row may or may not exist.
    REPLACE = "replace"


INSERT, UPDATE, DELETE, REPLACE = (ChangeKind.INSERT, ChangeKind.UPDATE, ChangeKind.DELETE,
                                   ChangeKind.REPLACE)
_KIND_OF: dict[str, ChangeKind] = {k.value: k for k in ChangeKind}


class RowChange(NamedTuple):
    """One row change. `before` is None for INSERT, `after` is None for DELETE."""

    kind: ChangeKind
    table: TableInfo  # the upstream table's schema
    target: Target
    before: Row | None
    after: Row | None
    location: Any = None  # opaque to this package: where the change was read

    @classmethod
    def from_binlog(cls, kind: str, table: TableInfo, target: Target, row: Any,
                    location: Any = None) -> RowChange:
        """From a decoded rows-event row: a tuple, or a (before, after) pair for UPDATE."""
        change_kind = _KIND_OF[kind]
        width = len(table.columns)
        if change_kind is UPDATE:
            before, after = row
            if len(before) != width or len(after) != width:
                raise _count_mismatch(table, len(before) if len(before) != width
                                      else len(after))
            return cls(change_kind, table, target, before, after, location)
        if len(row) != width:
            raise _count_mismatch(table, len(row))
        if change_kind is INSERT:
            return cls(change_kind, table, target, None, row, location)
        return cls(change_kind, table, target, row, None, location)


def _count_mismatch(table: TableInfo, got: int) -> errors.DMError:
    return errors.SYNC_COLUMN_COUNT_MISMATCH(table=qualified(table.schema, table.table),
                                             binlog=got, schema=len(table.columns))


def per_table(build: Callable[[TableInfo], T]) -> Callable[[TableInfo], T]:
    """Memoise `build` on the identity of a TableInfo (bounded; never hashes the info)."""
    cache: dict[int, tuple[TableInfo, T]] = {}

    def get(info: TableInfo) -> T:
        hit = cache.get(id(info))
        if hit is not None and hit[0] is info:
            return hit[1]
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        value = build(info)
        cache[id(info)] = (info, value)
        return value

    return get


class IdentityKey(NamedTuple):
    """The key that names a row downstream: the PK, else the first NOT NULL unique key.

    `of(row)` is the key's value: a scalar for one column, a tuple for several.
    """

    names: tuple[str, ...]
    positions: tuple[int, ...]
    of: Callable[[Any], Hashable]  # takes a Row


@per_table
def identity_key(info: TableInfo) -> IdentityKey | None:
    index = info.primary_key or info.not_null_unique_key()
    if index is None:
        return None
    positions = tuple(info.position(c) for c in index.columns)
    names = tuple(info.columns[p].name.lower() for p in positions)
    return IdentityKey(names, positions, itemgetter(*positions))

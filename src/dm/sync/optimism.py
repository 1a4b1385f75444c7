"""Optimistic shard DDL (DM §9.2): what one shard's schema change means for the merged
table, given every other shard's current schema. DML is never held: the merged table
always has the union of the shards' columns and indexes.

- a column or index added by the first shard is added downstream at once (the others'
  rows leave it to its default); by a later shard, with the same definition, nothing;
- a column or index dropped goes downstream only when no shard has it any more;
- a column's type widened (same family, no narrower) by the first shard widens the
  merged column; any other change of a column (narrowing, another type, a rename) runs
  once every shard has made it, and is a conflict (36062) while they differ;
- an added NOT NULL column without a default, a same-named column or index of another
  definition, and a change of the table's options are conflicts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from dm.schema.table import Column, Index, TableInfo

Table = tuple[str, str]

RUN, SKIP = "run", "skip"


@dataclass(frozen=True)
class Decision:
    verdict: str  # RUN, SKIP, or "conflict"
    why: str = ""


def conflict(why: str) -> Decision:
    return Decision("conflict", why)


def decide(before: TableInfo, after: TableInfo, others: Sequence[TableInfo],
           sql: str) -> Decision:
    """What to do downstream with one change (a split DDL piece) of a shard."""
    if not others:  # a table alone in its lock: merged with nothing
        return Decision(RUN)
    old = {c.name.lower(): c for c in before.columns}
    new = {c.name.lower(): c for c in after.columns}
    added = [c for n, c in new.items() if n not in old]
    dropped = [n for n in old if n not in new]
    changed = [(old[n], new[n]) for n in old.keys() & new.keys()
               if _shape(old[n]) != _shape(new[n])]
    if len(added) == 1 and len(dropped) == 1 and not changed:  # a rename
        return _converged(after, others, f"column {dropped[0]} renamed to {added[0].name}")
    if added or dropped or changed:
        if len(added) + len(dropped) + len(changed) != 1:
            return conflict("a change of several columns at once")
        if added:
            return _add_column(added[0], others, sql)
        if dropped:
            return _drop_column(dropped[0], others)
        return _change_column(*changed[0], after, others)
    return _indexes(before, after, others)


def _shape(c: Column) -> tuple[object, ...]:
    return (c.column_type.lower() or c.type_name, c.unsigned, c.nullable, c.charset,
            c.collation, c.generated, c.enum_values, c.set_values)


def _column(info: TableInfo, name: str) -> Column | None:
    return next((c for c in info.columns if c.name.lower() == name.lower()), None)


def _add_column(col: Column, others: Sequence[TableInfo], sql: str) -> Decision:
    theirs = [c for o in others if (c := _column(o, col.name)) is not None]
    if any(_shape(c) != _shape(col) for c in theirs):
        return conflict(f"column {col.name} is added as {col.column_type or col.type_name}, "
                        "another shard has it otherwise")
    if theirs:
        return Decision(SKIP, f"column {col.name} is there already")
    if not col.nullable and not re.search(r"\bdefault\b", sql, re.IGNORECASE):
        return conflict(f"column {col.name} is added NOT NULL without a default")
    return Decision(RUN)


def _drop_column(name: str, others: Sequence[TableInfo]) -> Decision:
    if any(_column(o, name) is not None for o in others):
        return Decision(SKIP, f"column {name} is dropped downstream with the last shard")
    return Decision(RUN)


_INT_WIDTH = {"tinyint": 1, "smallint": 2, "mediumint": 3, "int": 4, "integer": 4,
              "bigint": 8}
_LENGTH = re.compile(r"\((\d+)(?:\s*,\s*(\d+))?\)")


def _wider_or_same(old: Column, new: Column) -> bool:
    """`new` holds every value of `old` (an integer, a string length, a decimal precision
    widened within its family; nullability and charset unchanged)."""
    if (old.nullable, old.charset, old.unsigned) != (new.nullable, new.charset, new.unsigned):
        return False
    if old.type_name in _INT_WIDTH and new.type_name in _INT_WIDTH:
        return _INT_WIDTH[new.type_name] >= _INT_WIDTH[old.type_name]
    if old.type_name != new.type_name:
        return False
    a, b = _LENGTH.search(old.column_type), _LENGTH.search(new.column_type)
    if a is None or b is None:
        return a is None and b is None
    scale_a, scale_b = int(a[2] or 0), int(b[2] or 0)
    return int(b[1]) - scale_b >= int(a[1]) - scale_a and scale_b >= scale_a


def _change_column(old: Column, new: Column, after: TableInfo,
                   others: Sequence[TableInfo]) -> Decision:
    theirs = [c for o in others if (c := _column(o, new.name)) is not None]
    if _wider_or_same(old, new) and all(_wider_or_same(c, new) for c in theirs):
        # widened: the merged column takes the widest type, once
        there = any(_shape(c) == _shape(new) for c in theirs)
        return Decision(SKIP if there else RUN)
    return _converged(after, others, f"column {new.name} changed to "
                                     f"{new.column_type or new.type_name}")


def _converged(after: TableInfo, others: Sequence[TableInfo], what: str) -> Decision:
    """A change that only runs once every shard has made it."""
    if all(_same_columns(o, after) for o in others):
        return Decision(RUN)
    return conflict(f"{what} on one shard while the others differ (run it on every shard; "
                    "it is applied with the last)")


def _converged_whole(after: TableInfo, others: Sequence[TableInfo], what: str) -> Decision:
    same = [(o.charset, o.collation, o.indexes) for o in others]
    if all(s == (after.charset, after.collation, after.indexes) for s in same):
        return Decision(RUN)
    return conflict(f"{what} on one shard while the others differ (run it on every shard; "
                    "it is applied with the last)")


def _same_columns(a: TableInfo, b: TableInfo) -> bool:
    return [(c.name.lower(), _shape(c)) for c in a.columns] == \
        [(c.name.lower(), _shape(c)) for c in b.columns]


def _indexes(before: TableInfo, after: TableInfo, others: Sequence[TableInfo]) -> Decision:
    old = {i.name.lower(): i for i in before.indexes}
    new = {i.name.lower(): i for i in after.indexes}
    added = [i for n, i in new.items() if n not in old]
    dropped = [n for n in old if n not in new]
    if len(added) + len(dropped) != 1 or any(old[n] != new[n] for n in old.keys() & new.keys()):
        if not added and not dropped:
            if before == after:
                return Decision(SKIP, "nothing changes")
            return _converged_whole(after, others, "a change of the table's options or of "
                                                   "an index")
        return conflict("a change of several indexes at once")
    if added:
        index = added[0]
        theirs = [i for o in others if (i := _index(o, index.name)) is not None]
        if any(_key(i) != _key(index) for i in theirs):
            return conflict(f"index {index.name} is added otherwise on another shard")
        return Decision(SKIP if theirs else RUN)
    if any(_index(o, dropped[0]) is not None for o in others):
        return Decision(SKIP, f"index {dropped[0]} is dropped downstream with the last shard")
    return Decision(RUN)


def _index(info: TableInfo, name: str) -> Index | None:
    return next((i for i in info.indexes if i.name.lower() == name.lower()), None)


def _key(index: Index) -> tuple[object, ...]:
    return (tuple(c.lower() for c in index.columns), index.unique, index.primary)


class Optimism(Protocol):
    """The optimistic locks across sources (the worker gives etcd's: dm.master.optlocks)."""

    def register(self, shards: dict[Table, tuple[str, TableInfo]]) -> None: ...

    def others(self, lock: str, me: Table) -> tuple[Any, list[TableInfo]]: ...

    def commit(self, lock: str, version: Any, me: Table, after: TableInfo | None,
               statements: list[str]) -> bool: ...

    def pending(self) -> list[str]: ...

    def ran(self) -> None: ...


class SoleOptimism:
    """The locks of a task with one source and no cluster, in memory."""

    def __init__(self) -> None:
        self._shards: dict[Table, tuple[str, TableInfo]] = {}
        self._pending: list[str] = []

    def register(self, shards: dict[Table, tuple[str, TableInfo]]) -> None:
        for table, entry in shards.items():
            self._shards.setdefault(table, entry)

    def others(self, lock: str, me: Table) -> tuple[Any, list[TableInfo]]:
        return None, [info for t, (lk, info) in self._shards.items() if lk == lock and t != me]

    def commit(self, lock: str, version: Any, me: Table, after: TableInfo | None,
               statements: list[str]) -> bool:
        if after is None:
            self._shards.pop(me, None)
        else:
            self._shards[me] = (lock, after)
        self._pending = statements
        return True

    def pending(self) -> list[str]:
        return self._pending

    def ran(self) -> None:
        self._pending = []

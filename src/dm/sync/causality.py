"""Causality: which DML worker a change goes to, so changes to one key stay in order.

Every change yields keys: one per PK/UK whose values are all non-NULL, for the old and
the new row of an UPDATE, each tied to the downstream table. Every change of a table
without a NOT NULL unique key yields the table itself instead (its changes keep their
order on one worker, for their exactly-once marks: dm.sync.applied), and so does every
row of a table with a unique key on prefixes or expressions (`name(4)`, `(lower(a))`),
whose collisions the values do not show. Keys are unioned into groups over the in-flight
window and a group lives on one worker. A change whose keys already belong to groups on
different workers is a CONFLICT: the caller flushes every worker, calls `reset()`, and
assigns the change again.

Strings in a key compare under their collation: MariaDB's general_ci and unicode_ci
families and binary collations have exact keys (dm.core.collation). For any other
collation, folding case and trailing spaces over-approximates it for printable ASCII
text; beyond ASCII such collations differ in ways no fold models (danish 'å' = 'aa',
latin1_swedish_ci's 'Ü' = 'Y', uca1400's 'ø' = 'o'), so a change with such a value in a
case-insensitive key runs alone: everything before it is committed first, and it is
committed before anything after it.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter
from typing import Any, Final, NamedTuple

from dm.core.collation import Key, exact_key
from dm.schema.table import Column, TableInfo
from dm.sync.change import Row, RowChange, identity_key, per_table


class Conflict:
    """The type of CONFLICT."""

    def __repr__(self) -> str:
        return "CONFLICT"


CONFLICT: Final = Conflict()

Fold = Callable[[Any], Any]


class Unmodelled(Exception):
    """A key value whose equals under its collation no fold can tell."""


def _fold_ci(value: Any) -> Any:
    """Printable ASCII text in lower case without trailing spaces: values any
    case-insensitive collation calls equal fold equal (folding more only serialises
    more). Anything else in a string column is Unmodelled."""
    if isinstance(value, bytes):
        try:
            value = value.decode("ascii")
        except UnicodeDecodeError:
            raise Unmodelled from None
    if not isinstance(value, str):
        return value
    if not (value.isascii() and value.isprintable()):
        raise Unmodelled
    return value.lower().rstrip(" ")


def _exact(key: Key) -> Fold:
    def fold(value: Any) -> Any:
        if isinstance(value, bytes):  # undecoded text: its charset is not known here
            return _fold_ci(value)
        return key(value) if isinstance(value, str) else value
    return fold


class _UniqueKey(NamedTuple):
    name: str  # lower-case column names: the same downstream key across table versions
    positions: tuple[int, ...]
    values: Callable[[Row], Any]  # a scalar for one column, else a tuple
    single: bool
    folds: tuple[Fold | None, ...] | None  # None: no string column needs folding


def _fold_of(column: Column, info: TableInfo) -> Fold | None:
    if column.charset == "binary" or column.type_name not in _STRING_TYPES:
        return None
    key = exact_key(column.collation or info.collation)
    return _fold_ci if key is None else _exact(key)


_STRING_TYPES = frozenset({"char", "varchar", "tinytext", "text", "mediumtext", "longtext",
                           "enum", "set"})


@per_table
def _unique_keys(info: TableInfo) -> tuple[_UniqueKey, ...]:
    keys = []
    for index in info.unique_keys:
        positions = [info.position(c) for c in index.columns]
        folds = tuple(_fold_of(info.columns[p], info) for p in positions)
        keys.append(_UniqueKey(",".join(c.lower() for c in index.columns),
                               tuple(positions), itemgetter(*positions), len(positions) == 1,
                               folds if any(folds) else None))
    return tuple(keys)


def change_keys(change: RowChange) -> list[int] | None:
    """The keys of a change, as hashes: two equal keys always hash equal, and a rare
    collision of unequal ones only serialises a little more. None: the change must run
    alone (a key value no fold models)."""
    return _keys_of(change.table)(change)


KeysOf = Callable[[RowChange], "list[int] | None"]


@per_table
def _keys_of(info: TableInfo) -> KeysOf:
    """The table's key function, made once per table version."""
    if identity_key(info) is None:  # in order on one worker: see dm.sync.applied
        return _whole_table
    uniques = _unique_keys(info)
    partial = info.partial_unique
    if len(uniques) == 1 and uniques[0].single and uniques[0].folds is None and not partial:
        return _one_column_key(uniques[0].name, uniques[0].positions[0])

    def keys(change: RowChange) -> list[int] | None:
        target = change.target
        found: list[int] = [hash(target)] if partial else []
        for row in (change.before, change.after):
            if row is None:
                continue
            for key in uniques:  # the identity key at least: its columns are NOT NULL
                value = key.values(row)
                if (value is None) if key.single else (None in value):
                    continue
                if key.folds is not None:
                    try:
                        value = _folded(value, key)
                    except Unmodelled:
                        return None
                found.append(hash((target, key.name, value)))
        return found

    return keys


def _whole_table(change: RowChange) -> list[int] | None:
    return [hash(change.target)]


def _one_column_key(name: str, position: int) -> KeysOf:
    """The usual table: one unique key (its primary key) on one column whose values are
    their own keys (an integer id). An UPDATE that keeps its key has that key once."""
    def keys(change: RowChange) -> list[int] | None:
        target, before, after = change.target, change.before, change.after
        found = []
        if before is not None and before[position] is not None:
            found.append(hash((target, name, before[position])))
        if after is not None and after[position] is not None:
            key = hash((target, name, after[position]))
            if not found or found[0] != key:
                found.append(key)
        return found

    return keys


def _folded(value: Any, key: _UniqueKey) -> Any:
    assert key.folds is not None
    if key.single:
        fold = key.folds[0]
        return fold(value) if fold else value
    return tuple(f(v) if f else v for f, v in zip(key.folds, value, strict=True))


class Causality:
    """Worker assignment over one in-flight window (until `reset()`)."""

    def __init__(self, worker_count: int, max_keys: int = 1 << 20) -> None:
        """A window of more than `max_keys` keys ends too: its next change is a CONFLICT."""
        self.worker_count = max(1, worker_count)
        self._max_keys = max_keys
        self._parent: dict[int, int] = {}  # key -> a key nearer its group's root
        self._worker: dict[int, int] = {}  # group root -> worker index
        self._alone = False  # a change that must run alone is in flight

    def assign(self, change: RowChange) -> int | Conflict:
        keys = change_keys(change)
        parent = self._parent
        if self._alone or len(parent) >= self._max_keys or (keys is None and parent):
            return CONFLICT  # the caller flushes, resets and assigns again
        if keys is None:
            self._alone = True
            return self._new_group(hash(change.target))
        if len(keys) == 1:
            key = keys[0]
            worker = self._worker.get(key)  # the usual case: the root of its group
            if worker is not None:
                return worker
            if key in parent:
                return self._worker[self._find(key)]
            return self._new_group(key)
        roots = {self._find(k) for k in keys if k in parent}
        if not roots:
            worker = self._new_group(keys[0])
            root = keys[0]
        else:
            workers = {self._worker[r] for r in roots}
            if len(workers) > 1:
                return CONFLICT
            root = roots.pop()
            worker = self._worker[root]
            for other in roots:  # groups on the same worker may simply merge
                parent[other] = root
                del self._worker[other]
        for key in keys:
            if key not in parent:
                parent[key] = root
        return worker

    def reset(self) -> None:
        """Forget every group: call after all workers have flushed."""
        self._parent.clear()
        self._worker.clear()
        self._alone = False

    def _new_group(self, key: int) -> int:
        worker = key % self.worker_count
        self._parent[key] = key
        self._worker[key] = worker
        return worker

    def _find(self, key: int) -> int:
        parent, workers = self._parent, self._worker
        root = key
        while root not in workers:
            root = parent[root]
        while key != root:  # path compression
            up = parent[key]
            parent[key] = root
            key = up
        return root

"""Optimistic shard DDL (DM §9.2): what one shard's schema change means for the merged
table, given every other shard's current schema. DML is never held: the merged table
always has the union of the shards' columns and indexes.

- a column or (non-unique) index added by the first shard is added downstream at once
  (the others' rows leave the column to its default); by a later shard, with the same
  definition, nothing;
- a column or index dropped goes downstream only when no shard has it any more; until
  then a column stays dropped by that shard (`still_dropped`), and the shard adding it
  back is a conflict: the merged table holds its old values there;
- a column's type widened (an integer to a wider one, a longer string, more decimal
  digits, enum or set values appended; collation, charset, nullability, default and
  generation unchanged) by the first shard widens the merged column, once;
- anything else on a table merged with others is a conflict: a narrowed or other type, a
  rename, an added NOT NULL column without a default, a unique or primary key (one
  shard's uniqueness is not the merged table's), a same-named column (another type,
  DEFAULT or generation expression) or index of another definition, a changed DEFAULT, a
  change of the table's options, partitioning changed or partitions that move or remove
  rows (PARTITION BY, REMOVE PARTITIONING, DROP, TRUNCATE, EXCHANGE, COALESCE,
  REORGANIZE PARTITION). ADD PARTITION runs: the shard's rows may need it. Other changes
  of nothing the merged table's rows depend on (ENGINE, COMMENT, an index's visibility)
  are skipped. A table alone in its lock runs everything.

A conflict pauses the task with 36062 under `strict-optimistic-shard-mode: true`. Without
it (DM's default) a conflict that the other shards can reach by the same change (DM's
"type 2" DDLs: a type changed, a column renamed, a NOT NULL column added) holds the shard
at its DDL until every shard's schema agrees on what the held changes touch
(`settled`): then the change runs downstream once and the held shards are read again
from their DDL. Partitions that move or remove rows and a column added back while other
shards keep it never settle: 36062 in both modes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from dm.db import qualified
from dm.schema.table import Column, Index, TableInfo

Table = tuple[str, str]
Touched = frozenset[tuple[str, str]]  # what a change touches: ("column"|"index"|"table", name)
_PARTITION_ROWS = frozenset({"drop table partition", "truncate table partition",
                             "exchange table partition", "coalesce table partition",
                             "reorganize table partition", "alter table partitioning",
                             "remove table partitioning"})

RUN, SKIP = "run", "skip"
TRACKED = "tracked"  # a held conflict settled with its lock, read again: only tracked


@dataclass(frozen=True)
class Decision:
    verdict: str  # RUN, SKIP, TRACKED or "conflict"
    why: str = ""
    settles: bool = True  # a conflict the other shards can reach by the same change


def conflict(why: str, settles: bool = True) -> Decision:
    return Decision("conflict", why, settles)


def decide(before: TableInfo, after: TableInfo, others: Sequence[TableInfo],
           dropped: frozenset[str] = frozenset(), events: tuple[str, ...] = ()) -> Decision:
    """What to do downstream with one change (a split DDL piece, of DM filter `events`)
    of a shard; `dropped`: the columns it dropped that the merged table keeps for others
    (`still_dropped`)."""
    if not others:  # a table alone in its lock: merged with nothing
        return Decision(RUN)
    if _PARTITION_ROWS.intersection(events):
        return conflict("partitioning changed on a merged table: it would move or remove "
                        "every shard's rows", settles=False)
    if "add table partition" in events:
        return Decision(RUN)  # the merged table needs it for the shard's rows (a second
        # shard's: the partition is there, 1517 tolerated)
    old = {c.name.lower(): c for c in before.columns}
    new = {c.name.lower(): c for c in after.columns}
    added = [c for n, c in new.items() if n not in old]
    removed = [n for n in old if n not in new]
    changed = [(old[n], new[n]) for n in old.keys() & new.keys()
               if _shape(old[n]) != _shape(new[n])]
    if len(added) + len(removed) + len(changed) > 1:
        return conflict("a change of several columns at once (a rename, or a conversion)")
    if added:
        return _add_column(added[0], others, dropped)
    if removed:
        return _drop_column(removed[0], others)
    if changed:
        return _change_column(*changed[0], others)
    return _indexes(before, after, others)


def _shape(c: Column) -> tuple[object, ...]:
    return (c.column_type.lower() or c.type_name, c.unsigned, c.nullable, c.charset,
            c.collation, c.generated, c.enum_values, c.set_values, c.default, c.expression)


def _definition(c: Column) -> str:
    """A column as a conflict names it: its type, default and generation expression."""
    text = c.column_type or c.type_name
    if c.expression is not None:
        text += f" AS ({c.expression})"
    if c.default is not None:
        text += f" DEFAULT {c.default}"
    return text


def _column(info: TableInfo, name: str) -> Column | None:
    return next((c for c in info.columns if c.name.lower() == name.lower()), None)


def _add_column(col: Column, others: Sequence[TableInfo], dropped: frozenset[str]) -> Decision:
    theirs = [c for o in others if (c := _column(o, col.name)) is not None]
    if theirs and col.name.lower() in dropped:
        return conflict(f"column {col.name} was dropped by this shard and the merged table "
                        "keeps it for the other shards: added again, this shard's earlier "
                        "rows would keep their old values there (a column not fully "
                        "dropped downstream)", settles=False)
    other = next((c for c in theirs if _shape(c) != _shape(col)), None)
    if other is not None:
        return conflict(f"column {col.name} is added as {_definition(col)}, another shard "
                        f"has it as {_definition(other)}")
    if theirs:
        return Decision(SKIP, f"column {col.name} is there already")
    if not col.nullable and col.default is None and not col.generated:
        return conflict(f"column {col.name} is added NOT NULL without a default")
    return Decision(RUN)


def dropped_downstream(before: TableInfo, after: TableInfo, decision: Decision
                       ) -> frozenset[str]:
    """The columns a change drops from the merged table (the last shard's drop)."""
    if decision.verdict != RUN:
        return frozenset()
    return frozenset(c.name.lower() for c in before.columns) - {
        c.name.lower() for c in after.columns}


def still_dropped(before: TableInfo, after: TableInfo, decision: Decision,
                  dropped: frozenset[str]) -> frozenset[str]:
    """The columns a shard has dropped while the merged table kept them (DM's partially
    dropped columns), after one change: a drop the merged table skips adds one, adding
    a column back takes it out (as a conflict, while the others still have it)."""
    old = {c.name.lower() for c in before.columns}
    new = {c.name.lower() for c in after.columns}
    kept = dropped - new
    return kept | (old - new) if decision.verdict == SKIP else kept


def _drop_column(name: str, others: Sequence[TableInfo]) -> Decision:
    if any(_column(o, name) is not None for o in others):
        return Decision(SKIP, f"column {name} is dropped downstream with the last shard")
    return Decision(RUN)


_INT_WIDTH = {"tinyint": 1, "smallint": 2, "mediumint": 3, "int": 4, "integer": 4,
              "bigint": 8}
_LENGTH = re.compile(r"\((\d+)(?:\s*,\s*(\d+))?\)")


def _wider_or_same(old: Column, new: Column) -> bool:
    """`new` holds every value of `old`, compares and sorts them alike."""
    if (old.nullable, old.charset, old.collation, old.unsigned, old.generated, old.default,
            old.expression) != (new.nullable, new.charset, new.collation, new.unsigned,
                                new.generated, new.default, new.expression):
        return False
    if old.type_name in _INT_WIDTH and new.type_name in _INT_WIDTH:
        return _INT_WIDTH[new.type_name] >= _INT_WIDTH[old.type_name]
    if old.type_name != new.type_name:
        return False
    if old.enum_values or old.set_values or new.enum_values or new.set_values:
        return new.enum_values[:len(old.enum_values)] == old.enum_values and \
            new.set_values[:len(old.set_values)] == old.set_values
    a, b = _LENGTH.search(old.column_type), _LENGTH.search(new.column_type)
    if a is None or b is None:
        return a is None and b is None
    scale_a, scale_b = int(a[2] or 0), int(b[2] or 0)
    return int(b[1]) - scale_b >= int(a[1]) - scale_a and scale_b >= scale_a


def _change_column(old: Column, new: Column, others: Sequence[TableInfo]) -> Decision:
    theirs = [c for o in others if (c := _column(o, new.name)) is not None]
    if _wider_or_same(old, new) and all(_wider_or_same(c, new) for c in theirs):
        # widened: the merged column takes the widest type, once
        return Decision(SKIP if any(_shape(c) == _shape(new) for c in theirs) else RUN)
    return conflict(f"column {new.name} changed from {_definition(old)} to "
                    f"{_definition(new)} (not a widening) on a merged table")


def _indexes(before: TableInfo, after: TableInfo, others: Sequence[TableInfo]) -> Decision:
    old = {i.name.lower(): i for i in before.indexes}
    new = {i.name.lower(): i for i in after.indexes}
    added = [i for n, i in new.items() if n not in old]
    dropped = [n for n in old if n not in new]
    if len(added) + len(dropped) != 1 or any(old[n] != new[n] for n in old.keys() & new.keys()):
        if not added and not dropped and before == after:
            return Decision(SKIP, "nothing changes")
        return conflict("a change of the table's options or of several indexes on a "
                        "merged table")
    if added:
        index = added[0]
        if index.unique or index.primary:
            return conflict(f"unique key {index.name}: one shard's uniqueness is not the "
                            "merged table's")
        theirs = [i for o in others if (i := _index(o, index.name)) is not None]
        if any(i != index for i in theirs):
            return conflict(f"index {index.name} is added otherwise on another shard")
        return Decision(SKIP if theirs else RUN)
    if any(_index(o, dropped[0]) is not None for o in others):
        return Decision(SKIP, f"index {dropped[0]} is dropped downstream with the last shard")
    return Decision(RUN)


def _index(info: TableInfo, name: str) -> Index | None:
    return next((i for i in info.indexes if i.name.lower() == name.lower()), None)


def touched(before: TableInfo, after: TableInfo) -> Touched:
    """What a change touches: the columns and indexes it adds, drops or redefines, and the
    table's options."""
    old = {c.name.lower(): _shape(c) for c in before.columns}
    new = {c.name.lower(): _shape(c) for c in after.columns}
    names = {("column", n) for n in old.keys() | new.keys() if old.get(n) != new.get(n)}
    old_ix, new_ix = _index_shapes(before), _index_shapes(after)
    names |= {("index", n) for n in old_ix.keys() | new_ix.keys()
              if old_ix.get(n) != new_ix.get(n)}
    if (before.charset, before.collation) != (after.charset, after.collation):
        names.add(("table", ""))
    return frozenset(names)


def _index_shapes(info: TableInfo) -> dict[str, tuple[object, ...]]:
    return {i.name.lower(): (tuple(c.lower() for c in i.columns), i.unique, i.primary,
                             i.partial) for i in info.indexes}


def _view(info: TableInfo, names: Touched) -> tuple[object, ...]:
    """`info` as far as `names` go."""
    columns = {c.name.lower(): _shape(c) for c in info.columns}
    indexes = _index_shapes(info)
    return tuple(sorted(
        ((kind, name), columns.get(name) if kind == "column" else indexes.get(name)
         if kind == "index" else (info.charset, info.collation)) for kind, name in names))


def settled(held: Sequence[tuple[Touched, TableInfo]], finals: Sequence[TableInfo]
            ) -> bool | None:
    """Whether the held shards' conflicting changes (`held`: what each one's conflicting
    pieces touch, and its schema after its DDL) are settled by `finals`, the schemas
    every shard of the lock comes to (a held shard's after its DDL): True once they all
    agree on what the held changes touch; None when the held changes differ there (type-2
    DDLs in another order or another form: 36062); else False."""
    if not held:
        return False
    names = Touched().union(*(names for names, _ in held))
    views = {_view(after, names) for _, after in held}
    if len(views) > 1:
        return None
    return all(_view(info, names) in views for info in finals)


def with_change(before: TableInfo, final: TableInfo, names: Touched) -> TableInfo:
    """`before` with only what a held change touches (`names`) taken from `final`: the
    schema the held shard comes to once its conflicting change runs (its other clauses
    are decided when its source reads the DDL again)."""
    columns = {name for kind, name in names if kind == "column"}
    kept = [c for c in before.columns if c.name.lower() not in columns]
    taken = [c for c in final.columns if c.name.lower() in columns]
    indexes = {name for kind, name in names if kind == "index"}
    return replace(
        before, columns=tuple(kept + taken),
        indexes=tuple([i for i in before.indexes if i.name.lower() not in indexes]
                      + [i for i in final.indexes if i.name.lower() in indexes]),
        charset=final.charset if ("table", "") in names else before.charset,
        collation=final.collation if ("table", "") in names else before.collation)


@dataclass(frozen=True)
class HeldChange:
    """A shard held at its conflicting DDL until the other shards' schemas agree."""

    at: str  # where its DDL starts (file:pos)
    final: TableInfo  # its schema after the DDL
    ddls: tuple[str, ...]  # the DDL's statements as they would run downstream
    touched: Touched  # what its conflicting pieces touch
    session: tuple[Any, ...] = ()  # the upstream session its DDL ran in, as the syncer
    # logs it (empty: a document of an older pydm; run in the settling DDL's)
    runs: tuple[str, ...] = ()  # the statements of its pieces that touch what its
    # conflict touches (`DROP INDEX ix` of `DROP INDEX ix, ADD INDEX ix (b)`); the others
    # are decided when its source reads the DDL again (empty: an older pydm's document)

    @property
    def settling(self) -> tuple[str, ...]:
        """What runs downstream once it settles, and is only tracked when read again."""
        return self.runs or self.ddls


@dataclass(frozen=True)
class Shard:
    """Another shard of a lock, as a decision sees it."""

    name: str  # its key in the locks
    label: str  # as messages name it
    info: TableInfo  # its schema as the merged table has it
    held: HeldChange | None = None


class Optimism(Protocol):
    """The optimistic locks across sources (the worker gives etcd's: dm.master.optlocks)."""

    def register(self, shards: dict[Table, tuple[str, TableInfo]],
                 takes: Callable[[Table], bool]) -> None:
        """The shards of the source's checkpoint, with their locks and schemas; the
        source's tables the task no longer `takes` leave their locks. The source's held
        shards are held no more: what it reads again is decided again."""

    def others(self, lock: str, me: Table) -> tuple[Any, list[Shard], frozenset[str]]:
        """The lock's version, the other shards, and the columns `me` dropped while the
        merged table kept them."""

    def version(self, lock: str) -> Any: ...

    def commit(self, lock: str, version: Any, me: Table, after: TableInfo | None,
               pending: dict[str, Any] | None, dropped: frozenset[str],
               gone: frozenset[str] = frozenset(), hold: HeldChange | None = None) -> bool:
        """`me`'s new schema (held at a DDL: its schema before it) and dropped columns;
        `gone`: columns dropped downstream now, which no shard keeps as dropped any more;
        `pending`: the statements about to run downstream (and the held shards they
        settle, `release`)."""

    def release(self, lock: str, names: Sequence[str]) -> None:
        """Held shards whose change ran downstream: their DDL's conflicting pieces are
        only tracked when their source reads it again (and decides its other pieces);
        until then each keeps its schema before the DDL."""

    def pend(self, lock: str, pending: dict[str, Any]) -> None:
        """Statements about to run outside the source's own turn (an unlock's)."""

    def unlocked(self) -> dict[Table, tuple[str, str, HeldChange]]:
        """The source's held shards that `shard-ddl-lock unlock` lets go: each one's name
        in the locks, DM's action for its DDL (skip or exec), and its held change."""

    def pending(self) -> dict[str, Any] | None: ...

    def ran(self) -> None: ...

    def settled_at(self) -> dict[Table, dict[str, tuple[str, ...]]]:
        """The source's shards whose held DDL was settled: where each such DDL starts,
        with the statements it settled with (ran downstream, or let go by an unlock:
        only tracked when read again)."""

    def forget(self, table: Table, at: str) -> None:
        """A settled DDL the shard's checkpoint has passed."""


class SoleOptimism:
    """The locks of a task with one source and no cluster, in memory."""

    def __init__(self) -> None:
        self._shards: dict[Table, tuple[str, TableInfo]] = {}
        self._dropped: dict[Table, frozenset[str]] = {}
        self._held: dict[Table, HeldChange] = {}
        self._settled: dict[Table, dict[str, tuple[str, ...]]] = {}
        self._pending: dict[str, Any] | None = None

    def register(self, shards: dict[Table, tuple[str, TableInfo]],
                 takes: Callable[[Table], bool]) -> None:
        self._shards = {t: v for t, v in self._shards.items() if takes(t)} | shards
        self._held = {}

    def version(self, lock: str) -> Any:
        return None

    def others(self, lock: str, me: Table) -> tuple[Any, list[Shard], frozenset[str]]:
        return None, [Shard(qualified(*t), qualified(*t), info, self._held.get(t))
                      for t, (lk, info) in self._shards.items() if lk == lock and t != me
                      ], self._dropped.get(me, frozenset())

    def commit(self, lock: str, version: Any, me: Table, after: TableInfo | None,
               pending: dict[str, Any] | None, dropped: frozenset[str],
               gone: frozenset[str] = frozenset(), hold: HeldChange | None = None) -> bool:
        self._dropped = {t: d - gone for t, d in self._dropped.items()}
        self._held.pop(me, None)
        if after is None:
            self._shards.pop(me, None)
            self._dropped.pop(me, None)
        else:
            self._shards[me] = (lock, after)
            self._dropped[me] = dropped
            if hold is not None:
                self._held[me] = hold
        self._pending = None if pending is None else {**pending, "version": None}
        return True

    def release(self, lock: str, names: Sequence[str]) -> None:
        for table in [t for t in self._held if qualified(*t) in names]:
            held = self._held.pop(table)
            self._settled[table] = {**self._settled.get(table, {}), held.at: held.settling}

    def pend(self, lock: str, pending: dict[str, Any]) -> None:
        self._pending = {**pending, "lock": lock, "version": None}

    def unlocked(self) -> dict[Table, tuple[str, str, HeldChange]]:
        return {}  # (no dmctl reaches a task without a cluster)

    def pending(self) -> dict[str, Any] | None:
        return self._pending

    def ran(self) -> None:
        self._pending = None

    def settled_at(self) -> dict[Table, dict[str, tuple[str, ...]]]:
        return {t: ats for t, ats in self._settled.items() if ats}

    def forget(self, table: Table, at: str) -> None:
        self._settled[table] = {a: s for a, s in self._settled.get(table, {}).items()
                                if a != at}

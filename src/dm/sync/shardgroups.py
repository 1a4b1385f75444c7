"""Pessimistic shard groups inside one source (DM §9.1, level 1).

Every upstream table of the source that routes to one downstream table is a shard of that
target's group. A shard's DDL is held, not run: from its DDL on, nothing of the shard is
applied, and its checkpoint stays at the transaction boundary before the DDL. Once every
shard of the group holds the same DDL, the group waits on its lock (`dm.shard`); when the
lock is resolved downstream the sync unit starts again from its checkpoint, and each shard
goes on from where it stopped: its DDL is then only tracked (`Resolved`), its rows applied.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from dm import errors
from dm.binlog.location import Location
from dm.db import qualified
from dm.schema import ddl

Table = tuple[str, str]
Router = Callable[[str, str], Table]


def lock_id(task: str, target: Table) -> str:
    """DM's DDL lock id: `<task>-`schema`.`table``."""
    return f"{task}-{qualified(*target)}"


@dataclass(frozen=True)
class Held:
    """A shard stopped at its DDL."""

    statements: tuple[str, ...]  # routed, as they would run downstream
    at: Location  # where the shard's DDL event starts
    before: Location  # the transaction boundary before it: the shard's checkpoint
    context: Any = None  # how to run them (the syncer's session of the DDL event)


@dataclass(frozen=True)
class Resolved:
    """A lock run downstream (or dropped by `shard-ddl-lock unlock --force-remove`): the
    DDL of each shard of this source it covers, by table and where the DDL starts."""

    lock: str
    statements: tuple[str, ...]
    shards: dict[Table, Location] = field(default_factory=dict)

    def covers(self, table: Table, at: Location) -> bool:
        where = self.shards.get(table)
        return where is not None and where.short() == at.short()

    def passed(self, points: Callable[[Table], Location]) -> bool:
        """Every shard's saved checkpoint is past its DDL: never read again."""
        return all(at < points(t) for t, at in self.shards.items())


WAIT, EXECUTE = "wait", "execute"  # what a lock says to a group that holds its DDL


class Locks(Protocol):
    """The cross-source half (DM's level 2): a lock per target over every source."""

    def declare(self, targets: list[str]) -> None: ...

    def resolved(self) -> list[Resolved]: ...

    def attend(self, lock: str, held: dict[Table, Held]) -> str | Resolved: ...

    def settled(self, lock: str, held: dict[Table, Held]) -> str | Resolved | None: ...

    def executed(self, lock: str, held: dict[Table, Held]) -> Resolved: ...

    def forget(self, done: list[Resolved]) -> None: ...


class SoleSource:
    """Locks of a task with one source and no cluster: run at once, remembered in memory."""

    def __init__(self) -> None:
        self._done: list[Resolved] = []

    def declare(self, targets: list[str]) -> None:
        pass

    def resolved(self) -> list[Resolved]:
        return list(self._done)

    def attend(self, lock: str, held: dict[Table, Held]) -> str | Resolved:
        return EXECUTE

    def settled(self, lock: str, held: dict[Table, Held]) -> str | Resolved | None:
        return None

    def executed(self, lock: str, held: dict[Table, Held]) -> Resolved:
        first = min(held.values(), key=lambda h: h.at)
        self._done.append(Resolved(lock, first.statements, {t: h.at for t, h in held.items()}))
        return self._done[-1]

    def forget(self, done: list[Resolved]) -> None:
        self._done = [r for r in self._done if r not in done]


class ShardGroups:
    """The held shards of each group of one source, and the locks resolved for them."""

    def __init__(self, task: str, source: str, route: Router) -> None:
        self.task = task
        self.source = source
        self.route = route
        self.held: dict[Table, dict[Table, Held]] = {}  # target → shard → its DDL
        self._held_tables: set[Table] = set()
        self.resolved: list[Resolved] = []

    def is_held(self, table: Table) -> bool:
        return table in self._held_tables

    def lock(self, target: Table) -> str:
        return lock_id(self.task, target)

    def target(self, table: Table) -> Table:
        return self.route(*table)

    def resolved_at(self, table: Table, at: Location) -> bool:
        return any(r.covers(table, at) for r in self.resolved)

    def settled_piece(self, table: Table, at: Location, sql: str) -> bool:
        """A piece (routed `sql`) of an optimistic shard's DDL at `at` whose conflict was
        settled with its lock: it is not decided again."""
        return any(r.covers(table, at) and sql in r.statements for r in self.resolved)

    def hold(self, table: Table, held: Held) -> Table:
        target = self.target(table)
        self.held.setdefault(target, {})[table] = held
        self._held_tables.add(table)
        return target

    def leave(self, table: Table) -> None:
        """A dropped shard leaves its group (DM: DROP TABLE makes it leave)."""
        for shards in self.held.values():
            shards.pop(table, None)
        self._held_tables.discard(table)
        self.held = {t: s for t, s in self.held.items() if s}

    def ready(self, target: Table, members: Iterable[Table]) -> bool:
        """Every shard of the group holds the same DDL (36008 when one holds another)."""
        shards = self.held.get(target, {})
        if not shards:
            return False
        first = min(shards.values(), key=lambda h: h.at)
        wrong = self.mismatched(target)
        if wrong is not None:
            table, held = wrong
            raise errors.SYNC_SHARD_DDL_SEQUENCE(
                source=self.source, table=qualified(*table), got=list(held.statements),
                where=held.at.short(), want=list(first.statements))
        return self.all_held(target, members)

    def mismatched(self, target: Table) -> tuple[Table, Held] | None:
        """A shard holding other DDLs than the group's first one."""
        shards = self.held.get(target, {})
        if not shards:
            return None
        first = min(shards.values(), key=lambda h: h.at)
        want = [ddl.signature(sql) for sql in first.statements]
        return next(((t, h) for t, h in sorted(shards.items())
                     if [ddl.signature(sql) for sql in h.statements] != want), None)

    def all_held(self, target: Table, members: Iterable[Table]) -> bool:
        shards = self.held.get(target, {})
        return bool(shards) and all(m in shards for m in members)

    def release(self, target: Table, resolved: Resolved) -> None:
        for table in self.held.pop(target, {}):
            self._held_tables.discard(table)
        self.resolved.append(resolved)

    def frozen_at(self) -> Location | None:
        """The global checkpoint's ceiling: the earliest held shard's boundary."""
        return min((h.before for shards in self.held.values() for h in shards.values()),
                   default=None)

    def held_tables(self) -> list[Table]:
        return sorted(self._held_tables)

    def held_of(self, table: Table) -> Held | None:
        if table not in self._held_tables:
            return None
        return self.held[self.target(table)][table]

    def held_at(self, table: Table, at: Location) -> bool:
        """Held at the DDL event at `at` (a binlog replace's next statement joins it)."""
        held = self.held_of(table)
        return held is not None and held.at.short() == at.short()

    def held_point(self, table: Table) -> Location | None:
        held = self.held_of(table)
        return held.before if held is not None else None

    def status(self, members: Callable[[Table], list[Table]]) -> list[dict[str, Any]]:
        """DM's unresolvedGroups."""
        out = []
        for target, shards in sorted(self.held.items()):
            first = min(shards.values(), key=lambda h: h.at)
            out.append({"target": qualified(*target), "DDLs": list(first.statements),
                        "firstLocation": str(first.at),
                        "synced": sorted(qualified(*t) for t in shards),
                        "unsynced": sorted(qualified(*t) for t in members(target)
                                           if t not in shards)})
        return out

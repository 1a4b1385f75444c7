"""Optimistic shard DDL locks (DM §9.2), kept in etcd: every shard's current schema, per
downstream table, over every source of the task.

A source whose shard changes its schema reads the other shards' schemas and the lock's
version, decides what the merged table needs (`dm.sync.optimism`), and then, in one etcd
transaction that holds only if the version has not moved, puts its shard's new schema,
the next version, and the statements it is about to run downstream (`pending`, run
again after a crash until they are done). Two sources deciding at once cannot both
believe they are the last to drop a column: one of them decides again.

A shard held at a conflicting DDL (non-strict mode) keeps its schema before the DDL, with
the DDL's (`held`); once the change ran downstream, the DDL's location goes into its
`settled`, which its source reads to take the DDL's conflicting pieces as done.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from dm import errors
from dm.db import qualified
from dm.master.state import ClusterState
from dm.schema.table import TableInfo
from dm.store import keys
from dm.sync.optimism import HeldChange, Shard
from dm.sync.shardgroups import Table

INFO = "/dm-master/shardddl-optimism/info/"  # (task, source, schema, table): its schema
VERSION = "/dm-master/shardddl-optimism/version/"  # (task, lock): pydm's, the lock's turn
PENDING = "/dm-master/shardddl-optimism/pending/"  # (task, source): DDLs being run


class OptimisticLocks:
    """One source's side of the optimistic locks of one task (async; the sync unit calls
    it through `dm.worker.shardlocks`)."""

    def __init__(self, state: ClusterState, task: str, source: str) -> None:
        self.store = state.store
        self.task = task
        self.source = source

    def _info_key(self, table: Table) -> str:
        return keys.key(INFO, self.task, self.source, *table)

    async def _docs(self, source: str = "") -> dict[str, dict[str, Any]]:
        """The shards' documents of the task (of one source), by their keys."""
        prefix = keys.key(INFO, self.task, source) if source else keys.key(INFO, self.task)
        docs = await self.store.get_prefix(prefix + "/")
        return {keys.key(INFO, self.task, d["source"], *d["table"]): d for d in docs.values()}

    async def register(self, shards: dict[Table, tuple[str, TableInfo]],
                       takes: Callable[[Table], bool]) -> None:
        """The source's shards' schemas as its checkpoint has them, each lock's in one turn
        (a restart makes etcd agree with what the source will read again). A table of
        the source the task no longer `takes` (left out of its block-allow list while the
        task was stopped) leaves its lock in that lock's turn; one it takes but has not
        checkpointed yet (created since) keeps its schema there."""
        known = await self._docs(self.source)
        by_lock: dict[str, dict[str, Any]] = {}
        for table, (lock, info) in shards.items():
            key = self._info_key(table)
            was = known.get(key, {})
            by_lock.setdefault(lock, {})[key] = {
                **self._doc(lock, table, info, frozenset(was.get("dropped", ()))),
                "settled": was.get("settled", {}), **_unlocking(was)}
        wanted = {key for infos in by_lock.values() for key in infos}
        stale: dict[str, list[str]] = {}
        for doc in known.values():
            table = (str(doc["table"][0]), str(doc["table"][1]))
            key = self._info_key(table)
            if key not in wanted and not takes(table):
                stale.setdefault(doc["lock"], []).append(key)
        for lock in sorted(by_lock.keys() | stale.keys()):
            turn = keys.key(VERSION, self.task, lock)
            while True:
                version = await self.version(lock)
                if await self.store.swap(turn, version, {**by_lock.get(lock, {}),
                                                         turn: _next(version)},
                                         tuple(stale.get(lock, ()))):
                    break

    def _doc(self, lock: str, table: Table, info: TableInfo, dropped: frozenset[str],
             hold: HeldChange | None = None) -> dict[str, Any]:
        doc: dict[str, Any] = {"lock": lock, "source": self.source, "table": list(table),
                               "info": info.to_json(), "dropped": sorted(dropped)}
        if hold is not None:
            doc["held"] = {"at": hold.at, "info": hold.final.to_json(),
                           "ddls": list(hold.ddls), "touched": sorted(hold.touched),
                           "session": list(hold.session), "runs": list(hold.runs)}
        return doc

    async def version(self, lock: str) -> Any:
        return await self.store.get(keys.key(VERSION, self.task, lock))

    async def others(self, lock: str, me: Table) -> tuple[Any, list[Shard], frozenset[str]]:
        """The lock's version, every other shard, and the columns `me` dropped while the
        merged table kept them."""
        version = await self.store.get(keys.key(VERSION, self.task, lock))
        docs = await self._docs()
        others, dropped = [], frozenset[str]()
        for key, doc in docs.items():
            if doc["source"] == self.source and tuple(doc["table"]) == me:
                dropped = frozenset(doc.get("dropped", ()))
            elif doc["lock"] == lock:
                others.append(Shard(key, f"source {doc['source']} {qualified(*doc['table'])}",
                                    TableInfo.from_json(doc["info"]), _held(doc)))
        return version, others, dropped

    async def commit(self, lock: str, version: Any, me: Table, after: TableInfo | None,
                     pending: dict[str, Any] | None, dropped: frozenset[str],
                     gone: frozenset[str] = frozenset(),
                     hold: HeldChange | None = None) -> bool:
        """The shard's new schema (None: it left; held: its schema before its DDL) and
        the statements about to run, if the lock is still at `version`; the columns
        `gone` from the merged table leave every shard's dropped columns (in the same
        transaction)."""
        turn = _next(version)
        put: dict[str, Any] = {keys.key(VERSION, self.task, lock): turn}
        docs = await self._docs() if gone else {}
        for key, doc in docs.items():
            if doc["lock"] == lock and gone & set(doc.get("dropped", ())):
                put[key] = {**doc, "dropped": sorted(set(doc["dropped"]) - gone)}
        if after is not None:
            mine = self._info_key(me)
            was = docs.get(mine) or await self.store.get(mine) or {}
            put[mine] = {**self._doc(lock, me, after, dropped, hold),
                         "settled": was.get("settled", {})}
            unlock = _unlocking(was).get("unlocking", {})
            if hold is not None and unlock.get("at") == hold.at:  # given while restarting
                put[mine]["held"]["unlock"] = unlock["action"]
        if pending is not None:  # run again after a crash while the lock is at `turn`
            put[keys.key(PENDING, self.task, self.source)] = {**pending, "lock": lock,
                                                              "version": turn}
        return await self.store.swap(keys.key(VERSION, self.task, lock), version, put,
                                     () if after is not None else (self._info_key(me),))

    async def release(self, lock: str, names: Sequence[str]) -> None:
        """The held shards `names` (their keys) list their DDL as settled, in one turn of
        the lock; each keeps its schema before the DDL until its source reads the DDL
        again and decides its other pieces."""
        turn = keys.key(VERSION, self.task, lock)
        while True:
            version = await self.version(lock)
            docs = await self._docs()
            put: dict[str, Any] = {turn: _next(version)}
            for name in names:
                doc = docs.get(name)
                change = _held(doc) if doc is not None else None
                if doc is not None and change is not None:
                    put[name] = {**{k: v for k, v in doc.items() if k != "held"},
                                 "settled": {**doc.get("settled", {}),
                                             change.at: list(change.settling)}}
            if len(put) == 1 or await self.store.swap(turn, version, put):
                return

    async def pend(self, lock: str, pending: dict[str, Any]) -> None:
        """Statements about to run downstream outside a shard's own turn (an unlock's), in
        a turn of the lock: run again after a crash while the lock stays at it."""
        turn = keys.key(VERSION, self.task, lock)
        while True:
            version = await self.version(lock)
            ahead = _next(version)
            if await self.store.swap(turn, version, {turn: ahead, keys.key(
                    PENDING, self.task, self.source): {**pending, "lock": lock,
                                                        "version": ahead["version"]}}):
                return

    async def unlocked(self) -> dict[Table, tuple[str, str, HeldChange]]:
        """The source's held shards that `shard-ddl-lock unlock -a` lets go: each one's
        key, what to do with its DDL (skip or exec) and its held change."""
        return {(str(d["table"][0]), str(d["table"][1])): (key, str(d["held"]["unlock"]), hold)
                for key, d in (await self._docs(self.source)).items()
                if (hold := _held(d)) is not None and d["held"].get("unlock")}

    async def pending(self) -> dict[str, Any] | None:
        doc = await self.store.get(keys.key(PENDING, self.task, self.source))
        return dict(doc) if doc else None

    async def ran(self) -> None:
        await self.store.delete(keys.key(PENDING, self.task, self.source))

    async def settled_at(self) -> dict[Table, dict[str, tuple[str, ...]]]:
        docs = await self._docs(self.source)
        return {(str(d["table"][0]), str(d["table"][1])): {
                    str(at): tuple(sqls) for at, sqls in d["settled"].items()}
                for d in docs.values() if d.get("settled")}

    async def forget(self, table: Table, at: str) -> None:
        key = self._info_key(table)
        while True:
            doc = await self.store.get(key)
            if not doc or at not in doc.get("settled", ()):
                return
            turn = keys.key(VERSION, self.task, doc["lock"])
            version = await self.version(doc["lock"])
            if await self.store.get(key) != doc:
                continue  # changed in between: the version read may be the newer one
            if await self.store.swap(turn, version, {turn: _next(version), key: {
                    **doc, "settled": {a: s for a, s in doc["settled"].items() if a != at}}}):
                return


def _held(doc: dict[str, Any]) -> HeldChange | None:
    held = doc.get("held")
    if not held:
        return None
    return HeldChange(str(held["at"]), TableInfo.from_json(held["info"]),
                      tuple(held["ddls"]), frozenset((str(kind), str(name))
                                                     for kind, name in held["touched"]),
                      tuple(held.get("session", ())), tuple(held.get("runs", ())))


def _unlocking(doc: dict[str, Any]) -> dict[str, Any]:
    """An unlock of a held shard whose source restarted before acting on it: kept until
    the shard holds at the same DDL again."""
    held = doc.get("held", {})
    if held.get("unlock"):
        return {"unlocking": {"at": held["at"], "action": held["unlock"]}}
    return {"unlocking": doc["unlocking"]} if "unlocking" in doc else {}


def _next(version: Any) -> dict[str, int]:
    return {"version": int(version["version"]) + 1 if version else 1}


async def show_locks(state: ClusterState, task: str) -> list[dict[str, Any]]:
    """DM's show-ddl-locks entries of the optimistic locks whose shards differ or wait:
    `synced` are the shards with every column of the merged table, `unsynced` the others
    and those held at a conflicting DDL (`DDLs`)."""
    by_lock: dict[str, list[dict[str, Any]]] = {}
    for doc in (await state.store.get_prefix(INFO)).values():
        by_lock.setdefault(doc["lock"], []).append(doc)
    out = []
    for lock, docs in sorted(by_lock.items()):
        name = lock.split("-`", 1)[0]
        if task and name != task:
            continue
        shapes = {d["source"] + ":" + ".".join(d["table"]):
                  [c.name.lower() for c in TableInfo.from_json(d["info"]).columns]
                  for d in docs}
        held = {d["source"] + ":" + ".".join(d["table"]): d["held"]["ddls"]
                for d in docs if d.get("held")}
        union = {c for cols in shapes.values() for c in cols}
        if not held and all(set(cols) == union for cols in shapes.values()):
            continue
        out.append({"ID": lock, "task": name, "mode": "optimistic", "owner": "",
                    "DDLs": sorted({sql for ddls in held.values() for sql in ddls}),
                    "synced": sorted(s for s, c in shapes.items()
                                     if set(c) == union and s not in held),
                    "unsynced": sorted(s for s, c in shapes.items()
                                       if set(c) != union or s in held)})
    return out


async def has_lock(state: ClusterState, task: str, lock: str) -> bool:
    docs = await state.store.get_prefix(keys.key(INFO, task) + "/")
    return any(d["lock"] == lock for d in docs.values())


async def unlock(state: ClusterState, task: str, lock: str, sources: list[str], schema: str,
                 table: str, action: str) -> dict[str, Any]:
    """DM's optimistic unlock: the shard `schema`.`table` of one source, held at its
    conflicting DDL, goes on: its source runs the DDL downstream first (exec) or not
    (skip), then reads the DDL again as settled (only tracked)."""
    if action not in ("skip", "exec"):
        raise errors.MASTER_BAD_REQUEST(detail="the action is skip or exec")
    if len(sources) != 1:
        return {"result": False, "msg": "optimistic locks should have only one source"}
    if not await has_lock(state, task, lock):
        raise errors.MASTER_LOCK_NOT_FOUND(lock=lock)
    key = keys.key(INFO, task, sources[0], schema, table)
    turn = keys.key(VERSION, task, lock)
    while True:  # (the document read after the version: the swap fails if it moved)
        version = await state.store.get(turn)
        doc = await state.store.get(key)
        if doc is None or doc["lock"] != lock:
            raise errors.MASTER_LOCK_NOT_HELD(lock=lock, detail=(
                f"source {sources[0]} has no shard {qualified(schema, table)} in it"))
        if "held" not in doc:
            raise errors.MASTER_LOCK_NOT_HELD(lock=lock, detail=(
                f"shard {qualified(schema, table)} of source {sources[0]} holds no "
                "conflicting DDL"))
        if await state.store.swap(turn, version, {turn: _next(version), key: {
                **doc, "held": {**doc["held"], "unlock": action}}}):
            return {"result": True, "msg": ""}


async def drop_task(state: ClusterState, task: str, sources: list[str]) -> None:
    """start-task --remove-meta: the sources' shards leave the task's optimistic locks,
    their pending DDLs go. (stop-task keeps both: a stopped source's shards still count,
    so no column they have is dropped from the merged table meanwhile.)"""
    doomed = [keys.key(PENDING, task, source) for source in sources]
    for source in sources:
        doomed += await state.store.keys_with_prefix(keys.key(INFO, task, source) + "/")
    await state.store.delete(*doomed)

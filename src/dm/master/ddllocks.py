"""Pessimistic shard DDL locks across sources (DM §9.1, level 2), kept in etcd.

A source whose shards of a target all hold the same DDL puts its `info` (the routed DDLs
and where each shard's DDL starts). The first source to do so creates the `lock` and is
its owner. When every source of the task that has shards of the target has put the same
DDLs, the owner runs them downstream and then, in one etcd transaction, writes a `done`
operation for every source and deletes the lock and the infos. Each source then syncs
its held shards again from where they stopped; its operation records which of its DDL
events the lock covered until its checkpoint has passed them.

Nothing lives only in a master's memory, so a lock outlives any master failover and any
worker restart (DM's masters rebuild theirs from etcd; pydm's never hold one). The leader
only answers `shard-ddl-lock` (DM 2.0: show-ddl-locks, unlock-ddl-lock): an unlock asks
an owner (`-o`) to run the DDLs, or with `--force-remove` resolves the lock running nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from dm import errors
from dm.binlog.location import Location
from dm.db import qualified
from dm.master import optlocks
from dm.master.state import ClusterState
from dm.schema import ddl
from dm.store import keys
from dm.sync.shardgroups import EXECUTE, WAIT, Held, Resolved, Table

_LOCK_ID = re.compile(r"^(.+)-`(.*)`\.`(.*)`$")
SOURCE_TABLES = "/dm-master/shardddl-pessimism/source-tables/"  # (task, source)
INFO = "/dm-master/shardddl-pessimism/info/"  # (task, source, lock)
OPERATION = "/dm-master/shardddl-pessimism/operation/"  # (task, source, lock, first DDL)
LOCK = "/dm-master/shardddl-pessimism/lock/"  # (task, lock): pydm's, the owner
# an unlock that names no shard: (sources, schema, table, DM's action)
WHOLE: tuple[list[str], str, str, str] = ([], "", "", "skip")


def _shards(held: dict[Table, Held]) -> list[list[Any]]:
    return [[s, t, h.at.to_dict()] for (s, t), h in sorted(held.items())]


def _first(doc: dict[str, Any]) -> str:
    """Where the earliest DDL of the info's shards starts: names one round of a lock."""
    at = min(Location.from_dict(loc) for _, _, loc in doc["shards"])
    return at.short()


def resolved_from(doc: dict[str, Any]) -> Resolved:
    return Resolved(str(doc["lock"]), tuple(doc["ddls"]),
                    {(s, t): Location.from_dict(loc) for s, t, loc in doc["shards"]})


class PessimisticLocks:
    """One source's side of the locks of one task (async; `dm.worker.shardlocks` calls it
    from the sync unit's thread)."""

    def __init__(self, state: ClusterState, task: str, source: str) -> None:
        self.state = state
        self.store = state.store
        self.task = task
        self.source = source

    async def declare(self, targets: list[str]) -> None:
        """The targets this source has shards of: a lock waits for no other source."""
        await self.store.put(keys.key(SOURCE_TABLES, self.task, self.source),
                             {"targets": sorted(targets)})

    async def resolved(self) -> list[Resolved]:
        prefix = keys.key(OPERATION, self.task, self.source) + "/"
        return [resolved_from(doc) for doc in (await self.store.get_prefix(prefix)).values()
                if doc.get("done")]

    async def attend(self, lock: str, held: dict[Table, Held]) -> str | Resolved:
        info: dict[str, Any] = {"lock": lock, "source": self.source,
                                "ddls": list(_statements(held)), "shards": _shards(held)}
        op_key = keys.key(OPERATION, self.task, self.source, lock, _first(info))
        op = await self.store.get(op_key)
        if op is not None and op.get("done"):
            return resolved_from(op)
        if op is not None and op.get("exec"):
            return EXECUTE  # shard-ddl-lock unlock -o this source
        info_key = keys.key(INFO, self.task, self.source, lock)
        lock_key = keys.key(LOCK, self.task, lock)
        if await self.store.get(info_key) != info or await self.store.get(lock_key) is None:
            # (a lock gone with a stopped owner is made again, owned by this source)
            # never once the round is done (its operation is written by then): a source
            # that read no operation a moment ago must not bring the lock back
            owned = {"lock": lock, "owner": self.source, "ddls": info["ddls"]}
            if not await self.store.write_if(absent=(op_key, lock_key),
                                             put={info_key: info, lock_key: owned}) and \
                    not await self.store.write_if(absent=(op_key,), present=(lock_key,),
                                                  put={info_key: info}):
                return WAIT  # resolved a moment ago: the next call finds the operation
        owner = await self.store.get(lock_key)
        if owner is None:
            return WAIT
        if _signature(owner["ddls"]) != _signature(info["ddls"]):
            where = ", ".join(f"{qualified(s, t)} at {h.at.short()}"
                              for (s, t), h in sorted(held.items()))
            raise errors.MASTER_SHARD_DDL_DIFF(lock=lock, ddls=owner["ddls"], got=info["ddls"],
                                               source=self.source, task=self.task, where=where)
        if owner["owner"] != self.source:
            return WAIT
        infos = await lock_infos(self.state, self.task, lock)
        waiting = await expected_sources(self.state, self.task, lock)
        ready = all(_signature(infos.get(s, {}).get("ddls", ())) == _signature(info["ddls"])
                    for s in waiting)
        return EXECUTE if ready else WAIT

    async def settled(self, lock: str, held: dict[Table, Held]) -> str | Resolved | None:
        """What the lock said to the info this source put for `held`, if it said anything
        (asked of a group that reported and then became incomplete: a shard joined)."""
        op = await self.store.get(keys.key(OPERATION, self.task, self.source, lock,
                                           _first({"shards": _shards(held)})))
        if op is None:
            return None
        return resolved_from(op) if op.get("done") else EXECUTE if op.get("exec") else None

    async def executed(self, lock: str, held: dict[Table, Held]) -> Resolved:
        """The owner ran the DDLs downstream: every source's held shards go on."""
        await finish(self.state, self.task, lock, self.source)
        info = {"lock": lock, "ddls": list(_statements(held)), "shards": _shards(held)}
        return resolved_from(info)

    async def forget(self, done: list[Resolved]) -> None:
        prefix = keys.key(OPERATION, self.task, self.source) + "/"
        ops = await self.store.get_prefix(prefix)
        doomed = [keys.key(OPERATION, self.task, self.source, d["lock"], _first(d))
                  for d in ops.values() if resolved_from(d) in done]
        if doomed:
            await self.store.delete(*doomed)


def _statements(held: dict[Table, Held]) -> tuple[str, ...]:
    return min(held.values(), key=lambda h: h.at).statements


def _signature(statements: Iterable[str]) -> list[str]:
    """The statements as compared across shards and sources: spelling aside."""
    return [ddl.signature(sql) for sql in statements]


async def lock_infos(state: ClusterState, task: str, lock: str) -> dict[str, dict[str, Any]]:
    prefix = keys.key(INFO, task) + "/"
    return {d["source"]: d for d in (await state.store.get_prefix(prefix)).values()
            if d["lock"] == lock}


async def expected_sources(state: ClusterState, task: str, lock: str) -> list[str]:
    """The sources a lock waits for: every source of the task, but those that said they
    have no shard of its target."""
    target = _target_of(lock)
    declared = await state.store.get_prefix(keys.key(SOURCE_TABLES, task) + "/")
    out = []
    for source in sorted(s for s, t in await state.subtasks() if t == task):
        doc = declared.get(source)
        if doc is None or target in doc["targets"]:
            out.append(source)
    return out


def _target_of(lock: str) -> str:
    found = _LOCK_ID.match(lock)
    assert found is not None
    return f"`{found[2]}`.`{found[3]}`"


async def finish(state: ClusterState, task: str, lock: str, executor: str | None) -> None:
    """Every source that holds the lock's DDL gets its done operation; the lock and the
    infos go, all in one transaction (none if the lock went meanwhile: resolved)."""
    infos = await lock_infos(state, task, lock)
    ops = {keys.key(OPERATION, task, source, lock, _first(doc)):
           {**doc, "exec": source == executor, "done": True} for source, doc in infos.items()}
    lock_key = keys.key(LOCK, task, lock)
    doomed = (lock_key, *(keys.key(INFO, task, source, lock) for source in infos))
    await state.store.write_if(present=(lock_key,), put=ops, delete=doomed)


# --- the leader's commands -----------------------------------------------------------------
async def show_locks(state: ClusterState, task: str, sources: Iterable[str]
                     ) -> dict[str, Any]:
    """DM's show-ddl-locks answer."""
    wanted = set(sources)
    locks = []
    for doc in sorted((await state.store.get_prefix(LOCK)).values(), key=lambda d: d["lock"]):
        lock_task = _LOCK_ID.match(doc["lock"])
        name = lock_task[1] if lock_task else ""
        if task and name != task:
            continue
        infos = await lock_infos(state, name, doc["lock"])
        expected = await expected_sources(state, name, doc["lock"])
        if wanted and not wanted & set(expected):
            continue
        locks.append({"ID": doc["lock"], "task": name, "mode": "pessimistic",
                      "owner": doc["owner"], "DDLs": doc["ddls"],
                      "synced": sorted(infos), "unsynced": [s for s in expected
                                                            if s not in infos]})
    locks += [lk for lk in await optlocks.show_locks(state, task)
              if not wanted or any(s.split(":", 1)[0] in wanted for s in
                                   (*lk["synced"], *lk["unsynced"]))]
    return {"result": True, "msg": "" if locks else "no DDL lock exists", "locks": locks}


def task_of(lock: str) -> str:
    """The task of a pessimistic lock's ID (`<task>-`schema`.`table``), or ""."""
    found = _LOCK_ID.match(lock)
    return found[1] if found else ""


async def unlock(state: ClusterState, lock: str, owner: str, force_remove: bool,
                 shard: tuple[list[str], str, str, str] = WHOLE) -> dict[str, Any]:
    """`shard-ddl-lock unlock`: of an optimistic task, one held `shard` (its source,
    schema, table and DM's action) goes on; a pessimistic lock is resolved whole."""
    found = _LOCK_ID.match(lock)
    if found is None:
        return {"result": False, "msg": "can't find task name from lock-ID"}
    task = found[1]
    if any(t == task and doc.get("shard-mode") == "optimistic"
           for (_, t), doc in (await state.subtasks()).items()) or \
            await optlocks.has_lock(state, task, lock):  # (a stopped task's too)
        return await optlocks.unlock(state, task, lock, *shard)
    doc = await state.store.get(keys.key(LOCK, task, lock))
    if doc is None:
        raise errors.MASTER_LOCK_NOT_FOUND(lock=lock)
    if shard != WHOLE:
        return {"result": False, "msg": "-s, -d, -t and -a name one shard of an optimistic "
                "lock: a pessimistic lock is resolved for every source that holds its DDL "
                "(-o names the one that runs it)"}
    if force_remove:
        await finish(state, task, lock, None)
        return {"result": True, "msg": ""}
    owner = owner or str(doc["owner"])
    infos = await lock_infos(state, task, lock)
    if owner not in infos:
        raise errors.MASTER_LOCK_OWNER_NOT_SYNCED(owner=owner, lock=lock,
                                                  synced=", ".join(sorted(infos)) or "none")
    info = infos[owner]
    await state.store.put(keys.key(OPERATION, task, owner, lock, _first(info)),
                          {**info, "exec": True, "done": False})
    return {"result": True, "msg": ""}


async def drop_task(state: ClusterState, task: str, sources: list[str], *,
                    operations: bool) -> None:
    """stop-task: its sources' infos, and the locks they own (a source still waiting puts
    its lock back, owning it). The done operations stay (a task started again from its
    checkpoints still needs them) unless `operations` (start-task --remove-meta: the
    checkpoints are gone too)."""
    doomed = [keys.key(SOURCE_TABLES, task, s) for s in sources]
    for prefix in (INFO, *((OPERATION,) if operations else ())):
        for source in sources:
            doomed += await state.store.keys_with_prefix(keys.key(prefix, task, source) + "/")
    locks = await state.store.get_prefix(keys.key(LOCK, task) + "/")
    doomed += [keys.key(LOCK, task, d["lock"]) for d in locks.values() if d["owner"] in sources]
    await state.store.delete(*doomed)

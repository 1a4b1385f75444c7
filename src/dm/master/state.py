"""Typed reads and writes of the cluster state kept in etcd (DM's layout, store/keys.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dm.store import keys
from dm.store.client import Store


@dataclass(frozen=True)
class WorkerInfo:
    name: str
    address: str


@dataclass(frozen=True)
class Stage:
    """Expected stage of a subtask, with a revision bumped on every operation."""

    expect: str
    rev: int

    def to_json(self) -> dict[str, Any]:
        return {"expect": self.expect, "rev": self.rev}


class ClusterState:
    def __init__(self, store: Store) -> None:
        self.store = store

    # sources -----------------------------------------------------------------------
    async def sources(self) -> dict[str, dict[str, Any]]:
        return await self.store.get_prefix(keys.SOURCE_CONFIG)

    async def source(self, source_id: str) -> dict[str, Any] | None:
        value = await self.store.get(keys.key(keys.SOURCE_CONFIG, source_id))
        return None if value is None else dict(value)

    async def put_source(self, source_id: str, cfg: dict[str, Any]) -> None:
        await self.store.put(keys.key(keys.SOURCE_CONFIG, source_id), cfg)

    async def delete_source(self, source_id: str, bound_worker: str | None) -> None:
        doomed = [keys.key(keys.SOURCE_CONFIG, source_id), keys.key(keys.RELAY_STAGE, source_id)]
        if bound_worker:
            doomed.append(keys.key(keys.BOUND_WORKER, bound_worker))
        await self.store.delete(*doomed)

    # workers and bindings -----------------------------------------------------------------
    async def workers(self) -> dict[str, WorkerInfo]:
        raw = await self.store.get_prefix(keys.WORKER_REGISTER)
        return {name: WorkerInfo(v["name"], v["address"]) for name, v in raw.items()}

    async def alive_workers(self) -> set[str]:
        return set(await self.store.get_prefix(keys.WORKER_KEEPALIVE))

    async def bounds(self) -> dict[str, str]:
        """worker → source"""
        raw = await self.store.get_prefix(keys.BOUND_WORKER)
        return {worker: v["source"] for worker, v in raw.items()}

    async def last_bounds(self) -> dict[str, str]:
        raw = await self.store.get_prefix(keys.LAST_BOUND_WORKER)
        return {worker: v["source"] for worker, v in raw.items()}

    async def unbind(self, worker: str, only_if_offline: bool) -> bool:
        """Unbind; with `only_if_offline`, only if its keepalive is still gone at that
        moment: a worker that registered again in between keeps its source, so it never
        restarts the source's subtasks while the master gives them to another worker."""
        alive = keys.key(keys.WORKER_KEEPALIVE, worker)
        return await self.store.write_if(absent=(alive,) if only_if_offline else (),
                                         delete=(keys.key(keys.BOUND_WORKER, worker),))

    async def rebind(self, source: str, old: str | None, new: str) -> bool:
        """Move `source` from worker `old` (None: unbound) to `new`, if `new` is alive and
        free, `old` still holds it and the source still exists at that moment (a
        scheduler pass that read it before operate-source stop never binds it after), in
        one transaction."""
        value = {"source": source, "worker": new}
        moved = {keys.key(keys.BOUND_WORKER, new): value,
                 keys.key(keys.LAST_BOUND_WORKER, new): value}
        return await self.store.write_if(
            present=(keys.key(keys.WORKER_KEEPALIVE, new), keys.key(keys.SOURCE_CONFIG, source),
                     *([keys.key(keys.BOUND_WORKER, old)] if old else [])),
            absent=(keys.key(keys.BOUND_WORKER, new),), put=moved,
            delete=(keys.key(keys.BOUND_WORKER, old),) if old else ())

    async def dump_holders(self) -> dict[str, str]:
        """source → the worker whose disk holds dump files a subtask of it still needs
        (DM's load tasks, `/dm-master/load-task/<task>/<source>`)."""
        raw = await self.store.get_prefix(keys.LOAD_TASK)
        return {_pair(k)[1]: v["worker"] for k, v in raw.items()}

    async def hold_dump(self, task: str, source: str, worker: str, holding: bool) -> None:
        """Say that `worker` holds (or no longer holds) the dump files of task × source."""
        key = keys.key(keys.LOAD_TASK, task, source)
        if holding:
            await self.store.put(key, {"worker": worker})
        elif (await self.store.get(key) or {}).get("worker") == worker:
            await self.store.delete(key)

    # relay ---------------------------------------------------------------------------------
    async def relay_stage(self, source: str) -> Stage | None:
        """The relay's expected stage for `source`; None: its relay is off."""
        value = await self.store.get(keys.key(keys.RELAY_STAGE, source))
        return None if value is None else Stage(value["expect"], value["rev"])

    async def relay_workers(self) -> dict[str, str]:
        """worker → the source it relays by name (`start-relay -s <source> <worker>`)."""
        raw = await self.store.get_prefix(keys.RELAY_WORKER)
        return {worker: v["source"] for worker, v in raw.items()}

    async def add_relay_workers(self, source: str, workers: list[str]) -> bool:
        """Make `workers` relay `source`, if each is still free or bound to `source`."""
        bounds = await self.bounds()
        free = tuple(keys.key(keys.BOUND_WORKER, w) for w in workers if w not in bounds)
        here = tuple(keys.key(keys.BOUND_WORKER, w) for w in workers if w in bounds)
        if any(bounds[w] != source for w in workers if w in bounds):
            return False
        return await self.store.write_if(
            absent=free, present=here,
            put={keys.key(keys.RELAY_WORKER, w): {"source": source} for w in workers})

    async def remove_relay_workers(self, workers: list[str]) -> None:
        await self.store.delete(*(keys.key(keys.RELAY_WORKER, w) for w in workers))

    async def set_relay_stage(self, source: str, expect: str | None) -> None:
        """Running or Paused; None turns the relay off."""
        key = keys.key(keys.RELAY_STAGE, source)
        if expect is None:
            await self.store.delete(key)
            return
        current = await self.relay_stage(source)
        await self.store.put(key, Stage(expect, current.rev + 1 if current else 1).to_json())

    # tasks and subtasks ----------------------------------------------------------------------
    async def tasks(self) -> dict[str, dict[str, Any]]:
        return await self.store.get_prefix(keys.TASK_CONFIG)

    async def subtasks(self) -> dict[tuple[str, str], dict[str, Any]]:
        """(source, task) → subtask config"""
        raw = await self.store.get_prefix(keys.SUBTASK_CONFIG)
        return {_pair(k): v for k, v in raw.items()}

    async def stages(self) -> dict[tuple[str, str], Stage]:
        raw = await self.store.get_prefix(keys.SUBTASK_STAGE)
        return {_pair(k): Stage(v["expect"], v["rev"]) for k, v in raw.items()}

    async def put_task(self, task: str, task_doc: dict[str, Any],
                       subtasks: dict[str, dict[str, Any]]) -> None:
        """Task config, every subtask config and its Running stage in one transaction."""
        items: dict[str, Any] = {keys.key(keys.TASK_CONFIG, task): task_doc}
        for source, sub in subtasks.items():
            items[keys.key(keys.SUBTASK_CONFIG, source, task)] = sub
            items[keys.key(keys.SUBTASK_STAGE, source, task)] = Stage("Running", 1).to_json()
        await self.store.put_many(items)

    async def set_stages(self, task: str, sources: list[str], expect: str) -> None:
        current = await self.stages()
        items = {keys.key(keys.SUBTASK_STAGE, s, task):
                 Stage(expect, current[(s, task)].rev + 1 if (s, task) in current else 1)
                 .to_json() for s in sources}
        await self.store.put_many(items)

    async def binlog_operators(self, task: str, source: str) -> list[dict[str, Any]]:
        """The binlog operators of task × source, as JSON documents (sync/operators.py),
        one etcd key each (`.../<task>/<source>/<file:pos>`): the master adds and the
        worker removes single keys, so neither ever writes back the other's list."""
        return list((await self._operator_keys(task, source)).values())

    async def _operator_keys(self, task: str, source: str) -> dict[str, dict[str, Any]]:
        prefix = keys.key(keys.BINLOG_OPERATOR, task, source) + "/"
        return {prefix + keys.encode(at): doc
                for at, doc in (await self.store.get_prefix(prefix)).items()}

    async def all_binlog_operators(self, source: str) -> dict[str, list[dict[str, Any]]]:
        """task → the binlog operators of its subtask of `source`."""
        out: dict[str, list[dict[str, Any]]] = {}
        for key, doc in (await self.store.get_prefix(keys.BINLOG_OPERATOR)).items():
            task, s, _ = key.split("/", 2)
            if s == source:
                out.setdefault(task, []).append(doc)
        return out

    async def put_binlog_operator(self, task: str, source: str, at: str,
                                  doc: dict[str, Any]) -> None:
        await self.store.put(keys.key(keys.BINLOG_OPERATOR, task, source, at), doc)

    async def delete_binlog_operators(self, task: str, source: str, at: list[str]) -> None:
        await self.store.delete(*(keys.key(keys.BINLOG_OPERATOR, task, source, a) for a in at))

    async def delete_subtasks(self, task: str, sources: list[str], whole_task: bool) -> None:
        doomed = [keys.key(p, s, task) for s in sources
                  for p in (keys.SUBTASK_CONFIG, keys.SUBTASK_STAGE)]
        for source in sources:
            doomed += list(await self._operator_keys(task, source))
        doomed += [keys.key(keys.LOAD_TASK, task, s) for s in sources]
        if whole_task:
            doomed.append(keys.key(keys.TASK_CONFIG, task))
        await self.store.delete(*doomed)


def _pair(joined: str) -> tuple[str, str]:
    source, _, task = joined.partition("/")
    return source, task

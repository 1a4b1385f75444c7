"""A dm-worker's life in the cluster: register, keep its lease, follow its binding.

Level-triggered: every pass reads the bound source and the desired subtasks and
stages from etcd and makes the local subtasks match, so a restarted worker simply
picks up where etcd says it should be.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dm import errors
from dm.config.source import SourceConfig
from dm.config.stored import from_doc
from dm.config.subtask import SubTaskConfig
from dm.fence import Fence
from dm.master.state import ClusterState, Stage
from dm.store import keys
from dm.store.client import Store
from dm.sync.operators import Operator
from dm.sync.tracked import TrackedSchemas
from dm.worker.build import build_subtask
from dm.worker.relaying import RelayFollower
from dm.worker.shardlocks import ClusterLocks, ClusterOptimism
from dm.worker.subtask import PAUSED, SubTask

log = logging.getLogger(__name__)

_REREAD_S = 5.0  # a pass reads etcd again after this long, whatever its revision


@dataclass(frozen=True)
class _Followed:
    """What a reconcile pass reads from etcd: kept while etcd's revision stays (a worker
    busy syncing otherwise costs etcd, and itself, six reads every half second)."""

    revision: int
    read_at: float
    source: str | None
    relay_named: str | None  # the source `start-relay` named this worker for
    source_doc: dict[str, Any] | None = None
    subtasks: dict[str, dict[str, Any]] = field(default_factory=dict)  # of `source`
    stages: dict[tuple[str, str], Stage] = field(default_factory=dict)
    operators: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


class WorkerNode:
    def __init__(self, name: str, address: str, store: Store, base_dir: Path,
                 keepalive_ttl: int, relay_dir: str = "",
                 relay_keepalive_ttl: int | None = None) -> None:
        self.name = name
        self.address = address
        self.store = store
        self.state = ClusterState(store)
        self.base_dir = base_dir
        self.keepalive_ttl = keepalive_ttl
        self.relay_keepalive_ttl = relay_keepalive_ttl or keepalive_ttl
        self.source: str | None = None
        self.subtasks: dict[str, SubTask] = {}
        self._applied: dict[str, int] = {}
        self._holding: dict[str, bool] = {}  # task → said to hold its dump files
        self.fence = Fence(name)
        self.relays = RelayFollower(name, self.state, base_dir, relay_dir,
                                    lambda: self.subtasks)
        self._operating: set[str] = set()  # tasks binlog-schema works on: not resumed now
        self._poked = asyncio.Event()  # the master changed etcd: follow it now
        self._followed: _Followed | None = None

    def status(self, task: str | None) -> dict[str, Any]:
        subs = [st.status() for name, st in sorted(self.subtasks.items())
                if task is None or name == task]
        relay = self.relays.relay
        return {"source": self.source or (relay.source.source_id if relay else ""),
                "worker": self.name, "subTaskStatus": subs,
                "relayStatus": relay.status() if relay is not None else None}

    async def run(self, interval: float = 0.5) -> None:
        """Hold the keepalive lease and follow etcd, for ever. An etcd member dying or a
        failover between members never ends this loop; losing the lease (or etcd for
        longer than the lease) stops every subtask, as DM's isolated worker does, since
        the master may give the source to another worker."""
        while True:
            try:
                await self._keep_alive_and_follow(interval)
            except errors.DMError as exc:  # etcd out of reach past the store's failover
                log.warning("worker %s cannot reach etcd: %s", self.name, exc)
            self.fence.close()
            if self.subtasks:
                log.warning("worker %s lost its keepalive lease: stopping its subtasks",
                            self.name)
                await self.stop_all()
                self.source = None
            await asyncio.sleep(interval)

    async def _keep_alive_and_follow(self, interval: float) -> None:
        self._followed = None  # a new lease: etcd may be another (its revisions too)
        await self.store.put(keys.key(keys.WORKER_REGISTER, self.name),
                             {"name": self.name, "address": self.address})
        alive_key = keys.key(keys.WORKER_KEEPALIVE, self.name)
        lease: contextlib.AsyncExitStack | None = None
        ttl = 0
        try:
            while True:
                if self._keepalive_ttl() != ttl:
                    ttl = self._keepalive_ttl()
                    lease = await self._move_keepalive(alive_key, ttl, lease)
                # the fence may close for a moment while a refresh is late; only the key
                # gone means the lease ended (and the master may give the source away)
                alive, revision = await self.store.get_with_revision(alive_key)
                if alive is None:
                    return
                try:
                    await self.reconcile(revision)
                except Exception as exc:  # noqa: BLE001 - next pass retries
                    log.warning("reconcile failed: %s", exc)
                with contextlib.suppress(TimeoutError):  # a poke ends the wait at once
                    await asyncio.wait_for(self._poked.wait(), interval)
                self._poked.clear()
        finally:
            if lease is not None:
                await lease.aclose()

    def _releaser(self, task: str, source: str, loop: asyncio.AbstractEventLoop
                  ) -> Callable[[], None]:
        """What a subtask calls from its thread once its dump files are no longer needed:
        the load-task key released in etcd before it goes on."""
        def release() -> None:
            try:
                asyncio.run_coroutine_threadsafe(
                    self.state.hold_dump(task, source, self.name, False), loop).result(10)
                self._holding[task] = False
            except Exception as exc:  # noqa: BLE001 - the next pass releases it
                log.warning("subtask %s: load task not released yet: %s", task, exc)
        return release

    def poke(self) -> None:
        """The master just changed what this worker should do: the next pass runs now
        instead of at the end of its interval (DM's workers watch etcd for the same)."""
        self._followed = None
        self._poked.set()

    def _keepalive_ttl(self) -> int:
        """DM's: a worker relaying its source keeps a longer lease (relay-keepalive-ttl),
        so that a short network blip does not move the relay."""
        return self.relay_keepalive_ttl if self.relays.relay is not None \
            else self.keepalive_ttl

    async def _move_keepalive(self, alive_key: str, ttl: int,
                              old: contextlib.AsyncExitStack | None
                              ) -> contextlib.AsyncExitStack:
        """The keepalive key put on a new lease of `ttl` seconds, then the old lease
        revoked: the key never goes away in between."""
        lease = contextlib.AsyncExitStack()
        try:
            granted = await lease.enter_async_context(
                self.store.kept_lease(ttl, self.fence.renewed))
            await self.store.put(alive_key, {"name": self.name}, lease=granted)
        except BaseException:
            await lease.aclose()
            raise
        if old is not None:
            await old.aclose()
        log.info("worker %s registered at %s (keepalive TTL %d s)", self.name, self.address,
                 ttl)
        return lease

    async def _follow(self, revision: int) -> _Followed:
        """etcd's view of this worker, read again only when etcd's `revision` changed."""
        kept = self._followed
        if kept is not None and kept.revision == revision and \
                time.monotonic() - kept.read_at < _REREAD_S:
            return kept
        read_at = time.monotonic()
        bound = await self.store.get(keys.key(keys.BOUND_WORKER, self.name))
        source: str | None = bound["source"] if bound else None
        named = (await self.state.relay_workers()).get(self.name)
        source_doc = None if source is None else await self.state.source(source)
        if source is None or source_doc is None:
            self._followed = _Followed(revision, read_at, source, named)
        else:
            self._followed = _Followed(
                revision, read_at, source, named, source_doc,
                {t: cfg for (s, t), cfg in (await self.state.subtasks()).items() if s == source},
                await self.state.stages(), await self.state.all_binlog_operators(source))
        return self._followed

    async def reconcile(self, revision: int) -> None:
        """One pass: make the local subtasks and relay match etcd as of `revision`."""
        followed = await self._follow(revision)
        source, named = followed.source, followed.relay_named
        if source != self.source:
            log.info("worker %s: bound source %s -> %s", self.name, self.source, source)
            await self._stop_subtasks()
            self.source = source
        if source is None:
            await self.relays.keep_warm(named)
            return
        self.relays.drop_standby()
        source_doc = followed.source_doc
        if source_doc is None:
            return
        source_cfg = from_doc(SourceConfig, source_doc)
        wanted, stages = followed.subtasks, followed.stages
        for task in [t for t in self.subtasks if t not in wanted]:
            log.info("subtask %s removed; stopping it", task)
            await asyncio.to_thread(self.subtasks.pop(task).stop)
            self._applied.pop(task, None)
            self._holding.pop(task, None)
        for task, doc in wanted.items():
            if task not in self.subtasks and (source, task) in stages:
                built = build_subtask(from_doc(SubTaskConfig, doc), source_cfg,
                                      self.base_dir, self.fence, self.name)
                if built.sync is not None:
                    built.sync.relay_dir = self.relays.to_read
                    loop = asyncio.get_running_loop()
                    built.sync.locks = ClusterLocks(self.state, task, source, loop)
                    built.sync.optimism = ClusterOptimism(self.state, task, source, loop)
                built.files_released = self._releaser(task, source, asyncio.get_running_loop())
                self.subtasks[task] = built
        await self._hand_operators(source, followed.operators)  # before a resume that
        # must apply them
        # after the subtasks are known (a first relay starts where they need it) and
        # before they start (they find their start point in the relay)
        await self.relays.follow(source_cfg if source_cfg.enable_relay or named == source
                                 else None)
        for task in wanted:
            stage = stages.get((source, task))
            sub = self.subtasks.get(task)
            if stage is None or sub is None or task in self._operating:
                continue
            holds = sub.holds_dump_files()
            if self._holding.get(task) != holds:  # said before the subtask starts
                await self.state.hold_dump(task, source, self.name, holds)
                self._holding[task] = holds
            if self._applied.get(task) == stage.rev:
                if stage.expect == "Running" and (sub.due_for_auto_resume()
                                                  or self._fenced_out(sub)):
                    log.info("subtask %s: auto-resuming after %s", task, sub.errors[0].code)
                    await asyncio.to_thread(sub.start)
                continue
            self._applied[task] = stage.rev
            log.info("subtask %s: expected stage %s (rev %d)", task, stage.expect, stage.rev)
            if stage.expect == "Running":
                await asyncio.to_thread(sub.start)
            elif stage.expect == "Paused":
                await asyncio.to_thread(sub.pause)

    def _fenced_out(self, sub: SubTask) -> bool:
        """Paused by a write the fence refused while a lease refresh was late, and the
        lease has been renewed since: it never lost its source, so it goes on at once."""
        return sub.stage == PAUSED and self.fence.is_open() and \
            any(e.code == errors.WORKER_FENCED.code for e in sub.errors)

    async def stop_all(self) -> None:
        await self._stop_subtasks()
        await self.relays.follow(None)

    async def _stop_subtasks(self) -> None:
        for sub in self.subtasks.values():
            await asyncio.to_thread(sub.stop)
        self.subtasks.clear()
        self._applied.clear()
        self._holding.clear()

    async def _hand_operators(self, source: str, by_task: dict[str, list[dict[str, Any]]]
                              ) -> None:
        """Each sync unit gets its binlog operators (`by_task`); those its checkpoint has
        passed are done and go from etcd."""
        for task, sub in self.subtasks.items():
            if sub.sync is None:
                continue
            operators = [Operator.from_json(doc) for doc in by_task.get(task, [])]
            saved = sub.sync.saved
            live = [o for o in operators if saved is None or not o.before(saved)]
            done = [o.at for o in operators if o not in live]
            if done:
                log.info("subtask %s: binlog operators done at %s", task, ", ".join(done))
                await self.state.delete_binlog_operators(task, source, done)
            sub.sync.operators = {(o.file, o.pos): o for o in live}

    def failed_ddl(self, task: str) -> str:
        """Where the DDL that paused `task` starts (binlog skip|replace without -b)."""
        sub = self.subtasks.get(task)
        if sub is None:
            raise errors.WORKER_SUBTASK_NOT_FOUND(task=task)
        if sub.stage != PAUSED or not sub.errors:
            raise errors.BINLOG_OP_ARGS(detail=f"source '{sub.source_id}' has no error")
        if sub.sync is None or sub.sync.failed_ddl is None:
            raise errors.BINLOG_OP_ARGS(detail="only support to handle ddl error currently")
        return sub.sync.failed_ddl.short()

    def operate_schema(self, request: dict[str, Any]) -> str:
        """binlog-schema list|update|delete on a paused subtask of this worker: the table
        schemas its sync checkpoint holds (DM: paused, in the sync unit)."""
        task = str(request.get("task") or "")
        self._operating.add(task)  # no resume while the checkpoint is rewritten
        try:
            return self._operate_schema(task, request)
        finally:
            self._operating.discard(task)

    def _operate_schema(self, task: str, request: dict[str, Any]) -> str:
        sub = self.subtasks.get(task)
        if sub is None:
            raise errors.WORKER_SUBTASK_NOT_FOUND(task=task)
        if sub.stage != PAUSED:
            raise errors.WORKER_NOT_PAUSED(stage=sub.stage, task=task)
        if sub.sync is None or sub.unit != "Sync":
            raise errors.WORKER_SYNC_UNIT_ONLY(unit=sub.unit, task=task)
        tracked = TrackedSchemas(sub.sync)
        db, table = str(request.get("database") or ""), str(request.get("table") or "")
        op = request.get("op")
        if op == "list":
            return tracked.show(db, table)
        if op == "databases":  # the OpenAPI's lists
            return json.dumps(tracked.databases())
        if op == "tables":
            return json.dumps(tracked.tables(db))
        if op == "update":
            return tracked.replace(db, table, str(request.get("schema") or ""),
                                   bool(request.get("from_source")),
                                   bool(request.get("from_target")))
        if op == "delete":
            return tracked.remove(db, table)
        raise errors.MASTER_BAD_REQUEST(detail=f"unknown binlog-schema op {op!r}")

    def purge_relay(self, before: str, subdir: str) -> tuple[list[str], str]:
        return self.relays.purge(self.source or "", before, subdir)
